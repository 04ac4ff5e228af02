"""Frozen model objects that flow between the stages (catalog → media → feed → plan → publish)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediafeed.content_types import cache_control_for, content_type_for
from mediafeed.digest import sha256_bytes
from mediafeed.mediainfo import AudioProfile, MediaInfo

KINDS = ("podcast", "webinar", "video")
EPISODE_TYPES = ("full", "trailer", "bonus")
FEED_TYPES = ("episodic", "serial")
MEDIUMS = ("audio", "video")
PERSON_ROLES = ("host", "co-host", "guest", "producer", "editor", "reporter", "narrator")

# Podcast directories a feed may be listed in (`directories:` in a feed definition): name → (label, page URL of the
# show from its id there). The web pages link them as "listen on ..." buttons.
DIRECTORIES = {
    "apple": ("Apple Podcasts", "https://podcasts.apple.com/podcast/id{id}"),
    "spotify": ("Spotify", "https://open.spotify.com/show/{id}"),
    "youtube": ("YouTube", "https://www.youtube.com/playlist?list={id}"),
    "pocketcasts": ("Pocket Casts", "https://pca.st/{id}"),
    "overcast": ("Overcast", "https://overcast.fm/itunes{id}"),
    "amazon": ("Amazon Music", "https://music.amazon.com/podcasts/{id}"),
}


@dataclass(frozen=True)
class Person:
    name: str
    role: str = "host"
    href: str | None = None
    img: str | None = None


@dataclass(frozen=True)
class Article:
    """A page on the publisher's site that an episode discusses; links the feed back to the website."""

    title: str
    url: str


@dataclass(frozen=True)
class Chapter:
    start: float  # seconds from the start of the media
    title: str
    url: str | None = None
    image: str | None = None  # absolute URL of a chapter image


@dataclass(frozen=True)
class Owner:
    name: str
    email: str


@dataclass(frozen=True)
class UpdateFrequency:
    """podcast:updateFrequency: an iCalendar RRULE plus a label apps may show."""

    label: str
    rrule: str | None = None
    dtstart: str | None = None
    complete: bool = False


@dataclass(frozen=True)
class Feed:
    id: str
    file: str  # project-relative path of the definition, for messages
    title: str
    description: str
    link: str
    language: str
    author: str
    owner: Owner
    image: Path
    category: str
    subcategory: str | None
    explicit: bool
    type: str
    medium: str
    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    copyright: str | None = None
    locked: bool = False
    guid: str | None = None  # podcast:guid; computed from the feed URL when not pinned here
    audio: AudioProfile | None = None  # overrides [audio] for this feed's deliveries
    intro: Path | None = None  # bumper clip joined before every audio delivery of this feed
    outro: Path | None = None  # ... and after
    persons: tuple[Person, ...] = ()  # channel-level podcast:person (items with their own list replace it)
    funding: tuple[tuple[str, str], ...] = ()  # podcast:funding (url, label)
    txt: tuple[tuple[str | None, str], ...] = ()  # podcast:txt (purpose, text), e.g. applepodcastsverify
    update_frequency: UpdateFrequency | None = None
    new_feed_url: str | None = None  # the feed moved: itunes:new-feed-url tells apps where
    enclosure_prefix: str | None = None  # analytics redirect prefix (OP3, Podtrac, Chartable style)
    page_size: int | None = None  # RFC 5005 paging; None = every episode in one document
    directories: tuple[tuple[str, str], ...] = ()  # (name in DIRECTORIES, the show's id there), in DIRECTORIES order
    access: str = "public"  # "subscribers": a private feed, one secret copy per subscriber

    @property
    def private(self) -> bool:
        return self.access == "subscribers"

    @property
    def key(self) -> str:
        """Where the feed document is published (its first page, when paged)."""
        return f"feeds/{self.id}.xml"

    def selects(self, episode: Episode) -> bool:
        """An empty selector list means 'any'. Only private feeds carry subscriber-only episodes."""
        if episode.access == "subscribers" and not self.private:
            return False
        if self.kinds and episode.kind not in self.kinds:
            return False
        return not self.topics or any(t in self.topics for t in episode.topics)


@dataclass(frozen=True)
class Withdrawal:
    """An episode taken down (`withdrawn: {at, reason}`): it leaves every feed and index, its files are deleted from
    the target, and its GUID is retired for good."""

    at: datetime  # timezone-aware, UTC
    reason: str


