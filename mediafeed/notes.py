"""Show notes: Markdown → sanitized HTML, in the two flavours podcast apps render.

`description` gets only what Apple renders (p, ol, ul, li, a) within Apple's 4000-byte limit; `content:encoded`
gets richer, still sanitized HTML. Both end with the related articles, so every app links back to the site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape
from urllib.parse import urljoin, urlparse

import markdown
import nh3

from .models import Article

DESCRIPTION_LIMIT = 4000  # bytes, Apple's limit for <description>
APPLE_TAGS = {"p", "ol", "ul", "li", "a"}
RICH_TAGS = APPLE_TAGS | {"h2", "h3", "h4", "strong", "em", "b", "i", "br", "blockquote", "code", "pre", "hr"}
URL_SCHEMES = {"http", "https", "mailto"}

# Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HEADING = re.compile(r"<(/?)h[1-6]\b[^>]*>")
_BLOCK = re.compile(r"(<(p|ol|ul)>.*?</\2>)", re.S)


def strip_xml_invalid(text: str) -> str:
    return _XML_INVALID.sub("", text)


def clean_line(text: str) -> str:
    """A title or name: XML-safe, whitespace trimmed and collapsed."""
    return " ".join(strip_xml_invalid(text).split())


def render_notes(body: str, site_url: str, articles: Iterable[Article]) -> tuple[str, str]:
    """Return (description_html, content_html) for an episode's Markdown body."""
    html = markdown.markdown(strip_xml_invalid(body), extensions=["sane_lists"], output_format="html")
    related = _related_html(list(articles))
    content = _sanitize(html + related, RICH_TAGS, site_url)
    apple = _sanitize(_HEADING.sub(lambda m: f"<{m.group(1)}p>", html), APPLE_TAGS, site_url)
    return _fit(apple, _sanitize(related, APPLE_TAGS, site_url)), content


def _related_html(articles: list[Article]) -> str:
    if not articles:
        return ""
    items = "".join(f'<li><a href="{escape(a.url)}">{escape(a.title)}</a></li>' for a in articles)
    return f"<p>Related articles:</p><ul>{items}</ul>"


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


def _fit(notes: str, related: str) -> str:
    """Keep whole blocks of the notes so that notes + related articles stay within Apple's limit."""
    limit = DESCRIPTION_LIMIT - len(related.encode())
    if len(notes.encode()) <= limit:
        return notes + related
    kept = ""
    for block in (m.group(1) for m in _BLOCK.finditer(notes)):
        if len((kept + block + "<p>…</p>").encode()) > limit:
            break
        kept += block
    return kept + "<p>…</p>" + related


def plain_text(html: str) -> str:
    """A one-line plain-text rendering (for OPML and JSON), tags removed."""
    return clean_line(nh3.clean(html, tags=set()).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
