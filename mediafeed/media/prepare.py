"""Prepare episode media: loudness-normalized, encoded, tagged delivery files, each made once into build/.

Two cached stages, so that editing show notes never re-encodes audio:
1. **encode** (ffmpeg, expensive) — keyed by the source's content hash and the processing profile (targets,
   bitrates, bumpers): `build/encoded/`. Audio becomes CBR MP3 at 44.1 kHz; video becomes MP4 with the video stream
   copied when it is H.264, plus an audio-only MP3 rendition. A deliverable source already on target passes through.
2. **tag** (mutagen, cheap) — keyed by the encoded file and the tag contents: `build/tagged/`. This is the file
   that is published; its size is the enclosure length.

Everything streams through ffmpeg; Python never holds a programme in memory (bumpers, a few seconds long, are the
only audio pydub loads). Sources are only ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.artwork import embedded_artwork
from mediafeed.catalog.chapters import delivered
from mediafeed.config import AudioProfile
from mediafeed.digest import content_key
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg
from mediafeed.media.facts import FileFacts
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
from mediafeed.media.tags import EpisodeTags, TagChapter, write_tags
from mediafeed.models import Asset, Episode, MediaInfo, PreparedEpisode

PIPELINE_VERSION = "2"  # bump when encoding changes in a way the profile does not capture
SAMPLE_RATE = 44100
SOURCE_MARK = "<source>"  # a rendition that is the source itself (passed through); build/ stays relocatable


@dataclass(frozen=True)
class Bumper:
    path: Path
    sha256: str


@dataclass(frozen=True)
class Profile:
    """How delivery files are made; its digest names build outputs so a change re-processes only what it affects."""

    audio: AudioProfile
    intro: Bumper | None = None
    outro: Bumper | None = None

    @cached_property
    def digest(self) -> str:
        """Computed once per profile: every job and feed asks for it, 10,000s of times on a large catalog."""
        described = {
            "version": PIPELINE_VERSION,
            "audio": asdict(self.audio),
            "intro": self.intro.sha256 if self.intro else None,
            "outro": self.outro.sha256 if self.outro else None,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TagContext:
    """What tags need beyond the episode: the show it is filed under and where its feed lives."""

    album: str
    feed_url: str
    artwork: Path


@dataclass
class Rendition:
    """One encoded output and how loud it came out."""

    path: Path
    loudness: dict[str, Any] = field(default_factory=dict)
    intro_seconds: float = 0.0


def prepare_episode(
    episode: Episode,
    build_dir: Path,
    facts: FileFacts | None = None,
    profile: Profile | None = None,
    context: TagContext | None = None,
) -> PreparedEpisode:
    """Make (or reuse) the episode's delivery files and describe them as publishable assets."""
    facts = facts or FileFacts(None)
    profile = profile or Profile(AudioProfile())
    if episode.media.startswith("s3://"):
        raise MediaError(
            "this s3:// master was not downloaded before preparing",
            file=episode.file,
            field="media",
            hint="publish or build through mediafeed, which fetches s3:// masters into build/masters/",
        )
    source = Path(episode.media)
    if source.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", file=str(source), hint="export or copy the master again")
    info = facts.probe(source)
    first_measure = None
    if facts.knows_sha256(source):
        source_sha = facts.sha256(source)
    else:
        # A new or changed master is almost surely not in the cache: hash it while ffmpeg measures its loudness.
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(facts.sha256, source)
            first_measure = ffmpeg.measure_loudness(source, true_peak=_measure_true_peak(info, profile))
            source_sha = hashing.result()
    renditions = encode_cached(source, info, source_sha, profile, build_dir, first_measure)
    context = context or TagContext(album=episode.title, feed_url="", artwork=episode.image or Path())

    def deliver(rendition: Rendition) -> tuple[Asset, MediaInfo]:
        encoded_info = facts.probe(rendition.path)
        tags = episode_tags(episode, context, encoded_info.duration, rendition.intro_seconds)
        tagged = tagged_cached(rendition.path, facts.sha256(rendition.path), episode.slug, tags, build_dir)
        # Tags change neither duration nor streams: describe the tagged copy without probing it again.
        tagged_info = replace(encoded_info, path=tagged, size=tagged.stat().st_size)
        sha = facts.sha256(tagged)
        asset = Asset(
            content_key(f"media/{episode.slug}", sha, tagged.suffix), tagged, tagged_info.size, sha, tagged_info.mime_type
        )
        return asset, tagged_info

    main_asset, main_info = deliver(renditions["main"])
    audio = deliver(renditions["audio"]) if "audio" in renditions else None
    image = sidecar_asset(episode.image, f"artwork/{episode.slug}", IMAGE_TYPES, facts) if episode.image else None
    return PreparedEpisode(
        episode=episode,
        main=main_asset,
        main_info=main_info,
        audio=audio[0] if audio else None,
        audio_info=audio[1] if audio else None,
        image=image,
        loudness={name: r.loudness for name, r in renditions.items()},
        main_offset=renditions["main"].intro_seconds,
        audio_offset=renditions["audio"].intro_seconds if "audio" in renditions else 0.0,
    )


