"""Web pages for listeners and the publisher's site, rendered with the feeds: a home page listing every show, a page
per show (its episodes newest first, 20 a page), a page per episode (player, chapters, transcript, show notes) and a
small embeddable player page per episode for an article's iframe.

Rendering is pure and deterministic (Jinja2 with autoescaping; no clock, no randomness): the same catalog gives the
same bytes, and each page is remembered in the store by its inputs, this code's digest and the bytes of the templates
and static files. Pages carry no inline script or style (their Content-Security-Policy forbids both): one site CSS,
one site JS and the vendored Plyr player are published as content-addressed assets under `assets/`, and what the
script needs (the icon sprite's URL) travels in `data-` attributes. Page artwork is a 320 px JPEG thumbnail
(`artwork/thumbs/`), never the 3000 px original.

Keys: `index.html` (stage "index"), `shows/<feed-id>.html` and `shows/<feed-id>/page-<n>.html`,
`episodes/<slug>.html`, `embed/<slug>.html` (stage "page": after the media and feeds they link), assets and
thumbnails (stage "sidecar").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mediafeed.cache.code import code_digest
from mediafeed.cache.memo import remembered
from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.artwork import THUMBNAIL_SIZE, thumbnail_jpeg
from mediafeed.catalog.chapters import delivered
from mediafeed.catalog.notes import notes_without_related
from mediafeed.catalog.transcripts import parse_cues, to_vtt
from mediafeed.config import Config, Target
from mediafeed.content_types import HOME_PAGE
from mediafeed.digest import content_key, sha256_bytes
from mediafeed.feeds.page_files import STATIC, TEMPLATES, templates_digest
from mediafeed.media.prepare import sidecar_asset
from mediafeed.media.probe import Facts
from mediafeed.models import DIRECTORIES, Asset, Feed, PreparedEpisode, Write

PLYR = STATIC / "vendor" / "plyr-3.8.4"
PAGE_SIZE = 20
HOME_KEY = HOME_PAGE
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
AUDIO_EMBED_HEIGHT = 200
VIDEO_EMBED_HEIGHT = 480
_SOURCE_MAP = re.compile(rb"\n?/[/*]# sourceMappingURL=[^\n]*\s*$")


def show_key(feed_id: str, number: int = 1) -> str:
    return f"shows/{feed_id}.html" if number == 1 else f"shows/{feed_id}/page-{number}.html"


def episode_key(slug: str) -> str:
    return f"episodes/{slug}.html"


def embed_key(slug: str) -> str:
    return f"embed/{slug}.html"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["clock"] = clock
    environment.filters["iso_duration"] = iso_duration
    environment.filters["megabytes"] = megabytes
    return environment


def clock(seconds: float) -> str:
    """1:02:03 or 2:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration (schema.org): PT1H2M3S."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


