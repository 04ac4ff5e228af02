"""feeds/migration.py, the pure comparison behind `mediafeed import --check`: documents in, findings out."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediafeed.config import Target
from mediafeed.errors import MediafeedError
from mediafeed.feeds.migration import EnclosureProbe, FeedUnreadable, MigrationReport, compare, parse_feed
from mediafeed.publish.migration import our_feed

OURS_URL = "https://media.example.org/feeds/show.xml"


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        f'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Show</title>{channel}{items}'
        "</channel></rss>"
    ).encode()


def item(guid: str | None, title: str, date: str, url: str = "https://m.example/a.mp3", length: int = 10) -> str:
    guid_el = f"<guid>{guid}</guid>" if guid is not None else ""
    return (
        f"<item><title>{title}</title>{guid_el}<pubDate>{date}</pubDate>"
        f'<enclosure url="{url}" length="{length}" type="audio/mpeg"/></item>'
    )


def run(old: bytes, ours: bytes, probes: dict[str, EnclosureProbe] | None = None) -> MigrationReport:
    mine = parse_feed(ours, "ours")
    if probes is None:
        probes = {
            i.enclosure_url: EnclosureProbe(i.enclosure_url, 206, i.enclosure_length) for i in mine.items if i.enclosure_url
        }
    return compare(parse_feed(old, "old"), mine, probes, old_source="old", ours_source="ours", our_url=OURS_URL)


def checks(report: MigrationReport) -> list[tuple[str, str, str]]:
    return [(f.severity, f.guid, f.check) for f in report.findings if f.check != "new-feed-url"]


def test_the_same_instant_in_another_offset_and_collapsed_whitespace_pass() -> None:
    old = rss(item("a", "  The   Title ", "Tue, 05 Mar 2024 07:30:15 +0100"))
    ours = rss(item("a", "The Title", "Tue, 05 Mar 2024 06:30:15 +0000"))
    report = run(old, ours)
    assert report.ok and checks(report) == []
    assert [(r.guid, r.date, r.title_check, r.enclosure) for r in report.rows] == [("a", "ok", "ok", "ok")]


def test_each_difference_is_reported_by_item() -> None:
    old = rss(
        item("same", "Same", "Mon, 01 Jan 2024 10:00:00 +0000")
        + item("dated", "Dated", "Mon, 01 Jan 2024 10:00:00 +0000")
        + item("renamed", "Old name", "Mon, 01 Jan 2024 10:00:00 +0000")
        + item("gone", "Gone", "Mon, 01 Jan 2024 10:00:00 +0000")
        + item(None, "No guid", "Mon, 01 Jan 2024 10:00:00 +0000")
    )
    ours = rss(
        item("same", "Same", "Mon, 01 Jan 2024 10:00:00 +0000", url="https://m.example/same.mp3")
        + item("dated", "Dated", "Mon, 01 Jan 2024 11:00:00 +0000", url="https://m.example/dated.mp3")
        + item("renamed", "New name", "Mon, 01 Jan 2024 10:00:00 +0000", url="https://m.example/renamed.mp3")
        + item("new", "New", "Mon, 01 Jan 2024 10:00:00 +0000", url="https://m.example/new.mp3")
    )
    probes = {
        "https://m.example/same.mp3": EnclosureProbe("https://m.example/same.mp3", 200, 10),
        "https://m.example/dated.mp3": EnclosureProbe("https://m.example/dated.mp3", 206, 9),  # another size
        "https://m.example/renamed.mp3": EnclosureProbe("https://m.example/renamed.mp3", 404, None),
        "https://m.example/new.mp3": EnclosureProbe("https://m.example/new.mp3", 0, None, "cannot connect: refused"),
    }
    report = run(old, ours, probes)
    assert not report.ok
    assert checks(report) == [
        ("error", "dated", "date"),
        ("error", "dated", "enclosure"),
        ("error", "renamed", "title"),
        ("error", "renamed", "enclosure"),
        ("error", "gone", "missing"),
        ("warning", "-", "no-guid"),
        ("warning", "new", "extra"),
        ("error", "new", "enclosure"),
    ]
    rows = {r.guid: (r.in_old, r.in_ours, r.date, r.title_check, r.enclosure) for r in report.rows}
    assert rows == {
        "same": (True, True, "ok", "ok", "ok"),
        "dated": (True, True, "differs", "ok", "failed"),
        "renamed": (True, True, "ok", "differs", "failed"),
        "gone": (True, False, "-", "-", "-"),
        "new": (False, True, "-", "-", "failed"),
    }
    by = {(f.guid, f.check): f for f in report.findings}
    assert "2024-01-01T10:00:00+00:00" in by["dated", "date"].hint
    assert "serves 9 bytes" in by["dated", "enclosure"].message and "says 10" in by["dated", "enclosure"].message
    assert "not a UUID" in by["gone", "missing"].hint
    assert "HTTP 404" in by["renamed", "enclosure"].message and "refused" in by["new", "enclosure"].message
    assert by["renamed", "title"].line().startswith("error: renamed \"Old name\": title: ours is 'New name'")


def test_dates_that_are_not_rfc_822_are_compared_as_written() -> None:
    assert run(rss(item("a", "A", "yesterday")), rss(item("a", "A", "yesterday"))).ok
    report = run(rss(item("a", "A", "yesterday")), rss(item("a", "A", "Mon, 01 Jan 2024 10:00:00 +0000")))
    assert checks(report) == [("error", "a", "date")] and "not an RFC 822 date" in report.findings[0].message


def test_channel_guid_and_new_feed_url() -> None:
    guid = "<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>"
    one = item("a", "A", "Mon, 01 Jan 2024 10:00:00 +0000")
    kept = run(rss(one, guid), rss(one, guid))
    assert kept.ok and [(f.severity, f.check) for f in kept.findings] == [("info", "new-feed-url")]
    assert OURS_URL in kept.findings[0].hint
    lost = run(rss(one, guid), rss(one))
    assert [(f.severity, f.check) for f in lost.errors] == [("error", "podcast:guid")] and "ours has none" in lost.errors[
        0
    ].message
    elsewhere = run(rss(one, "<itunes:new-feed-url>https://else.example/f.xml</itunes:new-feed-url>"), rss(one))
    assert [(f.severity, f.check) for f in elsewhere.findings] == [("warning", "new-feed-url")]
    to_us = run(rss(one, f"<itunes:new-feed-url>{OURS_URL}</itunes:new-feed-url>"), rss(one))
    assert to_us.findings[0].message.endswith("points at our feed")
    leaving = run(rss(one), rss(one, "<itunes:new-feed-url>https://else.example/f.xml</itunes:new-feed-url>"))
    assert ("warning", "new-feed-url") in [(f.severity, f.check) for f in leaving.findings] and leaving.ok


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "x">]><rss><channel/></rss>', "entities"),
        (b"<html><body/></html>", "not an RSS feed"),
        (b"not xml <", "not well-formed"),
    ],
)
def test_unreadable_documents(document: bytes, words: str) -> None:
    with pytest.raises(FeedUnreadable, match=words):
        parse_feed(document, "old.xml")


def test_a_paged_feed_of_ours_is_read_page_by_page_and_noted(tmp_path: Path) -> None:
    first = item("a", "A", "Mon, 01 Jan 2024 10:00:00 +0000", url="https://m.example/a.mp3")
    second = item("b", "B", "Sun, 31 Dec 2023 10:00:00 +0000", url="https://m.example/b.mp3")
    (tmp_path / "feeds").mkdir()
    link = '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="next" href="https://cdn.example/feeds/show-page-2.xml"/>'
    (tmp_path / "feeds" / "show.xml").write_bytes(rss(first, link))
    (tmp_path / "feeds" / "show-page-2.xml").write_bytes(rss(second))
    target = Target("local", "local", "https://cdn.example", path=tmp_path)
    ours, where, url = our_feed(target, "show")
    assert [i.guid for i in ours.items] == ["a", "b"] and ours.pages == 2
    assert url == "https://cdn.example/feeds/show.xml" and str(tmp_path / "feeds" / "show.xml") in where
    probes = {i.enclosure_url: EnclosureProbe(i.enclosure_url, 200, 10) for i in ours.items if i.enclosure_url}
    report = compare(parse_feed(rss(first + second), "old"), ours, probes, old_source="old", ours_source=where, our_url=url)
    assert report.ok and [(f.severity, f.check) for f in report.warnings] == [("warning", "paging")]
    (tmp_path / "feeds" / "show-page-2.xml").unlink()
    with pytest.raises(MediafeedError, match=r"its page feeds/show-page-2\.xml is missing"):
        our_feed(target, "show")


def test_a_paged_old_feed_is_a_warning() -> None:
    one = item("a", "A", "Mon, 01 Jan 2024 10:00:00 +0000")
    link = '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="next" href="https://old.example/feed?page=2"/>'
    report = run(rss(one, link), rss(one))
    assert report.ok and [(f.check, f.message.split(";")[0]) for f in report.warnings] == [
        ("paging", "the old feed is paged (RFC 5005")
    ]


@pytest.mark.parametrize("host", ["acast", "art19", "sovereign-feeds", "simplecast"])
def test_old_feeds_are_read_as_import_reads_them(host: str) -> None:
    """A blank line before the declaration (Acast), "-0000" dates (ART19), the early Podcasting 2.0 namespace: the
    check reads the old feed as `import` does, so every item it imported is dated and compared."""
    data = (Path(__file__).parent.parent / "integration" / "import_feeds" / "hosts" / f"{host}.xml").read_bytes()
    old = parse_feed(data, host)
    assert old.items and all(item.published is not None for item in old.items)
