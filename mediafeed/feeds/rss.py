"""RSS 2.0 + iTunes + Podcasting 2.0 documents, rendered deterministically with feedgen.

feedgen covers RSS and most of the iTunes namespace; the `PodcastIndex*` extension classes add the Podcasting 2.0
namespace and correct what feedgen gets wrong for today's apps (itunes:explicit must be true/false; descriptions
go out as CDATA). Nothing here reads the clock: lastBuildDate is the newest episode's date, so a feed changes only
when its content does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from feedgen.feed import FeedGenerator
from lxml import etree

from mediafeed.catalog.chapters import JSON_CHAPTERS_TYPE, timestamps_html
from mediafeed.catalog.transcripts import VTT_TYPE
from mediafeed.digest import sha256_bytes
from mediafeed.feeds.page_files import STATIC
from mediafeed.mediainfo import MediaInfo
from mediafeed.models import Asset, Chapter, Episode, Feed, Person, RenderedDocument

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


STYLESHEET_KEY_STEM = "assets/feed"  # published as assets/feed-<sha8>.xsl (content-addressed, cached for a year)


def feed_stylesheet() -> bytes:
    """The XSLT 1.0 stylesheet a browser applies to our feeds (static/feed.xsl): a readable page saying how to
    subscribe, instead of raw XML. Podcast apps ignore it."""
    return (STATIC / "feed.xsl").read_bytes()


def stylesheet_instruction(url: str) -> etree._ProcessingInstruction:
    """<?xml-stylesheet type="text/xsl" href="URL"?>: pseudo-attribute values take XML's predefined entities."""
    href = url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{href}"')


