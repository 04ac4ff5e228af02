"""What every published object is served as: one table of Content-Type and Cache-Control by key, and the CORS rule.

The S3 target sets these headers on each object it writes, the preview server (`mediafeed serve`) answers with the
same ones for the same keys, and `mediafeed target setup` applies the same CORS rule to a bucket, so a feed, page or
chapters file behaves alike wherever it is read from.

A key's type comes from its suffix (chapters under `chapters/` are JSON chapters). Its caching comes from where it
lives: keys under a content-addressed folder (their names carry a hash of their bytes, so they never change) are
cached for a year; everything else (feeds, pages, lists) for five minutes; bookkeeping is never cached and never served.
Subscribers' files live under `private/`: their media as content-addressed keys (`private/media/...`), each private
feed at a secret key (`private/<token>/feeds/<id>.xml`) that shared caches must not keep (so a revoked URL dies at once).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from mediafeed.mediainfo import MEDIA_TYPES

BOOKKEEPING_PREFIX = "_mediafeed/"  # the manifest, the lease, the shared cache: never public, never served
LOCK_NAMES = (".mediafeed-lock",)  # a local target's lock file: never served

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
NO_CACHE = "no-cache"
PRIVATE_FEED = "private, max-age=60"
PRIVATE_PREFIX = "private/"  # subscribers' media (content-addressed) and their secret feed copies

# Folders whose keys are content-addressed (a hash of the bytes in the name): safe to cache for ever.
CONTENT_ADDRESSED = ("media/", "artwork/", "chapters/", "transcripts/", "assets/")
# The web pages (feeds/pages.py): the home page, and a folder per kind of page.
HOME_PAGE = "index.html"
PAGE_FOLDERS = ("shows/", "episodes/", "embed/")

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
# Feeds go out as application/xml, not application/rss+xml: podcast apps and the W3C validator accept both (the
# validator sniffs <rss> in the first 512 bytes), but browsers show application/rss+xml as plain text or download it,
# so its xml-stylesheet (the readable page for people who click an RSS link) would never run.
RSS_TYPE = "application/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
JSON_CHAPTERS_TYPE = "application/json+chapters"
VTT_TYPE = "text/vtt; charset=utf-8"
SRT_TYPE = "application/x-subrip"
OPML_TYPE = "text/x-opml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
XSL_TYPE = "text/xsl; charset=utf-8"
DEFAULT_TYPE = "application/octet-stream"

TYPES: dict[str, str] = {
    **MEDIA_TYPES,
    **IMAGE_TYPES,
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".xml": RSS_TYPE,
    ".rss": RSS_TYPE,
    ".opml": OPML_TYPE,
    ".json": JSON_TYPE,
    ".vtt": VTT_TYPE,
    ".srt": SRT_TYPE,
    ".html": HTML_TYPE,
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".xsl": XSL_TYPE,
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
# Types worth compressing in transit (a CDN or the preview server gzips them; media and images are compressed already).
COMPRESSIBLE = frozenset({RSS_TYPE, OPML_TYPE, JSON_TYPE, JSON_CHAPTERS_TYPE, VTT_TYPE, SRT_TYPE, HTML_TYPE, XSL_TYPE,
                          "image/svg+xml", "text/css; charset=utf-8", "text/javascript; charset=utf-8",
                          "text/plain; charset=utf-8"})  # fmt: skip


# What an S3 target stores gzip-compressed (with Content-Encoding: gzip), unless it says `precompress = false`: the web
# pages and their assets (CSS, JS, the icon sprite, the feeds' stylesheet), which only browsers read, and every browser
# decodes. A bare bucket compresses nothing in transit, and Plyr alone is 151 KB uncompressed (40 KB gzipped). Feeds,
# chapters, transcripts and lists stay as they are: podcast apps read those, and some send no Accept-Encoding.
PRECOMPRESSED_FOLDERS = (*PAGE_FOLDERS, "assets/")
GZIP = "gzip"


def browsers_only(key: str) -> bool:
    """A page or a page asset of a compressible type: what a target that precompresses stores gzipped."""
    return (key == HOME_PAGE or key.startswith(PRECOMPRESSED_FOLDERS)) and content_type_for(key) in COMPRESSIBLE


def gzipped(data: bytes) -> bytes:
    """The stored form of a precompressed object: deterministic (no name, no time), level 9 (written once, read often)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def readable(stored: bytes) -> bytes:
    """An object's bytes as read back from a target: gunzipped when the target stored it gzipped."""
    return gzip.decompress(stored) if stored[:2] == b"\x1f\x8b" else stored


@dataclass(frozen=True)
class Headers:
    content_type: str
    cache_control: str

    @property
    def compressible(self) -> bool:
        return self.content_type in COMPRESSIBLE


def suffix_of(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.rfind(".") :].lower() if "." in name else ""


def content_type_for(key: str) -> str:
    key = key.removeprefix(PRIVATE_PREFIX)
    suffix = suffix_of(key)
    if key.startswith("chapters/") and suffix == ".json":
        return JSON_CHAPTERS_TYPE
    return TYPES.get(suffix, DEFAULT_TYPE)


def cache_control_for(key: str) -> str:
    if key.startswith(BOOKKEEPING_PREFIX):
        return NO_CACHE
    if key.startswith(PRIVATE_PREFIX):
        inner = key.removeprefix(PRIVATE_PREFIX)
        return IMMUTABLE if inner.startswith(CONTENT_ADDRESSED) else PRIVATE_FEED
    return IMMUTABLE if key.startswith(CONTENT_ADDRESSED) else SHORT


def headers_for(key: str) -> Headers:
    """The Content-Type and Cache-Control of the object at `key` (relative to the target's root)."""
    return Headers(content_type_for(key), cache_control_for(key))


def never_served(key: str) -> bool:
    """Bookkeeping, lock files, dot files and anything in a dot folder: refused by the preview server, private in a
    bucket."""
    parts = key.split("/")
    return key.startswith(BOOKKEEPING_PREFIX) or parts[-1] in LOCK_NAMES or any(p.startswith(".") for p in parts)


# The CORS rule every target should answer with, so browser players on other sites (the publisher's article pages)
# can read chapters, transcripts and media: any origin may GET or HEAD, send Range, and read the range and size.
CORS_METHODS = ("GET", "HEAD")
CORS_ALLOWED_HEADERS = ("Range", "If-Range", "If-None-Match", "If-Modified-Since")
CORS_EXPOSED_HEADERS = ("Accept-Ranges", "Content-Length", "Content-Range", "Content-Type", "ETag", "Last-Modified")
CORS_MAX_AGE = 86400  # seconds a browser may remember a preflight's answer


def cors_rule() -> dict[str, object]:
    """The rule in the shape S3's PutBucketCors takes (also what the README shows for MinIO and R2)."""
    return {
        "AllowedOrigins": ["*"],
        "AllowedMethods": list(CORS_METHODS),
        "AllowedHeaders": list(CORS_ALLOWED_HEADERS),
        "ExposeHeaders": list(CORS_EXPOSED_HEADERS),
        "MaxAgeSeconds": CORS_MAX_AGE,
    }


def declared(content_type: str) -> str:
    """The bare media type, as a feed's type attribute declares it (no charset)."""
    return content_type.split(";", 1)[0].strip()
