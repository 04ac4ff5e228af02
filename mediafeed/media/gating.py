"""Loudness of a programme measured in segments, one ffmpeg per core: where the segments go, and how their block
loudness values combine into the whole programme's (ITU-R BS.1770 gating, EBU Tech 3342 loudness range). Pure.

BS.1770's integrated loudness is a gated mean of the energies of 400 ms blocks taken every 100 ms; the loudness
range, a gated spread of 3 s blocks taken every 100 ms. Neither needs the blocks in order or from one process: a
programme cut at 100 ms steps, each cut after the first measured from 2.9 s *before* it (so its 3 s window, and the
400 ms one, are full again by the first block it owns), gives every block of a whole-programme measure exactly once.
The absolute (−70 LUFS) and relative gates are then applied here, over all of them. Peaks combine by max.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ABSOLUTE_GATE = -70.0  # LUFS: blocks at or below this are silence, never counted
RELATIVE_GATE = -10.0  # LU below the absolute-gated mean: integrated loudness
LRA_RELATIVE_GATE = -20.0  # LU below the absolute-gated mean: loudness range
STEP_TENTHS = 1  # blocks start every 100 ms: segment cuts fall on tenths of a second
LEAD_BLOCKS = 29  # 100 ms steps a segment's 3 s window needs before its first block is full (and its own)
MIN_SEGMENT_SECONDS = 60.0  # shorter programmes (or parts) are not worth another ffmpeg


@dataclass(frozen=True)
class Segment:
    """One ffmpeg's share: decode from `start_tenths` (tenths of a second) for `length_tenths` (None: to the end),
    and count its blocks from the `skip`-th on (the ones before belong to the segment before, or are not full)."""

    start_tenths: int
    length_tenths: int | None
    skip: int

    @property
    def start(self) -> float:
        return self.start_tenths / 10

    @property
    def length(self) -> float | None:
        return None if self.length_tenths is None else self.length_tenths / 10


@dataclass(frozen=True)
class Blocks:
    """What one segment's ffmpeg reported: per 100 ms step the momentary (400 ms) and short-term (3 s) loudness
    (LUFS, in order, as ebur128's metadata gives them), its largest peak (linear), and the seconds it decoded."""

    momentary: Sequence[float]
    short_term: Sequence[float]
    peak: float
    seconds: float


@dataclass(frozen=True)
class Combined:
    integrated: float  # LUFS (−inf when every block is gated out)
    lra: float  # LU
    peak: float  # dB (of the linear peak; −inf for none)
    seconds: float  # decoded length of the whole programme


def plan(seconds: float, parts: int, min_seconds: float = MIN_SEGMENT_SECONDS, lead: int = LEAD_BLOCKS) -> list[Segment]:
    """Cut a programme of about `seconds` (a header's claim: the last segment decodes to the real end) into at most
    `parts` segments of at least `min_seconds`, at 100 ms steps; each after the first starts `lead` steps before
    its cut (a decode alone needs no warm-up: lead 0)."""
    parts = max(1, min(parts, int(seconds // min_seconds) if min_seconds > 0 else parts))
    tenths = max(0, int(seconds * 10))
    cuts = [tenths * index // parts for index in range(parts + 1)]
    segments = []
    for index in range(parts):
        before = 0 if index == 0 else lead
        start = cuts[index] - before
        length = None if index == parts - 1 else cuts[index + 1] - start
        segments.append(Segment(start, length, before))
    return segments


def _energy(lufs: float) -> float:
    return 10 ** ((lufs + 0.691) / 10)


def _lufs(energy: float) -> float:
    return -0.691 + 10 * math.log10(energy) if energy > 0 else float("-inf")


def integrated(momentary: Iterable[float]) -> float:
    """BS.1770-4 integrated loudness from 400 ms block loudness values: the mean energy of the blocks above −70 LUFS
    and above (their mean − 10 LU)."""
    loud = [value for value in momentary if value > ABSOLUTE_GATE]
    if not loud:
        return float("-inf")
    threshold = _lufs(sum(map(_energy, loud)) / len(loud)) + RELATIVE_GATE
    kept = [_energy(value) for value in loud if value > threshold]
    return _lufs(sum(kept) / len(kept))


def loudness_range(short_term: Iterable[float]) -> float:
    """EBU Tech 3342 loudness range from 3 s block loudness values: the spread between the 10th and 95th percentiles
    of the blocks above −70 LUFS and above (their mean − 20 LU)."""
    loud = [value for value in short_term if value > ABSOLUTE_GATE]
    if not loud:
        return 0.0
    threshold = _lufs(sum(map(_energy, loud)) / len(loud)) + LRA_RELATIVE_GATE
    kept = sorted(value for value in loud if value > threshold)
    return _percentile(kept, 0.95) - _percentile(kept, 0.10)


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest rank (rounded down) of an ascending sequence."""
    return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1) + 0.5))]


def decoded_seconds(segments: Sequence[Segment], found: Sequence[Blocks], slack: float = 0.05) -> float:
    """The programme's decoded length: where the first segment that ended early ended (a truncated file: the ones
    after it decoded nothing real), else where the last one did."""
    for segment, blocks in zip(segments, found, strict=True):
        if segment.length is None or blocks.seconds < segment.length - slack:
            return segment.start + blocks.seconds
    return 0.0  # no segments


def combine(segments: Sequence[Segment], found: Sequence[Blocks]) -> Combined:
    """The whole programme's loudness, range, peak and decoded length from its segments' blocks."""
    momentary: list[float] = []
    short_term: list[float] = []
    seconds = decoded_seconds(segments, found)
    for segment, blocks in zip(segments, found, strict=True):
        if segment.start >= seconds and segment.start_tenths > 0:
            break  # past the real end (a header that claimed more): nothing of the programme
        momentary.extend(blocks.momentary[segment.skip :])
        short_term.extend(blocks.short_term[segment.skip :])
    peak = max((blocks.peak for blocks in found), default=0.0)
    return Combined(
        integrated=integrated(momentary),
        lra=loudness_range(short_term),
        peak=20 * math.log10(peak) if peak > 0 else float("-inf"),
        seconds=seconds,
    )
