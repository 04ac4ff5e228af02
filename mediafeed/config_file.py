"""The schema of mediafeed.toml (pydantic v2): which tables and keys exist, their types, their allowed values.

`load_config` validates the file and builds the plain `Config` the rest of mediafeed uses (config.py)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator

from mediafeed.config import CONFIG_FILE, AudioProfile, Config, S3Settings, SharedCache, Target
from mediafeed.errors import CatalogError, Problem
from mediafeed.files import read_text
from mediafeed.validation import Filled, Flag, HttpUrl, Schema, Text, bad, is_http_url, problems_from

MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
Bitrate = Literal[32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
Level = Annotated[float, Field(ge=-70, le=0, strict=True, json_schema_extra={"hint": "a number between -70 and 0, e.g. -16.0"})]


class AudioSettings(Schema):
    """[audio] in mediafeed.toml, or a feed's `audio:` (which overrides it for that feed's deliveries)."""

    loudness_stereo: Level = Field(-16.0, description="Integrated loudness of stereo deliveries, LUFS.")
    loudness_mono: Level = Field(-19.0, description="Integrated loudness of mono deliveries, LUFS.")
    true_peak: Level = Field(-1.0, description="Ceiling for the true peak, dBTP.")
    mp3_bitrate_stereo: Bitrate = Field(128, description="kbps, CBR")
    mp3_bitrate_mono: Bitrate = Field(64, description="kbps, CBR")
    aac_bitrate_stereo: Bitrate = Field(128, description="kbps")
    aac_bitrate_mono: Bitrate = Field(96, description="kbps")

    def over(self, base: AudioProfile) -> AudioProfile:
        """`base` with the keys written here."""
        return replace(base, **{k: getattr(self, k) for k in self.model_fields_set})


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
        data = tomllib.loads(read_text(path, CONFIG_FILE))  # unreadable: an UnreadableFile naming it (exit 3)
    except UnicodeDecodeError:
        raise CatalogError([Problem(CONFIG_FILE, "", "not UTF-8 text", "save the file as UTF-8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError([Problem(CONFIG_FILE, "", f"TOML syntax error: {exc}", "fix the syntax at that line")]) from None
    except ValueError as exc:  # a date TOML's grammar accepts but the calendar does not (2026-02-30)
        raise CatalogError([Problem(CONFIG_FILE, "", f"TOML value error: {exc}", "fix the value")]) from None
    problems: list[Problem] = []
    try:
        settings = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(problems_from(exc, CONFIG_FILE, ConfigFile)) from None
    targets = {name: _target(project, name, raw, problems) for name, raw in settings.targets.items()}
    if not targets:
        problems.append(
            Problem(
                CONFIG_FILE,
                "targets",
                "no publish target defined",
                'add [targets.local] with type = "local", path = "public", public_url = "http://127.0.0.1:8000"',
            )
        )
    default_target = settings.publish.target
    if targets and default_target not in targets:
        problems.append(
            Problem(
                CONFIG_FILE,
                "publish.target",
                f"names an unknown target '{default_target}'",
                f"use one of: {', '.join(sorted(targets))}",
            )
        )
    _check_endpoint(settings.media.endpoint_url, "media.endpoint_url", problems)
    shared = _shared_cache(project, settings.cache, targets, problems)
    if problems:
        raise CatalogError(problems)
    return Config(
        project=project,
        site_title=settings.site.title.strip(),
        site_url=settings.site.url.rstrip("/"),
        pages=settings.site.pages,
        default_target=default_target,
        targets=targets,
        media_roots=tuple((project / r).resolve() for r in settings.media.roots),
        masters_s3=_s3(settings.media),
        audio=settings.audio.over(AudioProfile()),
        topics=tuple(settings.catalog.topics),
        websub_hubs=tuple(settings.notify.websub_hubs),
        podping_url=settings.notify.podping_url,
        cache=shared,
        subscribers_file=settings.subscribers.file.strip(),
        rotations_file=settings.subscribers.rotations.strip(),
    )


def _shared_cache(project: Path, raw: CacheSettings, targets: dict[str, Target], problems: list[Problem]) -> SharedCache:
    """[cache], checked: an S3 endpoint like a target's; a folder that is not build/, the project or a target."""
    _check_endpoint(raw.endpoint_url, "cache.endpoint_url", problems)
    url = raw.url
    if url and not url.startswith("s3://"):
        folder = (project / url).resolve()
        build = (project / "build").resolve()
        lineage = (folder, *folder.parents)
        clashes = [folder == project.resolve(), build in lineage]
        clashes += [t.path in lineage and t.path / "_mediafeed" not in lineage for t in targets.values() if t.path]
        if any(clashes):
            problems.append(
                Problem(
                    CONFIG_FILE,
                    "cache.url",
                    f"the shared cache folder {folder} would be the project, inside build/, or among a target's published files",
                    'use a folder of its own (e.g. url = "/mnt/shared/mediafeed-cache") or a target\'s _mediafeed/cache',
                )
            )
    set_fields = {name for name in ("region", "endpoint_url", "profile") if getattr(raw, name).strip()}
    return SharedCache(url, _s3(raw), bool(set_fields), raw.shared)


