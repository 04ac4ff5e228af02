"""End to end: publish the sample catalog and read the result the way podcast apps do."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from mediafeed.catalog.load import load_catalog
from mediafeed.media.ffmpeg import probe
from mediafeed.publish.storage import MANIFEST_KEY

NOW = datetime(2026, 11, 25, tzinfo=UTC)
NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "podcast": "https://podcastindex.org/namespace/1.0",
      "atom": "http://www.w3.org/2005/Atom", "content": "http://purl.org/rss/1.0/modules/content/"}  # fmt: skip


@pytest.fixture
def published(sample_project: Path, mediafeed) -> Path:
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    return sample_project


def local_path(project: Path, url: str) -> Path:
    prefix = "http://127.0.0.1:8000/"
    assert url.startswith(prefix), url
    return project / "public" / url[len(prefix) :]


def feed_files(project: Path) -> list[Path]:
    return sorted((project / "public" / "feeds").glob("*.xml"))


def test_every_released_episode_is_in_its_feeds_with_exact_enclosures(published: Path) -> None:
    _, catalog = load_catalog(published)
    assert len(feed_files(published)) == len(catalog.feeds) >= 3
    for feed in catalog.feeds:
        path = published / "public" / "feeds" / f"{feed.id}.xml"
        url = f"http://127.0.0.1:8000/feeds/{feed.id}.xml"
        parsed = podcastparser.parse(url, path.open("rb"))
        expected = [e for e in catalog.episodes_for(feed) if e.is_released(NOW)]
        # podcastparser shows serial shows oldest first; the XML itself is newest first (checked by XPath below)
        items = sorted(parsed["episodes"], key=lambda item: item["published"], reverse=True)
        assert [e["guid"] for e in items] == [e.guid for e in expected], feed.id
        xml_order = etree.parse(str(path)).xpath("//item/guid/text()")
        assert xml_order == [e.guid for e in expected]
        for item, episode in zip(items, expected, strict=True):
            assert item["title"] == episode.title
            assert item["published"] == int(episode.published.timestamp())
            (enclosure,) = item["enclosures"]
            media = local_path(published, enclosure["url"])
            assert media.is_file(), enclosure["url"]
            assert enclosure["file_size"] == media.stat().st_size
            info = probe(media)
            assert abs(item["total_time"] - info.duration) <= 1
            assert enclosure["mime_type"] == info.mime_type
            if feed.medium == "audio":
                assert info.mime_type.startswith("audio/"), "audio feeds carry audio renditions of videos"
            if episode.articles:
                assert item["link"] == episode.articles[0].url
                for article in episode.articles:
                    assert article.url in item["description_html"]


def test_scheduled_episode_is_held_back_everywhere(published: Path) -> None:
    _, catalog = load_catalog(published)
    scheduled = [e for e in catalog.episodes if not e.is_released(NOW)]
    assert scheduled, "the sample catalog has an episode scheduled in the future"
    everything = b"".join(p.read_bytes() for p in (published / "public").rglob("*") if p.suffix in (".xml", ".json", ".opml"))
    for episode in scheduled:
        assert episode.guid.encode() not in everything
        assert episode.slug.encode() not in everything


def test_feedparser_reads_feeds_without_complaint(published: Path) -> None:
    for path in feed_files(published):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path.name, parsed.get("bozo_exception"))
        assert parsed.version == "rss20"
        assert parsed.feed.title
        for entry in parsed.entries:
            assert entry.enclosures and int(entry.enclosures[0]["length"]) > 0
            assert entry.published_parsed is not None


def test_channel_and_item_elements_apple_requires(published: Path) -> None:
    _, catalog = load_catalog(published)
    for feed in catalog.feeds:
        tree = etree.parse(str(published / "public" / "feeds" / f"{feed.id}.xml"))
        channel = tree.find("channel")
        assert channel is not None

        def one(xpath: str, node: etree._Element = channel, feed_id: str = feed.id) -> str:
            found = node.xpath(xpath, namespaces=NS)
            assert len(found) == 1, (feed_id, xpath, found)
            value = found[0]
            return value if isinstance(value, str) else (value.text or "")

        assert one("link/text()") == feed.link
        assert one("atom:link[@rel='self']/@href") == f"http://127.0.0.1:8000/feeds/{feed.id}.xml"
        assert one("language/text()") == feed.language
        assert one("itunes:explicit/text()") in ("true", "false")
        assert one("itunes:author/text()") == feed.author
        assert one("itunes:owner/itunes:email/text()") == feed.owner.email
        assert one("itunes:owner/itunes:name/text()") == feed.owner.name
        assert one("itunes:type/text()") == feed.type
        assert one("itunes:category/@text") == feed.category
        assert local_path(published, one("itunes:image/@href")).is_file()
        assert one("podcast:medium/text()") == ("video" if feed.medium == "video" else "podcast")
        assert len(one("podcast:guid/text()")) == 36
        for item in channel.findall("item"):
            assert one("guid/@isPermaLink", item) == "false"
            assert one("itunes:duration/text()", item).isdigit()
            assert one("itunes:explicit/text()", item) in ("true", "false")
            assert one("itunes:episodeType/text()", item) in ("full", "trailer", "bonus")
            parsedate_to_datetime(one("pubDate/text()", item))  # RFC 2822
            description = item.find("description")
            assert description is not None and "<script" not in (description.text or "")
            assert item.xpath("content:encoded", namespaces=NS)


def test_second_publish_writes_nothing_and_runs_no_ffmpeg(published: Path, mediafeed, monkeypatch) -> None:
    from mediafeed.media import ffmpeg

    calls: list[str] = []
    real_run = ffmpeg.run
    monkeypatch.setattr(ffmpeg, "run", lambda tool, args, *, subject: calls.append(tool) or real_run(tool, args, subject=subject))
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (published / "public").rglob("*") if p.is_file()}
    result = mediafeed(published, "publish", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["uploads"] == [] and report["manifest_changed"] is False
    assert report["unchanged"] > 0
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (published / "public").rglob("*") if p.is_file()}
    assert after == before
    assert calls == [], "unchanged sources are neither probed nor encoded again"


def test_editing_one_episode_rewrites_only_its_feeds(published: Path, mediafeed) -> None:
    notes = published / "episodes" / "lithium-levels-in-practice" / "index.md"
    notes.write_text(notes.read_text().replace("with a\nprintable table", "with a\nprintable chart"))
    report = json.loads(mediafeed(published, "publish", "--json").stdout)
    # show notes live in the feed only (the media's tags carry the front matter's summary): no media re-upload
    # ... and on the episode's own web page (the show pages list titles and dates, not notes)
    assert sorted(w["key"] for w in report["uploads"]) == ["episodes/lithium-levels-in-practice.html", "feeds/podcast.xml"]
    assert report["manifest_changed"] is True


def test_feeds_are_byte_identical_for_the_same_catalog_and_now(sample_project: Path, mediafeed, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(sample_project, twin)
    assert mediafeed(sample_project, "publish").exit_code == 0
    assert mediafeed(twin, "publish").exit_code == 0
    for path in feed_files(sample_project):
        assert path.read_bytes() == (twin / "public" / "feeds" / path.name).read_bytes(), path.name
    for name in ("feeds.opml", "related.json", MANIFEST_KEY):
        assert (sample_project / "public" / name).read_bytes() == (twin / "public" / name).read_bytes(), name


def test_episode_enters_the_feed_exactly_at_its_release_time(sample_project: Path, mediafeed) -> None:
    _, catalog = load_catalog(sample_project)
    (scheduled,) = [e for e in catalog.episodes if not e.is_released(NOW)]
    release = scheduled.published.strftime("%Y-%m-%dT%H:%M:%SZ")
    just_before = scheduled.published.replace(second=0).timestamp() - 1
    before = datetime.fromtimestamp(just_before, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert mediafeed(sample_project, "publish", now=before).exit_code == 0
    feed = sample_project / "public" / "feeds" / "podcast.xml"
    assert scheduled.guid not in feed.read_text()
    assert mediafeed(sample_project, "publish", now=release).exit_code == 0
    assert scheduled.guid in feed.read_text()


def test_related_json_and_opml_index_the_feeds(published: Path) -> None:
    _, catalog = load_catalog(published)
    related = json.loads((published / "public" / "related.json").read_text())
    by_url = {a["url"]: a for a in related["articles"]}
    for episode in (e for e in catalog.episodes if e.is_released(NOW)):
        for article in episode.articles:
            entries = by_url[article.url]["episodes"]
            (entry,) = [x for x in entries if x["guid"] == episode.guid]
            assert local_path(published, entry["media_url"]).is_file()
            assert {f["id"] for f in entry["feeds"]} == {f.id for f in catalog.feeds if f.selects(episode)}
    shared = [a for a in related["articles"] if len(a["episodes"]) > 1]
    assert shared, "the sample catalog has articles discussed by more than one episode"
    opml = etree.parse(str(published / "public" / "feeds.opml"))
    urls = opml.xpath("//outline/@xmlUrl")
    assert sorted(urls) == sorted(f"http://127.0.0.1:8000/feeds/{f.id}.xml" for f in catalog.feeds)
