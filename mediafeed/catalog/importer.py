"""`mediafeed import`, the pure part: a podcast RSS document (bytes) → the catalog files it becomes (feeds/<id>.yaml
and one episodes/<slug>/index.md per item), the files to download into them (enclosure, artwork, chapters,
transcript), plus a report of everything the content format cannot carry.

No I/O here: fetching the feed and downloading files is the pipeline edge's job (publish/importing.py). The XML is
read with lxml's iterparse, item by item (each item is cleared once mapped), so a feed of 10,000 items never becomes
one tree: a first pass reads the channel (items skipped and cleared), a second maps the items one at a time
(`open_feed` yields them). Entity resolution, network access, DTD loading and huge trees are off, and a document
that declares entities in its DOCTYPE is refused before parsing (XXE, billion laughs)."""

from __future__ import annotations

import codecs
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlparse

from mediafeed.catalog.load import SLUG, slugify
from mediafeed.catalog.schema import CATEGORY_NAMES, MAX_GUID, is_uuid, same_guid
from mediafeed.errors import UsageError

if TYPE_CHECKING:
    from lxml import etree

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
PSC = "http://podlove.org/simple-chapters"
MAX_FEED_BYTES = 64 << 20
_DOCTYPE_ENTITY = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)
_DECLARED = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])""")
_MEDIA_EXT = re.compile(r"\.[A-Za-z0-9]{2,5}$")
_MIME_EXT = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/x-m4a": ".m4a", "audio/mp4": ".m4a", "video/mp4": ".mp4"}
_ROLES = ("host", "co-host", "guest", "producer", "editor", "reporter", "narrator")
_TRANSCRIPTS = {"text/vtt": ".vtt", "application/x-subrip": ".srt", "application/srt": ".srt", "text/srt": ".srt"}
_CHAPTERS_JSON = "application/json+chapters"
SUMMARY_MAX = 1000


IMPORTED_FROM = "# imported from "  # the first line of a feed file import wrote: which feed it came from


class ImportError_(UsageError):
    """The document cannot be imported (not XML, not an RSS podcast feed, unsafe)."""


@dataclass(frozen=True)
class Note:
    """Something the import could not carry, or did differently: shown to the producer, never silently dropped."""

    where: str  # "channel" or the item's slug
    field: str
    message: str
    hint: str = ""  # how to fix it, when the producer can

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" + (f"; {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class Download:
    """One file import fetches: from `url` to `dest` (relative to the project), checked against `length` when the
    feed declares one. `what` says which field it fills (enclosure, image, chapters, transcript, artwork)."""

    what: str
    url: str
    dest: str
    length: int | None = None


@dataclass(frozen=True)
class Enclosure:
    url: str
    length: int | None
    type: str
    file_name: str


@dataclass(frozen=True)
class ImportedEpisode:
    slug: str
    guid: str
    title: str
    index_text: str  # the whole index.md import writes
    enclosure: Enclosure | None
    downloads: tuple[Download, ...] = ()  # enclosure, image, chapters, transcript: into episodes/<slug>/
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class ImportedChannel:
    feed_id: str
    feed_text: str  # the whole feeds/<id>.yaml
    image_url: str | None
    image_file: str | None  # relative to the project (artwork/<id>.<ext>)
    downloads: tuple[Download, ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class ImportedFeed:
    feed_id: str
    feed_text: str
    image_url: str | None
    image_file: str | None
    episodes: tuple[ImportedEpisode, ...]
    notes: tuple[Note, ...] = field(default_factory=tuple)
    downloads: tuple[Download, ...] = ()  # the channel's (show artwork); each episode lists its own


# ---- reading the document ----


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: bytes that are not UTF-8 are read as Windows-1252 (what such feeds mostly are)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


_LATIN_FALLBACK = "mediafeed-cp1252"
codecs.register_error(_LATIN_FALLBACK, _cp1252_bytes)


def recover_encoding(data: bytes) -> tuple[bytes, Note | None]:
    """The document as UTF-8 with a truthful declaration, and a Note when the declared encoding was wrong: declared
    ISO-8859-1/Windows-1252 but the bytes are UTF-8, or UTF-8 (declared or by default) but the bytes are not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")):
        return data, None  # UTF-16 (BOM or not): lxml reads it as declared
    match = _DECLARED.match(data[:200])
    declared = match.group(2).decode("ascii").lower() if match else "utf-8"
    try:
        text = data.decode("utf-8-sig")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if declared.replace("_", "-") in ("utf-8", "utf8"):
        if utf8:
            return data, None
        text = data.decode("utf-8-sig", errors=_LATIN_FALLBACK)  # mixed documents keep their valid UTF-8
        how = "declares UTF-8" if match else "declares no encoding (so UTF-8)"
        note = Note(
            "channel", "encoding", f"the document {how} but is not all UTF-8; the other bytes read as Windows-1252 (Latin-1)"
        )
    elif utf8 and any(b > 127 for b in data) and declared in ("iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"):
        note = Note("channel", "encoding", f"the document declares {declared} but its bytes are UTF-8; read as UTF-8")
    else:
        return data, None  # what it declares (lxml decodes it)
    body = text.encode("utf-8")
    if match:
        body = _DECLARED.sub(rb"\1UTF-8\3", body, count=1)
    hint = "check the notes' accented letters; ask the old host to serve the feed as UTF-8"
    return body, Note(note.where, note.field, note.message, hint)