@dataclass(frozen=True)
class Episode:
    slug: str
    file: str  # project-relative path of index.md, for messages
    title: str
    guid: str  # exactly as published: a UUID of ours, or the text an imported episode's old host published
    kind: str
    topics: tuple[str, ...]
    published: datetime  # timezone-aware, UTC
    media: str  # absolute path of the master, or an s3:// URI
    description_html: str  # Apple-safe HTML (p, ol, ul, li, a), ≤ 4000 bytes
    content_html: str  # richer sanitized HTML for content:encoded
    image: Path | None = None
    season: int | None = None
    episode: int | None = None
    episode_type: str = "full"
    explicit: bool = False
    persons: tuple[Person, ...] = ()
    articles: tuple[Article, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    transcript: Path | None = None
    keywords: tuple[str, ...] = ()
    summary: str | None = None  # one or two plain sentences: the description inside the media file's tags
    draft: bool = False  # `draft: true`: in no feed, page or index (what `mediafeed new` writes)
    placeholder: bool = False  # the show notes still hold `new`'s placeholder text
    withdrawn: Withdrawal | None = None  # taken down: in no feed; its files leave the target at the next publish
    access: str = "public"  # "subscribers": in private feeds only
    guid_permalink: bool = False  # isPermaLink="true": the GUID is the episode's web address (kept from an import)
    process: bool = True  # `process: false`: the master is published byte for byte (media.published), only measured

    def is_released(self, now: datetime) -> bool:
        """In the feeds at `now`: its date has come, and it is neither a draft nor withdrawn."""
        return self.published <= now and not self.draft and self.withdrawn is None

    def is_scheduled(self, now: datetime) -> bool:
        """Waiting for its date (a draft or a withdrawn episode waits for nothing)."""
        return self.published > now and not self.draft and self.withdrawn is None


@dataclass(frozen=True)
class Asset:
    """A file that should exist in the target under `key` (content-addressed for media and artwork)."""

    key: str
    path: Path
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class PreparedEpisode:
    """An episode whose delivery files exist in build/ (or are the untouched source)."""

    episode: Episode
    main: Asset  # the rendition matching the episode's own kind (video for video sources)
    main_info: MediaInfo
    audio: Asset | None = None  # audio-only rendition of a video episode
    audio_info: MediaInfo | None = None
    image: Asset | None = None
    loudness: dict[str, dict[str, object]] = field(default_factory=dict, compare=False)  # per rendition, as measured
    main_offset: float = 0.0  # seconds of intro bumper before the programme in the main rendition
    audio_offset: float = 0.0  # ... in the audio rendition

    def enclosure_for(self, medium: str) -> tuple[Asset, MediaInfo]:
        """A feed with medium audio gets the audio rendition of a video episode when one exists."""
        if medium == "audio" and self.audio is not None and self.audio_info is not None:
            return self.audio, self.audio_info
        return self.main, self.main_info

    def alternate_for(self, medium: str) -> tuple[Asset, MediaInfo] | None:
        """The other rendition, offered as podcast:alternateEnclosure (video ↔ audio-only)."""
        if self.audio is None or self.audio_info is None:
            return None
        if medium == "audio":
            return self.main, self.main_info
        return self.audio, self.audio_info

    def offset_for(self, medium: str) -> float:
        uses_audio = medium == "audio" and self.audio is not None
        return self.audio_offset if uses_audio else self.main_offset


@dataclass(frozen=True)
class EpisodeFailure:
    slug: str
    file: str
    message: str
    field: str = "media"  # what in the episode is wrong (its media, unless said otherwise)


@dataclass(frozen=True)
class Catalog:
    feeds: tuple[Feed, ...]
    episodes: tuple[Episode, ...]

    def episodes_for(self, feed: Feed) -> tuple[Episode, ...]:
        return tuple(e for e in self.episodes if feed.selects(e))


@dataclass(frozen=True)
class RenderedDocument:
    """A generated file (feed, OPML, JSON) ready to be written to the target."""

    key: str
    data: bytes
    sha256: str  # (its Content-Type and Cache-Control come from its key: content_types.headers_for)
    feed_id: str | None = None
    episode_guids: tuple[str, ...] = field(default=())


# Order of writes: a feed must never point at something not yet uploaded, and the manifest comes last.
# Web pages (episode, embed and show pages) link media and feeds, so they come after both; the home page is an index.
STAGES = ("media", "sidecar", "feed", "page", "index")


@dataclass(frozen=True)
class Write:
    key: str
    stage: str  # one of STAGES
    size: int
    sha256: str
    path: Path | None = None  # file to copy, or
    data: bytes | None = None  # bytes to write (as the target stores them:)
    encoding: str = ""  # "gzip": `data` is gzipped, sent with Content-Encoding: gzip (Target.encoding_for)

    @classmethod
    def of_bytes(cls, key: str, stage: str, data: bytes, encoding: str = "") -> Write:
        return cls(key, stage, len(data), sha256_bytes(data), data=data, encoding=encoding)

    @property
    def record(self) -> dict[str, Any]:
        """What the manifest records for the object (and compares to tell whether it changed)."""
        return {"size": self.size, "sha256": self.sha256}

    @property
    def content_type(self) -> str:
        return content_type_for(self.key)

    @property
    def cache_control(self) -> str:
        return cache_control_for(self.key)
