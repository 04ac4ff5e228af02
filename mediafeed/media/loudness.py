"""Decide how to bring a programme to its loudness target: one linear gain, a limiter only when needed.

Pure functions over measurements, so the decisions are tested as tables. The approach (measured in
shared/reference/loudness.md): measure once, apply one gain (keeps the programme's dynamics, unlike loudnorm's
dynamic mode), limit only the peaks the gain would push over the ceiling, then measure the *encoded* file — MP3
encoding lowers loudness a little and raises true peak — and correct in a rare extra pass when it missed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediafeed.media.ffmpeg import Loudness
from mediafeed.mediainfo import AudioProfile

TOLERANCE = 0.5  # LU either side of the target that counts as on target
ENCODER_LOSS = {"mp3": 0.45, "aac": 0.0}  # LU lost by encoding (MP3's lowpass removes K-weighted treble)
SAMPLE_PEAK_MARGIN = 1.0  # dB true peak may exceed a sample peak (inter-sample overs) plus encoder overshoot
TRUE_PEAK_MARGIN = 0.5  # dB of encoder overshoot over a measured true peak
MAX_PASSES = 3  # encodes at most per output (the first, plus two corrections)
MAX_PROBES = 4  # measure-only passes to find the gain that reaches the target through the limiter
PROBE_TOLERANCE = 0.2  # LU: how close a measure-only pass must land before encoding
MIN_LIMIT = -24.0  # dBFS: alimiter's lowest ceiling


@dataclass(frozen=True)
class Target:
    loudness: float  # LUFS
    ceiling: float  # dBTP

    def met_by(self, measured: Loudness) -> bool:
        return abs(measured.integrated - self.loudness) <= TOLERANCE and measured.peak <= self.ceiling


@dataclass(frozen=True)
class GainPlan:
    gain: float  # dB applied to the whole programme
    limit: float | None  # dBFS ceiling of the peak limiter, None when no peak needs limiting

    def volume(self) -> str:
        return f"volume={self.gain:.2f}dB"

    def limiter(self) -> str:
        """alimiter with its auto-levelling off (it would otherwise add make-up gain of its own)."""
        assert self.limit is not None
        return f"alimiter=limit={10 ** (self.limit / 20):.5f}:attack=5:release=50:level=false"

    def filters(self) -> str:
        """The ffmpeg filter chain: the gain, then the limiter when one is needed."""
        return self.volume() + ("," + self.limiter() if self.limit is not None else "")


def target_for(channels: int | None, profile: AudioProfile) -> Target:
    """Mono programmes aim 3 LU lower: played on two speakers they sound as loud as stereo at the stereo target."""
    loudness = profile.loudness_mono if channels == 1 else profile.loudness_stereo
    return Target(loudness, profile.true_peak)


def can_pass_through(source: Loudness, target: Target) -> bool:
    """A deliverable source already on target (true peak measured) is published without re-encoding."""
    return source.true_peak and target.met_by(source)


def plan_gain(source: Loudness, target: Target, codec: str) -> GainPlan:
    """One gain to reach the target after encoding; a limiter only if that gain would push peaks over the ceiling."""
    if source.integrated == float("-inf"):
        return GainPlan(0.0, None)  # digital silence: nothing to normalize
    gain = target.loudness - source.integrated + ENCODER_LOSS[codec]
    margin = TRUE_PEAK_MARGIN if source.true_peak else SAMPLE_PEAK_MARGIN
    if source.peak + gain + margin <= target.ceiling:
        return GainPlan(round(gain, 2), None)
    return GainPlan(round(gain, 2), max(MIN_LIMIT, round(target.ceiling - margin, 2)))


def next_gain(history: list[tuple[float, float]], wanted: float) -> float:
    """The gain to try next, from (gain, measured loudness) pairs already tried.

    Without a limiter loudness follows gain 1:1. With one it follows less (limited peaks stay put), so after two
    tries the secant through them predicts better; the slope is bounded so one odd measurement cannot run away.
    """
    gain, measured = history[-1]
    slope = 1.0
    if len(history) >= 2:
        previous_gain, previous = history[-2]
        if gain != previous_gain:
            slope = min(1.0, max(0.1, (measured - previous) / (gain - previous_gain)))
    return round(gain + (wanted - measured) / slope, 2)


def correct(plan: GainPlan, output: Loudness, target: Target, history: list[tuple[float, float]]) -> GainPlan:
    """After an encode missed: move the gain by the miss; limit (harder) if peaks would then exceed the ceiling.

    Peaks that went through the limiter stay near it whatever the gain, so only the limiter's overshoot (what
    encoding and inter-sample peaks added on top of it) decides the new limit.
    """
    miss = target.loudness - output.integrated
    predicted_peak = output.peak if plan.limit is not None else output.peak + miss
    limit = plan.limit
    if predicted_peak > target.ceiling:
        overshoot = output.peak - plan.limit if plan.limit is not None else SAMPLE_PEAK_MARGIN
        limit = max(MIN_LIMIT, round(target.ceiling - max(overshoot, 0.0) - 0.3, 2))
    return GainPlan(next_gain([*history, (plan.gain, output.integrated)], target.loudness), limit)