def podcast_guid(feed_url: str) -> str:
    """podcast:guid as the Podcasting 2.0 spec computes it: UUIDv5 of the URL without scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


@dataclass(frozen=True)
class FeedItem:
    """One episode as a given feed encloses it: URLs are final (analytics prefix applied), chapters as delivered."""

    episode: Episode
    enclosure_url: str
    enclosure: Asset
    info: MediaInfo
    alternate: tuple[str, Asset, MediaInfo] | None = None  # the other rendition (video ↔ audio-only)
    image_url: str | None = None
    chapters_url: str | None = None
    transcripts: tuple[tuple[str, str], ...] = ()  # (url, MIME type)
    chapters: tuple[Chapter, ...] = ()


@dataclass(frozen=True)
class ChannelExtras:
    feed: Feed
    guid: str
    trailers: tuple[FeedItem, ...]
    numbered: bool = True  # False: the feed carries no season/episode numbers (two episodes share a pair)


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
        feed = extras.feed
        _sub(channel, ITUNES_NS, "explicit", "true" if feed.explicit else "false")
        _sub(channel, PODCAST_NS, "guid", extras.guid)
        _sub(channel, PODCAST_NS, "medium", "video" if feed.medium == "video" else "podcast")
        _sub(channel, PODCAST_NS, "locked", "yes" if feed.locked or feed.private else "no", owner=feed.owner.email)
        if feed.private:  # one subscriber's copy: directories must neither list nor index it
            _sub(channel, ITUNES_NS, "block", "Yes")
            _sub(channel, PODCAST_NS, "block", "yes")
        for person in feed.persons:
            _person(channel, person)
        for url, label in feed.funding:
            _sub(channel, PODCAST_NS, "funding", label, url=url)
        for purpose, text in feed.txt:
            _sub(channel, PODCAST_NS, "txt", text, **({"purpose": purpose} if purpose else {}))
        if feed.update_frequency is not None:
            frequency = feed.update_frequency
            attributes = {
                "rrule": frequency.rrule,
                "dtstart": frequency.dtstart,
                "complete": "true" if frequency.complete else None,
            }
            _sub(channel, PODCAST_NS, "updateFrequency", frequency.label, **{k: v for k, v in attributes.items() if v})
        for item in extras.trailers:
            numbered = extras.numbered and item.episode.season is not None
            season = {"season": str(item.episode.season)} if numbered else {}
            _sub(channel, PODCAST_NS, "trailer", item.episode.title[:128], url=item.enclosure_url,
                 pubdate=formatdate(item.episode.published.timestamp(), usegmt=True),
                 length=str(item.enclosure.size), type=item.enclosure.content_type, **season)  # fmt: skip
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        return feed


class PodcastIndexEntryExtension:
    """Item-level podcast: elements, itunes:explicit as true/false, and the description as CDATA."""

    def __init__(self) -> None:
        self.item: FeedItem | None = None
        self.numbered = True

    def extend_rss(self, element: etree._Element) -> etree._Element:
        item = self.item
        if item is None:
            return element
        episode = item.episode
        description = element.find("description")
        if description is not None and description.text and "]]>" not in description.text:
            description.text = etree.CDATA(description.text)
        _sub(element, ITUNES_NS, "explicit", "true" if episode.explicit else "false")
        if self.numbered and episode.season is not None:
            _sub(element, PODCAST_NS, "season", str(episode.season))
        if self.numbered and episode.episode is not None:
            _sub(element, PODCAST_NS, "episode", str(episode.episode))
        for person in episode.persons:
            _person(element, person)
        for url, kind in item.transcripts:
            rel = {"rel": "captions"} if kind == VTT_TYPE else {}
            _sub(element, PODCAST_NS, "transcript", None, url=url, type=kind, language=self.language, **rel)
        if item.chapters_url:
            _sub(element, PODCAST_NS, "chapters", None, url=item.chapters_url, type=JSON_CHAPTERS_TYPE)
        if item.alternate is not None:
            _alternate(element, item.enclosure_url, item.enclosure, item.info, default=True)
            _alternate(element, *item.alternate, default=False)
        return element

    language = "en"

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        return entry


def _person(parent: etree._Element, person: Person) -> None:
    attributes = {"role": person.role, "href": person.href, "img": person.img}
    _sub(parent, PODCAST_NS, "person", person.name, **{k: v for k, v in attributes.items() if v})


def _alternate(parent: etree._Element, url: str, asset: Asset, info: MediaInfo, *, default: bool) -> None:
    attributes = {
        "type": asset.content_type,
        "length": str(asset.size),
        "bitrate": str(info.bit_rate) if info.bit_rate else None,
        "height": str(info.height) if info.has_video and info.height else None,
        "codecs": info.codecs,
        "title": "Video" if info.has_video else "Audio only",
        "default": "true" if default else None,
    }
    element = _sub(parent, PODCAST_NS, "alternateEnclosure", None, **{k: v for k, v in attributes.items() if v})
    _sub(element, PODCAST_NS, "source", None, uri=url)


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


@dataclass(frozen=True)
class Page:
    """Where a document sits in an RFC 5005 paged feed (page 1 is the feed's own URL)."""

    number: int
    count: int
    url_for_page: Callable[[int], str]


def page_key(feed: Feed, number: int) -> str:
    return feed.key if number == 1 else f"feeds/{feed.id}-page-{number}.xml"


def render_feed_pages(
    feed: Feed,
    items: Sequence[FeedItem],
    *,
    feed_url: str,
    artwork_url: str,
    guid: str,
    url_for: Callable[[str], str],
    hubs: Sequence[str] = (),
    stylesheet_url: str | None = None,
) -> list[RenderedDocument]:
    """The feed's documents: one, or with `page_size` set, RFC 5005 pages linked first/previous/next/last."""
    ordered = sorted(items, key=lambda i: (i.episode.published, i.episode.slug), reverse=True)
    if not feed.page_size or len(ordered) <= feed.page_size:
        return [
            render_feed(
                feed, ordered, feed_url=feed_url, artwork_url=artwork_url, guid=guid, hubs=hubs, stylesheet_url=stylesheet_url
            )
        ]
    size = feed.page_size
    chunks = [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def url_for_page(number: int) -> str:
        return url_for(page_key(feed, number))

    return [
        render_feed(
            feed,
            chunk,
            feed_url=url_for_page(n),
            artwork_url=artwork_url,
            guid=guid,
            page=Page(n, len(chunks), url_for_page),
            key=page_key(feed, n),
            all_items=ordered,
            hubs=hubs,
            stylesheet_url=stylesheet_url,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


def render_feed(
    feed: Feed,
    items: Sequence[FeedItem],
    *,
    feed_url: str,
    artwork_url: str,
    guid: str,
    page: Page | None = None,
    key: str | None = None,
    all_items: Sequence[FeedItem] | None = None,
    hubs: Sequence[str] = (),
    stylesheet_url: str | None = None,
) -> RenderedDocument:
    """One RSS document: newest episode first, everything deterministic for the same input.

    With `stylesheet_url`, the xml-stylesheet instruction follows the XML declaration, so a browser shows the feed
    as a page (feeds/static/feed.xsl); the stylesheet must be served from the feed's own origin."""
    ordered = sorted(items, key=lambda i: (i.episode.published, i.episode.slug), reverse=True)
    everything = list(all_items) if all_items is not None else ordered
    newest = everything[0].episode.published if everything else EPOCH

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
    podcast: Any = fg.podcast
    podcast.itunes_author(feed.author)
    podcast.itunes_owner(name=feed.owner.name, email=feed.owner.email)
    podcast.itunes_image(artwork_url)
    category = {"cat": feed.category, **({"sub": feed.subcategory} if feed.subcategory else {})}
    podcast.itunes_category(category)
    podcast.itunes_type(feed.type)
    if feed.new_feed_url:
        podcast.itunes_new_feed_url(feed.new_feed_url)
    trailers = tuple(i for i in everything if i.episode.episode_type == "trailer")
    numbered = not number_clashes(i.episode for i in everything)
    fg.podcastindex.extras = ChannelExtras(feed=feed, guid=guid, trailers=trailers, numbered=numbered)

    for item in ordered:
        _add_item(fg, feed, item, numbered)

    root, _ = fg._create_rss()
    if page is not None:
        _page_links(root, page)
    _hub_links(root, hubs)
    if stylesheet_url:
        root.addprevious(stylesheet_instruction(stylesheet_url))
    data = etree.tostring(root.getroottree(), pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return RenderedDocument(
        key=key or feed.key,
        data=data,
        sha256=sha256_bytes(data),
        feed_id=feed.id,
        episode_guids=tuple(i.episode.guid for i in ordered),
    )


def _page_links(root: etree._Element, page: Page) -> None:
    channel = root.find("channel")
    assert channel is not None
    anchor = channel.find(f"{{{ATOM_NS}}}link")
    position = list(channel).index(anchor) + 1 if anchor is not None else 0
    links = [("first", 1), ("last", page.count)]
    if page.number > 1:
        links.append(("previous", page.number - 1))
    if page.number < page.count:
        links.append(("next", page.number + 1))
    for offset, (rel, number) in enumerate(links):
        link = etree.Element(f"{{{ATOM_NS}}}link", href=page.url_for_page(number), rel=rel, type="application/rss+xml")
        channel.insert(position + offset, link)


def _hub_links(root: etree._Element, hubs: Sequence[str]) -> None:
    """WebSub: atom:link rel="hub" tells subscribers' servers where to subscribe for push updates."""
    channel = root.find("channel")
    assert channel is not None
    anchor = channel.find(f"{{{ATOM_NS}}}link")
    position = list(channel).index(anchor) + 1 if anchor is not None else 0
    for offset, hub in enumerate(hubs):
        channel.insert(position + offset, etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub"))


def number_clashes(episodes: Iterable[Episode]) -> dict[tuple[int | None, int], list[Episode]]:
    """The (season, episode) pairs that two or more different full episodes of one feed share (e.g. a topic feed
    that gathers episodes of several shows, each numbered in its own show), with those episodes.

    The rule: a feed carries `itunes:season`/`itunes:episode` (and podcast:season/episode) only when every full
    episode's pair is unique in it; with any clash it carries none, since apps sort and label by them (two "S1 E2"
    would hide one or put them in the wrong order). Trailers and bonus episodes may share their episode's numbers.
    """
    seen: dict[tuple[int | None, int], dict[str, Episode]] = {}
    for episode in episodes:
        if episode.episode is not None and episode.episode_type == "full":
            seen.setdefault((episode.season, episode.episode), {})[episode.guid] = episode
    return {pair: list(found.values()) for pair, found in seen.items() if len(found) > 1}


def _add_item(fg: FeedGenerator, feed: Feed, item: FeedItem, numbered: bool = True) -> None:
    episode = item.episode
    entry = fg.add_entry(order="append")
    entry.title(episode.title)
    entry.guid(episode.guid, permalink=episode.guid_permalink)
    entry.pubDate(episode.published)
    entry.enclosure(item.enclosure_url, str(item.enclosure.size), item.enclosure.content_type)
    stamps = timestamps_html(item.chapters)
    entry.description(stamps + episode.description_html)
    entry.content(stamps + episode.content_html, type="CDATA")
    if episode.articles:
        entry.link(href=episode.articles[0].url)
    podcast: Any = entry.podcast
    podcast.itunes_duration(str(round(item.info.duration)))
    podcast.itunes_episode_type(episode.episode_type)
    if numbered and episode.season is not None:
        podcast.itunes_season(episode.season)
    if numbered and episode.episode is not None:
        podcast.itunes_episode(episode.episode)
    hosts = [p.name for p in episode.persons if p.role in ("host", "co-host")]
    if hosts:
        podcast.itunes_author(", ".join(hosts))
    if item.image_url:
        podcast.itunes_image(item.image_url)
    entry.podcastindex.item = item
    entry.podcastindex.numbered = numbered
    entry.podcastindex.language = feed.language