_NS_ALIASES = {  # namespace URIs feeds use for the ones we read
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": PODCAST,  # early Podcasting 2.0
    "https://podcastindex.org/namespace/1.0/": PODCAST,
    "http://www.itunes.com/DTDs/Podcast-1.0.dtd": ITUNES,  # Apple's own capitalisation, in older feeds
    "https://www.itunes.com/dtds/podcast-1.0.dtd": ITUNES,
}


def canonical_namespaces(data: bytes) -> tuple[bytes, list[Note]]:
    """The document with the namespace URIs of _NS_ALIASES declared as the canonical ones (so their tags are read)."""
    notes = []
    for alias, canonical in _NS_ALIASES.items():
        quoted = alias.encode()
        if quoted in data:
            data = re.sub(
                rb"""(xmlns(?::[\w.-]+)?\s*=\s*["'])""" + re.escape(quoted) + rb"""(["'])""",
                rb"\1" + canonical.encode() + rb"\2",
                data,
            )
            notes.append(Note("channel", "namespace", f"{alias} read as {canonical}"))
    return data, notes


def _leading_space(data: bytes) -> tuple[bytes, list[Note]]:
    """Without the blank lines some hosts put before the XML declaration (which XML allows only at the very start)."""
    start = data[:3] if data.startswith(b"\xef\xbb\xbf") else b""
    body = data[len(start) :]
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        return start + body.lstrip(), [Note("channel", "document", "blank space before the XML declaration; ignored")]
    return data, []


def _safe(data: bytes, source: str) -> None:
    if len(data) > MAX_FEED_BYTES:
        raise ImportError_(f"{source}: larger than {MAX_FEED_BYTES >> 20} MB; is this a podcast feed?")
    if _DOCTYPE_ENTITY.search(data[:65536]) or b"<!ENTITY" in data:
        raise ImportError_(
            f"{source}: declares XML entities (a DOCTYPE with <!ENTITY>); refused as unsafe (XXE, entity expansion)",
            hint="podcast feeds never need them; ask the host for its plain RSS feed",
        )


def readable(data: bytes, source: str) -> tuple[bytes, list[Note]]:
    """A feed's bytes as an XML parser should see them, and what was done to them: refused when unsafe (entities) or
    too large; blank space before the declaration dropped, a wrong declared encoding recovered, older namespace URIs
    read as the canonical ones. How `import` and `import --check` (feeds/migration.py) both read an old feed."""
    _safe(data, source)
    data, notes = _leading_space(data)
    data, encoding_note = recover_encoding(data)
    data, aliases = canonical_namespaces(data)
    return data, notes + ([encoding_note] if encoding_note else []) + aliases


def pub_date(raw: str | None) -> datetime | None:
    """An item's RFC 822 pubDate as an aware datetime ("-0000", UTC with the local offset unknown, as UTC); None
    when it is missing or not a date."""
    parsed = _rfc822(raw)
    return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed


def _rfc822(raw: str | None) -> datetime | None:
    """The date as written: naive for "-0000" (or no zone at all)."""
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


