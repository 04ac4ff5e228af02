"""Offloaded work: computed in a forked, lower-priority child when that is safe, else here; a child that fails in
any way costs a second computation here, never a wrong or missing result.

Each case runs in a fresh interpreter: whether forking is safe depends on the threads alive in the process, and a
pytest process may hold server threads from other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

PRELUDE = """
import json, os, sys, threading, time
from mediafeed.publish.offload import Offloaded
PARENT = os.getpid()
def where():
    return {"pid": os.getpid(), "nice": os.nice(0)}
def report(**values):
    print(json.dumps({"parent": PARENT, "parent_nice": os.nice(0), **values}))
"""


def run(script: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_work_runs_in_a_lower_priority_child_and_its_result_comes_back() -> None:
    out = run(
        """
        job = Offloaded(lambda: {**where(), "data": list(range(100_000))})
        result = job.result()
        report(pid=result["pid"], nice=result["nice"], total=sum(result["data"]))
        """
    )
    assert out["pid"] != out["parent"]
    assert out["nice"] == min(out["parent_nice"] + 10, 19)
    assert out["total"] == sum(range(100_000))


@pytest.mark.parametrize(
    "setup",
    [
        "job = Offloaded(where, wanted=False)",
        "threading.Thread(target=time.sleep, args=(2,), daemon=True).start()\njob = Offloaded(where)",
    ],
    ids=["not wanted", "another thread alive"],
)
def test_without_a_safe_reason_to_fork_the_work_runs_here(setup: str) -> None:
    out = run(setup + "\nreport(forked=job.forked, **job.result())")
    assert out["forked"] is False and out["pid"] == out["parent"]


def test_a_failing_child_costs_a_second_run_here_with_the_real_outcome() -> None:
    out = run(
        """
        def work():
            if os.getpid() != PARENT:
                raise RuntimeError("only in the child")
            return where()
        report(**Offloaded(work).result())
        """
    )
    assert out["pid"] == out["parent"]


def test_an_error_the_work_always_raises_reaches_the_caller_as_it_is() -> None:
    out = run(
        """
        def work():
            raise ValueError("episodes/x/index.md: bad date")
        try:
            Offloaded(work).result()
        except ValueError as exc:
            report(error=str(exc))
        """
    )
    assert out["error"] == "episodes/x/index.md: bad date"


def test_a_result_that_cannot_travel_is_computed_here() -> None:
    out = run(
        """
        job = Offloaded(lambda: (lambda: os.getpid()))  # a lambda does not pickle
        report(pid=job.result()())
        """
    )
    assert out["pid"] == out["parent"]


def test_a_killed_child_is_replaced_by_work_here() -> None:
    out = run(
        """
        import signal
        def work():
            if os.getpid() != PARENT:
                time.sleep(30)
            return where()
        job = Offloaded(work)
        os.kill(job.pid, signal.SIGKILL)
        started = time.monotonic()
        result = job.result()
        report(took=time.monotonic() - started, **result)
        """
    )
    assert out["pid"] == out["parent"] and out["took"] < 10


def test_cancel_stops_and_reaps_the_child() -> None:
    out = run(
        """
        job = Offloaded(lambda: time.sleep(30))
        pid = job.pid
        job.cancel()
        try:
            os.waitpid(pid, os.WNOHANG)
            reaped = False
        except ChildProcessError:
            reaped = True
        report(reaped=reaped, pid_cleared=job.pid is None)
        """
    )
    assert out["reaped"] and out["pid_cleared"]


def test_the_child_dies_with_its_parent() -> None:
    """A publish killed mid-way (kill -9, a cancelled CI job) leaves no renderer behind (Linux: PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel's parent-death signal is Linux-only; elsewhere the child ends at its next write")
    parent = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + "job = Offloaded(lambda: time.sleep(60))\nprint(job.pid, flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.05)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running or sleeping (a zombie waiting for whoever adopted it to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