def _s3(fields: S3Fields) -> S3Settings:
    return S3Settings(
        fields.region.strip(), fields.endpoint_url.strip(), fields.profile.strip(), fields.addressing_style or "auto"
    )


def _check_endpoint(endpoint: str, where: str, problems: list[Problem]) -> None:
    """An endpoint is a service address: a path or query there would become a second, wrong key prefix."""
    if not endpoint:
        return
    parsed = urlparse(endpoint.strip())
    if parsed.path.strip("/") or parsed.query or parsed.params or parsed.fragment:
        base = f"{parsed.scheme}://{parsed.netloc}"
        name = parsed.path.strip("/").split("/")[0]
        problems.append(
            Problem(
                CONFIG_FILE,
                where,
                f"has a path or query ({endpoint!r}); an endpoint is the service address only",
                f'write endpoint_url = "{base}"' + (f' and bucket = "{name}"' if name else ""),
            )
        )


def _target(project: Path, name: str, raw: LocalTarget | S3Target, problems: list[Problem]) -> Target:
    where = f"targets.{name}"
    public_url = raw.public_url.rstrip("/")
    if isinstance(raw, LocalTarget):
        folder = (project / raw.path).resolve()
        root = project.resolve()
        inside = [root / "episodes", root / "feeds"]
        if folder == root or any(folder == p or folder.is_relative_to(p) for p in inside) or root.is_relative_to(folder):
            problems.append(
                Problem(
                    CONFIG_FILE,
                    f"{where}.path",
                    f"{raw.path!r} is the project itself or holds its sources (episodes/, feeds/)",
                    'publish into a folder of its own, e.g. path = "public"',
                )
            )
        return Target(name=name, type="local", public_url=public_url, path=folder, locking=raw.locking)
    _check_endpoint(raw.endpoint_url, f"{where}.endpoint_url", problems)
    settings = _s3(raw)
    return Target(
        name=name,
        type="s3",
        public_url=public_url,
        bucket=raw.bucket.strip(),
        prefix=raw.prefix.strip("/"),
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        profile=settings.profile,
        addressing_style=settings.addressing_style,
        locking=raw.locking,
        private_media=raw.private_media,
        presign_seconds=raw.presign_days * 86400,
        precompress=raw.precompress,
    )


class SiteSettings(Schema):
    title: Filled = Field(
        description="The publisher's name.", json_schema_extra={"hint": 'add title = "Your Publisher" under [site]'}
    )
    url: HttpUrl = Field(
        description="The publisher's website; related articles and relative links in show notes live here.",
        json_schema_extra={"hint": 'use the website address, e.g. url = "https://www.example.org"'},
    )
    pages: Flag = Field(
        True,
        description="Publish web pages (home, show, episode and embed pages) beside the feeds; false publishes feeds only.",
    )