def json_ld(data: object) -> Markup:
    """JSON for a <script type="application/ld+json">: no raw <, > or &, so no text inside can end the script."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def render_template(name: str, **context: Any) -> bytes:
    return _environment().get_template(name).render(csp=Markup(CSP), **context).encode()


# ---- the data a page is made from (plain, picklable: it is also the page's cache key) ----


@dataclass(frozen=True)
class Assets:
    css: str
    js: str
    plyr_js: str
    plyr_css: str
    plyr_svg: str


@dataclass(frozen=True)
class Show:
    id: str
    title: str
    description: str
    link: str
    language: str
    author: str
    feed_url: str
    page_url: str
    thumbnail_url: str
    artwork_url: str
    medium: str
    directories: tuple[tuple[str, str], ...]  # (label, url)


@dataclass(frozen=True)
class Listed:
    """An episode as a show page lists it."""

    slug: str
    title: str
    url: str
    published: str  # ISO date
    published_label: str
    duration: float
    season: int | None
    episode: int | None
    episode_type: str
    kind: str
    summary: str


@dataclass(frozen=True)
class Chapter:
    start: float
    title: str
    url: str | None


@dataclass(frozen=True)
class EpisodePage:
    listed: Listed
    page_url: str
    embed_url: str
    media_url: str
    media_type: str
    video: bool
    width: int | None
    height: int | None
    size: int
    audio_url: str | None
    audio_size: int | None
    thumbnail_url: str
    artwork_url: str
    notes_html: str  # sanitized by the catalog (nh3); the only HTML a page takes as it is
    articles: tuple[tuple[str, str], ...]  # (title, url)
    persons: tuple[tuple[str, str, str | None], ...]  # (name, role, href)
    chapters: tuple[Chapter, ...]
    transcript: tuple[tuple[float, str], ...]  # (start, text)
    captions_url: str | None
    keywords: tuple[str, ...]
    shows: tuple[Show, ...]  # every feed that carries it, the home show first
    language: str
    embed_snippet: str  # the <iframe> to paste into an article, as text (the page escapes it once more)


def render_pages(
    config: Config,
    feeds: Sequence[Feed],
    feed_urls: dict[str, str],
    firsts: Sequence[PreparedEpisode],
    feeds_by_episode: dict[str, list[tuple[Feed, str]]],
    target: Target,
    facts: Facts,
) -> list[Write]:
    """Every page and what they need besides media already written (assets, thumbnails, captions), as writes."""
    if not config.pages:
        return []
    writes: dict[str, Write] = {}
    code = code_digest(__name__) + templates_digest()

    def add(key: str, stage: str, stored: bytes) -> str:
        """Write `stored` (the page or asset as the target stores it: target.stored) at `key`; its URL."""
        writes[key] = Write.of_bytes(key, stage, stored, target.encoding_for(key))
        return target.url_for(key)

    def add_asset(asset: Asset, stage: str) -> str:
        writes.setdefault(asset.key, Write(asset.key, stage, asset.size, asset.sha256, path=asset.path))
        return target.url_for(asset.key)

    def addressed(stem: str, suffix: str, data: bytes) -> str:
        key = content_key(stem, sha256_bytes(data), suffix)  # named by the bytes a browser reads
        return add(key, "sidecar", target.stored(key, data))

    def thumbnail(path: Path, name: str) -> str:
        sha = facts.sha256(path)
        data = remembered(
            facts.store, f"thumb-{name}", (sha, THUMBNAIL_SIZE), code_digest("mediafeed.catalog.artwork"),
            lambda: thumbnail_jpeg(path),
        )  # fmt: skip
        return addressed(f"artwork/thumbs/{name}", ".jpg", data)

    assets = _site_assets(addressed)
    shows: dict[str, Show] = {}
    for feed in feeds:
        artwork = sidecar_asset(feed.image, f"artwork/{feed.id}", IMAGE_TYPES, facts)
        shows[feed.id] = Show(
            id=feed.id,
            title=feed.title,
            description=feed.description,
            link=feed.link,
            language=feed.language,
            author=feed.author,
            feed_url=feed_urls[feed.id],
            page_url=target.url_for(show_key(feed.id)),
            thumbnail_url=thumbnail(feed.image, feed.id),
            artwork_url=add_asset(artwork, "sidecar"),
            medium=feed.medium,
            directories=tuple((DIRECTORIES[name][0], DIRECTORIES[name][1].format(id=value)) for name, value in feed.directories),
        )

    def page(key: str, stage: str, name: str, context: dict[str, Any]) -> None:
        """Render (or recall) one page: its key in the store is everything render_page is given, and the code."""
        arguments = (name, tuple(sorted(context.items())), assets, home_url, config.site_title, config.site_url)
        stored = remembered(
            facts.store, f"{target.name}-page-{key}", (*arguments, target.encoding_for(key)), code,
            lambda: target.stored(key, render_page(name, context, assets, home_url, config.site_title, config.site_url)),
        )  # fmt: skip
        add(key, stage, stored)

    home_url = target.url_for(HOME_KEY)
    opml_url = target.url_for("feeds.opml")
    episodes: list[EpisodePage] = []
    for delivery in sorted(firsts, key=lambda p: (p.episode.published, p.episode.slug), reverse=True):
        carried = [shows[f.id] for f, _ in feeds_by_episode.get(delivery.episode.guid, []) if f.id in shows]
        episodes.append(_episode_page(delivery, carried, config, target, add_asset, addressed, thumbnail))
    for item in episodes:
        page(episode_key(item.listed.slug), "page", "episode.html", {"item": item, "url": item.page_url})
        page(embed_key(item.listed.slug), "page", "embed.html", {"item": item, "url": item.embed_url})
    by_show: dict[str, list[Listed]] = {}
    for item in episodes:
        for show in item.shows:
            by_show.setdefault(show.id, []).append(item.listed)
    for show in shows.values():
        listed = by_show.get(show.id, [])
        chunks = [listed[i : i + PAGE_SIZE] for i in range(0, len(listed), PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            prev_url = target.url_for(show_key(show.id, number - 1)) if number > 1 else None
            next_url = target.url_for(show_key(show.id, number + 1)) if number < len(chunks) else None
            context = {
                "show": show,
                "episodes": tuple(chunk),
                "number": number,
                "count": len(chunks),
                "total": len(listed),
                "prev_url": prev_url,
                "next_url": next_url,
                "url": target.url_for(show_key(show.id, number)),
                "opml_url": opml_url,
            }
            page(show_key(show.id, number), "page", "show.html", context)
    home = {"shows": tuple(shows.values()), "opml_url": opml_url, "url": home_url}
    page(HOME_KEY, "index", "home.html", home)
    return list(writes.values())


def render_page(name: str, context: dict[str, Any], assets: Assets, home_url: str, site_title: str, site_url: str) -> bytes:
    """One page (pure): the template with its context and what every page shares."""
    extra: dict[str, Any] = {}
    if name == "episode.html":
        extra["ld"] = json_ld(episode_ld(context["item"]))
    elif name == "show.html":
        extra["ld"] = json_ld(show_ld(context["show"], context["episodes"]))
    return render_template(name, assets=assets, home_url=home_url, site_title=site_title, site_url=site_url, **context, **extra)


def episode_ld(item: EpisodePage) -> dict[str, Any]:
    listed = item.listed
    show = item.shows[0] if item.shows else None
    media: dict[str, Any] = {
        "@type": "VideoObject" if item.video else "AudioObject",
        "contentUrl": item.media_url,
        "encodingFormat": item.media_type,
        "contentSize": str(item.size),
        "duration": iso_duration(listed.duration),
        "name": listed.title,
        "uploadDate": listed.published,
        "thumbnailUrl": item.artwork_url,
    }
    if item.video:
        media["embedUrl"] = item.embed_url
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "PodcastEpisode",
        "name": listed.title,
        "url": item.page_url,
        "datePublished": listed.published,
        "timeRequired": iso_duration(listed.duration),
        "description": listed.summary,
        "image": item.artwork_url,
        "associatedMedia": media,
    }
    if listed.episode is not None:
        data["episodeNumber"] = listed.episode
    if listed.season is not None:
        data["partOfSeason"] = {"@type": "PodcastSeason", "seasonNumber": listed.season}
    if show is not None:
        data["partOfSeries"] = {"@type": "PodcastSeries", "name": show.title, "url": show.page_url, "webFeed": show.feed_url}
    if item.persons:
        data["actor"] = [{"@type": "Person", "name": n, **({"url": h} if h else {})} for n, _, h in item.persons]
    if item.keywords:
        data["keywords"] = ", ".join(item.keywords)
    return data


def show_ld(show: Show, episodes: Sequence[Listed]) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "PodcastSeries",
        "name": show.title,
        "description": show.description,
        "url": show.page_url,
        "webFeed": show.feed_url,
        "image": show.artwork_url,
        "inLanguage": show.language,
        "author": {"@type": "Organization", "name": show.author},
        "sameAs": [show.link, *(url for _, url in show.directories)],
        "hasPart": [{"@type": "PodcastEpisode", "name": e.title, "url": e.url} for e in episodes],
    }


def _site_assets(addressed: Callable[[str, str, bytes], str]) -> Assets:
    """Publish the site's CSS and JS and the vendored Plyr (content-addressed: a new version gets a new key)."""
    plyr_js = _SOURCE_MAP.sub(b"\n", (PLYR / "plyr.min.js").read_bytes())  # no map is published: no 404 in devtools
    return Assets(
        css=addressed("assets/site", ".css", (STATIC / "site.css").read_bytes()),
        js=addressed("assets/site", ".js", (STATIC / "site.js").read_bytes()),
        plyr_js=addressed("assets/plyr-3.8.4", ".js", plyr_js),
        plyr_css=addressed("assets/plyr-3.8.4", ".css", (PLYR / "plyr.css").read_bytes()),
        plyr_svg=addressed("assets/plyr-3.8.4", ".svg", (PLYR / "plyr.svg").read_bytes()),
    )


