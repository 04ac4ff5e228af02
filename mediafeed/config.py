"""Project settings from mediafeed.toml: the site, named publish targets, media roots, audio profile.

Credentials never live here: the S3 backend takes them from the standard AWS chain (environment, profile,
instance role), so nothing this module loads is secret and everything it loads may be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mediafeed.content_types import GZIP, browsers_only, gzipped
from mediafeed.mediainfo import AudioProfile
from mediafeed.urls import is_http_url

__all__ = ["AudioProfile", "Config", "S3Settings", "SharedCache", "Target", "is_http_url"]

CONFIG_FILE = "mediafeed.toml"


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3-compatible service; credentials are not here (standard AWS chain only)."""

    region: str = ""  # "" = from the AWS chain (AWS_REGION, profile); R2 uses "auto"
    endpoint_url: str = ""  # "" = AWS (or AWS_ENDPOINT_URL); set for MinIO, R2, B2, a test server
    profile: str = ""  # a named profile in ~/.aws/config; "" = AWS_PROFILE or the default chain
    addressing_style: str = "auto"  # "path" for MinIO and most self-hosted servers


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    public_url: str  # what every URL in a feed starts with, no trailing slash
    path: Path | None = None  # local targets: absolute folder
    bucket: str = ""
    prefix: str = ""
    region: str = ""
    endpoint_url: str = ""
    profile: str = ""
    addressing_style: str = "auto"
    locking: str = "lease"  # "external": a CI concurrency group serialises publishes (no lease, no probe)
    private_media: str = "public"  # "presigned": subscribers' copies link subscriber-only media by presigned URL
    presign_seconds: int = 7 * 86400  # lifetime of those URLs
    precompress: bool = False  # S3: pages and their assets stored gzipped (content_types.browsers_only)

    @property
    def s3(self) -> S3Settings:
        return S3Settings(self.region, self.endpoint_url, self.profile, self.addressing_style)

    def url_for(self, key: str) -> str:
        return f"{self.public_url}/{key}"

    def encoding_for(self, key: str) -> str:
        """How the object at `key` is stored on this target: "gzip" (sent with Content-Encoding: gzip) or "" (as is)."""
        return GZIP if self.precompress and browsers_only(key) else ""

    def stored(self, key: str, data: bytes) -> bytes:
        """`data` in the form this target stores it at `key` (see encoding_for)."""
        return gzipped(data) if self.encoding_for(key) == GZIP else data


@dataclass(frozen=True)
class SharedCache:
    """[cache]: the cache's second tier, shared by every runner (cache/remote.py)."""

    url: str = ""  # "" = the S3 target's bucket under _mediafeed/cache/; "s3://bucket/prefix"; or a folder
    s3: S3Settings = field(default_factory=S3Settings)  # how to reach an s3:// url ...
    s3_set: bool = False  # ... when [cache] sets any of it (else the target's settings, when it is S3)
    enabled: bool = True  # [cache] shared = false: build/ only


@dataclass(frozen=True)
class Config:
    project: Path
    site_title: str
    site_url: str
    default_target: str
    targets: dict[str, Target]
    media_roots: tuple[Path, ...] = ()
    masters_s3: S3Settings = field(default_factory=S3Settings)  # where s3:// masters are read from ([media])
    audio: AudioProfile = field(default_factory=AudioProfile)
    topics: tuple[str, ...] = ()  # optional [catalog] topics: when set, episode topics must come from it
    websub_hubs: tuple[str, ...] = ()  # [notify] websub_hubs: announced in every feed, pinged when a feed changes
    podping_url: str | None = None  # [notify] podping_url: GET ?url=<feed>&reason=update when a feed changes
    cache: SharedCache = field(default_factory=SharedCache)
    pages: bool = True  # [site] pages: web pages (home, shows, episodes, embeds) beside the feeds
    subscribers_file: str = ""  # [subscribers] file: the store's CSV export ("" = no private feeds written)
    rotations_file: str = "subscribers-rotations.yaml"  # [subscribers] rotations: token generations by keyed hash

    def target(self, name: str | None) -> Target:
        from mediafeed.errors import UsageError

        chosen = name or self.default_target
        if chosen not in self.targets:
            known = ", ".join(sorted(self.targets)) or "none"
            raise UsageError(
                f"unknown target '{chosen}'",
                hint=f"use one of: {known} (defined as [targets.NAME] in {CONFIG_FILE})",
            )
        return self.targets[chosen]
