"""RSS 2.0 + iTunes + Podcasting 2.0 documents, rendered deterministically with feedgen.

feedgen covers RSS and most of the iTunes namespace; the `PodcastIndex*` extension classes add the Podcasting 2.0
namespace and correct what feedgen gets wrong for today's apps (itunes:explicit must be true/false; descriptions
go out as CDATA). Nothing here reads the clock: lastBuildDate is the newest episode's date, so a feed changes only
when its content does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator
from lxml import etree

from .digest import sha256_bytes
from .models import Feed, PreparedEpisode, RenderedDocument

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RSS_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def podcast_guid(feed_url: str) -> str:
    """podcast:guid as the Podcasting 2.0 spec computes it: UUIDv5 of the URL without scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def feed_key(feed: Feed) -> str:
    return f"feeds/{feed.id}.xml"


@dataclass(frozen=True)
class ChannelExtras:
    guid: str
    medium: str
    explicit: bool
    locked: bool
    owner_email: str


@dataclass(frozen=True)
class ItemExtras:
    explicit: bool
    season: int | None
    episode: int | None
    persons: tuple[tuple[str, str, str | None, str | None], ...]
    transcript: tuple[str, str, str] | None  # url, type, language


class PodcastIndexExtension:
    """Channel-level podcast: elements and itunes:explicit as true/false."""

    def __init__(self) -> None:
        self.extras: ChannelExtras | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        extras = self.extras
        if channel is None or extras is None:
            return rss
        _sub(channel, ITUNES_NS, "explicit", "true" if extras.explicit else "false")
        _sub(channel, PODCAST_NS, "guid", extras.guid)
        _sub(channel, PODCAST_NS, "medium", extras.medium)
        _sub(channel, PODCAST_NS, "locked", "yes" if extras.locked else "no", owner=extras.owner_email)
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        return feed


class PodcastIndexEntryExtension:
    """Item-level podcast: elements, itunes:explicit as true/false, and the description as CDATA."""

    def __init__(self) -> None:
        self.extras: ItemExtras | None = None

    def extend_rss(self, item: etree._Element) -> etree._Element:
        extras = self.extras
        if extras is None:
            return item
        description = item.find("description")
        if description is not None and description.text and "]]>" not in description.text:
            description.text = etree.CDATA(description.text)
        _sub(item, ITUNES_NS, "explicit", "true" if extras.explicit else "false")
        if extras.season is not None:
            _sub(item, PODCAST_NS, "season", str(extras.season))
        if extras.episode is not None:
            _sub(item, PODCAST_NS, "episode", str(extras.episode))
        for name, role, href, img in extras.persons:
            attributes = {"role": role, "href": href, "img": img}
            _sub(item, PODCAST_NS, "person", name, **{k: v for k, v in attributes.items() if v})
        if extras.transcript:
            url, kind, language = extras.transcript
            _sub(item, PODCAST_NS, "transcript", None, url=url, type=kind, language=language)
        return item

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        return entry


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def render_feed(
    feed: Feed,
    episodes: Sequence[PreparedEpisode],
    *,
    feed_url: str,
    artwork_url: str,
    url_for: Callable[[str], str],
) -> RenderedDocument:
    """The feed's RSS document: newest episode first, enclosures chosen for the feed's medium."""
    ordered = sorted(episodes, key=lambda p: (p.episode.published, p.episode.slug), reverse=True)
    newest = ordered[0].episode.published if ordered else EPOCH

    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    fg.title(feed.title)
    fg.description(feed.description)
    fg.link(href=feed_url, rel="self", type="application/rss+xml")
    fg.link(href=feed.link, rel="alternate")  # feedgen makes the last link the channel <link>
    fg.language(feed.language)
    fg.image(url=artwork_url, title=feed.title, link=feed.link)
    fg.generator("mediafeed")
    fg.lastBuildDate(newest)
    fg.pubDate(newest)
    if feed.copyright:
        fg.copyright(feed.copyright)
    podcast: Any = fg.podcast  # type: ignore[attr-defined]
    podcast.itunes_author(feed.author)
    podcast.itunes_owner(name=feed.owner.name, email=feed.owner.email)
    podcast.itunes_image(artwork_url)
    category = {"cat": feed.category, **({"sub": feed.subcategory} if feed.subcategory else {})}
    podcast.itunes_category(category)
    podcast.itunes_type(feed.type)
    fg.podcastindex.extras = ChannelExtras(  # type: ignore[attr-defined]
        guid=feed.guid or podcast_guid(feed_url),
        medium="video" if feed.medium == "video" else "podcast",
        explicit=feed.explicit,
        locked=feed.locked,
        owner_email=feed.owner.email,
    )

    for prepared in ordered:
        _add_item(fg, feed, prepared, url_for)

    data = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return RenderedDocument(
        key=feed_key(feed),
        data=data,
        content_type=RSS_CONTENT_TYPE,
        sha256=sha256_bytes(data),
        feed_id=feed.id,
        episode_guids=tuple(p.episode.guid for p in ordered),
    )


def _add_item(fg: FeedGenerator, feed: Feed, prepared: PreparedEpisode, url_for: Callable[[str], str]) -> None:
    episode = prepared.episode
    asset, info = prepared.enclosure_for(feed.medium)
    entry = fg.add_entry(order="append")
    entry.title(episode.title)
    entry.guid(episode.guid, permalink=False)
    entry.pubDate(episode.published)
    entry.enclosure(url_for(asset.key), str(asset.size), asset.content_type)
    entry.description(episode.description_html)
    entry.content(episode.content_html, type="CDATA")
    if episode.articles:
        entry.link(href=episode.articles[0].url)
    podcast: Any = entry.podcast
    podcast.itunes_duration(str(round(info.duration)))
    podcast.itunes_episode_type(episode.episode_type)
    if episode.season is not None:
        podcast.itunes_season(episode.season)
    if episode.episode is not None:
        podcast.itunes_episode(episode.episode)
    hosts = [p.name for p in episode.persons if p.role in ("host", "co-host")]
    if hosts:
        podcast.itunes_author(", ".join(hosts))
    if prepared.image is not None:
        podcast.itunes_image(url_for(prepared.image.key))
    transcript = None
    if prepared.transcript is not None:
        transcript = (url_for(prepared.transcript.key), prepared.transcript.content_type, feed.language)
    entry.podcastindex.extras = ItemExtras(
        explicit=episode.explicit,
        season=episode.season,
        episode=episode.episode,
        persons=tuple((p.name, p.role, p.href, p.img) for p in episode.persons),
        transcript=transcript,
    )
