"""`mediafeed import --check`, the pure part: an old host's RSS feed and the feed we published for the same show →
a list of findings, item by item, that say what a subscriber would see after the move and how to fix it.

Errors (the move is not safe yet): an old GUID missing from ours, or present with another date (compared as instants:
the offset may differ) or another title; an enclosure of ours that does not answer or has another size than its
`length`; the channel's `podcast:guid` not kept. Warnings (allowed, but listed): GUIDs only in ours (apps show them as
new episodes: right only for episodes added on purpose), an old item without a GUID, our feed carrying
`itunes:new-feed-url` (it sends apps away from us). Info: the old feed's `itunes:new-feed-url` (where it sends apps).

No I/O here: fetching the old feed, reading ours from the target and probing the enclosures is publish/migration.py's
job; it hands the probe results (EnclosureProbe) to `compare`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mediafeed.catalog.importer import ImportError_, pub_date, readable, safe_parser
from mediafeed.catalog.schema import is_uuid
from mediafeed.errors import UsageError

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
SEVERITIES = ("error", "warning", "info")


class FeedUnreadable(UsageError):
    """A document given to the check is not a safe, well-formed RSS feed."""


@dataclass(frozen=True)
class Item:
    guid: str | None
    title: str
    pub_date: str  # as written
    published: datetime | None  # None when pub_date is missing or not an RFC 822 date with an offset
    enclosure_url: str | None
    enclosure_length: int | None


@dataclass(frozen=True)
class Feed:
    title: str
    podcast_guid: str | None
    new_feed_url: str | None
    items: tuple[Item, ...]
    next_url: str | None = None  # an RFC 5005 paged feed's next page (atom:link rel="next")
    pages: int = 1


def joined(pages: list[Feed]) -> Feed:
    """A paged feed's documents as one feed: the first page's channel, every page's items."""
    items = tuple(item for page in pages for item in page.items)
    return Feed(pages[0].title, pages[0].podcast_guid, pages[0].new_feed_url, items, None, len(pages))


