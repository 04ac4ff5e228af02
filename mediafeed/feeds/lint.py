"""`mediafeed lint`: what Apple Podcasts and the Podcast Standards Project (PSP-1) ask of a feed, as a table of checks.

Each `Rule` is one row: a code, a severity, what it checks, how to fix it, and the function that finds it. `lint_feed`
is pure: bytes of an RSS document (plus, optionally, the Feed and Episode models it was rendered from, which lets the
artwork files themselves be checked) in, findings out. It reads any RSS file, not only ours, so a feed made
elsewhere can be checked before it is moved here.

Sources: Apple's "A Podcaster's Guide to RSS" (required and situational tags, 4000-byte descriptions, true/false
explicit, episode numbers in serial shows, the trailer and bonus rules, enclosure types) and PSP-1 (atom:link
rel=self, link, podcast:guid and podcast:locked, item guid). Rules marked `mediafeed` are our own house rules
(http media, non-ASCII URLs, very large feeds).

The parser refuses what a feed never needs: a DOCTYPE (external entities, billion laughs) is an error and nothing
in such a document is read further; entities are never expanded, no network is used, and huge text nodes are refused.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from mediafeed.catalog.apple import CATEGORIES
from mediafeed.catalog.artwork import artwork_problems
from mediafeed.catalog.importer import safe_parser
from mediafeed.feeds.rss import number_clashes
from mediafeed.models import Episode, Feed

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
REQUIRED_NAMESPACES = {"itunes": ITUNES_NS, "podcast": PODCAST_NS, "atom": ATOM_NS}  # PSP-1

SEVERITIES = ("error", "warning", "info")
DESCRIPTION_LIMIT = 4000  # bytes, channel and item (Apple, PSP-1)
VALUE_LIMIT = 255  # characters, other text values (Apple, PSP-1)
FEED_SIZE_LIMIT = 512 * 1024  # bytes: beyond this apps fetch slowly and some directories give up
FEED_ITEM_LIMIT = 1000
EXPLICIT_VALUES = ("true", "false")
LEGACY_EXPLICIT = ("yes", "no", "clean", "explicit")
EPISODE_TYPES = ("full", "trailer", "bonus")
SHOW_TYPES = ("episodic", "serial")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
APPLE_MEDIA_TYPES = ("audio/mpeg", "audio/x-m4a", "audio/mp4", "audio/m4a", "video/mp4", "video/x-m4v", "video/quicktime")
APPLE_MEDIA_EXTENSIONS = (".mp3", ".m4a", ".mp4", ".m4v", ".mov")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
POSITIVE_INTEGER = re.compile(r"^[1-9][0-9]*$")


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


# --- findings --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str  # where and what is wrong
    hint: str  # how to fix it

    def line(self, file: str) -> str:
        return f"{file}: {self.severity.upper()} {self.code}: {self.message}; {self.hint}"

    def as_dict(self, file: str) -> dict[str, str]:
        return {"file": file, "code": self.code, "severity": self.severity, "message": self.message, "hint": self.hint}


# --- the document as the checks see it ------------------------------------------------------------------------------


@dataclass
class Document:
    root: etree._Element
    channel: etree._Element
    size: int
    feed: Feed | None = None
    episodes: Sequence[Episode] = ()
    items: list[etree._Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = self.channel.findall("item")

    def text(self, tag: str, parent: etree._Element | None = None) -> str | None:
        """The stripped text of the first child `tag` of the channel (or `parent`); None when absent."""
        element = (self.channel if parent is None else parent).find(tag)
        if element is None:
            return None
        return (element.text or "").strip()

    def label(self, number: int, item: etree._Element) -> str:
        title = self.text("title", item)
        if title:
            return f"item {number} ({_short(title)!r})"
        guid = self.text("guid", item)
        return f"item {number} (guid {guid})" if guid else f"item {number}"

    def numbered_items(self) -> Iterator[tuple[str, etree._Element]]:
        for number, item in enumerate(self.items, start=1):
            yield self.label(number, item), item

    def media_urls(self) -> Iterator[tuple[str, str]]:
        """(where, URL) of every file the feed makes apps download: enclosures, artwork, transcripts, chapters, ..."""
        for where, element, attribute in (
            ("channel itunes:image", self.channel.find(_q(ITUNES_NS, "image")), "href"),
            ("channel image", self.channel.find("image/url"), None),
        ):
            if element is not None:
                value = element.get(attribute) if attribute else element.text
                if value and value.strip():
                    yield where, value.strip()
        for trailer in self.channel.findall(_q(PODCAST_NS, "trailer")):
            if trailer.get("url"):
                yield "channel podcast:trailer", trailer.get("url", "").strip()
        for label, item in self.numbered_items():
            for element, attribute, name in (
                (item.find("enclosure"), "url", "enclosure"),
                (item.find(_q(ITUNES_NS, "image")), "href", "itunes:image"),
            ):
                if element is not None and element.get(attribute):
                    yield f"{label} {name}", element.get(attribute, "").strip()
            for tag in ("transcript", "chapters"):
                for element in item.findall(_q(PODCAST_NS, tag)):
                    if element.get("url"):
                        yield f"{label} podcast:{tag}", element.get("url", "").strip()
            for source in item.iterfind(f"{_q(PODCAST_NS, 'alternateEnclosure')}/{_q(PODCAST_NS, 'source')}"):
                if source.get("uri"):
                    yield f"{label} podcast:alternateEnclosure", source.get("uri", "").strip()


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the checks (one per rule) --------------------------------------------------------------------------------------

Check = Callable[[Document], Iterator[str]]


def _required(tag: str, name: str) -> Check:
    def check(doc: Document) -> Iterator[str]:
        if not doc.text(tag):
            yield f"channel has no {name}" if doc.text(tag) is None else f"channel {name} is empty"

    return check


def _namespaces(doc: Document) -> Iterator[str]:
    declared = {uri for uri in doc.root.nsmap.values() if uri}
    for prefix, uri in REQUIRED_NAMESPACES.items():
        if uri in declared:
            continue
        near = [d for d in declared if d.lower().rstrip("/") == uri.lower().rstrip("/")]
        if near:
            yield f"the {prefix} namespace is declared as {near[0]!r}, not {uri!r} (namespace URIs are case-sensitive)"
        else:
            yield f"<rss> does not declare the {prefix} namespace ({uri})"


def _atom_self(doc: Document) -> Iterator[str]:
    links = [link for link in doc.channel.findall(_q(ATOM_NS, "link")) if link.get("rel") == "self"]
    if not links:
        yield 'channel has no <atom:link rel="self">'
    elif not (links[0].get("href") or "").strip():
        yield '<atom:link rel="self"> has no href'


def _language(doc: Document) -> Iterator[str]:
    language = doc.text("language")
    if not language:
        yield "channel has no <language>"
    elif not LANGUAGE.match(language):
        yield f"<language> {language!r} is not an ISO 639 code"


def _channel_image(doc: Document) -> Iterator[str]:
    image = doc.channel.find(_q(ITUNES_NS, "image"))
    if image is None:
        yield "channel has no <itunes:image>"
    elif not (image.get("href") or "").strip():
        yield "channel <itunes:image> has no href"


def _image_urls(doc: Document) -> Iterator[str]:
    images = [("channel", doc.channel.find(_q(ITUNES_NS, "image")))]
    images += [(label, item.find(_q(ITUNES_NS, "image"))) for label, item in doc.numbered_items()]
    for where, image in images:
        href = (image.get("href") or "").strip() if image is not None else ""
        if href and not urlsplit(href).path.lower().endswith(IMAGE_EXTENSIONS):
            yield f"{where} <itunes:image> {href!r} does not end in .jpg or .png"


def _category(doc: Document) -> Iterator[str]:
    if not [c for c in doc.channel.findall(_q(ITUNES_NS, "category")) if (c.get("text") or "").strip()]:
        yield "channel has no <itunes:category>"


def _category_list(doc: Document) -> Iterator[str]:
    for category in doc.channel.findall(_q(ITUNES_NS, "category")):
        name = (category.get("text") or "").strip()
        if not name:
            continue
        if name not in CATEGORIES:
            yield f"category {name!r} is not in Apple's list"
            continue
        for sub in category.findall(_q(ITUNES_NS, "category")):
            sub_name = (sub.get("text") or "").strip()
            if sub_name not in CATEGORIES[name]:
                yield f"{sub_name!r} is not a subcategory of {name!r} in Apple's list"


def _explicit(doc: Document) -> Iterator[str]:
    if doc.text(_q(ITUNES_NS, "explicit")) is None:
        yield "channel has no <itunes:explicit>"


def _explicit_elements(doc: Document) -> Iterator[tuple[str, str]]:
    value = doc.text(_q(ITUNES_NS, "explicit"))
    if value is not None:
        yield "channel", value
    for label, item in doc.numbered_items():
        value = doc.text(_q(ITUNES_NS, "explicit"), item)
        if value is not None:
            yield label, value


def _explicit_value(doc: Document) -> Iterator[str]:
    for where, value in _explicit_elements(doc):
        if value.lower() not in (*EXPLICIT_VALUES, *LEGACY_EXPLICIT):
            yield f"{where} <itunes:explicit> is {value!r}"


def _explicit_legacy(doc: Document) -> Iterator[str]:
    for where, value in _explicit_elements(doc):
        if value not in EXPLICIT_VALUES and value.lower() in (*EXPLICIT_VALUES, *LEGACY_EXPLICIT):
            yield f"{where} <itunes:explicit> is {value!r}, an old spelling"


def _author(doc: Document) -> Iterator[str]:
    if not doc.text(_q(ITUNES_NS, "author")):
        yield "channel has no <itunes:author>"


def _owner_email(doc: Document) -> Iterator[str]:
    owner = doc.channel.find(_q(ITUNES_NS, "owner"))
    if owner is None:
        yield "channel has no <itunes:owner>"
        return
    email = doc.text(_q(ITUNES_NS, "email"), owner)
    if not email:
        yield "<itunes:owner> has no <itunes:email>"
    elif not EMAIL.match(email):
        yield f"<itunes:email> {email!r} is not an email address"


def _podcast_guid(doc: Document) -> Iterator[str]:
    if not doc.text(_q(PODCAST_NS, "guid")):
        yield "channel has no <podcast:guid>"


def _podcast_guid_value(doc: Document) -> Iterator[str]:
    value = doc.text(_q(PODCAST_NS, "guid"))
    if value:
        try:
            uuid.UUID(value)
        except ValueError:
            yield f"<podcast:guid> {value!r} is not a UUID"


def _podcast_locked(doc: Document) -> Iterator[str]:
    if doc.text(_q(PODCAST_NS, "locked")) is None:
        yield "channel has no <podcast:locked>"


def _podcast_locked_value(doc: Document) -> Iterator[str]:
    value = doc.text(_q(PODCAST_NS, "locked"))
    if value is not None and value not in ("yes", "no"):
        yield f"<podcast:locked> is {value!r}"


def _show_type(doc: Document) -> Iterator[str]:
    value = doc.text(_q(ITUNES_NS, "type"))
    if value is not None and value not in SHOW_TYPES:
        yield f"<itunes:type> is {value!r}"


def _description_length(doc: Document) -> Iterator[str]:
    places = [("channel", doc.channel), *doc.numbered_items()]
    for where, parent in places:
        element = parent.find("description")
        size = len((element.text or "").encode("utf-8")) if element is not None else 0
        if size > DESCRIPTION_LIMIT:
            yield f"{where} <description> is {size} bytes"


def _value_length(doc: Document) -> Iterator[str]:
    places = [("channel", doc.channel), *doc.numbered_items()]
    for where, parent in places:
        for tag, name in (("title", "title"), (_q(ITUNES_NS, "author"), "itunes:author")):
            value = doc.text(tag, parent)
            if value and len(value) > VALUE_LIMIT:
                yield f"{where} <{name}> is {len(value)} characters"


def _item_title(doc: Document) -> Iterator[str]:
    for number, item in enumerate(doc.items, start=1):
        if not doc.text("title", item):
            yield f"{doc.label(number, item)} has no <title>"


def _item_enclosure(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        enclosure = item.find("enclosure")
        if enclosure is None:
            yield f"{label} has no <enclosure>"
        elif not (enclosure.get("url") or "").strip():
            yield f"{label} <enclosure> has no url"


def _item_guid(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        if not doc.text("guid", item):
            yield f"{label} has no <guid>"


def _duplicates(values: list[tuple[str, str]], name: str) -> Iterator[str]:
    counts = Counter(value for _, value in values)
    for value, count in counts.items():
        if count > 1:
            where = ", ".join(label for label, v in values if v == value)
            yield f"{name} {_short(value, 80)!r} appears {count} times ({where})"


def _duplicate_guid(doc: Document) -> Iterator[str]:
    # GUIDs are case-sensitive strings (Apple): compare them exactly.
    guids = [(label, doc.text("guid", item) or "") for label, item in doc.numbered_items()]
    yield from _duplicates([(label, g) for label, g in guids if g], "<guid>")


def _duplicate_enclosure(doc: Document) -> Iterator[str]:
    urls = []
    for label, item in doc.numbered_items():
        enclosure = item.find("enclosure")
        if enclosure is not None and (enclosure.get("url") or "").strip():
            urls.append((label, enclosure.get("url", "").strip()))
    yield from _duplicates(urls, "enclosure URL")


def _enclosures(doc: Document) -> Iterator[tuple[str, etree._Element]]:
    for label, item in doc.numbered_items():
        enclosure = item.find("enclosure")
        if enclosure is not None:
            yield label, enclosure


def _enclosure_length(doc: Document) -> Iterator[str]:
    for label, enclosure in _enclosures(doc):
        length = (enclosure.get("length") or "").strip()
        if not length:
            yield f"{label} <enclosure> has no length"
        elif not length.isdigit() or int(length) == 0:
            yield f"{label} <enclosure> length is {length!r}"


def _enclosure_type(doc: Document) -> Iterator[str]:
    for label, enclosure in _enclosures(doc):
        if not (enclosure.get("type") or "").strip():
            yield f"{label} <enclosure> has no type"


def _enclosure_format(doc: Document) -> Iterator[str]:
    for label, enclosure in _enclosures(doc):
        kind = (enclosure.get("type") or "").strip().lower()
        path = urlsplit((enclosure.get("url") or "").strip()).path.lower()
        if kind and kind not in APPLE_MEDIA_TYPES:
            yield f"{label} <enclosure> type {kind!r} is not one Apple plays"
        elif path and not path.endswith(APPLE_MEDIA_EXTENSIONS):
            yield f"{label} <enclosure> URL does not end in a file extension Apple plays ({', '.join(APPLE_MEDIA_EXTENSIONS)})"


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _summarize(found: list[tuple[str, str]], what: str) -> Iterator[str]:
    found = list({url: (where, url) for where, url in reversed(found)}.values())[::-1]  # each URL once, first place
    if found:
        where, url = found[0]
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        yield f"{len(found)} media URL(s) {what}, e.g. {where}: {_short(url, 100)}{more}"


def _url_ascii(doc: Document) -> Iterator[str]:
    for where, url in doc.media_urls():
        if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
            yield f"{where} URL {url!r} has non-ASCII characters or spaces"


def _media_http(doc: Document) -> Iterator[str]:
    found = [(w, u) for w, u in doc.media_urls() if u.lower().startswith("http://") and not _is_local(u)]
    yield from _summarize(found, "use http://")


def _media_http_local(doc: Document) -> Iterator[str]:
    found = [(w, u) for w, u in doc.media_urls() if u.lower().startswith("http://") and _is_local(u)]
    yield from _summarize(found, "use http:// on this machine (a local preview)")


def _item_type(item: etree._Element) -> str:
    return (item.findtext(_q(ITUNES_NS, "episodeType")) or "full").strip()


def _serial_numbers(doc: Document) -> Iterator[str]:
    if doc.text(_q(ITUNES_NS, "type")) != "serial":
        return
    for label, item in doc.numbered_items():
        # Apple: numbers are mandatory for a serial show's episodes; an unnumbered trailer or bonus belongs to the
        # whole show (or its season), which Apple allows.
        if _item_type(item) == "full" and not doc.text(_q(ITUNES_NS, "episode"), item):
            yield f"{label} has no <itunes:episode> in a serial show"


def _episode_numbers(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        for tag in ("episode", "season"):
            value = doc.text(_q(ITUNES_NS, tag), item)
            if value is not None and not POSITIVE_INTEGER.match(value):
                yield f"{label} <itunes:{tag}> is {value!r}"


def _episode_type(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        value = doc.text(_q(ITUNES_NS, "episodeType"), item)
        if value is not None and value not in EPISODE_TYPES:
            yield f"{label} <itunes:episodeType> is {value!r}"


def _numbers(doc: Document, item: etree._Element) -> tuple[str | None, str | None]:
    return doc.text(_q(ITUNES_NS, "season"), item) or None, doc.text(_q(ITUNES_NS, "episode"), item) or None


def _trailer_number(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        _, episode = _numbers(doc, item)
        if _item_type(item) == "trailer" and episode:
            yield f"{label} is a trailer with <itunes:episode> {episode}: Apple shows it as a teaser of that one episode"


def _trailer_replaced(doc: Document) -> Iterator[str]:
    full = {_numbers(doc, item) for item in doc.items if _item_type(item) == "full"}
    for label, item in doc.numbered_items():
        season, episode = _numbers(doc, item)
        if _item_type(item) == "trailer" and episode and (season, episode) in full:
            yield f"{label} is a trailer for episode {episode}, which is already in the feed"


def _duplicate_numbers(doc: Document) -> Iterator[str]:
    """Two full items with one (season, episode) pair in the document as written (any feed, ours or another's)."""
    written: dict[tuple[str | None, str], list[str]] = {}
    for label, item in doc.numbered_items():
        season, episode = _numbers(doc, item)
        if episode and _item_type(item) == "full":
            written.setdefault((season, episode), []).append(label)
    for (season, episode), labels in written.items():
        if len(labels) > 1:
            yield f"{_pair(season, episode)} is on {len(labels)} items ({', '.join(labels)})"


def _numbers_left_out(doc: Document) -> Iterator[str]:
    """The episodes a feed was rendered from share a (season, episode) pair: mediafeed left every number out."""
    for (season_number, episode_number), episodes in number_clashes(e for e in doc.episodes if isinstance(e, Episode)).items():
        names = ", ".join(e.file for e in episodes)
        pair = _pair(None if season_number is None else str(season_number), str(episode_number))
        yield f"{pair} is on {len(episodes)} episodes ({names}): this feed carries no season or episode numbers"


def _pair(season: str | None, episode: str) -> str:
    return f"season {season} episode {episode}" if season else f"episode {episode}"


def _pub_date(doc: Document) -> Iterator[str]:
    for label, item in doc.numbered_items():
        value = doc.text("pubDate", item)
        if not value:
            yield f"{label} has no <pubDate>"
            continue
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is None:
            yield f"{label} <pubDate> {value!r} is not an RFC 2822 date"


def _podcast_trailer(doc: Document) -> Iterator[str]:
    for trailer in doc.channel.findall(_q(PODCAST_NS, "trailer")):
        missing = [a for a in ("url", "pubdate") if not (trailer.get(a) or "").strip()]
        if missing or not (trailer.text or "").strip():
            what = ", ".join([*missing, *([] if (trailer.text or "").strip() else ["title text"])])
            yield f"<podcast:trailer> lacks {what}"


def _feed_size(doc: Document) -> Iterator[str]:
    if doc.size > FEED_SIZE_LIMIT:
        yield f"the feed is {doc.size / 1024:.0f} KB (over {FEED_SIZE_LIMIT // 1024} KB)"


def _feed_items(doc: Document) -> Iterator[str]:
    if len(doc.items) > FEED_ITEM_LIMIT:
        yield f"the feed has {len(doc.items)} items (over {FEED_ITEM_LIMIT})"


def _artwork_files(doc: Document) -> Iterator[str]:
    images: list[tuple[str, Path]] = []
    if doc.feed is not None:
        images.append((doc.feed.file, doc.feed.image))
    images += [(e.file, e.image) for e in doc.episodes if e.image is not None]
    for where, path in images:
        for message, hint in artwork_problems(path):
            yield f"{where}: {path.name}: {message} ({hint})"


def _parse_stage(_doc: Document) -> Iterator[str]:
    """Rules found while parsing, before there is a document to check."""
    return iter(())


# --- the table --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    source: str  # Apple | PSP-1 | Podcasting 2.0 | mediafeed
    checks: str  # what the rule checks, for `mediafeed lint --rules` and the README
    hint: str  # how to fix it, appended to every finding
    check: Check = field(repr=False, compare=False)


RULES: tuple[Rule, ...] = (
    # The document itself
    Rule(
        "xml-wellformed",
        "error",
        "RSS 2.0",
        "the file is well-formed XML",
        "fix the XML syntax at the position given (an unescaped & or < is the usual cause)",
        _parse_stage,
    ),
    Rule(
        "xml-doctype",
        "error",
        "mediafeed",
        "no DOCTYPE (entity definitions are never read: XXE, billion laughs)",
        "remove the <!DOCTYPE ...> block; podcast feeds need none",
        _parse_stage,
    ),
    Rule(
        "rss-structure",
        "error",
        "RSS 2.0",
        "the root is <rss> with one <channel>",
        'make the document <rss version="2.0"><channel>...</channel></rss>',
        _parse_stage,
    ),
    Rule(
        "psp-namespaces",
        "error",
        "PSP-1",
        "the itunes, podcast and atom namespaces are declared with their exact URIs",
        "declare xmlns:itunes, xmlns:podcast and xmlns:atom on <rss> exactly as PSP-1 spells them",
        _namespaces,
    ),
    # Required channel tags
    Rule(
        "psp-atom-self",
        "error",
        "PSP-1",
        '<atom:link rel="self"> gives the feed\'s own URL',
        'add <atom:link href="<feed URL>" rel="self" type="application/rss+xml"/>',
        _atom_self,
    ),
    Rule(
        "apple-title",
        "error",
        "Apple",
        "the channel has a <title>",
        "give the show a title (feeds/<id>.yaml: title)",
        _required("title", "<title>"),
    ),
    Rule(
        "apple-description",
        "error",
        "Apple",
        "the channel has a <description>",
        "describe the show in a sentence or more (feeds/<id>.yaml: description)",
        _required("description", "<description>"),
    ),
    Rule(
        "psp-link",
        "error",
        "PSP-1",
        "the channel has a <link> to the show's web page",
        "set link: to the show's page on the site",
        _required("link", "<link>"),
    ),
    Rule(
        "apple-language",
        "error",
        "Apple",
        "<language> is present and an ISO 639 code",
        "use a code such as en or en-us (feeds/<id>.yaml: language)",
        _language,
    ),
    Rule(
        "apple-image",
        "error",
        "Apple",
        "the channel has <itunes:image href>",
        "add square JPEG/PNG show artwork (feeds/<id>.yaml: image)",
        _channel_image,
    ),
    Rule(
        "apple-image-url",
        "error",
        "Apple",
        "artwork URLs end in .jpg or .png",
        "serve the artwork with a .jpg or .png extension matching its real type",
        _image_urls,
    ),
    Rule(
        "apple-category",
        "error",
        "Apple",
        "the channel has an <itunes:category>",
        "add category: from Apple's list, e.g. 'Health & Fitness > Mental Health'",
        _category,
    ),
    Rule(
        "apple-category-list",
        "error",
        "Apple",
        "categories and subcategories come from Apple's list",
        "pick a category and subcategory from Apple's list (mediafeed/apple.py)",
        _category_list,
    ),
    Rule(
        "apple-explicit",
        "error",
        "Apple",
        "the channel has <itunes:explicit>",
        "add <itunes:explicit>false</itunes:explicit> (or true)",
        _explicit,
    ),
    Rule(
        "apple-explicit-value",
        "error",
        "Apple",
        "<itunes:explicit> is true or false (channel and items)",
        "write true or false",
        _explicit_value,
    ),
    Rule(
        "apple-explicit-legacy",
        "warning",
        "Apple",
        "<itunes:explicit> uses today's true/false, not yes/no/clean",
        "write true or false in lowercase; yes, no, clean and explicit are old spellings",
        _explicit_legacy,
    ),
    Rule(
        "apple-author",
        "warning",
        "Apple",
        "the channel has <itunes:author> (recommended by Apple and PSP-1)",
        "set author: to the person or organization behind the show",
        _author,
    ),
    Rule(
        "apple-owner-email",
        "error",
        "Apple, Spotify",
        "<itunes:owner> has an <itunes:email> (where ownership is verified)",
        "set owner: {name: ..., email: ...}; Apple Podcasts Connect and Spotify send ownership codes there",
        _owner_email,
    ),
    Rule(
        "psp-podcast-guid",
        "warning",
        "PSP-1",
        "the channel has <podcast:guid> (recommended by PSP-1)",
        "add <podcast:guid>: the UUIDv5 of the feed URL, kept for the show's whole life",
        _podcast_guid,
    ),
    Rule(
        "psp-podcast-guid-value",
        "error",
        "PSP-1",
        "<podcast:guid> is a UUID",
        "use the UUIDv5 of the feed URL (mediafeed computes it; remove a hand-written guid:)",
        _podcast_guid_value,
    ),
    Rule(
        "psp-podcast-locked",
        "warning",
        "PSP-1",
        "the channel has <podcast:locked> (recommended by PSP-1)",
        "add <podcast:locked>yes</podcast:locked> to stop other hosts importing the show (feeds/<id>.yaml: locked: true)",
        _podcast_locked,
    ),
    Rule("psp-podcast-locked-value", "error", "PSP-1", "<podcast:locked> is yes or no", "write yes or no", _podcast_locked_value),
    Rule("apple-type-value", "error", "Apple", "<itunes:type> is episodic or serial", "write episodic or serial", _show_type),
    # Text limits
    Rule(
        "apple-description-length",
        "error",
        "Apple",
        f"channel and item <description> are at most {DESCRIPTION_LIMIT} bytes",
        f"shorten the text to {DESCRIPTION_LIMIT} bytes; longer show notes belong in <content:encoded>",
        _description_length,
    ),
    Rule(
        "apple-value-length",
        "warning",
        "Apple",
        f"titles and authors are at most {VALUE_LIMIT} characters",
        f"shorten it to {VALUE_LIMIT} characters",
        _value_length,
    ),
    # Required item tags
    Rule("psp-item-title", "error", "PSP-1", "every item has a <title>", "give the episode a title", _item_title),
    Rule(
        "psp-item-enclosure",
        "error",
        "PSP-1",
        "every item has an <enclosure> with a url",
        "enclose the episode's media file",
        _item_enclosure,
    ),
    Rule(
        "psp-item-guid",
        "error",
        "PSP-1",
        "every item has a <guid>",
        "give every episode a permanent GUID (`mediafeed check --fix`)",
        _item_guid,
    ),
    Rule(
        "apple-duplicate-guid",
        "error",
        "Apple",
        "no two items share a <guid>",
        "give each episode its own GUID; apps merge or hide episodes that share one",
        _duplicate_guid,
    ),
    Rule(
        "mediafeed-duplicate-numbers",
        "warning",
        "mediafeed",
        "no two full episodes in a feed share a season and episode number",
        "number each show's episodes uniquely; a feed mixing shows (a topic feed) carries numbers only when no pair repeats",
        _duplicate_numbers,
    ),
    Rule(
        "mediafeed-numbers-left-out",
        "info",
        "mediafeed",
        "a feed whose episodes share a season and episode pair (e.g. a topic feed mixing shows) carries no numbers",
        "fine for a feed that mixes shows; to keep numbers, give the episodes of this feed unique season/episode pairs",
        _numbers_left_out,
    ),
    Rule(
        "apple-duplicate-enclosure",
        "error",
        "Apple",
        "no two items share an enclosure URL",
        "give each episode its own media file; Apple ignores an enclosure URL it has seen before",
        _duplicate_enclosure,
    ),
    Rule(
        "apple-enclosure-length",
        "error",
        "Apple",
        "every enclosure has a length in bytes, above 0",
        "set length to the file's size in bytes",
        _enclosure_length,
    ),
    Rule(
        "apple-enclosure-type",
        "error",
        "Apple",
        "every enclosure has a MIME type",
        "set type, e.g. audio/mpeg for MP3 or video/mp4 for MP4",
        _enclosure_type,
    ),
    Rule(
        "apple-enclosure-format",
        "warning",
        "Apple",
        "enclosures are formats Apple plays (MP3, M4A, MP4, M4V, MOV)",
        "deliver MP3 (audio/mpeg) or MP4 (video/mp4, audio/x-m4a)",
        _enclosure_format,
    ),
    Rule(
        "apple-pubdate",
        "warning",
        "Apple",
        "every item has an RFC 2822 <pubDate>",
        "write the date like Wed, 15 Jun 2026 19:00:00 GMT",
        _pub_date,
    ),
    # Media URLs
    Rule(
        "media-url-ascii",
        "error",
        "mediafeed",
        "media URLs are ASCII without spaces",
        "percent-encode the URL or rename the file to ASCII letters, digits and hyphens",
        _url_ascii,
    ),
    Rule(
        "media-http",
        "warning",
        "mediafeed",
        "media URLs use https://",
        "serve media over HTTPS: set the target's public_url to an https:// address",
        _media_http,
    ),
    Rule(
        "media-http-local",
        "info",
        "mediafeed",
        "http:// media URLs on 127.0.0.1 or localhost (a local preview)",
        "fine for `mediafeed serve`; publish to a target with an https:// public_url for real listeners",
        _media_http_local,
    ),
    # Seasons, episode numbers, trailers
    Rule(
        "apple-serial-episode",
        "error",
        "Apple",
        "every full episode of a serial show has <itunes:episode>",
        "number the episodes (episode: 1, 2, ...) or make the show episodic",
        _serial_numbers,
    ),
    Rule(
        "apple-episode-number",
        "error",
        "Apple",
        "<itunes:episode> and <itunes:season> are whole numbers from 1",
        "write a whole number from 1 up",
        _episode_numbers,
    ),
    Rule(
        "apple-episode-type",
        "error",
        "Apple",
        "<itunes:episodeType> is full, trailer or bonus",
        "write full, trailer or bonus",
        _episode_type,
    ),
    Rule(
        "apple-trailer-number",
        "info",
        "Apple",
        "a trailer without an episode number previews the show (or, with a season, that season)",
        "keep episode: only on a teaser of one episode; remove it for a show or season trailer",
        _trailer_number,
    ),
    Rule(
        "apple-trailer-replaced",
        "warning",
        "Apple",
        "an episode trailer is replaced once its episode is out",
        "remove the trailer now that the episode is published",
        _trailer_replaced,
    ),
    Rule(
        "p20-trailer",
        "error",
        "Podcasting 2.0",
        "<podcast:trailer> has a url, a pubdate and a title",
        "give the trailer url, pubdate (RFC 2822) and its title as the element's text",
        _podcast_trailer,
    ),
    # Size
    Rule(
        "feed-size",
        "warning",
        "mediafeed",
        f"the feed is at most {FEED_SIZE_LIMIT // 1024} KB",
        "set page_size: in feeds/<id>.yaml (RFC 5005 paging) or move old episodes to an archive feed; "
        "big feeds are slow to fetch and some apps give up",
        _feed_size,
    ),
    Rule(
        "feed-items",
        "warning",
        "mediafeed",
        f"the feed has at most {FEED_ITEM_LIMIT} items",
        "set page_size: in feeds/<id>.yaml (RFC 5005 paging) or move old episodes to an archive feed; "
        "some apps read only the first items",
        _feed_items,
    ),
    # Artwork files (only when linting with the catalog's models)
    Rule(
        "apple-artwork-file",
        "error",
        "Apple",
        "artwork files are square, 1400–3000 px, RGB JPEG/PNG, extension matching",
        "run `mediafeed artwork --fix` to write a compliant copy",
        _artwork_files,
    ),
)

RULES_BY_CODE = {rule.code: rule for rule in RULES}
assert len(RULES_BY_CODE) == len(RULES), "rule codes must be unique"
assert all(rule.severity in SEVERITIES for rule in RULES)


def _finding(code: str, message: str) -> Finding:
    rule = RULES_BY_CODE[code]
    return Finding(rule.code, rule.severity, message, rule.hint)


# --- the entry point ------------------------------------------------------------------------------------------------


def parse_feed(data: bytes) -> tuple[etree._Element | None, list[Finding]]:
    """The <rss> element, or None and why; never expands entities, reads a DTD or touches the network."""
    parser = safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return None, [_finding("xml-wellformed", f"not well-formed XML ({exc.msg})")]
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # type: ignore[union-attr]
        return None, [_finding("xml-doctype", "the document has a DOCTYPE; it was not read further")]
    if not isinstance(root.tag, str) or root.tag != "rss":
        return None, [_finding("rss-structure", f"the root element is <{etree.QName(root).localname}>, not <rss>")]
    channels = root.findall("channel")
    if len(channels) != 1:
        return None, [_finding("rss-structure", f"<rss> has {len(channels)} <channel> elements, not one")]
    return root, []


def lint_feed(data: bytes, *, feed: Feed | None = None, episodes: Sequence[Episode] = ()) -> list[Finding]:
    """Every finding for one RSS document, in table order; `feed`/`episodes` add checks of the artwork files."""
    root, findings = parse_feed(data)
    if root is None:
        return findings
    doc = Document(root, root.find("channel"), len(data), feed, episodes)  # type: ignore[arg-type]
    for rule in RULES:
        findings.extend(Finding(rule.code, rule.severity, message, rule.hint) for message in rule.check(doc))
    return findings


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def summary(findings: Sequence[Finding], documents: int) -> str:
    c = counts(findings)
    return f"{documents} feed(s): {c['error']} error(s), {c['warning']} warning(s), {c['info']} info"


def rules_table() -> list[str]:
    """The table as text lines, for `mediafeed lint --rules`."""
    width = max(len(rule.code) for rule in RULES)
    return [f"{rule.code:<{width}}  {rule.severity:<7}  {rule.source:<14}  {rule.checks}" for rule in RULES]
