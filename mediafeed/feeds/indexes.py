"""Documents that index the feeds: an OPML subscription list and related.json for the publisher's website."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lxml import etree

from mediafeed.digest import sha256_bytes
from mediafeed.models import Feed, PreparedEpisode, RenderedDocument

OPML_KEY = "feeds.opml"
RELATED_KEY = "related.json"


def render_opml(title: str, feeds: Sequence[tuple[Feed, str]]) -> RenderedDocument:
    """OPML 2.0 listing every feed (no dates in it, so it changes only when the feed list does)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    for feed, url in sorted(feeds, key=lambda pair: pair[0].id):
        etree.SubElement(body, "outline", type="rss", text=feed.title, title=feed.title, xmlUrl=url, htmlUrl=feed.link)
    data = etree.tostring(opml, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return RenderedDocument(OPML_KEY, data, sha256_bytes(data))


def render_related(
    episodes: Sequence[PreparedEpisode], feeds_by_episode: dict[str, list[tuple[Feed, str]]], url_for: object
) -> RenderedDocument:
    """Article URL → the released episodes that discuss it, so each article page can link its episodes."""
    assert callable(url_for)
    articles: dict[str, dict[str, Any]] = {}
    for prepared in sorted(episodes, key=lambda p: (p.episode.published, p.episode.slug), reverse=True):
        episode = prepared.episode
        for article in episode.articles:
            entry = articles.setdefault(article.url, {"url": article.url, "title": article.title, "episodes": []})
            entry["episodes"].append(
                {
                    "guid": episode.guid,
                    "slug": episode.slug,
                    "title": episode.title,
                    "kind": episode.kind,
                    "published": episode.published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "media_url": url_for(prepared.main.key),
                    "media_type": prepared.main.content_type,
                    "duration": round(prepared.main_info.duration),
                    "feeds": [{"id": f.id, "title": f.title, "url": u} for f, u in feeds_by_episode.get(episode.guid, [])],
                }
            )
    document = {"format": 1, "articles": [articles[url] for url in sorted(articles)]}
    # Compact: `indent` would switch the json module from its C encoder to pure Python (a second per 10,000 episodes).
    text = json.dumps(document, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    # The same data, but safe to paste into a web page: no raw <, > or & (a title is text, never markup).
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    data = (text + "\n").encode()
    return RenderedDocument(RELATED_KEY, data, sha256_bytes(data))
