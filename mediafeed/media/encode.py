"""The encode stage: loudness-normalized delivery renditions of a master, made once per content, profile and code.

Audio becomes CBR MP3 at 44.1 kHz; video becomes MP4 (the video stream copied when it is H.264) plus an audio-only
MP3 rendition; a deliverable MP3 already on target passes through untouched. Each result is remembered in the store
under the master's content id, the profile (targets, bitrates, bumpers by content), the digest of this module's code
(loudness and the ffmpeg runner included) and ffmpeg's version; the files themselves are content-addressed in the
store. Everything streams through ffmpeg; Python never holds a programme in memory (bumpers, a few seconds long,
are the only audio pydub loads). Sources are only ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mediafeed.cache.code import code_digest
from mediafeed.cache.store import Store, key_of
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg, verify
from mediafeed.media.loudness import (
    ENCODER_LOSS,
    MAX_PASSES,
    MAX_PROBES,
    PROBE_TOLERANCE,
    GainPlan,
    Target,
    can_pass_through,
    correct,
    next_gain,
    plan_gain,
    target_for,
)
from mediafeed.mediainfo import AudioProfile, MediaInfo
from mediafeed.progress import Advanced, Finished, Reporter, Started, Task, silent

SAMPLE_RATE = 44100
SOURCE = "<source>"  # a rendition that is the master itself (passed through)
SILENT_LUFS = -60.0  # quieter than this is digital silence (an export of the wrong track), not a quiet programme


@dataclass(frozen=True)
class Bumper:
    path: Path
    content_id: str


@dataclass(frozen=True)
class Profile:
    """How delivery files are made; its digest is part of every encode key, so a change re-processes only what it
    affects (a feed's bumper, its loudness target)."""

    audio: AudioProfile
    intro: Bumper | None = None
    outro: Bumper | None = None
    # How far a delivery file's decoded length may be from the master's (plus bumpers): max(seconds, ratio × length).
    duration_tolerance_s: float = 0.5
    duration_tolerance_ratio: float = 0.005

    def tolerance(self, seconds: float) -> float:
        return max(self.duration_tolerance_s, self.duration_tolerance_ratio * seconds)

    @cached_property
    def digest(self) -> str:
        """Computed once per profile: every job and feed asks for it, 10,000s of times on a large catalog."""
        described = {
            "audio": asdict(self.audio),
            "intro": self.intro.content_id if self.intro else None,
            "outro": self.outro.content_id if self.outro else None,
            "tolerance": (self.duration_tolerance_s, self.duration_tolerance_ratio),
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Rendition:
    """One encoded output and how loud it came out."""

    path: Path
    loudness: dict[str, Any] = field(default_factory=dict)
    intro_seconds: float = 0.0
    outro_seconds: float = 0.0
    seconds: float = 0.0  # decoded length, checked against the master's (see media.verify)


def encode(
    source: Path,
    info: MediaInfo,
    source_id: str,
    profile: Profile,
    store: Store,
    ffmpeg_version: str,
    *,
    report: Reporter = silent,
    name: str = "",
    master_seconds: float | None = None,
    guard: Callable[[], None] | None = None,
    measured: ffmpeg.Loudness | None = None,
) -> dict[str, Rendition]:
    """The renditions of a master ("main", and "audio" for a video), from the store when made before.

    Every rendition made is verified (media.verify: it decodes cleanly and lasts `master_seconds`, the master's
    decoded length, plus its bumpers) before it is remembered; `guard` is called just before, and raises when the
    master changed while it was processed (then nothing is remembered). Each ffmpeg run that reads the whole
    programme (a loudness measure, an encode pass) is reported to `report` as
    a task named `name` (default: the master's file name), in seconds of programme done. `measured` is the master's
    loudness when the caller measured it already (measure_master, with its decoded length)."""
    key = key_of("encode", source_id, source.suffix.lower(), profile.digest, code_digest(__name__), ffmpeg_version)
    known = _remembered(store, key, source)
    if known is not None:
        return known
    # Byte-identical masters (a re-run, one clip in two bundles) have one key: one writer encodes, the others wait
    # for it (threads of this run, or another mediafeed on the same build/) and take what it stored.
    with store.claim("encode", key):
        known = _remembered(store, key, source)
        if known is not None:
            return known
        if master_seconds is None:
            master_seconds = verify.master_seconds(source, source_id, store, ffmpeg_version)
        made = _encode_new(source, info, profile, store, ffmpeg_version, key, report, name, master_seconds, guard, measured)
        return made


def _remembered(store: Store, key: str, source: Path) -> dict[str, Rendition] | None:
    saved = store.get("encode", key)
    if not isinstance(saved, dict):
        return None
    renditions = {}
    for name, entry in saved.items():
        try:
            sha, suffix, loudness, intro, outro, seconds = entry
        except (TypeError, ValueError):
            return None
        path = source if sha == SOURCE else store.file(sha, suffix)
        if path is None:
            return None  # a file of the store was removed or damaged: encode again
        renditions[name] = Rendition(path, loudness, intro, outro, seconds)
    return renditions


def _encode_new(
    source: Path,
    info: MediaInfo,
    profile: Profile,
    store: Store,
    ffmpeg_version: str,
    key: str,
    report: Reporter,
    name: str,
    master_seconds: float,
    guard: Callable[[], None] | None,
    measured: ffmpeg.Loudness | None,
) -> dict[str, Rendition]:
    context = _Context(store, ffmpeg_version, report, name or source.name)
    try:
        if info.has_video:
            if measured is None:  # shared by both renditions
                measured = measure_master(source, info, profile, report=report, name=context.name).loudness
            renditions = {
                "main": _encode_video(source, info, profile, context.output(".mp4"), measured, context),
                "audio": _encode_audio(source, info, profile, context.output(".mp3"), context, measured, allow_passthrough=False),
            }
        else:
            main = _encode_audio(source, info, profile, context.output(".mp3"), context, measured, allow_passthrough=True)
            renditions = {"main": main}
        record: dict[str, tuple[str, str, dict[str, Any], float, float, float]] = {}
        for name, rendition in renditions.items():
            if rendition.path == source:  # passed through: the master's own decoded length
                rendition.seconds = master_seconds
                record[name] = (SOURCE, source.suffix, rendition.loudness, rendition.intro_seconds, 0.0, master_seconds)
                continue
            final, sha = store.adopt(rendition.path, rendition.path.suffix)
            rendition.path = final
            expected = rendition.intro_seconds + master_seconds + rendition.outro_seconds
            try:
                rendition.seconds = verify.check(
                    final, sha, store, ffmpeg_version, expected=expected, tolerance=profile.tolerance(expected), subject=source
                )
            except MediaError:
                store.discard(sha, final.suffix)  # never kept, never published
                raise
            record[name] = (sha, final.suffix, rendition.loudness, rendition.intro_seconds, rendition.outro_seconds,
                            rendition.seconds)  # fmt: skip
    finally:
        context.clean()  # scratch files not adopted (a failed or superseded pass)
    if guard is not None:
        guard()
    store.put("encode", key, record)
    return renditions


@dataclass
class _Context:
    """Where one encode writes (scratch files in the store) and what its bumpers are keyed by."""

    store: Store
    ffmpeg_version: str
    report: Reporter = silent
    name: str = ""
    scratch: list[Path] = field(default_factory=list)

    def output(self, suffix: str) -> Path:
        path = self.store.scratch(suffix)
        self.scratch.append(path)
        return path

    def clean(self) -> None:
        for path in self.scratch:
            path.unlink(missing_ok=True)

    def watching(self, kind: str, label: str, total: float) -> AbstractContextManager[ffmpeg.Watch | None]:
        return watching(self.report, kind, label, total)


@contextmanager
def watching(report: Reporter, kind: str, label: str, total: float) -> Iterator[ffmpeg.Watch | None]:
    """One ffmpeg run over the whole programme, reported as a task counting seconds of `total`."""
    if report is silent:
        yield None
        return
    task = Task(kind, label, "seconds")
    report(Started(task, total))
    outcome = "failed"
    try:
        yield lambda seconds: report(Advanced(task, min(seconds, total)))
        outcome = "done"
    finally:
        report(Finished(task, outcome))


def measure_master(
    source: Path, info: MediaInfo, profile: Profile, *, report: Reporter = silent, name: str = "", prefilter: str = ""
) -> ffmpeg.Measured:
    """A master's loudness and its decoded length in one pass over it, in segments side by side (one ffmpeg per
    core; media.gating combines them exactly). True peak only for a master that may pass through untouched."""
    with watching(report, "measure", f"{name or source.name}{' (limiter)' if prefilter else ''}", info.duration) as watch:
        return ffmpeg.measure_segmented(
            source, true_peak=_measure_true_peak(info, profile) and not prefilter, duration=info.duration,
            prefilter=prefilter, watch=watch,
        )  # fmt: skip


def _measure_true_peak(info: MediaInfo, profile: Profile) -> bool:
    """Only a source that may pass through untouched needs its true peak measured (4× oversampling is costly)."""
    deliverable = info.path.suffix.lower() == ".mp3" and info.audio_codec == "mp3" and info.sample_rate == SAMPLE_RATE
    return deliverable and not info.has_video and profile.intro is None and profile.outro is None


def _encode_audio(
    source: Path,
    info: MediaInfo,
    profile: Profile,
    output: Path,
    context: _Context,
    measured: ffmpeg.Loudness | None,
    *,
    allow_passthrough: bool,
) -> Rendition:
    channels = 1 if info.channels == 1 else 2
    target = target_for(channels, profile.audio)
    deliverable = allow_passthrough and _measure_true_peak(info, profile)
    if measured is None or (deliverable and not measured.true_peak):
        measured = measure_master(source, info, profile, report=context.report, name=context.name).loudness
    _refuse_silence(measured, source)
    if deliverable and can_pass_through(measured, target):
        return Rendition(source, {"passthrough": True, **_describe(measured, target)})

    intro = _bumper_wav(profile.intro, target, channels, context) if profile.intro else None
    outro = _bumper_wav(profile.outro, target, channels, context) if profile.outro else None
    intro_seconds = ffmpeg.probe(intro).duration if intro else 0.0
    outro_seconds = ffmpeg.probe(outro).duration if outro else 0.0
    plan = _through_the_limiter(source, plan_gain(measured, target, "mp3"), target, "mp3", info, context, profile)
    bitrate = profile.audio.mp3_bitrate_mono if channels == 1 else profile.audio.mp3_bitrate_stereo
    layout = "mono" if channels == 1 else "stereo"
    fmt = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={layout}"

    def args(gain: GainPlan) -> tuple[list[str], list[str]]:
        """(the feeder's arguments: decode, resample, gain, join, limit, as raw PCM; the encoder's, reading that)."""
        clips = [clip for clip in (intro, source, outro) if clip is not None]
        inputs = [arg for clip in clips for arg in ("-i", str(clip))]
        parts = [
            f"[{index}:a:0]{fmt}{',' + gain.volume() if clip == source else ''}[s{index}]" for index, clip in enumerate(clips)
        ]
        tail = [f"concat=n={len(clips)}:v=0:a=1" if len(clips) > 1 else "anull"]
        if gain.limit is not None:
            tail.append(gain.limiter())  # after the join: levelled bumpers pass under it untouched
        graph = ";".join(parts) + ";" + "".join(f"[s{i}]" for i in range(len(clips))) + ",".join(tail) + "[out]"
        feed = [*inputs, "-filter_complex", graph, "-map", "[out]", "-map_metadata", "-1", "-c:a", "pcm_f32le",
                "-f", "f32le", "pipe:1"]  # fmt: skip
        pcm = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0"]
        return feed, [*pcm, "-map", "0:a", "-map_metadata", "-1",
                      "-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-ar", str(SAMPLE_RATE), "-ac", str(channels)]  # fmt: skip

    total = intro_seconds + info.duration + outro_seconds
    label = f"{context.name} (audio)" if info.has_video else context.name
    made = _encode_until_on_target(
        lambda gain: (args(gain)[1], output, "mp3", args(gain)[0]), plan, target, source, context, label, total
    )
    return Rendition(output, made, intro_seconds, outro_seconds)


def _encode_video(
    source: Path, info: MediaInfo, profile: Profile, output: Path, measured: ffmpeg.Loudness | None, context: _Context
) -> Rendition:
    channels = 1 if info.channels == 1 else 2
    target = target_for(channels, profile.audio)
    if measured is None:
        measured = measure_master(source, info, profile, report=context.report, name=context.name).loudness
    _refuse_silence(measured, source)
    plan = _through_the_limiter(source, plan_gain(measured, target, "aac"), target, "aac", info, context, profile)
    video = (
        ["-c:v", "copy"]
        if info.video_codec == "h264"
        else ["-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p"]
    )
    bitrate = profile.audio.aac_bitrate_mono if channels == 1 else profile.audio.aac_bitrate_stereo

    def args(gain: GainPlan) -> list[str]:
        return ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1",
                *video, "-af", gain.filters(), "-c:a", "aac", "-b:a", f"{bitrate}k", "-ac", str(channels)]  # fmt: skip

    loudness = _encode_until_on_target(
        lambda gain: (args(gain), output, "mp4", None), plan, target, source, context, context.name, info.duration
    )
    return Rendition(output, loudness)


def _refuse_silence(measured: ffmpeg.Loudness, source: Path) -> None:
    """Digital silence cannot be normalized into a programme; a quiet one (say −40 LUFS) can, and is."""
    if measured.integrated < SILENT_LUFS:
        raise MediaError(
            f"the audio is silent ({measured.integrated:.0f} LUFS)",
            file=str(source),
            hint="export the master again with the programme's sound (the wrong track or a muted mix?)",
        )


def _through_the_limiter(
    source: Path, plan: GainPlan, target: Target, codec: str, info: MediaInfo, context: _Context, profile: Profile
) -> GainPlan:
    """Limiting takes loudness away: measure the gained, limited signal (cheap: no encode) until it lands on target."""
    if plan.limit is None:
        return plan
    wanted = target.loudness + ENCODER_LOSS[codec]
    history: list[tuple[float, float]] = []
    for _ in range(MAX_PROBES):
        probe = measure_master(source, info, profile, report=context.report, name=context.name, prefilter=plan.filters())
        limited = probe.loudness
        history.append((plan.gain, limited.integrated))
        if abs(limited.integrated - wanted) <= PROBE_TOLERANCE:
            break
        plan = GainPlan(next_gain(history, wanted), plan.limit)
    return plan


def _encode_until_on_target(
    command: Any, plan: GainPlan, target: Target, source: Path, context: _Context, label: str, total: float
) -> dict[str, Any]:
    """Encode, measuring the encoded stream as it is written; correct and re-encode only when it missed."""
    best: tuple[float, GainPlan, Any] | None = None
    history: list[tuple[float, float]] = []
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        args, output, fmt, feed = command(plan)
        partial = output.with_name(f"{output.stem}.pass{passes}{output.suffix}")  # output is a unique scratch name
        try:
            with context.watching("encode", label if passes == 1 else f"{label} (pass {passes})", total) as watch:
                measured = ffmpeg.encode_and_measure(args, partial, fmt, subject=source, true_peak=True, watch=watch, feed=feed)
            miss = abs(measured.integrated - target.loudness) + max(0.0, measured.peak - target.ceiling) * 2
            if best is None or miss < best[0]:
                os.replace(partial, output)
                best = (miss, plan, measured)
        finally:
            partial.unlink(missing_ok=True)
        if target.met_by(measured):
            break
        corrected = correct(plan, measured, target, history)
        history.append((plan.gain, measured.integrated))
        plan = corrected
    assert best is not None
    _, used, measured = best
    return {"passes": passes, "gain_db": used.gain, "limit_dbfs": used.limit, **_describe(measured, target)}


def _describe(measured: ffmpeg.Loudness, target: Target) -> dict[str, Any]:
    return {
        "integrated_lufs": measured.integrated,
        "true_peak_dbtp": measured.peak,
        "lra_lu": measured.lra,
        "target_lufs": target.loudness,
        "ceiling_dbtp": target.ceiling,
        "on_target": target.met_by(measured),
    }


def _bumper_wav(bumper: Bumper, target: Target, channels: int, context: _Context) -> Path:
    """A short intro/outro levelled to the episode's target with pydub (clips are seconds long: RAM is fine)."""
    from pydub import AudioSegment

    store = context.store
    key = key_of(
        "bumper", bumper.content_id, target.loudness, target.ceiling, channels, code_digest(__name__), context.ffmpeg_version
    )
    known = store.get("bumper", key)
    if isinstance(known, str) and (path := store.file(known, ".wav")) is not None:
        return path
    scratch = context.output(".wav")
    with tempfile.TemporaryDirectory(dir=scratch.parent) as folder:
        plain = Path(folder) / "plain.wav"
        ffmpeg.run("ffmpeg", ["-y", "-v", "error", "-i", str(bumper.path), "-map", "0:a:0", "-ar", str(SAMPLE_RATE),
                              "-ac", str(channels), "-c:a", "pcm_s16le", str(plain)], subject=bumper.path)  # fmt: skip
        measured = ffmpeg.measure_loudness(plain, true_peak=True)
        # One gain to the target, held back if it would push the clip's true peak over the ceiling (no limiter here).
        gain = min(target.loudness - measured.integrated, target.ceiling - 0.5 - measured.peak)
        AudioSegment.from_wav(plain).apply_gain(gain).export(scratch, format="wav")
    path, sha = store.adopt(scratch, ".wav")
    store.put("bumper", key, sha)
    return path
