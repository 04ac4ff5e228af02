"""Progress as typed events: library code reports what it is doing, the CLI decides how (and whether) to show it.

A stage receives a `Reporter` (any callable taking an `Event`) and passes it down; it never prints. A task is
started with its total (episodes, seconds of programme, bytes), advanced with how much of that total is done (an
absolute amount, so events may be dropped or merged freely), and finished with an outcome ("encoded", "cached",
"failed", ...). `Note` carries a one-off line (a download, a notification). The default reporter, `silent`, does
nothing; a reporter may be called from worker threads (encodes and uploads run in threads), so one that keeps
state must lock it.

This module sits at the bottom of the layers (beside errors), so every layer can report progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

UNITS = ("items", "seconds", "bytes")


@dataclass(frozen=True, eq=False)
class Task:
    """One piece of work being reported: its kind ("load", "measure", "encode", "prepare", "upload", "download"),
    what it works on (an episode's slug, a stage of uploads) and the unit its progress counts in. Tasks compare by
    identity, so two encodes of the same episode (two processing profiles) are two tasks."""

    kind: str
    name: str
    unit: str = "items"


@dataclass(frozen=True)
class Started:
    task: Task
    total: float | None = None  # None: not known in advance (a count that only grows)


@dataclass(frozen=True)
class Advanced:
    task: Task
    done: float  # how much of the total is done so far (absolute, not an increment)


@dataclass(frozen=True)
class Finished:
    task: Task
    outcome: str = "done"  # e.g. "done", "encoded", "cached", "failed"
    detail: str = ""  # a short human summary (loudness reached, files uploaded, the error)


@dataclass(frozen=True)
class Note:
    """A one-off line for the log (a master downloaded, a hub notified)."""

    message: str


Event = Started | Advanced | Finished | Note
Reporter = Callable[[Event], None]


def silent(_event: Event) -> None:
    """The default reporter: reports nothing."""


class Counter:
    """A total several threads add to (bytes uploaded by parallel writers), reported as Advanced(task, total so far)."""

    def __init__(self, report: Reporter, task: Task) -> None:
        self.report = report
        self.task = task
        self.done = 0
        self._lock = threading.Lock()

    def add(self, amount: int) -> None:
        with self._lock:
            self.done += amount
            done = self.done
        self.report(Advanced(self.task, done))


def parse_ffmpeg_progress(line: str) -> float | None:
    """Seconds of output written, from one line of ffmpeg's `-progress` output (`key=value` per line); None for
    the other keys and for values ffmpeg prints before it knows (`N/A`).

    `out_time_us` and `out_time_ms` are both microseconds (the latter is misnamed in ffmpeg); `out_time` is
    HH:MM:SS.micro."""
    key, sep, value = line.strip().partition("=")
    if not sep:
        return None
    value = value.strip()
    try:
        if key in ("out_time_us", "out_time_ms"):
            return max(0.0, int(value) / 1_000_000)
        if key == "out_time":
            hours, minutes, seconds = value.lstrip("-").split(":")
            return max(0.0, int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    except ValueError:
        return None
    return None
