"""Media as published (`process: false`): the master is the delivery file, byte for byte, and is only measured.

An imported show's enclosures are finished files; a second lossy encode would only make them worse. Such a master
gets no loudness normalization, no re-encode, no bumpers and no tags: it is published under a content-addressed key
made from its own bytes, and its type (the one table, content_types), length (its size) and duration (decoded, as
every delivery's: media.verify) come from the file. What it can still be is *measured*: its integrated loudness and
true peak (media.gating's segmented ebur128 measure) are remembered by content and code like every measurement, and
reported against the feed's target (media.loudness.Target), so the producer sees which episodes are off target.

Refused, with a fix: a file podcast apps cannot play (only MP3, AAC in M4A or MP4, and H.264 video in MP4 go
out untouched), and a feed of the other medium carrying it (a video feed and an MP3, an audio feed and an MP4).

`measure(path)` is the library function an importer calls after a download: no project, no store needed.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediafeed.cache.code import code_digest
from mediafeed.cache.store import Store, key_of
from mediafeed.media import ffmpeg
from mediafeed.media.loudness import Target, target_for
from mediafeed.mediainfo import AudioProfile, MediaInfo

KIND = "loudness"
FIELD = "process"  # the front-matter field every refusal here names
FIX = "set process: true to encode it"

# Containers podcast apps play as they are (suffix → what ffprobe must call the container), and their codecs: the
# files Apple lists (feeds/lint.py's APPLE_MEDIA_TYPES), so AAC goes out in M4A/MP4, not as a bare ADTS .aac stream.
CONTAINERS = {".mp3": "mp3", ".m4a": "mp4", ".mp4": "mp4", ".m4v": "mp4"}
AUDIO_CODECS = {".mp3": ("mp3",), ".m4a": ("aac",), ".mp4": ("aac",), ".m4v": ("aac",)}
VIDEO_CODECS = ("h264",)


@dataclass(frozen=True)
class Measurement:
    """A published file's loudness as measured: integrated LUFS, true peak dBTP, loudness range, its channels, and
    its decoded length with ffmpeg's errors ('' when it decoded cleanly)."""

    lufs: float
    true_peak: float
    lra: float
    channels: int | None
    seconds: float
    errors: str = ""

    def target(self, profile: AudioProfile) -> Target:
        """The target a processed file of these channels would be brought to (−16 LUFS stereo, −19 mono)."""
        return target_for(self.channels, profile)

    def on_target(self, profile: AudioProfile) -> bool:
        return self.target(profile).met_by(ffmpeg.Loudness(self.lufs, self.lra, self.true_peak, True))

    def describe(self, profile: AudioProfile) -> dict[str, Any]:
        """What PreparedEpisode.loudness records for an as-published file (the keys an encode records, plus its
        channels and `as_published`)."""
        target = self.target(profile)
        return {
            "as_published": True,
            "integrated_lufs": self.lufs,
            "true_peak_dbtp": self.true_peak,
            "lra_lu": self.lra,
            "channels": self.channels,
            "target_lufs": target.loudness,
            "ceiling_dbtp": target.ceiling,
            "on_target": self.on_target(profile),
        }


def measure(path: Path, store: Store | None = None, *, ffmpeg_version: str | None = None, info: MediaInfo | None = None,
            content_id: str | None = None, watch: ffmpeg.Watch | None = None,
            guard: Callable[[], None] | None = None) -> Measurement:  # fmt: skip
    """`path`'s integrated loudness (LUFS), true peak (dBTP), channels and decoded length, measured in segments side
    by side (one ffmpeg per core); remembered in `store` (when given) by the file's content, this module's code and
    ffmpeg's version (`ffmpeg_version`, asked of ffmpeg when not given). `info` (its probe facts) and `content_id`
    (`sha256:<hex>`) when known. `guard` raises when the file changed while it was measured (then nothing is remembered).

    For an importer: `measure(Path("episodes/x/media.mp3"))` → Measurement(lufs=-18.2, true_peak=-0.4, ...)."""
    key = None
    if store is not None:  # looked up before anything runs: a remembered file costs one hash, no process
        from mediafeed.cache.identity import hash_file

        identity = content_id or f"sha256:{hash_file(path)[0]}"
        key = key_of(KIND, identity, code_digest(__name__), ffmpeg_version or _ffmpeg_version())
        known = store.get(KIND, key)
        if isinstance(known, Measurement):
            return known
    info = info or ffmpeg.probe(path)
    found = ffmpeg.measure_segmented(path, true_peak=True, duration=info.duration, watch=watch)
    loudness = found.loudness
    measured = Measurement(loudness.integrated, loudness.peak, loudness.lra, info.channels, found.seconds, found.errors)
    if guard is not None:
        guard()
    if store is not None and key is not None:
        store.put(KIND, key, measured)
    return measured


