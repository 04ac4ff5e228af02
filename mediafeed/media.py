"""Probe and prepare episode media: the delivery file(s) a feed encloses, built once into build/.

Deliverable sources (MP3; AAC in M4A; H.264 + AAC in MP4) pass through untouched. Anything else is encoded:
audio to CBR MP3, video to MP4 (H.264 copied when it already is H.264). Every video also gets an audio-only MP3
rendition so a webinar can sit in an audio feed. Outputs are named by the source's content hash and the
processing profile, so an unchanged source is never processed twice. Sources are only ever read.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import ffmpeg
from .artwork import CONTENT_TYPES as IMAGE_TYPES
from .errors import MediaError
from .facts import FileFacts
from .models import Asset, Episode, MediaInfo, PreparedEpisode

PROFILE = "p1"  # bump when encoding settings change, so build/ outputs are made again
TRANSCRIPT_TYPES = {".vtt": "text/vtt", ".srt": "application/x-subrip"}


def prepare_episode(episode: Episode, build_dir: Path, facts: FileFacts | None = None) -> PreparedEpisode:
    """Make (or reuse) the episode's delivery files and describe them as publishable assets."""
    if episode.media.startswith("s3://"):
        raise MediaError(
            "masters in object storage are not supported yet",
            file=episode.file,
            field="media",
            hint="copy the master into the episode folder and point media: at it",
        )
    facts = facts or FileFacts(None)
    source = Path(episode.media)
    if source.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", file=str(source), hint="export or copy the master again")
    info = facts.probe(source)
    source_sha = facts.sha256(source)
    stem = build_dir / f"{source_sha[:24]}-{PROFILE}"
    audio: tuple[Asset, MediaInfo] | None = None
    if info.has_video:
        main_path = source if _deliverable_video(info) else _encode_video(source, info, stem.with_suffix(".mp4"))
        audio_path = _encode_audio(source, info, Path(f"{stem}-audio.mp3"))
        audio = _asset(episode.slug, audio_path, facts.probe(audio_path), facts.sha256(audio_path))
    else:
        main_path = source if _deliverable_audio(info) else _encode_audio(source, info, stem.with_suffix(".mp3"))
    main_info = info if main_path == source else facts.probe(main_path)
    main_asset, main_info = _asset(episode.slug, main_path, main_info, facts.sha256(main_path))
    image = sidecar_asset(episode.image, f"artwork/{episode.slug}", IMAGE_TYPES, facts) if episode.image else None
    transcript = (
        sidecar_asset(episode.transcript, f"transcripts/{episode.slug}", TRANSCRIPT_TYPES, facts) if episode.transcript else None
    )
    return PreparedEpisode(
        episode=episode,
        main=main_asset,
        main_info=main_info,
        audio=audio[0] if audio else None,
        audio_info=audio[1] if audio else None,
        image=image,
        transcript=transcript,
    )


def sidecar_asset(path: Path, key_stem: str, types: dict[str, str], facts: FileFacts) -> Asset:
    """A content-addressed asset: the key changes whenever the bytes do, because apps cache by URL."""
    sha = facts.sha256(path)
    suffix = path.suffix.lower().replace(".jpeg", ".jpg")
    return Asset(f"{key_stem}-{sha[:8]}{suffix}", path, path.stat().st_size, sha, types[path.suffix.lower()])


def _asset(slug: str, path: Path, info: MediaInfo, sha: str) -> tuple[Asset, MediaInfo]:
    suffix = path.suffix.lower()
    return Asset(f"media/{slug}-{sha[:8]}{suffix}", path, info.size, sha, info.mime_type), info


def _deliverable_audio(info: MediaInfo) -> bool:
    return (info.audio_codec, info.path.suffix.lower()) in {("mp3", ".mp3"), ("aac", ".m4a")}


def _deliverable_video(info: MediaInfo) -> bool:
    return info.path.suffix.lower() in (".mp4", ".m4v") and info.video_codec == "h264" and info.audio_codec == "aac"


def _encode_audio(source: Path, info: MediaInfo, output: Path) -> Path:
    mono = info.channels == 1
    args = ["-i", str(source), "-map", "0:a:0", "-vn", "-map_metadata", "-1", "-c:a", "libmp3lame"]
    args += ["-b:a", "64k" if mono else "128k", "-ar", "44100", "-ac", "1" if mono else "2"]
    return _encode(source, args, output, "mp3")


def _encode_video(source: Path, info: MediaInfo, output: Path) -> Path:
    video = (
        ["-c:v", "copy"]
        if info.video_codec == "h264"
        else ["-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p"]
    )
    args = ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-map_metadata", "-1", *video]
    args += ["-c:a", "aac", "-b:a", "96k" if info.channels == 1 else "128k", "-movflags", "+faststart"]
    return _encode(source, args, output, "mp4")


def _encode(source: Path, args: list[str], output: Path, fmt: str) -> Path:
    """Run ffmpeg into a temporary file beside the output and rename it, so build/ never holds half a file."""
    if output.is_file():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        ffmpeg.run("ffmpeg", ["-y", "-v", "error", *args, "-f", fmt, str(partial)], subject=source)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return output
