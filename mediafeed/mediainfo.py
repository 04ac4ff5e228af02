"""What the media stages work from, apart from the files: a probe's findings (MediaInfo), the loudness and bitrate
targets (AudioProfile), and the media types by extension.

A module of its own at the bottom of the layers, importing nothing of mediafeed: the media stages' results are
remembered by content and code (cache/code.py: a stage's digest covers every mediafeed module it imports), so the
encoder, the loudness measurement, probing and tagging import these from here instead of from models, config or
content_types. A new field elsewhere in those (a target setting, a header) then re-encodes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The media part of the one table of content types (content_types.TYPES): what an enclosure's type attribute and
# the target's Content-Type say for each extension.
MEDIA_TYPES = {
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


@dataclass(frozen=True)
class AudioProfile:
    """Loudness targets and delivery bitrates; [audio] in mediafeed.toml, overridable by a feed's `audio:`."""

    loudness_stereo: float = -16.0  # LUFS
    loudness_mono: float = -19.0  # LUFS
    true_peak: float = -1.0  # dBTP
    mp3_bitrate_stereo: int = 128  # kbps, CBR
    mp3_bitrate_mono: int = 64
    aac_bitrate_stereo: int = 128
    aac_bitrate_mono: int = 96


@dataclass(frozen=True)
class MediaInfo:
    """What probing a media file tells us; enough to write an enclosure and choose how to prepare it."""

    path: Path
    size: int
    duration: float  # seconds
    mime_type: str
    format_name: str
    audio_codec: str | None
    channels: int | None
    sample_rate: int | None
    bit_rate: int | None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    video_profile: str | None = None  # e.g. "High", for the RFC 6381 codecs string
    video_level: int | None = None  # e.g. 30 for level 3.0
    audio_profile: str | None = None  # e.g. "LC"

    @property
    def codecs(self) -> str | None:
        """RFC 6381 codecs string (podcast:alternateEnclosure's `codecs`)."""
        audio = {"aac": "mp4a.40.2" if self.audio_profile in (None, "LC") else "mp4a.40.5", "mp3": "mp3"}.get(
            self.audio_codec or ""
        )
        if self.video_codec == "h264":
            profile = {"Baseline": "4200", "Constrained Baseline": "42E0", "Main": "4D40", "High": "6400"}.get(
                self.video_profile or "", "6400"
            )
            video = f"avc1.{profile}{(self.video_level or 30):02X}"
            return f"{video},{audio}" if audio else video
        return audio

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None
