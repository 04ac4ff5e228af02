"""Project settings from mediafeed.toml: the site, named publish targets, media roots, audio profile.

Credentials never live here: the S3 backend takes them from the standard AWS chain (environment, profile,
instance role), so nothing this module loads is secret and everything it loads may be printed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlparse

from mediafeed.errors import CatalogError, Problem

CONFIG_FILE = "mediafeed.toml"
TARGET_TYPES = ("local", "s3")
ADDRESSING_STYLES = ("auto", "path", "virtual")


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

    @property
    def s3(self) -> S3Settings:
        return S3Settings(self.region, self.endpoint_url, self.profile, self.addressing_style)

    def url_for(self, key: str) -> str:
        return f"{self.public_url}/{key}"


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


MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
LEVEL_KEYS = ("loudness_stereo", "loudness_mono", "true_peak")
BITRATE_KEYS = ("mp3_bitrate_stereo", "mp3_bitrate_mono", "aac_bitrate_stereo", "aac_bitrate_mono")


def audio_profile_from(table: dict[str, Any], base: AudioProfile, bad: Any, where: str) -> AudioProfile:
    """Overlay the keys present in `table` on `base`, reporting each bad value through `bad(field, message, hint)`."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in LEVEL_KEYS:
            if isinstance(value, bool) or not isinstance(value, int | float) or not -70 <= value <= 0:
                bad(f"{where}.{key}", f"must be a number between -70 and 0 ({value!r})", "e.g. -16.0")
            else:
                values[key] = float(value)
        elif key in BITRATE_KEYS:
            if isinstance(value, bool) or value not in MP3_BITRATES:
                bad(f"{where}.{key}", f"not a bitrate in kbps ({value!r})", f"use one of: {', '.join(map(str, MP3_BITRATES))}")
            else:
                values[key] = int(value)
        else:
            bad(f"{where}.{key}", "unknown setting", f"use some of: {', '.join(LEVEL_KEYS + BITRATE_KEYS)}")
    return replace(base, **values)


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