def _events(data: bytes, events: tuple[str, ...]) -> Any:
    from lxml import etree

    return etree.iterparse(
        io.BytesIO(data),
        events=events,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def safe_parser() -> etree.XMLParser:
    """The parser for a whole feed from elsewhere (import --check, lint), with _events' safety: no entity expanded, no
    DTD read, no network, lxml's size limits."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False)


def _not_xml(source: str, exc: Exception) -> ImportError_:
    return ImportError_(f"{source}: not well-formed XML ({exc})", hint="pass the URL or file of an RSS podcast feed")


def _read_channel(data: bytes, source: str) -> tuple[Any, int]:
    """Pass one: the <channel> element with its items removed (each cleared as it ends), and the number of items
    with an enclosure. Raises ImportError_ for anything that is not an RSS podcast feed."""
    from lxml import etree

    channel = None
    with_media = 0
    try:
        for event, element in _events(data, ("start", "end")):
            if event == "start":
                if channel is None and element.getparent() is None and element.tag != "rss":
                    raise ImportError_(
                        f"{source}: not an RSS podcast feed (root element <{element.tag}>, expected <rss><channel>)",
                        hint="pass the URL or file of an RSS podcast feed",
                    )
                if element.tag == "channel" and channel is None and element.getparent() is not None:
                    channel = element
                continue
            if element.tag == "item" and element.getparent() is channel:
                with_media += element.find("enclosure") is not None
                element.clear()
                channel.remove(element)
    except etree.XMLSyntaxError as exc:
        raise _not_xml(source, exc) from exc
    if channel is None:
        raise ImportError_(
            f"{source}: not an RSS podcast feed (no <channel>)", hint="pass the URL or file of an RSS podcast feed"
        )
    if not with_media:
        raise ImportError_(
            f"{source}: an RSS feed with no enclosures: not a podcast",
            hint="pass the URL or file of a podcast feed (items with <enclosure>)",
        )
    return channel, with_media


def _items(data: bytes) -> Iterator[Any]:
    """Pass two: each <item> of the channel, complete, then cleared once the caller has mapped it."""
    for _event, element in _events(data, ("end",)):
        if element.tag == "item":
            parent = element.getparent()
            if parent is not None and parent.tag == "channel":
                yield element
                element.clear()
                parent.remove(element)


# ---- small helpers ----


def _text(element: Any, tag: str) -> str | None:
    found = element.find(tag)
    if found is None or found.text is None:
        return None
    text = found.text.strip()
    return text or None


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("yes", "true", "explicit")


def _yaml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers and booleans are valid YAML


def _is_http(url: str | None) -> bool:
    if not url:
        return False
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and not any(c.isspace() for c in url)


def html_to_markdown(html: str) -> str:
    import nh3
    from markdownify import markdownify

    html = nh3.clean(html, clean_content_tags={"script", "style"})  # the notes sanitizer's library: no script text
    text = markdownify(html, heading_style="ATX", bullets="-", strip=["script", "style", "iframe", "img"])
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def site_links(html: str, site: str | None) -> list[dict[str, str]]:
    """Links in the notes to the publisher's own site (the host of the channel's <link>): `articles:` entries."""
    if not html or not site or "<a" not in html.lower():
        return []
    import lxml.html

    host = (urlparse(site).hostname or "").lower().removeprefix("www.")
    if not host:
        return []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises several types for garbage: no links then
        return []
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    for anchor in root.iter("a"):
        url = urljoin(site, (anchor.get("href") or "").strip())
        title = " ".join("".join(anchor.itertext()).split())
        link_host = (urlparse(url).hostname or "").lower().removeprefix("www.")
        if title and _is_http(url) and link_host == host and url not in seen:
            seen.add(url)
            found.append({"title": title, "url": url})
    return found


def _file_name(url: str, mime: str) -> str:
    name = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    if not name or not _MEDIA_EXT.search(name):
        name = (name or "media") + _MIME_EXT.get(mime.lower(), ".mp3")
    if name.lower() in ("index.md", "chapters.json") or name.lower().endswith((".md", ".part", ".yaml", ".json")):
        name = "media-" + name + _MIME_EXT.get(mime.lower(), ".mp3")  # never over the bundle's own files
    if re.fullmatch(r"(cover|transcript)\.[a-z]+", name.lower()):
        name = "media-" + name  # nor over the other files import downloads
    return name


def _image_ext(url: str) -> str:
    path = urlparse(url).path.lower()
    return ".png" if path.endswith(".png") else ".jpg"


def _resolve(url: str | None, base: str | None, where: str, what: str, notes: list[Note]) -> str | None:
    """An absolute URL: relative ones are resolved against the feed's URL (reported), or reported and dropped."""
    url = (url or "").strip()
    if not url:
        return None
    if urlparse(url).scheme:
        return url
    if base and _is_http(base):
        resolved = urljoin(base, url)
        notes.append(Note(where, what, f"relative URL {url!r} resolved against the feed's URL: {resolved}"))
        return resolved
    notes.append(
        Note(
            where,
            what,
            f"relative URL {url!r} and no feed URL to resolve it against; not carried",
            "import from the feed's http(s) URL instead of a saved file",
        )
    )
    return None


def _persons(element: Any, where: str, notes: list[Note]) -> list[dict[str, str]]:
    persons = []
    for person in element.findall(f"{{{PODCAST}}}person"):
        name = " ".join((person.text or "").split())
        role = (person.get("role") or "host").strip().lower()
        if not name:
            notes.append(Note(where, "podcast:person", "a person without a name; not carried"))
            continue
        if role not in _ROLES:
            notes.append(
                Note(
                    where,
                    "podcast:person",
                    f"{name}: role {role!r} is not one the content format has; not carried",
                    f"add them by hand with one of: {', '.join(_ROLES)}",
                )
            )
            continue
        entry = {"name": name, "role": role}
        for attr in ("href", "img"):
            value = (person.get(attr) or "").strip()
            if _is_http(value):
                entry[attr] = value
            elif value:
                notes.append(Note(where, "podcast:person", f"{name}: {attr} {value!r} is not an http(s) URL; dropped"))
        persons.append(entry)
    return persons


def _flow(entries: list[dict[str, str]]) -> str:
    return "[" + ", ".join("{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in e.items()) + "}" for e in entries) + "]"


def _unhandled(element: Any, handled: set[str], where: str, notes: list[Note]) -> None:
    for child in element:
        if isinstance(child.tag, str) and child.tag not in handled:
            ns = child.tag[1:].split("}")[0] if child.tag.startswith("{") else ""
            known = ns in (ITUNES, CONTENT, PODCAST, ATOM, PSC, "")
            why = "the content format has no field for it" if known else "unknown namespace"
            notes.append(Note(where, child.tag, f"{why}; not carried{_what(child)}"))


def _what(element: Any) -> str:
    """What an element says, briefly (its type and URL, else its text), so the report shows what was left behind."""
    url = element.get("url") or element.get("href")
    url = url or next((c.get("uri") or c.get("url") for c in element.iter() if c.get("uri") or c.get("url")), None)
    said = " ".join(p for p in (element.get("type"), url) if p) or " ".join((element.text or "").split())
    return f" ({said[:160]})" if said else ""