def sidecar_asset(path: Path, key_stem: str, types: dict[str, str], facts: FileFacts) -> Asset:
    """A content-addressed asset: the key changes whenever the bytes do, because apps cache by URL."""
    sha = facts.sha256(path)
    suffix = path.suffix.lower().replace(".jpeg", ".jpg")
    return Asset(content_key(key_stem, sha, suffix), path, path.stat().st_size, sha, types[path.suffix.lower()])


# --- stage 1: encode ----------------------------------------------------------------------------------------------


def encode_cached(
    source: Path,
    info: MediaInfo,
    source_sha: str,
    profile: Profile,
    build_dir: Path,
    measured: ffmpeg.Loudness | None = None,
) -> dict[str, Rendition]:
    """The encoded renditions of a source, from build/encoded/ when this source and profile were done before.

    `measured` is the source's loudness when the caller has it already (as `_measure_true_peak` asks for it).
    """
    stem = build_dir / "encoded" / f"{source_sha[:24]}-{profile.digest}"
    record = stem.with_suffix(".json")
    if record.is_file():
        try:
            saved = json.loads(record.read_text())
            renditions = {
                name: Rendition(source if r["path"] == SOURCE_MARK else build_dir / r["path"], r["loudness"], r["intro"])
                for name, r in saved["renditions"].items()
            }
            if all(r.path.is_file() for r in renditions.values()):
                return renditions
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an unreadable record: encode again
    stem.parent.mkdir(parents=True, exist_ok=True)
    if info.has_video:
        measured = measured or ffmpeg.measure_loudness(source, true_peak=False)  # shared by both renditions
        renditions = {
            "main": _encode_video(source, info, profile, stem.with_suffix(".mp4"), measured),
            "audio": _encode_audio(
                source, info, profile, Path(f"{stem}-audio.mp3"), build_dir, measured, allow_passthrough=False
            ),
        }
    else:
        main = _encode_audio(source, info, profile, stem.with_suffix(".mp3"), build_dir, measured, allow_passthrough=True)
        renditions = {"main": main}
    saved = {
        name: {
            "path": SOURCE_MARK if r.path == source else r.path.relative_to(build_dir).as_posix(),
            "loudness": r.loudness,
            "intro": r.intro_seconds,
        }
        for name, r in renditions.items()
    }
    _write_atomically(record, json.dumps({"renditions": saved}, indent=1).encode())
    return renditions


def _measure_true_peak(info: MediaInfo, profile: Profile) -> bool:
    """Only a source that may pass through untouched needs its true peak measured (4× oversampling is costly)."""
    deliverable = info.path.suffix.lower() == ".mp3" and info.audio_codec == "mp3" and info.sample_rate == SAMPLE_RATE
    return deliverable and not info.has_video and profile.intro is None and profile.outro is None