@functools.lru_cache(maxsize=1)
def _ffmpeg_version() -> str:
    """The first line of `ffmpeg -version` (what the probe stage remembers by the binary's content)."""
    output = subprocess.run([ffmpeg.find_tool("ffmpeg"), "-version"], capture_output=True, check=False, timeout=60).stdout
    return output.decode("utf-8", "replace").splitlines()[0] if output.strip() else "ffmpeg (unknown version)"


def unplayable(info: MediaInfo) -> str | None:
    """Why podcast apps could not play this file as it is (None when they can)."""
    suffix = info.path.suffix.lower()
    name = info.path.name
    container = CONTAINERS.get(suffix)
    if container is None:
        kind = f"a {suffix} file" if suffix else "a file without an extension"
        return f"{name}: {kind} cannot go out as published (podcast apps play MP3, AAC in M4A, and MP4)"
    formats = info.format_name.split(",")
    if container not in formats and not (container == "mp4" and "mov" in formats):
        return f"{name}: its extension says {suffix} but it is {info.format_name or 'an unknown format'} inside"
    if info.audio_codec not in AUDIO_CODECS[suffix]:
        needed = " or ".join(AUDIO_CODECS[suffix]).upper()
        return f"{name}: its audio is {info.audio_codec}, which podcast apps do not play in a {suffix} file (they need {needed})"
    if info.has_video and (suffix not in (".mp4", ".m4v") or info.video_codec not in VIDEO_CODECS):
        return f"{name}: its video is {info.video_codec} in a {suffix} file (podcast apps need H.264 in MP4)"
    return None


def medium_mismatch(info: MediaInfo, carried_by: Iterable[tuple[str, str]]) -> str | None:
    """Why a feed that carries this file cannot enclose it as it is: a video feed and an audio file, or an audio
    feed and a video (a processed video gets an audio-only rendition for audio feeds; an as-published one has none).
    `carried_by`: (feed file, medium) of every feed that selects the episode."""
    medium = "video" if info.has_video else "audio"
    other = sorted(file for file, feed_medium in carried_by if feed_medium != medium)
    if not other:
        return None
    feeds = ", ".join(other)
    what = "a video" if medium == "video" else "audio only"
    verb = "is a feed" if len(other) == 1 else "are feeds"
    return f"{info.path.name} is {what}, published as is, but {feeds} {verb} of the other medium"


MEDIUM_HINT = f"{FIX} (a video also gets an audio-only MP3 for audio feeds), or leave the episode out of that feed's select"
PLAYABLE_HINT = (
    f"{FIX} into MP3 (or H.264/AAC MP4), or replace the file with one podcast apps play "
    "(AAC in a bare .aac stream: ffmpeg -i x.aac -c copy x.m4a)"
)


def refusal(info: MediaInfo, carried_by: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when this file cannot go out as it is in the feeds that carry it; else None."""
    problem = unplayable(info)
    if problem is not None:
        return problem, PLAYABLE_HINT
    problem = medium_mismatch(info, carried_by)
    return (problem, MEDIUM_HINT) if problem is not None else None


def delivered_suffix(info: MediaInfo) -> str:
    """The published key's extension: the master's, except an audio-only MP4 container, which goes out as .m4a
    (the same bytes; the type the table gives .mp4 would say video)."""
    suffix = info.path.suffix.lower()
    return ".m4a" if suffix in (".mp4", ".m4v") and not info.has_video else suffix


def summary(loudness: dict[str, Any]) -> str:
    """One line for a progress report or a publish: '-23.1 LUFS, -0.4 dBTP (as published; off target: -16.0 LUFS,
    true peak ≤ -1.0 dBTP)'."""
    where = "on target" if loudness.get("on_target") else (
        f"off target: {loudness['target_lufs']:.1f} LUFS, true peak <= {loudness['ceiling_dbtp']:.1f} dBTP"
    )  # fmt: skip
    return f"{loudness['integrated_lufs']:.1f} LUFS, {loudness['true_peak_dbtp']:.1f} dBTP (as published; {where})"
