"""Transcripts in both formats apps read (WebVTT and SubRip), shifted to match each delivery file.

A producer supplies one transcript (.vtt or .srt); podcast:transcript offers both, and a feed's intro bumper moves
every cue by its length, so cues are parsed once and written out per delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mediafeed import content_types
from mediafeed.content_types import declared

VTT_TYPE = declared(content_types.VTT_TYPE)  # as a feed declares it: no charset
SRT_TYPE = declared(content_types.SRT_TYPE)
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_CUE_TIMING = re.compile(_TIME + r"\s*-->\s*" + _TIME)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


class TranscriptError(ValueError):
    """The transcript file cannot be read as WebVTT or SubRip."""


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def parse_cues(text: str) -> list[Cue]:
    """Cues from WebVTT or SubRip text (the timing line `start --> end` is the same idea in both)."""
    cues = []
    blocks = re.split(r"\r?\n\s*\r?\n", text.replace("\ufeff", "").strip())
    for block in blocks:
        lines = block.splitlines()
        for index, line in enumerate(lines):
            timing = _CUE_TIMING.search(line)
            if timing:
                groups = timing.groups()
                start, end = _seconds(*groups[:4]), _seconds(*groups[4:])
                body = "\n".join(lines[index + 1 :]).strip()
                if body and end >= start:
                    cues.append(Cue(start, end, body))
                break
    if not cues:
        raise TranscriptError("no cues found (expected lines like `00:00:01.000 --> 00:00:04.000`)")
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_vtt(cues: list[Cue], offset: float = 0.0) -> bytes:
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts += [f"{_stamp(cue.start + offset, '.')} --> {_stamp(cue.end + offset, '.')}", cue.text, ""]
    return "\n".join(parts).encode()


def to_srt(cues: list[Cue], offset: float = 0.0) -> bytes:
    parts = []
    for number, cue in enumerate(cues, start=1):
        parts += [str(number), f"{_stamp(cue.start + offset, ',')} --> {_stamp(cue.end + offset, ',')}", cue.text, ""]
    return "\n".join(parts).encode()
