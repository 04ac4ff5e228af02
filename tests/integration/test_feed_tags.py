"""Podcasting 2.0 and iTunes elements of the published sample feeds, checked against each tag's spec rules."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from mediafeed.catalog.chapters import timestamps_html
from mediafeed.catalog.transcripts import parse_cues
from mediafeed.feeds.rss import FeedItem, render_feed_pages
from mediafeed.media.ffmpeg import probe
from mediafeed.mediainfo import MediaInfo
from mediafeed.models import Asset, Episode, Feed, Owner

NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "podcast": "https://podcastindex.org/namespace/1.0",
      "atom": "http://www.w3.org/2005/Atom", "content": "http://purl.org/rss/1.0/modules/content/"}  # fmt: skip
BASE = "http://127.0.0.1:8000/"


@pytest.fixture
def published(sample_project: Path, mediafeed) -> Path:
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    return sample_project


def feed(project: Path, name: str) -> etree._Element:
    return etree.parse(str(project / "public" / "feeds" / f"{name}.xml")).getroot()


def local(project: Path, url: str) -> Path:
    assert url.startswith(BASE), url
    path = project / "public" / url[len(BASE) :]
    assert path.is_file(), url
    return path


def test_channel_podcast_elements(published: Path) -> None:
    channel = feed(published, "podcast").find("channel")
    assert channel is not None
    uuid.UUID(channel.findtext("podcast:guid", namespaces=NS))
    locked = channel.find("podcast:locked", NS)
    assert locked is not None and locked.text in ("yes", "no") and locked.get("owner") == "podcast@example.org"
    assert channel.findtext("podcast:medium", namespaces=NS) == "podcast"
    funding = channel.find("podcast:funding", NS)
    assert funding is not None and funding.get("url", "").startswith("https://") and 0 < len(funding.text or "") <= 128
    txt = channel.find("podcast:txt", NS)
    assert txt is not None and txt.get("purpose") == "applepodcastsverify" and len(txt.text or "") <= 4000
    frequency = channel.find("podcast:updateFrequency", NS)
    assert frequency is not None and re.match(r"^FREQ=[A-Z]+(;[A-Z]+=[^;]+)*$", frequency.get("rrule", ""))
    (trailer,) = channel.findall("podcast:trailer", NS)
    assert parsedate_to_datetime(trailer.get("pubdate", "")).tzinfo is not None  # RFC 2822
    assert int(trailer.get("length", "0")) == local(published, trailer.get("url", "")).stat().st_size
    assert trailer.get("type") == "audio/mpeg" and trailer.get("season") == "1" and 0 < len(trailer.text or "") <= 128
    person = channel.find("podcast:person", NS)
    assert person is not None and person.get("role") == "host" and person.text == "Dr. Maya Okafor"


def test_item_transcripts_are_published_in_both_formats(published: Path) -> None:
    (item,) = [i for i in feed(published, "podcast").iter("item") if i.findtext("title") == "Lithium Levels in Practice"]
    transcripts = {t.get("type"): t for t in item.findall("podcast:transcript", NS)}
    assert set(transcripts) == {"text/vtt", "application/x-subrip"}
    source = parse_cues((published / "episodes" / "lithium-levels-in-practice" / "transcript.vtt").read_text())
    for kind, element in transcripts.items():
        assert element.get("language") == "en-us"
        text = local(published, element.get("url", "")).read_text()
        assert text.startswith("WEBVTT") == (kind == "text/vtt")
        assert [(c.start, c.text) for c in parse_cues(text)] == [(c.start, c.text) for c in source]
    assert transcripts["text/vtt"].get("rel") == "captions"


def test_item_chapters_json_matches_the_front_matter(published: Path) -> None:
    from mediafeed.catalog.load import load_catalog

    _, catalog = load_catalog(published)
    for episode in (e for e in catalog.episodes if e.chapters and e.published < datetime(2026, 11, 25, tzinfo=UTC)):
        for name in (f.id for f in catalog.feeds if f.selects(episode)):
            (item,) = [i for i in feed(published, name).iter("item") if i.findtext("guid") == episode.guid]
            element = item.find("podcast:chapters", NS)
            assert element is not None and element.get("type") == "application/json+chapters"
            document = json.loads(local(published, element.get("url", "")).read_text())
            assert document["version"] == "1.2.0"
            assert [(c["startTime"], c["title"]) for c in document["chapters"]] == [(c.start, c.title) for c in episode.chapters]
            assert all(isinstance(c["startTime"], int | float) for c in document["chapters"])
            description = item.findtext("description") or ""
            if len(episode.chapters) >= 3:
                assert description.startswith(timestamps_html(episode.chapters))  # Spotify reads only these


def test_video_items_offer_the_other_rendition(published: Path) -> None:
    for name, main_type, other_type in (("webinars", "video/mp4", "audio/mpeg"), ("child-psychiatry", "audio/mpeg", "video/mp4")):
        for item in feed(published, name).iter("item"):
            enclosure = item.find("enclosure")
            assert enclosure is not None
            alternates = item.findall("podcast:alternateEnclosure", NS)
            if enclosure.get("type") == "audio/mpeg" and not alternates:
                continue  # an audio-only episode in the topic feed
            by_default = {a.get("default") == "true": a for a in alternates}
            assert by_default[True].get("type") == enclosure.get("type") == main_type
            other = by_default[False]
            assert other.get("type") == other_type
            (source,) = other.findall("podcast:source", NS)
            path = local(published, source.get("uri", ""))
            assert int(other.get("length", "0")) == path.stat().st_size
            info = probe(path)
            assert int(other.get("bitrate", "0")) > 0 and other.get("codecs")
            if info.has_video:
                assert other.get("height") == str(info.height) and other.get("codecs", "").startswith("avc1.")


def test_feed_move_keeps_the_podcast_guid_and_announces_the_new_url(published: Path, mediafeed) -> None:
    before = feed(published, "podcast").findtext("channel/podcast:guid", namespaces=NS)
    toml = published / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('public_url = "http://127.0.0.1:8000"', 'public_url = "http://127.0.0.1:8000/new"'))
    definition = published / "feeds" / "podcast.yaml"
    definition.write_text(definition.read_text() + "new_feed_url: https://media.example.org/feeds/podcast.xml\n")
    assert mediafeed(published, "publish").exit_code == 0
    after = feed(published, "podcast")
    assert after.findtext("channel/podcast:guid", namespaces=NS) == before
    assert after.findtext("channel/itunes:new-feed-url", namespaces=NS) == "https://media.example.org/feeds/podcast.xml"


def test_analytics_prefix_wraps_enclosures_and_never_changes_guids(published: Path, mediafeed) -> None:
    before = {i.findtext("guid"): i.find("enclosure").get("url") for i in feed(published, "podcast").iter("item")}  # type: ignore[union-attr]
    definition = published / "feeds" / "podcast.yaml"
    definition.write_text(definition.read_text() + "enclosure_prefix: https://op3.dev/e/\n")
    assert mediafeed(published, "publish").exit_code == 0
    after = {i.findtext("guid"): i.find("enclosure").get("url") for i in feed(published, "podcast").iter("item")}  # type: ignore[union-attr]
    assert set(after) == set(before)
    for guid, url in after.items():
        assert url == "https://op3.dev/e/" + before[guid].split("://", 1)[1]


def test_show_notes_with_hostile_text_stay_well_formed(published: Path, mediafeed) -> None:
    notes = published / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    text = notes.read_text()
    hostile = "\n\nCDATA end ]]> inside, a \x07bell, AT&T <b>bold</b> &amp; &lt;tag&gt; " + "Long text. " * 800 + "\n"
    notes.write_text(text + hostile)
    assert mediafeed(published, "publish").exit_code == 0
    path = published / "public" / "feeds" / "podcast.xml"
    root = etree.parse(str(path)).getroot()  # well-formed XML
    (item,) = [i for i in root.iter("item") if i.findtext("title") == "Welcome to Northfield Rounds"]
    description = item.findtext("description") or ""
    assert len(description.encode()) <= 4000 and "\x07" not in description
    content = item.findtext("content:encoded", namespaces=NS) or ""
    assert "CDATA end ]]&gt; inside" in content and "AT&amp;T" in content  # escaped by the sanitizer: CDATA stays intact
    assert "<b>bold</b>" in content and "\x07" not in content
    parsed = podcastparser.parse("http://127.0.0.1:8000/feeds/podcast.xml", path.open("rb"))
    assert len(parsed["episodes"]) == 4
    assert not feedparser.parse(path.read_bytes()).bozo


def big_feed() -> Feed:
    """A feed definition paged by 10 (for documents of many items)."""
    return Feed(
        id="big", file="feeds/big.yaml", title="Big", description="d", link="https://www.example.org", language="en",
        author="a", owner=Owner("o", "o@example.org"), image=Path("a.png"), category="Science", subcategory=None,
        explicit=False, type="episodic", medium="audio", page_size=10,
    )  # fmt: skip


def _items(count: int) -> list[FeedItem]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    info = MediaInfo(Path("x.mp3"), 1000, 60.0, "audio/mpeg", "mp3", "mp3", 1, 44100, 64000)
    items = []
    for n in range(count):
        episode = Episode(
            slug=f"e{n:03d}", file="", title=f"Episode {n}", guid=str(uuid.UUID(int=n + 1)), kind="podcast", topics=(),
            published=start + timedelta(days=n), media="", description_html="<p>x</p>", content_html="<p>x</p>",
        )  # fmt: skip
        asset = Asset(f"media/e{n:03d}.mp3", Path("x.mp3"), 1000, "0" * 64, "audio/mpeg")
        items.append(FeedItem(episode, f"https://m.example.org/media/e{n:03d}.mp3", asset, info))
    return items


def test_paging_links_every_page_rfc5005() -> None:
    definition = big_feed()
    pages = render_feed_pages(
        definition, _items(25), feed_url="https://m.example.org/feeds/big.xml", artwork_url="https://m.example.org/a.png",
        guid=str(uuid.uuid4()), url_for=lambda key: f"https://m.example.org/{key}",
    )  # fmt: skip
    assert [p.key for p in pages] == ["feeds/big.xml", "feeds/big-page-2.xml", "feeds/big-page-3.xml"]
    seen: list[str] = []
    for number, page in enumerate(pages, start=1):
        channel = etree.fromstring(page.data).find("channel")
        assert channel is not None
        links = {link.get("rel"): link.get("href") for link in channel.findall("atom:link", NS)}
        assert links["first"] == "https://m.example.org/feeds/big.xml"
        assert links["last"] == "https://m.example.org/feeds/big-page-3.xml"
        assert ("previous" in links) == (number > 1) and ("next" in links) == (number < 3)
        assert links["self"] == f"https://m.example.org/{page.key}"
        seen += [i.findtext("guid") or "" for i in channel.iter("item")]
    assert len(seen) == 25 == len(set(seen))
    assert seen[0] == str(uuid.UUID(int=25))  # newest first across pages
    unpaged = render_feed_pages(
        Feed(**{**definition.__dict__, "page_size": None}), _items(25), feed_url="https://m.example.org/feeds/big.xml",
        artwork_url="https://m.example.org/a.png", guid=str(uuid.uuid4()), url_for=lambda key: key,
    )  # fmt: skip
    assert len(unpaged) == 1 and unpaged[0].data.count(b"<item>") == 25  # off by default: every episode in one feed


def test_an_imported_guid_is_published_exactly_as_written(sample_project: Path, mediafeed) -> None:
    """An episode brought from another host keeps the GUID text (and isPermaLink) its subscribers' apps know."""
    index = sample_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    text = index.read_text()
    old = re.search(r"(?m)^guid: .*$", text)
    assert old is not None
    imported = "https://old-host.example/?p=12&amp=Ä"
    index.write_text(text.replace(old.group(0), f'guid: "  {imported} "\nguid_permalink: true'))
    assert mediafeed(sample_project, "publish").exit_code == 0
    items = {i.findtext("title"): i for i in feed(sample_project, "podcast").iter("item")}
    item = items["Welcome to Northfield Rounds"]
    guid = item.find("guid")
    assert guid is not None and guid.text == imported and guid.get("isPermaLink") == "true"
    others = [i.find("guid") for t, i in items.items() if t != "Welcome to Northfield Rounds"]
    assert others and all(g is not None and g.get("isPermaLink") == "false" for g in others)
    raw = (sample_project / "public" / "feeds" / "podcast.xml").read_bytes()
    assert imported in {e.id for e in feedparser.parse(raw).entries}
    parsed = podcastparser.parse("http://127.0.0.1:8000/feeds/podcast.xml", io.BytesIO(raw))
    assert imported in {e["guid"] for e in parsed["episodes"]}
