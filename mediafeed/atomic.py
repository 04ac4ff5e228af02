"""The one way mediafeed replaces a file: all at once or not at all (a temporary file in the same folder, unique to
its writer, flushed to disk, renamed over the old one), with ordinary permissions."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".mediafeed-"  # every temporary file starts so: a reader (a target's listing) can tell and skip them
_UMASK_LOCK = threading.Lock()


def file_mode() -> int:
    """The mode an editor gives a new file: 0666 less the umask (0644 under the usual 022): readable by the web
    server and the other users of a shared catalog. mkstemp's own 0600 would hide a feed from the web server."""
    return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask can only be read by setting it, for every thread at once)
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary handle whose bytes become `path` when the block ends without an exception (and never half of them).
    `mode`: the file's permissions (default: file_mode(), as an editor would make it)."""
    fd, temp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}-", dir=path.parent)  # unique to this writer
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), file_mode() if mode is None else mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    with atomic_file(path, mode) as handle:
        handle.write(data)
