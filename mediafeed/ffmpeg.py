"""A thin runner over ffmpeg/ffprobe with pure parsers for what they print."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import EnvironmentProblem, MediaError
from .models import MediaInfo

INSTALL_HINT = "run `make setup` (installs ffmpeg), install your system's ffmpeg package, or set MEDIAFEED_FFMPEG_DIR"


def find_tool(name: str) -> str:
    """ffmpeg/ffprobe from MEDIAFEED_FFMPEG_DIR, the running virtualenv, then PATH."""
    candidates = []
    if override := os.environ.get("MEDIAFEED_FFMPEG_DIR"):
        candidates.append(Path(override) / name)
    candidates.append(Path(sys.executable).parent / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EnvironmentProblem(f"{name} not found", hint=INSTALL_HINT)
    return found


def run(tool: str, args: list[str], *, subject: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg or ffprobe; a failure becomes a MediaError naming the file and what the tool said."""
    command = [find_tool(tool), "-hide_banner", "-nostdin", *args] if tool == "ffmpeg" else [find_tool(tool), *args]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise MediaError(
            f"{tool} failed: {meaningful_error(result.stderr.decode('utf-8', 'replace'))}",
            file=str(subject),
            hint="check that the file is a complete, playable audio or video file",
        )
    return result


def meaningful_error(stderr: str) -> str:
    """The last few informative lines of ffmpeg's stderr, without progress noise and path prefixes."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    noise = ("Conversion failed", "Exiting normally", "frame=", "size=", "Press [q]")
    useful = [line for line in lines if not line.startswith(noise)]
    return " / ".join(useful[-3:]) if useful else "no error message"


MIME_BY_EXTENSION = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/x-m4a",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
}


def probe(path: Path) -> MediaInfo:
    result = run("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)], subject=path)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise MediaError("ffprobe printed no readable description", file=str(path)) from None
    return parse_probe(data, path, path.stat().st_size)


def parse_probe(data: dict[str, Any], path: Path, size: int) -> MediaInfo:
    """Turn ffprobe's JSON into MediaInfo; refuse what a podcast app could not play."""
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    if audio is None:
        raise MediaError("no audio stream", file=str(path), hint="podcast episodes need sound; check the export settings")
    duration = _number(fmt.get("duration")) or _number(audio.get("duration"))
    if not duration or duration <= 0:
        raise MediaError("zero or unknown duration", file=str(path), hint="the file may be truncated; export it again")
    mime = MIME_BY_EXTENSION.get(path.suffix.lower())
    if mime is None:
        raise MediaError(
            f"unsupported file type {path.suffix or '(none)'}", file=str(path), hint=f"use one of: {', '.join(MIME_BY_EXTENSION)}"
        )
    if video is not None and mime.startswith("audio/") and path.suffix.lower() != ".m4a":
        video = None  # cover art in an audio file is not a video
    if video is None and path.suffix.lower() in (".mp4", ".m4v", ".mov"):
        mime = "audio/x-m4a"
    return MediaInfo(
        path=path,
        size=size,
        duration=round(duration, 3),
        mime_type=mime if video is None or mime.startswith("video/") else "video/mp4",
        format_name=str(fmt.get("format_name", "")),
        audio_codec=audio.get("codec_name"),
        channels=_int(audio.get("channels")),
        sample_rate=_int(audio.get("sample_rate")),
        bit_rate=_int(fmt.get("bit_rate")),
        video_codec=video.get("codec_name") if video else None,
        width=_int(video.get("width")) if video else None,
        height=_int(video.get("height")) if video else None,
    )


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None