# ---- the channel ----

_CHANNEL_HANDLED = {
    "title", "description", "link", "language", "copyright", "image", "generator", "lastBuildDate", "pubDate", "docs",
    f"{{{ITUNES}}}author", f"{{{ITUNES}}}owner", f"{{{ITUNES}}}category", f"{{{ITUNES}}}explicit", f"{{{ITUNES}}}type",
    f"{{{ITUNES}}}image", f"{{{PODCAST}}}guid", f"{{{PODCAST}}}locked", f"{{{ATOM}}}link", f"{{{PODCAST}}}person",
    f"{{{PODCAST}}}funding", f"{{{PODCAST}}}txt", f"{{{PODCAST}}}medium", f"{{{PODCAST}}}trailer",
    f"{{{PODCAST}}}updateFrequency", f"{{{ITUNES}}}new-feed-url",
}  # fmt: skip


@dataclass
class _Context:
    source: str
    base: str | None  # the feed's URL, for relative URLs
    site: str | None  # the channel's <link>
    author: str  # the channel's itunes:author
    show_type: str  # episodic or serial
    kind: str
    trailers: set[str]  # enclosure URLs the channel's podcast:trailer names
    existing: dict[str, str | None]
    by_guid: dict[str, list[str]]
    seen_slugs: set[str] = field(default_factory=set)
    seen_guids: set[str] = field(default_factory=set)
    trailers_found: set[str] = field(default_factory=set)
    process: bool = False  # --process: imported media goes through loudness and encoding (else published as it is)


def _categories(channel: Any, notes: list[Note]) -> str | None:
    found: list[str] = []
    for top in channel.findall(f"{{{ITUNES}}}category"):
        name = " ".join((top.get("text") or "").split())
        subs = top.findall(f"{{{ITUNES}}}category")
        found += [f"{name} > {' '.join((s.get('text') or '').split())}" for s in subs] if subs else [name]
    found = [c for c in found if c.strip()]
    usable = [c for c in found if c in CATEGORY_NAMES]
    usable += [top for c in found if (top := c.split(" > ")[0]) in CATEGORY_NAMES]  # a retired subcategory's top
    chosen = usable[0] if usable else None
    dropped = [c for c in found if c != chosen]
    if dropped:
        notes.append(
            Note(
                "channel",
                "category",
                f"the content format holds one Apple category; kept {chosen!r}, not carried: {', '.join(dropped)}",
                "" if chosen else "add category: with an Apple category",
            )
        )
    elif chosen is None:
        notes.append(Note("channel", "category", "no itunes:category", "add category: with an Apple category"))
    return chosen


