"""Chapters as delivered and transcripts in both formats: pure functions, as tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediafeed.catalog.chapters import delivered, json_chapters, parse_json_chapters, timestamp, timestamps_html
from mediafeed.catalog.transcripts import TranscriptError, parse_cues, to_srt, to_vtt
from mediafeed.models import Chapter

THREE = (
    Chapter(0, "Intro"),
    Chapter(65, "Levels", "https://www.example.org/a"),
    Chapter(3725.5, "Kidneys", None, "https://x/i.png"),
)


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (65, "01:05"), (3599.9, "59:59"), (3725.5, "01:02:05")])
def test_timestamp(seconds: float, text: str) -> None:
    assert timestamp(seconds) == text


def test_delivered_shifts_and_adds_an_intro_chapter() -> None:
    assert delivered(THREE, 0) == THREE
    shifted = delivered(THREE, 5.0)
    assert [c.start for c in shifted] == [0.0, 5.0, 70.0, 3730.5]
    assert shifted[0].title == "Intro" and shifted[2].url == THREE[1].url
    assert delivered((), 5.0) == ()


def test_json_chapters_follow_the_podcasting_20_format() -> None:
    document = json.loads(json_chapters(tuple(reversed(THREE)), title="Lithium"))
    assert document["version"] == "1.2.0" and document["title"] == "Lithium"
    starts = [c["startTime"] for c in document["chapters"]]
    assert starts == sorted(starts) and all(isinstance(s, int | float) for s in starts)
    assert document["chapters"][1] == {"startTime": 65, "title": "Levels", "url": "https://www.example.org/a"}
    assert document["chapters"][2]["img"] == "https://x/i.png"


@pytest.mark.parametrize(
    ("chapters", "shown"),
    [(THREE, True), (THREE[:2], False), ((Chapter(5, "a"), Chapter(10, "b"), Chapter(20, "c")), False)],
)
def test_timestamps_need_three_chapters_from_zero(chapters: tuple[Chapter, ...], shown: bool) -> None:
    html = timestamps_html(chapters)
    assert bool(html) is shown
    if shown:
        assert "<li>00:00 Intro</li>" in html and "<li>01:02:05 Kidneys</li>" in html


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "A"}, {"startTime": 12.5, "title": "B"}]}', ""),
        ('{"version": "1.2.0"}', 'no "chapters" list'),
        ('{"chapters": [{"title": "A"}]}', "no numeric startTime"),
        ("not json", "not a readable JSON chapters file"),
    ],
)
def test_parse_json_chapters(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "chapters.json"
    path.write_text(content)
    chapters, why = parse_json_chapters(path)
    assert (problem in why) if problem else (why == "" and [c.start for c in chapters] == [0.0, 12.5])


VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello & welcome.\n\n"
    "note-id\n00:01:02.250 --> 00:01:04.000\nSecond <line>\ncontinues\n"
)
SRT = "1\n00:00:00,000 --> 00:00:02,500\nHello & welcome.\n\n2\n00:01:02,250 --> 00:01:04,000\nSecond <line>\ncontinues\n"


@pytest.mark.parametrize("source", [VTT, SRT, "\ufeff" + VTT.replace("\n", "\r\n")])
def test_cues_parse_from_either_format(source: str) -> None:
    cues = parse_cues(source)
    assert [(c.start, c.end) for c in cues] == [(0.0, 2.5), (62.25, 64.0)]
    assert cues[1].text == "Second <line>\ncontinues"


def test_vtt_and_srt_round_trip_with_an_offset() -> None:
    cues = parse_cues(VTT)
    vtt = to_vtt(cues, offset=2.0).decode()
    srt = to_srt(cues, offset=2.0).decode()
    assert vtt.startswith("WEBVTT\n") and "00:00:02.000 --> 00:00:04.500" in vtt
    assert srt.startswith("1\n00:00:02,000 --> 00:00:04,500\n") and "\n2\n00:01:04,250 --> 00:01:06,000\n" in srt
    assert [(c.start, c.text) for c in parse_cues(srt)] == [(c.start + 2.0, c.text) for c in cues]


@pytest.mark.parametrize("bad", ["", "WEBVTT\n\njust text\n", "1\n00:00 --> 00:01\nno millis\n"])
def test_unreadable_transcripts_are_refused(bad: str) -> None:
    with pytest.raises(TranscriptError):
        parse_cues(bad)