class PublishSettings(Schema):
    target: Text = Field("local", description="The target `publish` uses when --target is not given.", examples=['"local"'])


def _public_url(value: str) -> str:
    """Every URL in a feed is this plus a key: a query or fragment here would end up in the middle of each one."""
    parsed = urlparse(value)
    if parsed.query or parsed.fragment or "?" in value or "#" in value:
        base = value.split("?")[0].split("#")[0].rstrip("/")
        raise bad(f"has a query or fragment ({value!r}); feed and media URLs are this address plus a path",
                  f'write public_url = "{base}"')  # fmt: skip
    return value


def _prefix(value: str) -> str:
    parts = value.strip().strip("/").split("/")
    if "\\" in value or any(p in (".", "..") for p in parts) or (value.strip("/") and "" in parts):
        raise bad(f"not a folder path inside the bucket ({value!r})", 'use words separated by /, e.g. prefix = "podcasts"')
    return value


PublicUrl = Annotated[HttpUrl, AfterValidator(_public_url)]
PUBLIC_URL_HINT = 'set the address feeds and media will be served from, e.g. public_url = "https://media.example.org"'


class S3Fields(Schema):
    region: Text = Field("", description='Region; "" = from the AWS chain (AWS_REGION, profile). R2 uses "auto".')
    endpoint_url: Text = Field(
        "",
        description='Service address for MinIO, R2, B2 or a test server (scheme://host[:port], no path); "" = AWS.',
        json_schema_extra={"hint": 'e.g. endpoint_url = "https://<account-id>.r2.cloudflarestorage.com", or "" for AWS'},
    )
    profile: Text = Field("", description='A named profile in ~/.aws/config; "" = AWS_PROFILE or the default chain.')
    addressing_style: Literal["auto", "path", "virtual", ""] = Field(
        "auto", description="path for MinIO and most self-hosted servers."
    )

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if value.strip() and not is_http_url(value):
            raise bad(
                f"not an http(s) URL ({value!r})",
                'e.g. endpoint_url = "https://<account-id>.r2.cloudflarestorage.com", or "" for AWS',
            )
        return value


Locking = Annotated[
    Literal["lease", "external"],
    Field(
        description='"lease": one publisher at a time through a lease object in the target (needs a store that '
        'honours conditional writes); "external": something else guarantees it, e.g. a CI concurrency group.'
    ),
]


class LocalTarget(Schema):
    """A folder on this machine (served by `mediafeed serve`, or by any web server)."""

    type: Literal["local"]
    path: Filled = Field(
        description="Folder to publish into, relative to the project.",
        examples=['"public"'],
        json_schema_extra={"hint": 'set the folder to publish into, e.g. path = "public"'},
    )
    public_url: PublicUrl = Field(
        description="What every URL in a feed starts with.", json_schema_extra={"hint": PUBLIC_URL_HINT}
    )
    locking: Locking = "lease"


class S3Target(S3Fields):
    """An S3-compatible bucket (AWS, R2, B2, MinIO); credentials come from the standard AWS chain, never from here."""

    type: Literal["s3"]
    bucket: Filled = Field(
        description="Bucket name.", json_schema_extra={"hint": 'set the bucket name, e.g. bucket = "example-media"'}
    )
    prefix: Annotated[Text, AfterValidator(_prefix)] = Field("", description='Key prefix inside the bucket (a folder), or "".')
    public_url: PublicUrl = Field(
        description="What every URL in a feed starts with (often a CDN).", json_schema_extra={"hint": PUBLIC_URL_HINT}
    )
    locking: Locking = "lease"
    private_media: Literal["public", "presigned"] = Field(
        "public",
        description='How subscribers\' copies of private feeds link subscriber-only media: "public" (keys under '
        'private/ anyone with the URL may read) or "presigned" (SigV4 presigned URLs per subscriber, re-signed by '
        "each scheduled publish before they expire; the bucket then keeps private/ media private).",
    )
    presign_days: Annotated[int, Field(ge=1, le=7)] = Field(
        7, description="Lifetime of presigned media URLs, in days (SigV4 allows at most 7)."
    )
    precompress: Flag = Field(
        True,
        description="Store the web pages and their assets (HTML, CSS, JS, SVG, the feeds' stylesheet) gzipped, sent "
        "with Content-Encoding: gzip, so a bare bucket serves them compressed; false if something in front of the "
        "bucket mishandles stored encodings. Feeds and media are always stored as they are.",
    )