def _channel(channel: Any, source: str, feed_id: str | None, kind: str, notes: list[Note]) -> tuple[ImportedChannel, _Context]:
    base = source if _is_http(source) else None
    title = _text(channel, "title") or ""
    fid = feed_id or slugify(title) or "imported"
    if not SLUG.match(fid):
        raise ImportError_(f"--feed: {fid!r} is not a feed id", hint="use lowercase letters, digits and hyphens")
    _unhandled(channel, _CHANNEL_HANDLED, "channel", notes)

    image_el = channel.find(f"{{{ITUNES}}}image")
    image_url = _resolve(image_el.get("href") if image_el is not None else None, base, "channel", "itunes:image", notes)
    image_url = image_url or _resolve(_text(channel, "image/url"), base, "channel", "image", notes)
    image_file = None
    downloads: list[Download] = []
    if image_url:
        image_file = f"artwork/{fid}{_image_ext(image_url)}"
        downloads.append(Download("artwork", image_url, image_file))
    else:
        notes.append(Note("channel", "image", "no show artwork in the feed", "add image: to the feed file"))

    site = _text(channel, "link") or ""
    owner = channel.find(f"{{{ITUNES}}}owner")
    category = _categories(channel, notes)
    lines = [
        f"{IMPORTED_FROM}{source} by `mediafeed import`",
        f"title: {_yaml(title)}",
        f"description: {_yaml(html_to_markdown(_text(channel, 'description') or '') or title)}",
        f"link: {_yaml(site)}",
        f"language: {_yaml((_text(channel, 'language') or 'en').lower())}",
        f"author: {_yaml(_text(channel, f'{{{ITUNES}}}author') or title)}",
    ]
    if owner is not None:
        lines.append(
            f"owner: {{name: {_yaml(_text(owner, f'{{{ITUNES}}}name') or title)}, "
            f"email: {_yaml(_text(owner, f'{{{ITUNES}}}email') or '')}}}"
        )
    else:
        notes.append(Note("channel", "owner", "no itunes:owner in the feed", "add owner: {name, email}"))
    if image_file:
        lines.append(f"image: {_yaml(image_file)}")
    if category:
        lines.append(f"category: {_yaml(category)}")
    lines.append(f"explicit: {_yaml(bool(_flag(_text(channel, f'{{{ITUNES}}}explicit'))))}")
    show_type = (_text(channel, f"{{{ITUNES}}}type") or "episodic").lower()
    if show_type not in ("episodic", "serial"):
        notes.append(Note("channel", "itunes:type", f"{show_type!r} is not episodic or serial; written as episodic"))
        show_type = "episodic"
    lines.append(f"type: {show_type}")
    medium = (_text(channel, f"{{{PODCAST}}}medium") or "audio").lower()
    if medium not in ("audio", "video", "podcast"):
        notes.append(Note("channel", "podcast:medium", f"{medium!r} has no equivalent; written as audio"))
    lines.append(f"medium: {'video' if medium == 'video' else 'audio'}")
    lines.append(f"select: {{kinds: [{kind}], topics: []}}")
    if copyright_ := _text(channel, "copyright"):
        lines.append(f"copyright: {_yaml(copyright_)}")
    if _flag(_text(channel, f"{{{PODCAST}}}locked")):
        lines.append("locked: true")
    if guid := _text(channel, f"{{{PODCAST}}}guid"):
        if is_uuid(guid):
            lines.append(f"guid: {_yaml(guid)}")
        else:
            notes.append(Note("channel", "podcast:guid", f"{guid!r} is not a UUID; the schema holds only UUIDs"))
    if persons := _persons(channel, "channel", notes):
        lines.append(f"persons: {_flow(persons)}")
    funding = []
    for fund in channel.findall(f"{{{PODCAST}}}funding"):
        url, text = (fund.get("url") or "").strip(), " ".join((fund.text or "").split())[:128]
        if _is_http(url):
            funding.append({"url": url, **({"text": text} if text else {})})
        else:
            notes.append(Note("channel", "podcast:funding", f"{url!r} is not an http(s) URL; not carried"))
    if funding:
        lines.append(f"funding: {_flow(funding)}")
    txt = []
    for record in channel.findall(f"{{{PODCAST}}}txt"):
        text = (record.text or "").strip()
        if text and len(text) <= 4000:
            txt.append({**({"purpose": record.get("purpose", "")[:128]} if record.get("purpose") else {}), "text": text})
        else:
            notes.append(Note("channel", "podcast:txt", "empty or longer than 4000 characters; not carried"))
    if txt:
        lines.append(f"txt: {_flow(txt)}")
    frequency = channel.find(f"{{{PODCAST}}}updateFrequency")
    if frequency is not None:
        entry: dict[str, Any] = {}
        if rrule := (frequency.get("rrule") or "").strip():
            entry["rrule"] = rrule
        if label := " ".join((frequency.text or "").split())[:128]:
            entry["label"] = label
        if dtstart := (frequency.get("dtstart") or "").strip():
            entry["dtstart"] = dtstart
        if _flag(frequency.get("complete")):
            entry["complete"] = True
        if entry:
            lines.append("update_frequency: {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in entry.items()) + "}")
    if moved := _text(channel, f"{{{ITUNES}}}new-feed-url"):
        notes.append(
            Note(
                "channel",
                "itunes:new-feed-url",
                f"the old feed says it has moved to {moved}; not carried (ours would send apps there)",
                "import from that URL if it is the show's current feed",
            )
        )
    trailers = set()
    for trailer in channel.findall(f"{{{PODCAST}}}trailer"):
        if url := _resolve(trailer.get("url"), base, "channel", "podcast:trailer", notes):
            trailers.add(url)
    header = ImportedChannel(fid, "\n".join(lines) + "\n", image_url, image_file, tuple(downloads), tuple(notes))
    author = _text(channel, f"{{{ITUNES}}}author") or title
    return header, _Context(source, base, site or None, author, show_type, kind, trailers, {}, {})


# ---- the items ----

_ITEM_HANDLED = {
    "title", "guid", "pubDate", "description", "enclosure", "link", f"{{{CONTENT}}}encoded",
    f"{{{ITUNES}}}season", f"{{{ITUNES}}}episode", f"{{{ITUNES}}}episodeType", f"{{{ITUNES}}}explicit",
    f"{{{ITUNES}}}duration", f"{{{ITUNES}}}title", f"{{{ITUNES}}}summary", f"{{{ITUNES}}}subtitle",
    f"{{{ITUNES}}}author", f"{{{ITUNES}}}image", f"{{{ITUNES}}}keywords", f"{{{PODCAST}}}person",
    f"{{{PODCAST}}}chapters", f"{{{PODCAST}}}transcript", f"{{{PSC}}}chapters", f"{{{PODCAST}}}season",
    f"{{{PODCAST}}}episode",
}  # fmt: skip

_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def recorded_guid(index_text: str) -> str | None:
    """The GUID an index.md records on its guid: line (double-quoted as import writes it, single-quoted or plain as
    a producer may; a plain value ends at a ` #` comment), without reading the whole front matter as YAML."""
    for line in index_text.splitlines()[1:]:
        if line.strip() == "---":
            break
        if line.startswith("guid:"):
            value = line.removeprefix("guid:").strip()
            if value.startswith('"'):
                try:
                    return str(json.JSONDecoder().raw_decode(value)[0]).strip()
                except ValueError:
                    return None
            if quoted := _SINGLE_QUOTED.match(value):
                return quoted.group(1).replace("''", "'").strip()
            return value.split(" #", 1)[0].strip() or None
    return None


