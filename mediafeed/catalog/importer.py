"""`mediafeed import`, the pure part: a podcast RSS document (bytes) → the catalog files it becomes (feeds/<id>.yaml
and one episodes/<slug>/index.md per item), plus a report of everything the content format cannot carry.

No I/O here: fetching the feed and downloading enclosures is the pipeline edge's job (publish/download.py). The XML
parser is lxml with entity resolution, network access and huge trees off; a document that declares entities in its
DOCTYPE is refused before parsing (XXE, billion laughs)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlparse

from mediafeed.catalog.load import SLUG, slugify
from mediafeed.catalog.schema import is_uuid
from mediafeed.errors import UsageError

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
_KNOWN_NS = {ITUNES, CONTENT, PODCAST, ATOM, ""}
MAX_FEED_BYTES = 64 << 20
_DOCTYPE_ENTITY = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)
_MEDIA_EXT = re.compile(r"\.[A-Za-z0-9]{2,5}$")
_MIME_EXT = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/x-m4a": ".m4a", "audio/mp4": ".m4a", "video/mp4": ".mp4"}


class ImportError_(UsageError):
    """The document cannot be imported (not XML, not an RSS podcast feed, unsafe)."""


@dataclass(frozen=True)
class Note:
    """Something the import could not carry, or did differently: shown to the producer, never silently dropped."""

    where: str  # "channel" or the item's slug
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "message": self.message}


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


@dataclass(frozen=True)
class ImportedFeed:
    feed_id: str
    feed_text: str  # the whole feeds/<id>.yaml
    image_url: str | None
    image_file: str | None  # relative to the project (artwork/<id>.<ext>)
    episodes: tuple[ImportedEpisode, ...]
    notes: tuple[Note, ...] = field(default_factory=tuple)


def _parse(data: bytes, source: str) -> Any:
    from lxml import etree

    if len(data) > MAX_FEED_BYTES:
        raise ImportError_(f"{source}: larger than {MAX_FEED_BYTES >> 20} MB; is this a podcast feed?")
    if _DOCTYPE_ENTITY.search(data[:65536]) or b"<!ENTITY" in data:
        raise ImportError_(
            f"{source}: declares XML entities (a DOCTYPE with <!ENTITY>); refused as unsafe (XXE, entity expansion)",
            hint="podcast feeds never need them; ask the host for its plain RSS feed",
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ImportError_(f"{source}: not well-formed XML ({exc})", hint="pass the URL or file of an RSS podcast feed") from exc
    if root is None or root.tag != "rss" or root.find("channel") is None:  # also an RSS 1.0/Atom document
        tag = getattr(root, "tag", "?")
        raise ImportError_(
            f"{source}: not an RSS podcast feed (root element <{tag}>, expected <rss><channel>)",
            hint="pass the URL or file of an RSS podcast feed",
        )
    channel = root.find("channel")
    items = channel.findall("item") if channel is not None else []
    if channel is None or not any(item.find("enclosure") is not None for item in items):
        raise ImportError_(
            f"{source}: an RSS feed with no enclosures: not a podcast",
            hint="pass the URL or file of a podcast feed (items with <enclosure>)",
        )
    return channel


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


def html_to_markdown(html: str) -> str:
    import nh3
    from markdownify import markdownify

    html = nh3.clean(html, clean_content_tags={"script", "style"})  # the notes sanitizer's library: no script text
    text = markdownify(html, heading_style="ATX", bullets="-", strip=["script", "style", "iframe", "img"])
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _duration(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parts = [float(p) for p in value.strip().split(":")]
    except ValueError:
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def _file_name(url: str, mime: str) -> str:
    name = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    if not name or not _MEDIA_EXT.search(name):
        name = (name or "media") + _MIME_EXT.get(mime.lower(), ".mp3")
    if name.lower() in ("index.md", "chapters.json") or name.lower().endswith((".md", ".part", ".yaml", ".json")):
        name = "media-" + name + _MIME_EXT.get(mime.lower(), ".mp3")  # never over the bundle's own files
    return name


def _category(channel: Any) -> list[str]:
    found: list[str] = []
    for top in channel.findall(f"{{{ITUNES}}}category"):
        name = top.get("text") or ""
        subs = top.findall(f"{{{ITUNES}}}category")
        found += [f"{name} > {s.get('text')}" for s in subs] if subs else [name]
    return [c for c in found if c.strip()]


def _unknown(element: Any, where: str, notes: list[Note]) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        ns = child.tag[1:].split("}")[0] if child.tag.startswith("{") else ""
        if ns not in _KNOWN_NS:
            notes.append(Note(where, child.tag, "unknown namespace; not carried"))


_CHANNEL_CARRIED = {
    "title", "description", "link", "language", "copyright", "item", "image", "generator", "lastBuildDate", "pubDate",
    f"{{{ITUNES}}}author", f"{{{ITUNES}}}owner", f"{{{ITUNES}}}category", f"{{{ITUNES}}}explicit", f"{{{ITUNES}}}type",
    f"{{{ITUNES}}}image", f"{{{PODCAST}}}guid", f"{{{PODCAST}}}locked", f"{{{ATOM}}}link",
}  # fmt: skip
_ITEM_CARRIED = {
    "title", "guid", "pubDate", "description", "enclosure", "link", f"{{{CONTENT}}}encoded",
    f"{{{ITUNES}}}season", f"{{{ITUNES}}}episode", f"{{{ITUNES}}}episodeType", f"{{{ITUNES}}}explicit",
    f"{{{ITUNES}}}duration", f"{{{ITUNES}}}title", f"{{{ITUNES}}}summary", f"{{{ITUNES}}}author",
}  # fmt: skip


def _not_carried(element: Any, carried: set[str], where: str, notes: list[Note]) -> None:
    for child in element:
        if isinstance(child.tag, str) and child.tag not in carried:
            notes.append(Note(where, child.tag, "the content format has no field for it; not carried"))


def import_feed(
    data: bytes, source: str, *, feed_id: str | None, kind: str, existing: dict[str, str | None] | None = None
) -> ImportedFeed:
    """Parse and map one feed. Raises ImportError_ (nothing to write) for anything that is not a podcast feed.
    `existing`: the project's episode folders (slug → the GUID its index.md records, or None): an item goes into the
    folder that records its GUID, and never into a folder of another episode (its slug then gets a -2, -3, ...)."""
    existing = existing or {}
    channel = _parse(data, source)
    notes: list[Note] = []
    title = _text(channel, "title") or ""
    fid = feed_id or slugify(title) or "imported"
    if not SLUG.match(fid):
        raise ImportError_(f"--feed: {fid!r} is not a feed id", hint="use lowercase letters, digits and hyphens")
    _not_carried(channel, _CHANNEL_CARRIED, "channel", notes)

    image_el = channel.find(f"{{{ITUNES}}}image")
    image_url = image_el.get("href") if image_el is not None else None
    image_url = image_url or _text(channel, "image/url")
    image_file = None
    if image_url:
        ext = ".png" if urlparse(image_url).path.lower().endswith(".png") else ".jpg"
        image_file = f"artwork/{fid}{ext}"
    else:
        notes.append(Note("channel", "image", "no show artwork in the feed; add image: to the feed file"))

    owner = channel.find(f"{{{ITUNES}}}owner")
    categories = _category(channel)
    if len(categories) > 1:
        notes.append(Note("channel", "category", f"only the first category is kept; dropped: {', '.join(categories[1:])}"))
    lines = [
        f"# imported from {source} by `mediafeed import`",
        f"title: {_yaml(title)}",
        f"description: {_yaml(html_to_markdown(_text(channel, 'description') or '') or title)}",
        f"link: {_yaml(_text(channel, 'link') or '')}",
        f"language: {_yaml((_text(channel, 'language') or 'en').lower())}",
        f"author: {_yaml(_text(channel, f'{{{ITUNES}}}author') or title)}",
    ]
    if owner is not None:
        lines.append(
            f"owner: {{name: {_yaml(_text(owner, f'{{{ITUNES}}}name') or title)}, "
            f"email: {_yaml(_text(owner, f'{{{ITUNES}}}email') or '')}}}"
        )
    else:
        notes.append(Note("channel", "owner", "no itunes:owner in the feed; add owner: {name, email}"))
    if image_file:
        lines.append(f"image: {_yaml(image_file)}")
    if categories:
        lines.append(f"category: {_yaml(categories[0])}")
    lines.append(f"explicit: {_yaml(bool(_flag(_text(channel, f'{{{ITUNES}}}explicit'))))}")
    lines.append(f"type: {_yaml(_text(channel, f'{{{ITUNES}}}type') or 'episodic')}")
    lines.append("medium: audio")
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

    episodes: list[ImportedEpisode] = []
    seen: set[str] = set()
    for item in channel.findall("item"):
        episode = _episode(item, kind, seen, existing, notes)
        if episode is not None:
            episodes.append(episode)
    return ImportedFeed(fid, "\n".join(lines) + "\n", image_url, image_file, tuple(episodes), tuple(notes))


GUID_COMMENT = "# guid as published (not a UUID, which the front matter's guid: needs): "


def recorded_guid(index_text: str) -> str | None:
    """The GUID an index.md records: its guid: line, or the comment import writes for a GUID guid: cannot hold."""
    for line in index_text.splitlines()[1:]:
        if line.strip() == "---":
            break
        if line.startswith(GUID_COMMENT):
            return str(json.loads(line.removeprefix(GUID_COMMENT)))
        if line.startswith("guid:"):
            value = line.removeprefix("guid:").split("#", 1)[0].strip()
            return str(json.loads(value)) if value.startswith('"') else value
    return None


def _episode(item: Any, kind: str, seen: set[str], existing: dict[str, str | None], notes: list[Note]) -> ImportedEpisode | None:
    title = " ".join((_text(item, "title") or _text(item, f"{{{ITUNES}}}title") or "").split())
    guid_el = item.find("guid")
    guid = (guid_el.text or "").strip() if guid_el is not None and guid_el.text else ""
    if not guid:
        notes.append(Note(slugify(title) or "episode", "guid", "the item has no <guid>; skipped (apps identify episodes by it)"))
        return None
    mine = [slug for slug, recorded in existing.items() if recorded == guid and slug not in seen]
    if mine:
        slug = mine[0]
    else:
        slug = slugify(title) or "episode"
        base, n = slug, 2
        while slug in seen or slug in existing:
            slug, n = f"{base}-{n}", n + 1
    where = slug
    seen.add(slug)
    _not_carried(item, _ITEM_CARRIED, where, notes)
    permalink = (guid_el.get("isPermaLink") or "true").strip().lower()
    if permalink != "false":
        notes.append(Note(where, "guid", 'isPermaLink is true; the content format publishes GUIDs as isPermaLink="false"'))
    raw_date = _text(item, "pubDate")
    published: datetime | None = None
    if raw_date:
        try:
            published = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError):
            published = None
    if published is None or published.tzinfo is None:
        notes.append(Note(where, "pubDate", f"missing or not an RFC 822 date ({raw_date!r}); skipped"))
        return None
    html = _text(item, f"{{{CONTENT}}}encoded") or _text(item, "description") or ""
    body = html_to_markdown(html) if html else ""
    if not body:
        body = title
    enc_el = item.find("enclosure")
    enclosure = None
    if enc_el is not None and enc_el.get("url"):
        length_text = (enc_el.get("length") or "").strip()
        length = int(length_text) if length_text.isdigit() and int(length_text) > 0 else None
        mime = enc_el.get("type") or ""
        enclosure = Enclosure(enc_el.get("url", ""), length, mime, _file_name(enc_el.get("url", ""), mime))
    else:
        notes.append(Note(where, "enclosure", "no enclosure: the episode has no media"))
    lines = ["---", f"title: {_yaml(title)}"]
    if is_uuid(guid):
        lines.append(f"guid: {_yaml(guid)}")
    else:
        lines.append(GUID_COMMENT + _yaml(guid))
        notes.append(
            Note(
                where,
                "guid",
                f"{guid!r} is not a UUID and the front matter's guid: holds only UUIDs; kept as a comment, NOT "
                "published (apps would see a new episode): the schema needs to accept published GUIDs first",
            )
        )
    lines += [f"kind: {kind}", "topics: []", f"published: {published.isoformat()}"]
    lines.append(f"media: {_yaml(enclosure.file_name if enclosure else 'media.mp3')}")
    for tag, key in (("season", "season"), ("episode", "episode")):
        value = _text(item, f"{{{ITUNES}}}{tag}")
        if value and value.isdigit():
            lines.append(f"{key}: {int(value)}")
        elif value:
            notes.append(Note(where, f"itunes:{tag}", f"{value!r} is not a whole number; not carried"))
    episode_type = (_text(item, f"{{{ITUNES}}}episodeType") or "full").lower()
    if episode_type not in ("full", "trailer", "bonus"):
        notes.append(Note(where, "itunes:episodeType", f"{episode_type!r} unknown; written as full"))
        episode_type = "full"
    lines.append(f"episode_type: {episode_type}")
    lines.append(f"explicit: {_yaml(bool(_flag(_text(item, f'{{{ITUNES}}}explicit'))))}")
    if summary := _text(item, f"{{{ITUNES}}}summary"):
        lines.append(f"summary: {_yaml(summary[:1000])}")
    if _text(item, f"{{{ITUNES}}}duration"):
        notes.append(Note(where, "itunes:duration", "not written: the duration is measured from the downloaded media (ffprobe)"))
    lines += ["---", body, ""]
    return ImportedEpisode(slug, guid, title, "\n".join(lines), enclosure)