def _encode_audio(
    source: Path,
    info: MediaInfo,
    profile: Profile,
    output: Path,
    build_dir: Path,
    measured: ffmpeg.Loudness | None,
    *,
    allow_passthrough: bool,
) -> Rendition:
    channels = 1 if info.channels == 1 else 2
    target = target_for(channels, profile.audio)
    deliverable = allow_passthrough and _measure_true_peak(info, profile)
    if measured is None or (deliverable and not measured.true_peak):
        measured = ffmpeg.measure_loudness(source, true_peak=deliverable)
    if deliverable and can_pass_through(measured, target):
        return Rendition(source, {"passthrough": True, **_describe(measured, target)})

    intro = _bumper_wav(profile.intro, target, channels, build_dir) if profile.intro else None
    outro = _bumper_wav(profile.outro, target, channels, build_dir) if profile.outro else None
    plan = _through_the_limiter(source, plan_gain(measured, target, "mp3"), target, "mp3")
    bitrate = profile.audio.mp3_bitrate_mono if channels == 1 else profile.audio.mp3_bitrate_stereo
    layout = "mono" if channels == 1 else "stereo"
    fmt = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts={layout}"

    def args(gain: GainPlan) -> list[str]:
        clips = [clip for clip in (intro, source, outro) if clip is not None]
        inputs = [arg for clip in clips for arg in ("-i", str(clip))]
        parts = [
            f"[{index}:a:0]{fmt}{',' + gain.volume() if clip == source else ''}[s{index}]" for index, clip in enumerate(clips)
        ]
        tail = [f"concat=n={len(clips)}:v=0:a=1" if len(clips) > 1 else "anull"]
        if gain.limit is not None:
            tail.append(gain.limiter())  # after the join: levelled bumpers pass under it untouched
        graph = ";".join(parts) + ";" + "".join(f"[s{i}]" for i in range(len(clips))) + ",".join(tail) + "[out]"
        return [*inputs, "-filter_complex", graph, "-map", "[out]", "-map_metadata", "-1",
                "-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-ar", str(SAMPLE_RATE), "-ac", str(channels)]  # fmt: skip

    output_loudness = _encode_until_on_target(lambda gain: (args(gain), output, "mp3"), plan, target, source)
    intro_seconds = ffmpeg.probe(intro).duration if intro else 0.0
    return Rendition(output, output_loudness, intro_seconds)


def _encode_video(source: Path, info: MediaInfo, profile: Profile, output: Path, measured: ffmpeg.Loudness | None) -> Rendition:
    channels = 1 if info.channels == 1 else 2
    target = target_for(channels, profile.audio)
    measured = measured or ffmpeg.measure_loudness(source, true_peak=False)
    plan = _through_the_limiter(source, plan_gain(measured, target, "aac"), target, "aac")
    video = (
        ["-c:v", "copy"]
        if info.video_codec == "h264"
        else ["-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p"]
    )
    bitrate = profile.audio.aac_bitrate_mono if channels == 1 else profile.audio.aac_bitrate_stereo

    def args(gain: GainPlan) -> list[str]:
        return ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1",
                *video, "-af", gain.filters(), "-c:a", "aac", "-b:a", f"{bitrate}k", "-ac", str(channels)]  # fmt: skip

    return Rendition(output, _encode_until_on_target(lambda gain: (args(gain), output, "mp4"), plan, target, source))


def _through_the_limiter(source: Path, plan: GainPlan, target: Target, codec: str) -> GainPlan:
    """Limiting takes loudness away: measure the gained, limited signal (cheap: no encode) until it lands on target."""
    if plan.limit is None:
        return plan
    wanted = target.loudness + ENCODER_LOSS[codec]
    history: list[tuple[float, float]] = []
    for _ in range(MAX_PROBES):
        limited = ffmpeg.measure_loudness(source, true_peak=False, prefilter=plan.filters())
        history.append((plan.gain, limited.integrated))
        if abs(limited.integrated - wanted) <= PROBE_TOLERANCE:
            break
        plan = GainPlan(next_gain(history, wanted), plan.limit)
    return plan


def _encode_until_on_target(command: Any, plan: GainPlan, target: Target, source: Path) -> dict[str, Any]:
    """Encode, measuring the encoded stream as it is written; correct and re-encode only when it missed."""
    best: tuple[float, GainPlan, Any] | None = None
    history: list[tuple[float, float]] = []
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        args, output, fmt = command(plan)
        partial = output.with_name(f".{output.stem}.{os.getpid()}.part{output.suffix}")
        try:
            measured = ffmpeg.encode_and_measure(args, partial, fmt, subject=source, true_peak=True)
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