def _npt(value: str) -> float | None:
    """A Podlove Simple Chapters start (normal play time: [HH:]MM:SS[.mmm], or seconds)."""
    parts = value.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if not 1 <= len(numbers) <= 3 or any(n < 0 for n in numbers):
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def _timestamp(seconds: float) -> str:
    whole = int(seconds)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    millis = round((seconds - whole) * 1000)
    return text + (f".{millis:03d}" if millis else "")


def _psc_chapters(element: Any, where: str, notes: list[Note]) -> list[dict[str, str]] | None:
    chapters: list[dict[str, str]] = []
    last = -1.0
    for chapter in element.findall(f"{{{PSC}}}chapter"):
        start = _npt(chapter.get("start") or "")
        title = " ".join((chapter.get("title") or "").split())
        if start is None or not title or start <= last:
            notes.append(
                Note(
                    where,
                    "psc:chapters",
                    f"chapter {chapter.get('start')!r} {title!r}: no title, not a time, or not "
                    "after the previous one; no chapters carried",
                    "write chapters: by hand",
                )
            )
            return None
        last = start
        entry = {"start": _timestamp(start), "title": title}
        for attr, key in (("href", "url"), ("image", "img")):
            if _is_http(chapter.get(attr)):
                entry[key] = str(chapter.get(attr)).strip()
        chapters.append(entry)
    if chapters and chapters[0]["start"] != "00:00:00":
        notes.append(
            Note(
                where,
                "psc:chapters",
                "the first chapter does not start at 00:00; no chapters carried",
                'write chapters: by hand, starting with {start: "00:00", title: Introduction}',
            )
        )
        return None
    return chapters or None


def _item_guid(item: Any, title: str, context: _Context) -> tuple[str, Note | None]:
    guid_el = item.find("guid")
    guid = (guid_el.text or "").strip() if guid_el is not None and guid_el.text else ""
    where = slugify(title) or "episode"
    if not guid:
        return "", Note(
            where,
            "guid",
            f"{title!r} has no <guid>; skipped (apps identify episodes by it)",
            "ask the old host for the GUID it publishes, then write the episode with `mediafeed new`",
        )
    if len(guid) > MAX_GUID or any(unicodedata.category(c)[0] == "C" for c in guid):
        return "", Note(
            where,
            "guid",
            f"{title!r}: the GUID is longer than {MAX_GUID} characters or has control characters; skipped",
            "ask the old host to fix the item's <guid>, or write the episode by hand with `mediafeed new`",
        )
    if same_guid(guid) in context.seen_guids:
        return "", Note(
            where,
            "guid",
            f"{title!r} repeats the GUID {guid!r} of an earlier item (case aside); skipped (apps keep only one)",
            "if it is a different episode, give it its own GUID at the old host",
        )
    return guid, None


def _slug_for(guid: str, title: str, context: _Context) -> str:
    for slug in context.by_guid.get(same_guid(guid), ()):
        if slug not in context.seen_slugs:
            return slug
    slug = base = slugify(title) or "episode"
    n = 2
    while slug in context.seen_slugs or slug in context.existing:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _dropped(item: Any, title: str, context: _Context, slug: str, notes: list[Note]) -> None:
    """The item's fields the format has no place for, reported when they say something the episode does not."""
    if (link := _text(item, "link")) and link != (item.find("enclosure").get("url") or "").strip():
        notes.append(Note(slug, "link", f"{link}: the episode's page at the old host; not carried (ours is generated)"))
    author = _text(item, f"{{{ITUNES}}}author")
    if author and author != context.author:
        notes.append(Note(slug, "itunes:author", f"{author!r} (the show's is {context.author!r}); no episode author field"))
    itunes_title = " ".join((_text(item, f"{{{ITUNES}}}title") or "").split())
    if itunes_title and itunes_title != title:
        notes.append(Note(slug, "itunes:title", f"{itunes_title!r} differs from <title>; the <title> is kept"))
    description = _text(item, "description")
    beside_notes = description and _text(item, f"{{{CONTENT}}}encoded") and not _summary_source(item)
    if beside_notes and len(" ".join(html_to_markdown(description or "").split())) > SUMMARY_MAX:
        notes.append(
            Note(
                slug,
                "description",
                "not carried: the notes come from content:encoded, and it is too "
                f"long for summary: (over {SUMMARY_MAX} characters)",
            )
        )


def _summary_source(item: Any) -> str | None:
    return _text(item, f"{{{ITUNES}}}summary") or _text(item, f"{{{ITUNES}}}subtitle")


