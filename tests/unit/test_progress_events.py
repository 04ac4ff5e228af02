"""Progress events: ffmpeg's -progress parser, and the plain-lines display a CI log gets."""

from __future__ import annotations

import io

import pytest

from mediafeed.progress import Advanced, Counter, Event, Finished, Note, Started, Task, parse_ffmpeg_progress, silent
from mediafeed.terminal import PlainDisplay, finished_line, open_display


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("out_time_us=12500000\n", 12.5),
        ("out_time_ms=12500000", 12.5),  # microseconds too, whatever the name says
        ("out_time=00:01:02.500000", 62.5),
        ("out_time=01:00:00.000000", 3600.0),
        ("out_time_us=N/A", None),  # before the first frame
        ("out_time=N/A", None),
        ("out_time_us=-23220", 0.0),  # an encoder's priming delay
        ("total_size=1234", None),
        ("progress=continue", None),
        ("frame=0", None),
        ("", None),
        ("garbage", None),
    ],
)
def test_ffmpeg_progress_lines(line: str, seconds: float | None) -> None:
    assert parse_ffmpeg_progress(line) == seconds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def played(events: list[tuple[float, Event]], verbose: bool = False) -> list[str]:
    """The lines a PlainDisplay writes for events arriving at the given seconds."""
    stream, clock = io.StringIO(), Clock()
    display = PlainDisplay(stream, verbose, clock)
    for at, event in events:
        clock.now = 100.0 + at
        display(event)
    return stream.getvalue().splitlines()


def test_an_encode_is_reported_at_coarse_steps_not_every_tick() -> None:
    encode = Task("encode", "lithium", "seconds")
    ticks: list[tuple[float, Event]] = [(0.0, Started(encode, 600.0))]
    ticks += [(t / 2, Advanced(encode, t * 6.0)) for t in range(1, 101)]  # ffmpeg's report: twice a second, 1 % each
    ticks += [(50.5, Finished(encode)), (50.5, Finished(Task("prepare", "lithium"), "encoded", "-16.0 LUFS"))]
    lines = played(ticks)
    assert lines == [f"encode lithium: {p}%" for p in range(10, 100, 10)] + ["prepared lithium (encoded): -16.0 LUFS"]


def test_a_slow_step_still_says_something_every_few_seconds() -> None:
    encode = Task("encode", "webinar", "seconds")
    ticks: list[tuple[float, Event]] = [(0.0, Started(encode, 7200.0))]
    ticks += [(float(t), Advanced(encode, t * 10.0)) for t in range(1, 21)]  # 0.14 % a second
    assert played(ticks) == ["encode webinar: 0%", "encode webinar: 1%", "encode webinar: 2%", "encode webinar: 2%"]


def test_quick_work_prints_only_its_outcome() -> None:
    upload = Task("upload", "feed", "bytes")
    events: list[tuple[float, Event]] = [(0.0, Started(upload, 50_000))]
    events += [(0.01 * i, Advanced(upload, 12_500 * i)) for i in range(1, 5)]
    events += [(0.05, Finished(upload, "done", "4 file(s)"))]
    assert played(events) == ["uploaded feed: 4 file(s), 50.0 KB"]


def test_a_big_upload_shows_bytes() -> None:
    upload = Task("upload", "media", "bytes")
    events: list[tuple[float, Event]] = [(0.0, Started(upload, 40_000_000)), (1.0, Advanced(upload, 12_300_000))]
    assert played(events) == ["upload media: 12.3 MB of 40.0 MB (30%)"]


def test_cached_episodes_are_counted_not_listed_unless_verbose() -> None:
    overall = Task("prepare", "media", "items")
    events: list[tuple[float, Event]] = [(0.0, Started(overall, 3))]
    for i, slug in enumerate(("a", "b"), start=1):
        events += [(0.0, Finished(Task("prepare", slug), "cached")), (0.0, Advanced(overall, i))]
    events += [(9.0, Finished(Task("prepare", "c"), "encoded", "-16.0 LUFS")), (9.0, Advanced(overall, 3))]
    events += [(9.0, Finished(overall, "done", "1 encoded, 2 cached"))]
    assert played(events) == ["prepared c (encoded): -16.0 LUFS", "prepared 3 episode(s): 1 encoded, 2 cached"]
    assert played(events, verbose=True)[:2] == ["prepared a (cached)", "prepared b (cached)"]


def test_loading_a_large_catalog_counts_episodes_every_few_seconds() -> None:
    load = Task("load", "catalog", "items")
    events: list[tuple[float, Event]] = [(0.0, Started(load))]
    events += [(i / 1000, Advanced(load, i)) for i in range(1, 9001)]
    events += [(9.0, Finished(load, "done", "9000 episode(s), 4 feed(s)"))]
    assert played(events) == ["load the catalog: 5,000 episode(s)", "loaded the catalog: 9000 episode(s), 4 feed(s)"]


def test_failures_and_notes() -> None:
    encode = Task("encode", "x", "seconds")
    events: list[tuple[float, Event]] = [
        (0.0, Note("notified https://hub.example/")),
        (0.0, Started(encode, 10.0)),
        (0.1, Finished(encode, "failed")),
        (0.1, Finished(Task("prepare", "x"), "failed", "episodes/x/index.md: media: ffmpeg failed")),
    ]
    expected = ["notified https://hub.example/", "encode x: failed", "failed x: episodes/x/index.md: media: ffmpeg failed"]
    assert played(events) == expected


def test_measures_and_encodes_end_quietly_unless_verbose() -> None:
    measure = Task("measure", "x", "seconds")
    assert finished_line(Finished(measure), verbose=False) is None
    assert finished_line(Finished(measure), verbose=True) == "measure x: 100%"


def test_quiet_is_silent_and_a_pipe_gets_plain_lines() -> None:
    assert open_display(-1, io.StringIO()) is silent
    assert isinstance(open_display(0, io.StringIO()), PlainDisplay)


def test_counter_adds_from_threads_and_reports_totals() -> None:
    seen: list[Event] = []
    task = Task("upload", "media", "bytes")
    counter = Counter(seen.append, task)
    counter.add(5)
    counter.add(-2)  # a retried part starts over
    counter.add(10)
    assert [e.done for e in seen if isinstance(e, Advanced)] == [5, 3, 13]