def _episode_page(
    delivery: PreparedEpisode,
    shows: list[Show],
    config: Config,
    target: Target,
    add_asset: Callable[[Asset, str], str],
    addressed: Callable[[str, str, bytes], str],
    thumbnail: Callable[[Path, str], str],
) -> EpisodePage:
    episode = delivery.episode
    main, info = delivery.main, delivery.main_info
    media_url = add_asset(main, "media")
    audio_url = add_asset(delivery.audio, "media") if delivery.audio is not None else None
    if episode.image is not None and delivery.image is not None:
        artwork_url = add_asset(delivery.image, "sidecar")
        thumbnail_url = thumbnail(delivery.image.path, episode.slug)
    elif shows:
        artwork_url, thumbnail_url = shows[0].artwork_url, shows[0].thumbnail_url
    else:
        artwork_url = thumbnail_url = ""
    offset = delivery.main_offset
    chapters = tuple(Chapter(c.start, c.title, c.url) for c in delivered(episode.chapters, offset))
    transcript: tuple[tuple[float, str], ...] = ()
    captions_url = None
    if episode.transcript is not None:
        cues = parse_cues(episode.transcript.read_bytes().decode("utf-8-sig"))
        transcript = tuple((cue.start + offset, cue.text) for cue in cues)
        captions_url = addressed(f"transcripts/{episode.slug}", ".vtt", to_vtt(cues, offset))
    notes, _ = notes_without_related(episode.content_html, episode.articles, config.site_url)
    published = episode.published
    listed = Listed(
        slug=episode.slug,
        title=episode.title,
        url=target.url_for(episode_key(episode.slug)),
        published=published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        published_label=f"{published:%B} {published.day}, {published.year}",
        duration=info.duration,
        season=episode.season,
        episode=episode.episode,
        episode_type=episode.episode_type,
        kind=episode.kind,
        summary=episode.summary or "",
    )
    return EpisodePage(
        listed=listed,
        page_url=listed.url,
        embed_url=target.url_for(embed_key(episode.slug)),
        media_url=media_url,
        media_type=main.content_type,
        video=info.has_video,
        width=info.width,
        height=info.height,
        size=main.size,
        audio_url=audio_url,
        audio_size=delivery.audio.size if delivery.audio is not None else None,
        thumbnail_url=thumbnail_url,
        artwork_url=artwork_url,
        notes_html=notes,
        articles=tuple((a.title, a.url) for a in episode.articles),
        persons=tuple((p.name, p.role, p.href) for p in episode.persons),
        chapters=chapters,
        transcript=transcript,
        captions_url=captions_url,
        keywords=episode.keywords,
        shows=tuple(shows),
        language=shows[0].language if shows else "en",
        embed_snippet=embed_snippet(target.url_for(embed_key(episode.slug)), episode.title, info.has_video),
    )


def embed_snippet(embed_url: str, title: str, video: bool) -> str:
    """The iframe an article pastes: its attribute values escaped as HTML (the title is text, never markup)."""
    height = VIDEO_EMBED_HEIGHT if video else AUDIO_EMBED_HEIGHT
    return f'<iframe src="{escape(embed_url)}" title="{escape(title)}" width="100%" height="{height}" loading="lazy"></iframe>'
