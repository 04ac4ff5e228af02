"""The render stage: everything the target should hold besides media files being made — each feed (RSS + iTunes +
Podcasting 2.0, paged when asked), their artwork, chapters and transcripts, feeds.opml, related.json and the web
pages (feeds/pages.py).

Rendering is pure: the same inputs give the same bytes. Feed documents and related.json are remembered in the store
by their inputs and the renderer's code digest, so an unchanged feed of 10,000 items is not rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from mediafeed.cache.code import code_digest
from mediafeed.cache.memo import remembered
from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.chapters import delivered, json_chapters
from mediafeed.catalog.transcripts import SRT_TYPE, VTT_TYPE, parse_cues, to_srt, to_vtt
from mediafeed.config import Config, Target
from mediafeed.content_types import PRIVATE_PREFIX
from mediafeed.digest import content_key, sha256_bytes
from mediafeed.feeds.indexes import render_opml, render_related
from mediafeed.feeds.pages import render_pages
from mediafeed.feeds.rss import STYLESHEET_KEY_STEM, FeedItem, feed_stylesheet, podcast_guid, render_feed_pages
from mediafeed.media.encode import Profile
from mediafeed.media.prepare import sidecar_asset
from mediafeed.media.probe import Facts
from mediafeed.models import Asset, Catalog, Feed, PreparedEpisode, RenderedDocument, Write


@dataclass(frozen=True)
class Site:
    """What the render stage made: every write the target should hold, the documents among them, feed URLs and sizes."""

    writes: list[Write]
    documents: list[RenderedDocument]
    feed_urls: dict[str, str]
    feed_counts: dict[str, int]
    private: dict[str, RenderedDocument] = field(default_factory=dict)  # private feed id → its template (see below)
    private_urls: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ... → the private/ URLs it links


# A private feed is rendered once, with this in place of its own URL; each subscriber's copy replaces it with theirs.
PRIVATE_URL_MARK = "https://private-feed.invalid/mediafeed-subscriber-url"


def render_all(
    config: Config,
    catalog: Catalog,
    prepared: dict[tuple[str, str], PreparedEpisode],
    profiles: dict[str, Profile],
    target: Target,
    facts: Facts,
    stored_guids: dict[str, str] | None = None,
) -> Site:
    """Everything the target should hold: media, artwork, chapters and transcripts, each feed, OPML, related.json.

    `stored_guids` are the podcast:guid values this target published before: a feed keeps its guid even when its
    URL changes (a feed move), as the Podcasting 2.0 spec asks.
    """
    writes: dict[str, Write] = {}

    def add_asset(asset: Asset, stage: str) -> None:
        writes[asset.key] = Write(asset.key, stage, asset.size, asset.sha256, path=asset.path)

    def add_bytes(key_stem: str, suffix: str, data: bytes) -> str:
        key = content_key(key_stem, sha256_bytes(data), suffix)
        writes[key] = Write.of_bytes(key, "sidecar", target.stored(key, data), target.encoding_for(key))
        return target.url_for(key)

    documents: list[RenderedDocument] = []
    feed_urls: dict[str, str] = {}
    feed_counts: dict[str, int] = {}
    feeds_by_episode: dict[str, list[tuple[Feed, str]]] = {}
    stylesheet_url = add_bytes(STYLESHEET_KEY_STEM, ".xsl", feed_stylesheet())  # a browser's view of each feed
    public = public_feeds(catalog)
    for feed in public:
        artwork = sidecar_asset(feed.image, f"artwork/{feed.id}", IMAGE_TYPES, facts)
        add_asset(artwork, "sidecar")
        url = target.url_for(feed.key)
        feed_urls[feed.id] = url
        items = []
        for delivery in feed_deliveries(catalog, feed, prepared, profiles):
            items.append(_feed_item(feed, delivery, add_asset, add_bytes, target))
            feeds_by_episode.setdefault(delivery.episode.guid, []).append((feed, url))
        guid = channel_guid(feed, url, stored_guids or {})
        artwork_url = target.url_for(artwork.key)
        arguments = (feed, items, url, artwork_url, guid, target, config.websub_hubs, stylesheet_url)
        pages = remembered(
            facts.store,
            f"{target.name}-feed-{feed.id}",
            arguments,
            code_digest("mediafeed.feeds.rss"),
            partial(
                render_feed_pages,
                feed,
                items,
                feed_url=url,
                artwork_url=artwork_url,
                guid=guid,
                url_for=target.url_for,
                hubs=config.websub_hubs,
                stylesheet_url=stylesheet_url,
            ),
        )
        documents.extend(pages)
        feed_counts[feed.id] = len(items)
    private: dict[str, RenderedDocument] = {}
    private_urls: dict[str, tuple[str, ...]] = {}
    for feed in catalog.feeds:
        if not feed.private:
            continue
        artwork = sidecar_asset(feed.image, f"artwork/{feed.id}", IMAGE_TYPES, facts)
        add_asset(artwork, "sidecar")
        items = []
        for delivery in feed_deliveries(catalog, feed, prepared, profiles):
            hidden = delivery.episode.access == "subscribers"
            items.append(_feed_item(feed, delivery, add_asset, add_bytes, target, PRIVATE_PREFIX if hidden else ""))
        # One document per subscriber: apps page nothing they fetch by secret URL. Presigned links are signed for the
        # storage's own address, so no analytics prefix goes in front of them.
        presigned = target.private_media == "presigned"
        whole = replace(feed, page_size=None, enclosure_prefix=None if presigned else feed.enclosure_prefix)
        artwork_url = target.url_for(artwork.key)
        guid = channel_guid(feed, target.url_for(feed.key), stored_guids or {})
        private[feed.id] = remembered(
            facts.store,
            f"{target.name}-private-{feed.id}",
            (whole, items, PRIVATE_URL_MARK, artwork_url, guid, target, stylesheet_url),
            code_digest("mediafeed.feeds.rss"),
            partial(
                render_feed_pages,
                whole,
                items,
                feed_url=PRIVATE_URL_MARK,
                artwork_url=artwork_url,
                guid=guid,
                url_for=target.url_for,
                stylesheet_url=stylesheet_url,
            ),
        )[0]
        feed_counts[feed.id] = len(items)
        private_urls[feed.id] = _private_urls(items, target.url_for(PRIVATE_PREFIX))
    firsts = [d for d in one_per_episode(prepared) if d.episode.access == "public"]
    for delivery in firsts:
        add_asset(delivery.main, "media")  # related.json links every episode's main rendition
    documents.append(render_opml(config.site_title, [(f, feed_urls[f.id]) for f in public]))
    documents.append(
        remembered(
            facts.store,
            f"{target.name}-related",
            (firsts, feeds_by_episode, target),
            code_digest("mediafeed.feeds.indexes"),
            lambda: render_related(firsts, feeds_by_episode, target.url_for),
        )
    )
    for document in documents:
        stage = "feed" if document.feed_id else "index"
        writes[document.key] = Write(document.key, stage, len(document.data), document.sha256, data=document.data)
    for write in render_pages(config, public, feed_urls, firsts, feeds_by_episode, target, facts):
        writes.setdefault(write.key, write)  # web pages (feeds/pages.py) and what only they need
    return Site(list(writes.values()), documents, feed_urls, feed_counts, private, private_urls)


def feed_deliveries(
    catalog: Catalog, feed: Feed, prepared: dict[tuple[str, str], PreparedEpisode], profiles: dict[str, Profile]
) -> list[PreparedEpisode]:
    """The deliveries a feed carries, newest first: its episodes whose media was prepared for its profile."""
    digest = profiles[feed.id].digest
    return [prepared[(e.guid, digest)] for e in catalog.episodes_for(feed) if (e.guid, digest) in prepared]


def media_writes(catalog: Catalog, prepared: dict[tuple[str, str], PreparedEpisode], profiles: dict[str, Profile]) -> list[Write]:
    """The media files render_all will want written (enclosures, alternate renditions, related.json's main
    renditions), known before any feed is rendered: what EarlyUploads can send while feeds render."""
    assets: dict[str, Asset] = {}
    for feed in public_feeds(catalog):
        for delivery in feed_deliveries(catalog, feed, prepared, profiles):
            enclosure = delivery.enclosure_for(feed.medium)[0]
            assets.setdefault(enclosure.key, enclosure)
            other = delivery.alternate_for(feed.medium)
            if other is not None:
                assets.setdefault(other[0].key, other[0])
    for delivery in one_per_episode(prepared):
        if delivery.episode.access == "public":
            assets.setdefault(delivery.main.key, delivery.main)
    return [Write(a.key, "media", a.size, a.sha256, path=a.path) for a in assets.values()]


def public_feeds(catalog: Catalog) -> list[Feed]:
    """The feeds anyone may read: the ones published at their own key, in OPML, on the pages."""
    return [f for f in catalog.feeds if not f.private]


def one_per_episode(prepared: dict[tuple[str, str], PreparedEpisode]) -> list[PreparedEpisode]:
    """Each episode's first delivery (related.json links its main rendition)."""
    return list({p.episode.guid: p for p in reversed(list(prepared.values()))}.values())