@dataclass(frozen=True)
class EnclosureProbe:
    """What the host answered to `GET url` with `Range: bytes=0-0`: the HTTP status (0 when it did not answer), the
    whole file's size it announced (Content-Range's total for a 206, Content-Length for a 200), or why it failed."""

    url: str
    status: int
    size: int | None
    error: str = ""


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | info
    guid: str  # the item's GUID, or "channel"
    title: str
    check: str  # missing | date | title | extra | enclosure | no-guid | podcast:guid | new-feed-url
    message: str
    hint: str = ""

    def line(self) -> str:
        where = "channel" if self.guid == "channel" else f'{self.guid} "{self.title}"'
        return f"{self.severity}: {where}: {self.check}: {self.message}" + (f"; {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """One line of the per-item table: a GUID and what each check found for it."""

    guid: str
    title: str
    in_old: bool
    in_ours: bool
    date: str  # ok | differs | missing | -
    title_check: str
    enclosure: str  # ok | failed | none | -

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MigrationReport:
    old_source: str
    ours_source: str  # where our feed was read (the target's key and its public URL)
    our_url: str  # our feed's public URL: what the old host's itunes:new-feed-url and 301 should point at
    rows: tuple[Row, ...]
    findings: tuple[Finding, ...]
    counts: dict[str, int] = field(default_factory=dict)  # items in old, ours, enclosures probed

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "old": self.old_source,
            "ours": self.ours_source,
            "our_url": self.our_url,
            "counts": self.counts,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "items": [r.as_dict() for r in self.rows],
            "findings": [f.as_dict() for f in self.findings],
        }


def parse_feed(data: bytes, source: str) -> Feed:
    """An RSS document → the facts the check compares. Parsed like `import` does: entities, DTDs and the network off,
    a document declaring entities refused."""
    from lxml import etree

    try:
        data, _notes = readable(data, source)
    except ImportError_ as exc:
        raise FeedUnreadable(exc.message, hint=exc.hint) from None
    parser = safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedUnreadable(f"{source}: not well-formed XML ({exc})", hint="pass the URL or file of an RSS feed") from exc
    channel = root.find("channel") if root is not None and root.tag == "rss" else None
    if channel is None:
        raise FeedUnreadable(
            f"{source}: not an RSS feed (root element <{getattr(root, 'tag', '?')}>, expected <rss><channel>)",
            hint="pass the URL or file of the show's RSS feed",
        )
    new_feed = channel.find(f"{{{ITUNES}}}new-feed-url")
    following = [link.get("href") for link in channel.findall(f"{{{ATOM}}}link") if link.get("rel") == "next"]
    return Feed(
        title=_collapse(channel.findtext("title")),
        podcast_guid=(channel.findtext(f"{{{PODCAST}}}guid") or "").strip() or None,
        new_feed_url=(new_feed.text or "").strip() or None if new_feed is not None else None,
        items=tuple(_item(element) for element in channel.findall("item")),
        next_url=(following[0] or None) if following else None,
    )


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def _item(element: Any) -> Item:
    guid = (element.findtext("guid") or "").strip() or None
    raw = (element.findtext("pubDate") or "").strip()
    published = pub_date(raw)
    enclosure = element.find("enclosure")
    url = length = None
    if enclosure is not None:
        url = (enclosure.get("url") or "").strip() or None
        text = (enclosure.get("length") or "").strip()
        length = int(text) if text.isdigit() else None
    title = _collapse(element.findtext("title")) or _collapse(element.findtext(f"{{{ITUNES}}}title"))
    return Item(guid, title, raw, published, url, length)


def compare(
    old: Feed,
    ours: Feed,
    probes: dict[str, EnclosureProbe],
    *,
    old_source: str,
    ours_source: str,
    our_url: str,
) -> MigrationReport:
    """Every check, item by item. `probes`: enclosure URL → what its host answered (an enclosure without a probe is
    reported as not checked). `our_url`: our feed's public address (what the old feed's new-feed-url should say)."""
    findings: list[Finding] = []
    rows: list[Row] = []
    mine: dict[str, Item] = {}
    for item in ours.items:
        if item.guid:
            mine.setdefault(item.guid, item)
    seen: set[str] = set()
    for item in old.items:
        if not item.guid:
            findings.append(
                Finding(
                    "warning",
                    "-",
                    item.title,
                    "no-guid",
                    "the old feed's item has no <guid>: apps identified it by "
                    "its enclosure URL or title, so they may show it again after the move",
                    "nothing to fix in ours; expect that episode to reappear in some apps",
                )
            )
            continue
        if item.guid in seen:
            continue
        seen.add(item.guid)
        match = mine.get(item.guid)
        if match is None:
            findings.append(
                Finding(
                    "error",
                    item.guid,
                    item.title,
                    "missing",
                    "in the old feed, not in ours: subscribers lose it (and apps may show it again under another GUID)",
                    "import it again (`mediafeed import URL`), check its episode folder keeps this guid, and publish"
                    if is_uuid(item.guid)
                    else "it is not a UUID, which the front matter's guid: cannot hold yet (see the import report): "
                    "do not move the show until published GUIDs can be kept",
                )
            )
            rows.append(Row(item.guid, item.title, True, False, "-", "-", "-"))
            continue
        date = _date_check(item, match, findings)
        title = "ok"
        if match.title != item.title:
            title = "differs"
            findings.append(
                Finding(
                    "error",
                    item.guid,
                    item.title,
                    "title",
                    f"ours is {match.title!r}, the old feed's {item.title!r}",
                    "set title: in the episode's index.md back to the old title and publish",
                )
            )
        rows.append(Row(item.guid, item.title, True, True, date, title, _enclosure_check(match, probes, findings)))
    for item in ours.items:
        if item.guid and item.guid not in seen:
            seen.add(item.guid)
            findings.append(
                Finding(
                    "warning",
                    item.guid,
                    item.title,
                    "extra",
                    "in ours, not in the old feed: subscribers get it as a new episode",
                    "fine if you added it on purpose; otherwise withdraw it or fix its guid",
                )
            )
            rows.append(Row(item.guid, item.title, False, True, "-", "-", _enclosure_check(item, probes, findings)))
    findings += _channel_checks(old, ours, our_url)
    if old.next_url:
        findings.append(
            Finding(
                "warning",
                "channel",
                old.title,
                "paging",
                f"the old feed is paged (RFC 5005; next page {old.next_url}): only its first document was compared, "
                "and `mediafeed import` reads only that one too",
                "import and check each page's URL as well, so the older episodes come across",
            )
        )
    if ours.pages > 1 and old.next_url is None:
        findings.append(
            Finding(
                "warning",
                "channel",
                ours.title,
                "paging",
                f"our feed is paged ({ours.pages} documents, RFC 5005) and the old one is not: apps that do not "
                "follow the pages see only the first page's episodes",
                "remove page_size: from the feed's definition for the move (the items of every page were checked)",
            )
        )
    counts = {"old_items": len(old.items), "our_items": len(ours.items), "enclosures_probed": len(probes)}
    return MigrationReport(old_source, ours_source, our_url, tuple(rows), tuple(findings), counts)


def _date_check(old: Item, ours: Item, findings: list[Finding]) -> str:
    if old.published is not None and ours.published is not None:
        if old.published == ours.published:  # the same instant, whatever the offsets
            return "ok"
        findings.append(
            Finding(
                "error",
                old.guid or "-",
                old.title,
                "date",
                f"ours is {ours.pub_date!r}, the old feed's {old.pub_date!r}: apps re-sort the episode",
                f"set published: {old.published.isoformat()} in the episode's index.md and publish",
            )
        )
        return "differs"
    if old.pub_date == ours.pub_date:
        return "ok"
    which = "ours" if ours.published is None else "the old feed's"
    findings.append(
        Finding(
            "error",
            old.guid or "-",
            old.title,
            "date",
            f"{which} pubDate is not an RFC 822 date with an offset (ours {ours.pub_date!r}, old {old.pub_date!r})",
            "set published: in the episode's index.md",
        )
    )
    return "differs"


def _enclosure_check(item: Item, probes: dict[str, EnclosureProbe], findings: list[Finding]) -> str:
    guid = item.guid or "-"
    if not item.enclosure_url:
        findings.append(
            Finding(
                "error",
                guid,
                item.title,
                "enclosure",
                "our item has no enclosure",
                "give the episode its media file (media: in index.md) and publish",
            )
        )
        return "none"
    probe = probes.get(item.enclosure_url)
    if probe is None:
        return "-"
    fix = "publish again (`mediafeed publish --verify` repairs missing objects) and check the target's public URL"
    if probe.error or probe.status not in (200, 206):
        why = probe.error or f"HTTP {probe.status}"
        findings.append(Finding("error", guid, item.title, "enclosure", f"{item.enclosure_url} is not reachable ({why})", fix))
        return "failed"
    if item.enclosure_length is not None and probe.size is not None and probe.size != item.enclosure_length:
        findings.append(
            Finding(
                "error",
                guid,
                item.title,
                "enclosure",
                f"{item.enclosure_url}: the host serves {probe.size} bytes, the enclosure's length says {item.enclosure_length}",
                fix,
            )
        )
        return "failed"
    return "ok"


def _channel_checks(old: Feed, ours: Feed, our_url: str) -> list[Finding]:
    findings: list[Finding] = []
    if old.podcast_guid and ours.podcast_guid != old.podcast_guid:
        said = f"ours is {ours.podcast_guid!r}" if ours.podcast_guid else "ours has none"
        findings.append(
            Finding(
                "error",
                "channel",
                old.title,
                "podcast:guid",
                f"the old feed's is {old.podcast_guid!r}, {said}: apps that follow the show by it lose it",
                f"set guid: {old.podcast_guid} in the feed's definition (feeds/<id>.yaml) and publish",
            )
        )
    if old.new_feed_url:
        points = "our feed" if old.new_feed_url == our_url else f"{old.new_feed_url}, not our feed ({our_url})"
        severity = "info" if old.new_feed_url == our_url else "warning"
        findings.append(
            Finding(
                severity,
                "channel",
                old.title,
                "new-feed-url",
                f"the old feed's itunes:new-feed-url points at {points}",
                "" if severity == "info" else f"set it to {our_url} at the old host",
            )
        )
    else:
        findings.append(
            Finding(
                "info",
                "channel",
                old.title,
                "new-feed-url",
                "the old feed has no itunes:new-feed-url yet",
                f"once this check passes, set it to {our_url} at the old host and redirect the old URL (301)",
            )
        )
    if ours.new_feed_url:
        findings.append(
            Finding(
                "warning",
                "channel",
                ours.title,
                "new-feed-url",
                f"our feed carries itunes:new-feed-url {ours.new_feed_url}: apps leave it for that address",
                "remove new_feed_url: from the feed's definition unless the show is moving on again",
            )
        )
    return findings