def _episode(item: Any, context: _Context) -> ImportedEpisode | Note:
    title = " ".join((_text(item, "title") or _text(item, f"{{{ITUNES}}}title") or "").split())
    guid, problem = _item_guid(item, title, context)
    if problem is not None:
        return problem
    raw_date = _text(item, "pubDate")
    parsed = _rfc822(raw_date)
    naive = parsed is not None and parsed.tzinfo is None  # "-0000": UTC, the local offset unknown
    published = parsed.replace(tzinfo=UTC) if parsed is not None and naive else parsed
    where = slugify(title) or "episode"
    if published is None:
        return Note(
            where,
            "pubDate",
            f"{title!r}: missing or not an RFC 822 date ({raw_date!r}); skipped",
            "fix the date at the old host, or write the episode by hand with `mediafeed new`",
        )
    enc_el = item.find("enclosure")
    notes: list[Note] = []
    enc_url = _resolve(enc_el.get("url") if enc_el is not None else None, context.base, where, "enclosure", notes)
    if enc_el is not None and enc_el.get("url", "").strip() and not enc_url:
        return Note(
            where,
            "enclosure",
            f"{title!r}: relative enclosure URL {enc_el.get('url')!r} and no feed URL to resolve it against; skipped",
            "import from the feed's http(s) URL instead of a saved file",
        )
    if enc_el is None or not enc_url:
        return Note(
            where,
            "enclosure",
            f"{title!r} has no enclosure (no media); skipped",
            "add the media at the old host, or write the episode by hand with `mediafeed new --media FILE`",
        )
    slug = _slug_for(guid, title, context)
    context.seen_slugs.add(slug)
    context.seen_guids.add(same_guid(guid))
    notes = [Note(slug, n.field, n.message, n.hint) for n in notes]
    _unhandled(item, _ITEM_HANDLED, slug, notes)
    if naive:
        notes.append(Note(slug, "pubDate", f"{raw_date!r} has no UTC offset (or -0000); read as UTC"))
    _dropped(item, title, context, slug, notes)
    permalink = (item.find("guid").get("isPermaLink") or "true").strip().lower() != "false"  # RSS: true by default

    length_text = (enc_el.get("length") or "").strip()
    length = int(length_text) if length_text.isdigit() and int(length_text) > 0 else None
    mime = enc_el.get("type") or ""
    enclosure = Enclosure(enc_url, length, mime, _file_name(enc_url, mime))
    bundle = f"episodes/{slug}"
    downloads = [Download("enclosure", enc_url, f"{bundle}/{enclosure.file_name}", length)]

    html = _text(item, f"{{{CONTENT}}}encoded") or _text(item, "description") or ""
    body = (html_to_markdown(html) if html else "") or title
    lines = ["---", f"title: {_yaml(title)}"]
    lines.append(f"guid: {_yaml(guid)}")  # exactly as published: apps recognise the episode by this text
    if permalink:
        lines.append("guid_permalink: true")
    lines += [f"kind: {context.kind}", "topics: []", f"published: {published.isoformat()}"]
    lines.append(f"media: {_yaml(enclosure.file_name)}")
    if not context.process:
        lines.append("process: false")  # published as the old host served it (see README: Importing)

    image_el = item.find(f"{{{ITUNES}}}image")
    if image_url := _resolve(image_el.get("href") if image_el is not None else None, context.base, slug, "itunes:image", notes):
        name = "cover" + _image_ext(image_url)
        downloads.append(Download("image", image_url, f"{bundle}/{name}"))
        lines.append(f"image: {_yaml(name)}")

    for tag in ("season", "episode"):
        value = _text(item, f"{{{ITUNES}}}{tag}")
        source = f"itunes:{tag}"
        extra = item.find(f"{{{PODCAST}}}{tag}")
        if not value and extra is not None:  # some Podcasting 2.0 feeds number their items only there
            value, source = (extra.text or "").strip() or None, f"podcast:{tag}"
        if value and value.isdigit():
            lines.append(f"{tag}: {int(value)}")
        elif value:
            notes.append(Note(slug, source, f"{value!r} is not a whole number; not carried"))
        if extra is not None and (label := extra.get("name") or extra.get("display")):
            notes.append(Note(slug, f"podcast:{tag}", f"its name {label!r} has no field; not carried"))
    episode_type = (_text(item, f"{{{ITUNES}}}episodeType") or "full").lower()
    if episode_type not in ("full", "trailer", "bonus"):
        notes.append(Note(slug, "itunes:episodeType", f"{episode_type!r} unknown; written as full"))
        episode_type = "full"
    if enc_url in context.trailers:
        context.trailers_found.add(enc_url)
        if episode_type != "trailer":  # published as the old feed says: changing the type changes what apps show
            notes.append(
                Note(
                    slug,
                    "podcast:trailer",
                    f"the channel names this episode as its trailer but its type is {episode_type}; kept {episode_type}",
                    "write episode_type: trailer to publish it as the trailer",
                )
            )
    lines.append(f"episode_type: {episode_type}")
    if context.show_type == "serial" and episode_type == "full" and not any(x.startswith("episode: ") for x in lines):
        notes.append(
            Note(
                slug,
                "itunes:episode",
                "a full episode without a number in a serial show: check refuses it (Apple needs numbers there)",
                "add episode: N to it; for a special, write episode_type: bonus (Apple lets bonus episodes go "
                "unnumbered); or make the show episodic (type: episodic)",
            )
        )
    lines.append(f"explicit: {_yaml(bool(_flag(_text(item, f'{{{ITUNES}}}explicit'))))}")

    summary = _summary_source(item)
    if not summary and _text(item, f"{{{CONTENT}}}encoded") and (short := _text(item, "description")):
        short = " ".join(html_to_markdown(short).split())  # the short description beside the full notes
        summary = short if len(short) <= SUMMARY_MAX else None
    if summary:
        summary = " ".join(html_to_markdown(summary).split())
        if len(summary) > SUMMARY_MAX:
            notes.append(Note(slug, "itunes:summary", f"longer than {SUMMARY_MAX} characters; cut"))
            summary = summary[: SUMMARY_MAX - 1].rstrip() + "…"
        if summary:
            lines.append(f"summary: {_yaml(summary)}")
    if keywords := [k.strip() for k in (_text(item, f"{{{ITUNES}}}keywords") or "").split(",") if k.strip()]:
        lines.append(f"keywords: {_yaml(keywords)}")
    if persons := _persons(item, slug, notes):
        lines.append(f"persons: {_flow(persons)}")
    if articles := site_links(html, context.site):
        lines.append(f"articles: {_flow(articles)}")

    chapters_el = item.find(f"{{{PODCAST}}}chapters")
    psc = item.find(f"{{{PSC}}}chapters")
    chapters_url = _resolve(
        chapters_el.get("url") if chapters_el is not None else None, context.base, slug, "podcast:chapters", notes
    )
    if chapters_url and (chapters_el.get("type") or _CHAPTERS_JSON).strip().lower() == _CHAPTERS_JSON:
        downloads.append(Download("chapters", chapters_url, f"{bundle}/chapters.json"))
        lines.append('chapters: "chapters.json"')
        if psc is not None:
            notes.append(Note(slug, "psc:chapters", "the Podcasting 2.0 chapters file is carried instead"))
    else:
        if chapters_url:
            notes.append(Note(slug, "podcast:chapters", f"type {chapters_el.get('type')!r} is not {_CHAPTERS_JSON}; not carried"))
        if psc is not None and (chapters := _psc_chapters(psc, slug, notes)):
            lines.append(f"chapters: {_flow(chapters)}")

    transcripts = []
    for transcript in item.findall(f"{{{PODCAST}}}transcript"):
        kind = (transcript.get("type") or "").strip().lower()
        url = _resolve(transcript.get("url"), context.base, slug, "podcast:transcript", notes)
        if url:
            transcripts.append((kind, url))
    ranked = sorted((t for t in transcripts if t[0] in _TRANSCRIPTS), key=lambda t: list(_TRANSCRIPTS).index(t[0]))
    if ranked:
        kind, url = ranked[0]
        name = "transcript" + _TRANSCRIPTS[kind]
        downloads.append(Download("transcript", url, f"{bundle}/{name}"))
        lines.append(f"transcript: {_yaml(name)}")
    for kind, url in transcripts:
        if not ranked or (kind, url) != ranked[0]:
            notes.append(
                Note(
                    slug,
                    "podcast:transcript",
                    f"{url} ({kind or 'no type'}): the content format holds one transcript, WebVTT or SubRip; not carried",
                )
            )
    if _text(item, f"{{{ITUNES}}}duration"):
        notes.append(Note(slug, "itunes:duration", "not written: the duration is measured from the downloaded media"))
    lines += ["---", body, ""]
    return ImportedEpisode(slug, guid, title, "\n".join(lines), enclosure, tuple(downloads), tuple(notes))