def episodes_per_feed(documents: list[RenderedDocument]) -> dict[str, list[str]]:
    """Feed id → the GUIDs it carries, newest first, across all of its pages."""
    feeds: dict[str, list[str]] = {}
    for document in documents:
        if document.feed_id:
            feeds.setdefault(document.feed_id, []).extend(document.episode_guids)
    return feeds


def channel_guid(feed: Feed, feed_url: str, stored: dict[str, str]) -> str:
    """podcast:guid: pinned in the feed definition, else the one this target published, else computed from the URL."""
    return feed.guid or stored.get(feed.id) or podcast_guid(feed_url)


def _feed_item(
    feed: Feed, delivery: PreparedEpisode, add_asset: Any, add_bytes: Any, target: Target, prefix: str = ""
) -> FeedItem:
    """The episode as this feed encloses it, registering every file the item points at (under `prefix`: a
    subscriber-only episode's files live under private/, named by no public document)."""
    if prefix:
        add_bytes = partial(_prefixed_bytes, add_bytes, prefix)
        delivery = _prefixed_delivery(delivery, prefix)
    episode = delivery.episode
    asset, info = delivery.enclosure_for(feed.medium)
    add_asset(asset, "media")

    def public(key: str) -> str:
        """Enclosure URLs go through the feed's analytics prefix; GUIDs and keys never change because of it."""
        url = target.url_for(key)
        return feed.enclosure_prefix + url.split("://", 1)[-1] if feed.enclosure_prefix else url

    alternate = None
    other = delivery.alternate_for(feed.medium)
    if other is not None:
        add_asset(other[0], "media")
        alternate = (public(other[0].key), other[0], other[1])
    if delivery.image is not None:
        add_asset(delivery.image, "sidecar")
    chapters = delivered(episode.chapters, delivery.offset_for(feed.medium))
    chapters_url = None
    if chapters:
        document = json_chapters(chapters, title=episode.title)
        chapters_url = add_bytes(f"chapters/{episode.slug}", ".json", document)
    transcripts: tuple[tuple[str, str], ...] = ()
    if episode.transcript is not None:
        cues = parse_cues(episode.transcript.read_bytes().decode("utf-8-sig"))
        offset = delivery.offset_for(feed.medium)
        transcripts = (
            (add_bytes(f"transcripts/{episode.slug}", ".vtt", to_vtt(cues, offset)), VTT_TYPE),
            (add_bytes(f"transcripts/{episode.slug}", ".srt", to_srt(cues, offset)), SRT_TYPE),
        )
    return FeedItem(
        episode=episode,
        enclosure_url=public(asset.key),
        enclosure=asset,
        info=info,
        alternate=alternate,
        image_url=target.url_for(delivery.image.key) if delivery.image else None,
        chapters_url=chapters_url,
        transcripts=transcripts,
        chapters=chapters,
    )


def _prefixed_bytes(add_bytes: Any, prefix: str, key_stem: str, suffix: str, data: bytes) -> str:
    return str(add_bytes(prefix + key_stem, suffix, data))


def _prefixed_delivery(delivery: PreparedEpisode, prefix: str) -> PreparedEpisode:
    """The same delivery with every asset key under `prefix` (same bytes, another key)."""

    def moved(asset: Asset | None) -> Asset | None:
        return replace(asset, key=prefix + asset.key) if asset is not None else None

    main = moved(delivery.main)
    assert main is not None
    return replace(delivery, main=main, audio=moved(delivery.audio), image=moved(delivery.image))


def _private_urls(items: list[FeedItem], base: str) -> tuple[str, ...]:
    """The URLs under private/ that a private feed's items link (what a presigned copy signs)."""
    urls = [i.enclosure_url for i in items] + [i.alternate[0] for i in items if i.alternate]
    urls += [u for i in items for u in (i.image_url, i.chapters_url) if u] + [u for i in items for u, _ in i.transcripts]
    return tuple(sorted({u for u in urls if u.startswith(base)}))
