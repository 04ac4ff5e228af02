"""How the CLI shows progress (mediafeed.progress events) on stderr: bars on a terminal, plain lines in a log.

- `--quiet`: nothing (`silent`, so the library does not even read ffmpeg's progress).
- stderr is a terminal: live bars drawn with rich (one per running encode, upload, download, and the catalog
  load), and a line above them for each episode prepared; the bars disappear when their work ends, so results
  printed on stdout afterwards are not mixed with them.
- otherwise (CI logs, a pipe): one plain line per event as it happens, flushed, at coarse steps (every 10 %,
  at most two a second, or every few seconds when a step takes longer), never one per ffmpeg tick; counts of
  episodes only every few seconds; episodes that came from the cache are only counted (each is listed with -v).

Results never go through here: they stay on stdout.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from mediafeed.progress import Advanced, Event, Finished, Note, Reporter, Started, Task, silent

STEP = 10  # percent between two plain progress lines of one task
EVERY = 5.0  # seconds: a plain line also when a task moved but has not reached the next step for this long
GAP = 0.5  # seconds: at least this long between two lines of one task (a small upload finishes before its steps)


def open_display(verbosity: int, stream: TextIO) -> Reporter:
    """The reporter for a command: silent with --quiet (verbosity < 0), bars on a terminal, plain lines otherwise."""
    if verbosity < 0:
        return silent
    verbose = verbosity > 0
    if _is_terminal(stream):
        try:
            return RichDisplay(stream, verbose)
        except ImportError:  # rich is a dependency; a broken install still gets a readable log
            pass
    return PlainDisplay(stream, verbose)


def close_display(report: Reporter) -> None:
    close = getattr(report, "close", None)
    if close is not None:
        close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


# --- what each event says, shared by both displays ----------------------------------------------------------------


def size(count: float) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count:.0f} B"


def label(task: Task) -> str:
    return "load the catalog" if task.kind == "load" else f"{task.kind} {task.name}"


def amount(task: Task, done: float, total: float | None) -> str:
    """How far a task is: 40% / 12.3 MB of 40.0 MB (30%) / 120 of 9,000 episode(s)."""
    if task.unit == "bytes":
        if total:
            return f"{size(done)} of {size(total)} ({percent(done, total)}%)"
        return size(done)
    if task.unit == "seconds" and total:
        return f"{percent(done, total)}%"
    if task.kind == "load":
        return f"{done:,.0f} episode(s)"
    return f"{done:,.0f} of {total:,.0f}" if total else f"{done:,.0f}"


def percent(done: float, total: float) -> int:
    return max(0, min(100, int(done * 100 / total))) if total > 0 else 0


def finished_line(event: Finished, verbose: bool, total: float | None = None) -> str | None:
    """The line a finished task leaves in the log (None: nothing worth a line at this verbosity)."""
    task, outcome, detail = event.task, event.outcome, event.detail
    if task.kind == "prepare" and task.name == "media" and task.unit == "items":
        return f"prepared {total or 0:.0f} episode(s): {detail}" if detail else None
    if outcome == "failed":
        return f"failed {task.name}: {detail}" if detail else f"{label(task)}: failed"
    if task.kind == "prepare":
        if outcome == "cached" and not verbose:
            return None  # counted in the summary line
        return f"prepared {task.name} ({outcome})" + (f": {detail}" if detail else "")
    if task.kind == "load":
        return f"loaded the catalog: {detail}"
    if task.kind == "upload":
        return f"uploaded {task.name}: {detail}, {size(total or 0)}"
    if task.kind == "download":
        return f"downloaded {task.name} ({size(total or 0)})"
    if task.kind in ("measure", "encode"):
        return f"{label(task)}: 100%" if verbose else None  # the episode's own line follows
    return f"{label(task)}: {outcome}" + (f" ({detail})" if detail else "")


# --- plain lines (not a terminal) ---------------------------------------------------------------------------------


@dataclass
class _Seen:
    total: float | None
    step: int = 0  # the last percent step printed
    printed: float = 0.0  # when the last line about it was printed
    done: float = 0.0


class PlainDisplay:
    """One line per event, as it happens (flushed): progress at 10 % steps or every few seconds, and outcomes."""

    def __init__(self, stream: TextIO, verbose: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.verbose = verbose
        self.clock = clock
        self.tasks: dict[Task, _Seen] = {}
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            line = self._line(event)
            if line is not None:
                self.stream.write(line + "\n")
                self.stream.flush()

    def _line(self, event: Event) -> str | None:
        if isinstance(event, Note):
            return event.message
        if isinstance(event, Started):
            self.tasks[event.task] = _Seen(event.total, printed=self.clock())
            return None
        if isinstance(event, Advanced):
            seen = self.tasks.get(event.task)
            if seen is None or event.done <= seen.done:
                return None
            seen.done = event.done
            now = self.clock()
            if seen.total and event.task.unit != "items":
                reached = percent(event.done, seen.total)
                step = reached // STEP * STEP
                stepped = step > seen.step and now - seen.printed >= GAP
                if reached < 100 and (stepped or now - seen.printed >= EVERY):
                    seen.step, seen.printed = max(step, seen.step), now
                    return f"{label(event.task)}: {amount(event.task, event.done, seen.total)}"
            elif now - seen.printed >= EVERY and (seen.total is None or event.done < seen.total):  # counts: when slow
                seen.printed = now
                return f"{label(event.task)}: {amount(event.task, event.done, seen.total)}"
            return None
        seen = self.tasks.pop(event.task, None)
        return finished_line(event, self.verbose, _total(seen))

    def close(self) -> None:
        pass


def _total(seen: Any) -> float | None:
    if seen is None:
        return None
    return seen.total if seen.total is not None else seen.done


# --- bars (a terminal) --------------------------------------------------------------------------------------------


class RichDisplay:
    """Live bars on stderr with rich. Refreshed when events arrive (at most 10 times a second), not by a thread
    of rich's own: a publish forks its feed renderer only while it runs no other thread (publish/offload.py)."""

    REFRESH = 0.1  # seconds between redraws

    def __init__(self, stream: TextIO, verbose: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self.verbose = verbose
        self.console = Console(file=stream, highlight=False)
        self.bars = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[amount]}", markup=False),
            console=self.console,
            transient=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.ids: dict[Task, Any] = {}
        self.totals: dict[Task, tuple[float | None, float]] = {}
        self.live = False
        self.drawn = 0.0
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, Note):
                self._print(event.message)
            elif isinstance(event, Started):
                if not self.live:
                    self.bars.start()
                    self.live = True
                self.totals[event.task] = (event.total, 0.0)
                self.ids[event.task] = self.bars.add_task(
                    label(event.task), total=event.total, amount=amount(event.task, 0, event.total)
                )
                self._draw(force=True)
            elif isinstance(event, Advanced):
                if event.task not in self.ids:
                    return
                total, _ = self.totals[event.task]
                self.totals[event.task] = (total, event.done)
                shown = event.done if total is None else min(event.done, total)
                self.bars.update(self.ids[event.task], completed=shown, amount=amount(event.task, event.done, total))
                self._draw()
            else:
                ident = self.ids.pop(event.task, None)
                total, done = self.totals.pop(event.task, (None, 0.0))
                if ident is not None:
                    self.bars.remove_task(ident)
                    self._draw(force=True)  # before printing: a print redraws the bars as last drawn
                line = finished_line(event, self.verbose, total if total is not None else done)
                if line is not None:
                    self._print(line)
                if not self.ids:
                    self._stop()

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.live and (force or now - self.drawn >= self.REFRESH):
            self.drawn = now
            self.bars.refresh()

    def _stop(self) -> None:
        if self.live:
            self.bars.stop()
            self.live = False

    def close(self) -> None:
        with self.lock:
            for ident in self.ids.values():
                self.bars.remove_task(ident)
            self.ids.clear()
            self._stop()
