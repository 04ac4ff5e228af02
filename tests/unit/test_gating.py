"""Loudness measured in segments (media.gating): where the cuts go, the BS.1770 gates, and how segments combine."""

from __future__ import annotations

import math

import pytest

from mediafeed.media.gating import (
    LEAD_BLOCKS,
    Blocks,
    Segment,
    combine,
    decoded_seconds,
    integrated,
    loudness_range,
    plan,
)

SENTINEL = -120.691  # what ebur128 reports for a window that is not full yet


@pytest.mark.parametrize(
    ("seconds", "parts", "expected"),
    [
        (30.0, 2, [Segment(0, None, 0)]),  # too short to be worth a second ffmpeg
        (119.9, 4, [Segment(0, None, 0)]),
        (120.0, 2, [Segment(0, 600, 0), Segment(600 - LEAD_BLOCKS, None, LEAD_BLOCKS)]),
        (600.04, 2, [Segment(0, 3000, 0), Segment(3000 - LEAD_BLOCKS, None, LEAD_BLOCKS)]),
        (
            600.0,
            3,
            [Segment(0, 2000, 0), Segment(1971, 2029, LEAD_BLOCKS), Segment(3971, None, LEAD_BLOCKS)],
        ),
        (180.0, 8, [Segment(0, 600, 0), Segment(571, 629, LEAD_BLOCKS), Segment(1171, None, LEAD_BLOCKS)]),
        (600.0, 1, [Segment(0, None, 0)]),
        (0.5, 2, [Segment(0, None, 0)]),
    ],
)
def test_plan_cuts_at_tenths_with_a_lead_of_29_blocks(seconds: float, parts: int, expected: list[Segment]) -> None:
    assert plan(seconds, parts) == expected


def test_plan_without_a_lead_cuts_end_to_end() -> None:
    assert plan(600.0, 2, lead=0) == [Segment(0, 3000, 0), Segment(3000, None, 0)]


def test_every_block_is_counted_once() -> None:
    """Block k (ending at (k + 1) / 10 s) of a whole measure is the (skip + j)-th block of exactly one segment."""
    for seconds, parts in ((600.0, 2), (600.0, 3), (1234.5, 4), (3600.0, 2)):
        owned = []
        for segment in plan(seconds, parts):
            end = segment.start_tenths + segment.length_tenths if segment.length_tenths else int(seconds * 10)
            owned.extend(range(segment.start_tenths + segment.skip, end))
        assert owned == list(range(int(seconds * 10))), (seconds, parts)


@pytest.mark.parametrize(
    ("momentary", "expected"),
    [
        ([], float("-inf")),
        ([SENTINEL, SENTINEL], float("-inf")),  # nothing above the absolute gate
        ([-20.0], -20.0),
        ([-20.0, -20.0, SENTINEL, -80.0], -20.0),  # silence is gated out, not averaged in
        ([-20.0, -29.0], -20.0 + 10 * math.log10((1 + 10**-0.9) / 2)),  # within 10 LU: both count (energy mean)
        ([-20.0, -34.0], -20.0),  # more than 10 LU below their mean (-22.9): gated out
        ([-23.0] * 9 + [-69.9], -23.0),  # just above the absolute gate, but far below the relative one
        ([-70.0, -70.0], float("-inf")),  # at the absolute gate is below it
    ],
)
def test_integrated_applies_both_gates(momentary: list[float], expected: float) -> None:
    assert integrated(momentary) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("short_term", "expected"),
    [
        ([], 0.0),
        ([-20.0] * 10, 0.0),
        ([float(-30 + i) for i in range(21)], 17.0),  # -30..-10: 95th (-11) minus 10th (-28), nearest rank
        ([-20.0] * 50 + [-45.0] * 50, 0.0),  # 25 LU below the mean: gated out (−20 LU relative gate)
        ([SENTINEL] * 29 + [-20.0] * 10, 0.0),
    ],
)
def test_loudness_range(short_term: list[float], expected: float) -> None:
    assert loudness_range(short_term) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("lengths", "found", "expected"),
    [
        ([None], [600.0], 600.0),
        ([3000, None], [300.0, 302.9], 600.0),  # the second starts 2.9 s before its cut at 300 s
        ([3000, None], [200.0, 0.0], 200.0),  # truncated: the first ended early; the second found nothing
        ([3000, None], [299.98, 302.9], 600.0),  # within a frame of its length: not early
        ([3000, None], [300.0, 3702.9], 4000.0),  # the header claimed less than there is: the last reads to the end
    ],
)
def test_decoded_seconds(lengths: list[int | None], found: list[float], expected: float) -> None:
    segments = [Segment(0, lengths[0], 0)] + [Segment(3000 - LEAD_BLOCKS, n, LEAD_BLOCKS) for n in lengths[1:]]
    blocks = [Blocks((), (), 0.0, seconds) for seconds in found]
    assert decoded_seconds(segments, blocks) == pytest.approx(expected)


def test_segments_combine_to_the_whole() -> None:
    """Blocks split as plan() splits them, each later segment with its lead, give the whole programme's figures."""
    whole_m = [SENTINEL] * 3 + [-23.0 + 6 * math.sin(k / 7) for k in range(3, 1200)] + [-90.0] * 100
    whole_s = [SENTINEL] * 29 + [-23.0 + 3 * math.sin(k / 31) for k in range(29, 1300)]
    segments = plan(130.0, 2)
    cut = segments[1].start_tenths
    lead = [SENTINEL] * 3 + [-50.0] * (LEAD_BLOCKS - 3)  # what a segment's own first windows say: not counted
    found = [
        Blocks(whole_m[: segments[0].length_tenths], whole_s[: segments[0].length_tenths], 0.5, 65.0),
        Blocks(lead + whole_m[cut + LEAD_BLOCKS :], lead + whole_s[cut + LEAD_BLOCKS :], 0.7, 130.0 - cut / 10),
    ]
    combined = combine(segments, found)
    assert combined.integrated == pytest.approx(integrated(whole_m))
    assert combined.lra == pytest.approx(loudness_range(whole_s))
    assert combined.peak == pytest.approx(20 * math.log10(0.7))
    assert combined.seconds == pytest.approx(130.0)


def test_silence_combines_to_minus_infinity() -> None:
    combined = combine([Segment(0, None, 0)], [Blocks([SENTINEL] * 30, [SENTINEL] * 30, 0.0, 3.0)])
    assert combined.integrated == float("-inf")
    assert combined.peak == float("-inf")
    assert combined.lra == 0.0