# ---- entry points ----


def open_feed(
    data: bytes,
    source: str,
    *,
    feed_id: str | None,
    kind: str,
    existing: dict[str, str | None] | None = None,
    process: bool = False,
) -> tuple[ImportedChannel, Iterator[ImportedEpisode | Note]]:
    """The channel, and the items one at a time (an episode, or the Note saying why the item was skipped).
    Raises ImportError_ (nothing to write) for anything that is not a podcast feed, before any item is yielded.
    `existing`: the project's episode folders (slug → the GUID its index.md records, or None): an item goes into the
    folder that records its GUID, and never into a folder of another episode (its slug then gets a -2, -3, ...).
    `process`: the episodes go through our loudness and encoding pipeline; by default they are written with
    `process: false`, so a finished MP3 is published byte for byte (no second lossy encode)."""
    data, notes = readable(data, source)
    channel_el, _count = _read_channel(data, source)
    header, context = _channel(channel_el, source, feed_id, kind, notes)
    context.existing = existing or {}
    context.process = process
    for slug, guid in context.existing.items():
        if guid is not None:
            context.by_guid.setdefault(same_guid(guid), []).append(slug)

    def items() -> Iterator[ImportedEpisode | Note]:
        for item in _items(data):
            yield _episode(item, context)
        for url in sorted(context.trailers - context.trailers_found):
            yield Note(
                "channel",
                "podcast:trailer",
                f"{url} is no item's enclosure; not carried",
                "import the trailer as an episode with episode_type: trailer",
            )

    return header, items()


def import_feed(
    data: bytes,
    source: str,
    *,
    feed_id: str | None,
    kind: str,
    existing: dict[str, str | None] | None = None,
    process: bool = False,
) -> ImportedFeed:
    """The whole feed at once (for small feeds and tests; `open_feed` streams)."""
    header, items = open_feed(data, source, feed_id=feed_id, kind=kind, existing=existing, process=process)
    notes = list(header.notes)
    episodes = []
    for entry in items:
        if isinstance(entry, Note):
            notes.append(entry)
        else:
            episodes.append(entry)
            notes += entry.notes
    return ImportedFeed(
        header.feed_id, header.feed_text, header.image_url, header.image_file, tuple(episodes), tuple(notes), header.downloads
    )