class MediaSettings(S3Fields):
    roots: list[Text] = Field(
        default_factory=list, description="Extra folders masters may live in.", examples=['["/mnt/masters"]']
    )


def _hub_urls(value: object) -> object:
    if isinstance(value, list) and not all(is_http_url(v) for v in value):
        raise bad("must be a list of hub URLs", 'e.g. websub_hubs = ["https://pubsubhubbub.appspot.com/"]')
    return value


def _cache_url(value: str) -> str:
    value = value.strip()
    if value.startswith("s3://"):
        bucket = value[len("s3://") :].partition("/")[0]
        if not bucket:
            raise bad("names no bucket", 'e.g. url = "s3://build-cache/mediafeed"')
    elif "://" in value:
        raise bad(f"not an s3:// URL or a folder ({value!r})", 'e.g. url = "s3://build-cache/mediafeed" or url = "/mnt/cache"')
    return value


class CacheSettings(S3Fields):
    """The cache's shared tier (beside build/): every runner finds what any runner made."""

    url: Annotated[str, AfterValidator(_cache_url)] = Field(
        "",
        description='Where the shared tier lives: "s3://bucket/prefix", or a folder shared by runners; "" = the S3 '
        "target's own bucket under _mediafeed/cache/ (a local target then has none).",
        examples=['"s3://build-cache/mediafeed"'],
    )
    shared: Flag = Field(True, description="false: keep the cache in build/ only.")


class CatalogSettings(Schema):
    topics: list[Text] = Field(
        default_factory=list,
        description="Topics episodes may use (newsletter sections); when set, a topic not listed is an error.",
        examples=['["general-psychiatry", "addiction"]'],
    )


class NotifySettings(Schema):
    websub_hubs: Annotated[list[str], BeforeValidator(_hub_urls)] = Field(
        default_factory=list, description="WebSub hubs announced in every feed and pinged when a feed changes."
    )
    podping_url: HttpUrl | None = Field(None, description="GET ?url=<feed>&reason=update when a feed changes.")


class SubscribersSettings(Schema):
    file: Text = Field(
        "",
        description="The store's subscriber export (CSV: id,email,feeds,expires), relative to the project; keep it out "
        'of git. "" = no private feeds are written.',
        examples=['"private/subscribers.csv"'],
    )
    rotations: Filled = Field(
        "subscribers-rotations.yaml",
        description="Token generations of rotated subscribers, by keyed hash; written by `subscribers rotate`. Commit it.",
    )


Targets = dict[str, Annotated[LocalTarget | S3Target, Field(discriminator="type")]]


class ConfigFile(Schema):
    """mediafeed.toml: the site, named publish targets, media roots, audio profile, topics, notifications."""

    site: SiteSettings
    publish: PublishSettings = Field(default_factory=PublishSettings)
    targets: Targets = Field(
        json_schema_extra={
            "hint": 'add [targets.local] with type = "local", path = "public", public_url = "http://127.0.0.1:8000"'
        },
    )
    media: MediaSettings = Field(default_factory=MediaSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    subscribers: SubscribersSettings = Field(default_factory=SubscribersSettings)
