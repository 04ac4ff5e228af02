"""CPU-bound work in a forked child process, beside I/O threads that need this process's GIL.

Why: rendering the feeds of a 10,000-episode catalog holds the GIL for about three seconds, and the early media
uploads (publish.EarlyUploads) run in threads of the same process at that time. Every upload thread waiting for
the GIL is a request the store does not get: against moto on 2 cores the upload rate fell from about 315 to about
250 PUT/s while feeds rendered. In a child process at a lower CPU priority the rendering takes only the CPU the
uploads leave idle, and the upload threads keep the GIL to themselves.

Only where it is safe and possible: fork() copies just the calling thread, so a lock another thread held at that
moment stays locked forever in the child. `Offloaded` therefore forks only while this is the only thread (the CLI
at that point of a publish; not a test runner with a server thread), and where os.fork exists. Otherwise, or when
the child fails in any way (an exception, killed, a result that does not unpickle), the work runs here, in this
process, when the result is asked for: the work must be deterministic and side-effect free apart from caches,
so running it again gives the same result or raises the real error with its real message.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO, Generic, TypeVar

T = TypeVar("T")

NICENESS = 10  # the child yields the CPU to the uploads (and to a store on the same machine)


class Offloaded(Generic[T]):
    """`work()` started now in a child process when `wanted` and safe; `result()` returns what it returned."""

    def __init__(self, work: Callable[[], T], *, wanted: bool = True) -> None:
        self.work = work
        self.pid: int | None = None
        self.pipe: BinaryIO | None = None  # the read end: the child writes its pickled result and closes
        if wanted and hasattr(os, "fork") and threading.active_count() == 1:
            self._start()

    @property
    def forked(self) -> bool:
        return self.pid is not None

    def _start(self) -> None:
        read, write = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:  # no memory or process slots: run here instead
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, send, leave without running the parent's exit handlers or flushes
            os.close(read)
            status = 1
            try:
                _die_with(parent)
                with contextlib.suppress(OSError):
                    os.nice(NICENESS)
                payload = pickle.dumps(self.work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self.pid, self.pipe = pid, os.fdopen(read, "rb")

    def result(self) -> T:
        """The child's result, or the work done here when there is no child or it did not deliver."""
        if self.pid is None or self.pipe is None:
            return self.work()
        try:
            payload = self.pipe.read()
            self.pipe.close()
            self.pipe = None
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
        except BaseException:  # interrupted while waiting: take the child down too
            self.cancel()
            raise
        if os.waitstatus_to_exitcode(status) == 0:
            try:
                return pickle.loads(payload)
            except Exception:
                pass
        return self.work()

    def cancel(self) -> None:
        """Stop the child (when the result is no longer wanted) and reap it."""
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = None


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """On Linux, have the kernel kill this child when its parent dies: a publish killed or cancelled mid-way
    (kill -9, a CI job stopped) leaves no renderer behind using CPU. Elsewhere the child ends when it finds
    the pipe closed."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)