def _bumper_wav(bumper: Bumper, target: Target, channels: int, build_dir: Path) -> Path:
    """A short intro/outro levelled to the episode's target with pydub (clips are seconds long: RAM is fine)."""
    from pydub import AudioSegment

    output = build_dir / "bumpers" / f"{bumper.sha256[:16]}-{target.loudness:g}-{target.ceiling:g}-{channels}.wav"
    if output.is_file():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        plain = Path(scratch) / "plain.wav"
        ffmpeg.run("ffmpeg", ["-y", "-v", "error", "-i", str(bumper.path), "-map", "0:a:0", "-ar", str(SAMPLE_RATE),
                              "-ac", str(channels), "-c:a", "pcm_s16le", str(plain)], subject=bumper.path)  # fmt: skip
        measured = ffmpeg.measure_loudness(plain, true_peak=True)
        # One gain to the target, held back if it would push the clip's true peak over the ceiling (no limiter here).
        gain = min(target.loudness - measured.integrated, target.ceiling - 0.5 - measured.peak)
        levelled = AudioSegment.from_wav(plain).apply_gain(gain)
        temp = Path(scratch) / "levelled.wav"
        levelled.export(temp, format="wav")
        os.replace(temp, output)
    return output


# --- stage 2: tag -------------------------------------------------------------------------------------------------


def episode_tags(episode: Episode, context: TagContext, duration: float, intro_seconds: float) -> EpisodeTags:
    """Tags for one delivery file; chapters move by the intro's length and end where the next one starts."""
    shifted = delivered(episode.chapters, intro_seconds)
    ends = ([c.start for c in shifted[1:]] + [duration])[: len(shifted)]
    chapters = tuple(
        TagChapter(round(c.start * 1000), round(max(end, c.start) * 1000), c.title, c.url)
        for c, end in zip(shifted, ends, strict=True)
        if c.start < duration
    )
    hosts = [p.name for p in episode.persons if p.role in ("host", "co-host")]
    artwork_path = episode.image or context.artwork
    return EpisodeTags(
        title=episode.title,
        artist=", ".join(hosts),
        album=context.album,
        date=episode.published,
        # The summary, not the show notes: editing notes then rewrites feeds only, never re-uploads media.
        description=episode.summary or "",
        guid=episode.guid,
        feed_url=context.feed_url,
        article_url=episode.articles[0].url if episode.articles else None,
        keywords=episode.keywords,
        artwork=_embedded(artwork_path) if artwork_path and artwork_path.is_file() else None,
        chapters=chapters,
    )


def _embedded(path: Path) -> tuple[bytes, str]:
    """embedded_artwork, read once per run for a file that is unchanged: most episodes embed their feed's artwork."""
    stat = path.stat()
    return _embedded_by_stat(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@lru_cache(maxsize=64)
def _embedded_by_stat(path: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> tuple[bytes, str]:
    return embedded_artwork(Path(path))


@lru_cache(maxsize=64)
def _bytes_sha256(data: bytes) -> str:
    """The same artwork bytes object comes back for every episode (see _embedded): hash it once, not per episode."""
    return hashlib.sha256(data).hexdigest()


def tagged_cached(encoded: Path, encoded_sha: str, slug: str, tags: EpisodeTags, build_dir: Path) -> Path:
    """The tagged copy of an encoded file, made only when the encoded bytes or the tags change."""
    described = json.dumps(
        {"encoded": encoded_sha, **{k: v for k, v in asdict(tags).items() if k != "artwork"}},
        sort_keys=True,
        default=str,
    )
    artwork_sha = _bytes_sha256(tags.artwork[0]) if tags.artwork else ""
    digest = hashlib.sha256((described + artwork_sha).encode()).hexdigest()[:16]
    output = build_dir / "tagged" / f"{slug}-{digest}{encoded.suffix}"
    if not output.is_file():
        write_tags(encoded, output, tags)
    return output


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)