def is_http_url(value: object) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def load_config(project: Path) -> Config:
    """Read mediafeed.toml; every problem is collected and raised together as a CatalogError."""
    path = project / CONFIG_FILE
    if not path.is_file():
        raise CatalogError(
            [
                Problem(
                    CONFIG_FILE, "", "not found", f"run mediafeed in a project folder or pass --project DIR (looked in {project})"
                )
            ]
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise CatalogError([Problem(CONFIG_FILE, "", "not UTF-8 text", "save the file as UTF-8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError([Problem(CONFIG_FILE, "", f"TOML syntax error: {exc}", "fix the syntax at that line")]) from None

    problems: list[Problem] = []

    def bad(fieldname: str, message: str, hint: str) -> None:
        problems.append(Problem(CONFIG_FILE, fieldname, message, hint))

    site = _table(data, "site", bad)
    site_title = site.get("title")
    if not isinstance(site_title, str) or not site_title.strip():
        bad("site.title", "missing", 'add title = "Your Publisher" under [site]')
        site_title = ""
    site_url = site.get("url")
    if not is_http_url(site_url):
        bad(
            "site.url",
            f"not an absolute http(s) URL ({site_url!r})",
            'use the website address, e.g. url = "https://www.example.org"',
        )
        site_url = "https://invalid.example"

    targets: dict[str, Target] = {}
    for name, raw in _table(data, "targets", bad).items():
        target = _load_target(project, name, raw, bad)
        if target is not None:
            targets[name] = target
    if not targets:
        bad(
            "targets",
            "no publish target defined",
            'add [targets.local] with type = "local", path = "public", public_url = "http://127.0.0.1:8000"',
        )

    default_target = _table(data, "publish", bad).get("target", "local")
    if not isinstance(default_target, str):
        # Checked before the lookup below: a list or table is unhashable and would crash instead of being reported.
        bad("publish.target", f"must be a target name ({default_target!r})", 'e.g. target = "local"')
        default_target = "local"
    elif targets and default_target not in targets:
        bad("publish.target", f"names an unknown target '{default_target}'", f"use one of: {', '.join(sorted(targets))}")

    roots: list[Path] = []
    media_table = _table(data, "media", bad)
    raw_roots = media_table.get("roots", [])
    if not isinstance(raw_roots, list) or not all(isinstance(r, str) for r in raw_roots):
        bad("media.roots", "must be a list of folder paths", 'e.g. roots = ["/mnt/masters"]')
    else:
        roots = [(project / r).resolve() for r in raw_roots]
    masters_s3 = _s3_settings(media_table, "media", bad)

    audio = audio_profile_from(_table(data, "audio", bad), AudioProfile(), bad, "audio")

    topics = _table(data, "catalog", bad).get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        bad("catalog.topics", "must be a list of topic slugs", 'e.g. topics = ["general-psychiatry", "addiction"]')
        topics = []

    notify = _table(data, "notify", bad)
    hubs = notify.get("websub_hubs", [])
    if not isinstance(hubs, list) or not all(is_http_url(h) for h in hubs):
        bad("notify.websub_hubs", "must be a list of hub URLs", 'e.g. websub_hubs = ["https://pubsubhubbub.appspot.com/"]')
        hubs = []
    podping = notify.get("podping_url")
    if podping is not None and not is_http_url(podping):
        bad("notify.podping_url", f"not an http(s) URL ({podping!r})", 'e.g. podping_url = "https://podping.cloud/"')
        podping = None

    if problems:
        raise CatalogError(problems)
    return Config(
        project=project,
        site_title=site_title.strip(),
        site_url=site_url.rstrip("/"),
        default_target=default_target,
        targets=targets,
        media_roots=tuple(roots),
        masters_s3=masters_s3,
        audio=audio,
        topics=tuple(topics),
        websub_hubs=tuple(hubs),
        podping_url=podping,
    )


def _table(data: dict[str, Any], name: str, bad: Any) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        bad(name, "must be a table", f"write it as [{name}]")
        return {}
    return value


def _load_target(project: Path, name: str, raw: Any, bad: Any) -> Target | None:
    where = f"targets.{name}"
    if not isinstance(raw, dict):
        bad(where, "must be a table", f"write it as [{where}]")
        return None
    kind = raw.get("type")
    if kind not in TARGET_TYPES:
        bad(f"{where}.type", f"unknown target type {kind!r}", f"use one of: {', '.join(TARGET_TYPES)}")
        return None
    public_url = raw.get("public_url")
    if not is_http_url(public_url):
        bad(
            f"{where}.public_url",
            f"not an absolute http(s) URL ({public_url!r})",
            "set the address feeds and media will be served from",
        )
        return None
    if kind == "local":
        folder = raw.get("path")
        if not isinstance(folder, str) or not folder:
            bad(f"{where}.path", "missing", 'set the folder to publish into, e.g. path = "public"')
            return None
        return Target(name=name, type=kind, public_url=public_url.rstrip("/"), path=(project / folder).resolve())
    bucket = raw.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        bad(f"{where}.bucket", "missing", 'set the bucket name, e.g. bucket = "example-media"')
        return None
    settings = _s3_settings(raw, where, bad)
    return Target(
        name=name,
        type=kind,
        public_url=public_url.rstrip("/"),
        bucket=bucket,
        prefix=str(raw.get("prefix", "")).strip("/"),
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        profile=settings.profile,
        addressing_style=settings.addressing_style,
    )


def _s3_settings(raw: dict[str, Any], where: str, bad: Any) -> S3Settings:
    """region, endpoint_url, profile, addressing_style of a [targets.NAME] (or [media], for s3:// masters)."""
    values: dict[str, str] = {}
    for key in ("region", "endpoint_url", "profile", "addressing_style"):
        value = raw.get(key, "")
        if not isinstance(value, str):
            bad(f"{where}.{key}", f"must be a string ({value!r})", f'e.g. {key} = "..."')
            value = ""
        values[key] = value.strip()
    if values["endpoint_url"] and not is_http_url(values["endpoint_url"]):
        bad(
            f"{where}.endpoint_url",
            f"not an http(s) URL ({values['endpoint_url']!r})",
            'e.g. endpoint_url = "https://<account-id>.r2.cloudflarestorage.com", or "" for AWS',
        )
        values["endpoint_url"] = ""
    if values["addressing_style"] and values["addressing_style"] not in ADDRESSING_STYLES:
        bad(
            f"{where}.addressing_style",
            f"unknown addressing style {values['addressing_style']!r}",
            f"use one of: {', '.join(ADDRESSING_STYLES)} (path for MinIO)",
        )
        values["addressing_style"] = ""
    values["addressing_style"] = values["addressing_style"] or "auto"
    return S3Settings(**values)
