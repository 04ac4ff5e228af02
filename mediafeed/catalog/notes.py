"""Show notes: Markdown → sanitized HTML, in the two flavours podcast apps render.

`description` gets only what Apple renders (p, ol, ul, li, a) within Apple's 4000-byte limit; `content:encoded`
gets richer, still sanitized HTML. Both end with the related articles, so every app links back to the site.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from html import escape, unescape
from urllib.parse import urljoin, urlparse

import markdown
import nh3

from mediafeed.models import Article

DESCRIPTION_LIMIT = 4000  # bytes, Apple's limit for <description>
APPLE_TAGS = {"p", "ol", "ul", "li", "a"}
RICH_TAGS = APPLE_TAGS | {"h2", "h3", "h4", "strong", "em", "b", "i", "br", "blockquote", "code", "pre", "hr"}
URL_SCHEMES = {"http", "https", "mailto"}

# Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HEADING = re.compile(r"<(/?)h[1-6]\b[^>]*>")
_BLOCK_TAG = re.compile(r"<(/?)(p|ol|ul)\b[^>]*>")
ELLIPSIS = "<p>…</p>"


def strip_xml_invalid(text: str) -> str:
    return _XML_INVALID.sub("", text)


def clean_line(text: str) -> str:
    """A title or name: XML-safe, whitespace trimmed and collapsed."""
    return " ".join(strip_xml_invalid(text).split())


_LOCAL = threading.local()


def _markdown() -> markdown.Markdown:
    """One converter per thread, reset between documents: building one costs more than converting a short note."""
    converter = getattr(_LOCAL, "converter", None)
    if converter is None:
        converter = _LOCAL.converter = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    return converter


def render_notes(body: str, site_url: str, articles: Iterable[Article], reserve: int = 0) -> tuple[str, str]:
    """Return (description_html, content_html) for an episode's Markdown body.

    `reserve` bytes of the description's limit are kept free for what the feed adds in front (chapter timestamps).
    """
    html = _markdown().reset().convert(strip_xml_invalid(body))
    related = _related_html(list(articles))
    content = _sanitize(html + related, RICH_TAGS, site_url)
    apple = _sanitize(_HEADING.sub(lambda m: f"<{m.group(1)}p>", html), APPLE_TAGS, site_url)
    limit = DESCRIPTION_LIMIT - reserve
    return _fit(apple, _related_within(list(articles), site_url, limit), limit), content


def _related_html(articles: list[Article]) -> str:
    if not articles:
        return ""
    items = "".join(f'<li><a href="{escape(a.url)}">{escape(a.title)}</a></li>' for a in articles)
    return f"<p>Related articles:</p><ul>{items}</ul>"


def _related_within(articles: list[Article], site_url: str, limit: int) -> str:
    """The Apple-safe related list, shortened from the end if it alone would break the limit (content keeps all)."""
    budget = limit - len(ELLIPSIS.encode())

    def render(count: int) -> str:
        return _sanitize(_related_html(articles[:count]), APPLE_TAGS, site_url)

    everything = render(len(articles))
    if len(everything.encode()) <= budget:
        return everything
    fits, too_long = 0, len(articles)  # the longest prefix that fits, found by bisection (longer never fits again)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(render(middle).encode()) <= budget:
            fits = middle
        else:
            too_long = middle
    return render(fits)


def _sanitize(html: str, tags: set[str], site_url: str) -> str:
    def absolute(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            resolved = urljoin(site_url + "/", value.strip())
            return resolved if urlparse(resolved).scheme in URL_SCHEMES else None
        return value

    attributes = {"a": {"href", "title"}} if "a" in tags else {}
    cleaned = nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        attribute_filter=absolute,
        link_rel=None,
        strip_comments=True,
    )
    return strip_xml_invalid(cleaned).strip()


def _fit(notes: str, related: str, limit: int) -> str:
    """Keep whole blocks of the notes so that notes + related articles stay within Apple's limit."""
    limit = limit - len(related.encode())
    if len(notes.encode()) <= limit:
        return notes + related
    kept = ""
    for block in _top_level_blocks(notes):
        if len((kept + block + ELLIPSIS).encode()) > limit:
            break
        kept += block
    return kept + ELLIPSIS + related


def _top_level_blocks(html: str) -> list[str]:
    """Whole top-level p/ol/ul elements of sanitized HTML, in order.

    Depth is counted so a nested list stays inside its parent: cutting at the first closing tag (a non-greedy
    regex) would end the description with unclosed <li> and <ul> elements.
    """
    blocks, depth, start = [], 0, 0
    for match in _BLOCK_TAG.finditer(html):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                blocks.append(html[start : match.end()])
    return blocks


_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|blockquote|pre)>|<br\s*/?>", re.I)


def plain_text(html: str) -> str:
    """A one-line plain-text rendering (for tags, OPML and JSON): tags removed, blocks kept apart by a space."""
    spaced = _BLOCK_END.sub(lambda m: m.group(0) + " ", html)
    return clean_line(unescape(nh3.clean(spaced, tags=set())))


def notes_without_related(content_html: str, articles: Iterable[Article], site_url: str) -> tuple[str, bool]:
    """The rich show notes without the "Related articles" list render_notes appends, and whether it was taken off
    (a web page lists the articles in a section of its own). The result is a prefix of already sanitized HTML that
    ends where a sanitized block of its own begins, so it is as safe as the whole."""
    related = _sanitize(_related_html(list(articles)), RICH_TAGS, site_url)
    if related and content_html.endswith(related):
        return content_html[: -len(related)].rstrip(), True
    return content_html, not related
