"""`mediafeed import`: a podcast feed served with its media from a local HTTP server (127.0.0.1, a random port)
becomes a catalog that passes `check`, keeps GUIDs, dates and titles, and changes nothing when run again; unsafe and
non-podcast documents are refused with nothing written; a failed download leaves the other episodes intact."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import yaml
from lxml import etree
from PIL import Image

from tests.conftest import Invoke

FEEDS = Path(__file__).parent / "import_feeds"


RANGES: list[str] = []  # every Range header the server was sent
CUT_ONCE: set[str] = set()  # paths whose next GET sends half the bytes and hangs up


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, quietly, with `Range: bytes=N-` answered 206 (what a resumed download asks)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/to-localhost/"):  # a redirect to another name of this server
            self.send_response(302)
            port = self.server.server_address[1]
            self.send_header("Location", f"http://localhost:{port}{self.path.removeprefix('/to-localhost')}")
            self.end_headers()
            return
        if self.path.startswith("/moved/"):
            self.send_response(301)
            self.send_header("Location", self.path.removeprefix("/moved"))
            self.end_headers()
            return
        wanted = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if self.path in CUT_ONCE:
            CUT_ONCE.discard(self.path)
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        if not wanted.startswith("bytes=") or not path.is_file():
            super().do_GET()
            return
        RANGES.append(wanted)
        data = path.read_bytes()
        start = int(wanted.removeprefix("bytes=").split("-")[0])
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def served(tmp_path: Path, make_tone: Callable[..., Path]) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    make_tone(root / "media" / "keepers-log.mp3", seconds=3.0)
    make_tone(root / "media" / "welcome.mp3", seconds=2.0)
    (root / "art").mkdir()
    Image.new("RGB", (1400, 1400), (20, 60, 120)).save(root / "art" / "show.png")
    Image.new("RGB", (600, 600), (120, 60, 20)).save(root / "art" / "keeper.png")  # too small: a fixed copy is made
    (root / "extras").mkdir()
    chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Log"}, {"startTime": 1.5, "title": "Storm"}]}
    (root / "extras" / "keeper-chapters.json").write_text(json.dumps(chapters))
    (root / "extras" / "keeper.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nThe log begins.\n")
    (root / "extras" / "keeper.srt").write_text("1\n00:00:00,000 --> 00:00:02,000\nThe log begins.\n")
    yield from old_host(root, "full.xml")


def old_host(root: Path, feed: str) -> Iterator[tuple[str, Path]]:
    """Serve `root` on 127.0.0.1 as the old host, with import_feeds/<feed> as its feed.xml ({base}, {len1} and {len2}
    filled in with its address and the sizes of media/keepers-log.mp3 and media/welcome.mp3): (base URL, root)."""
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    text = (FEEDS / feed).read_text(encoding="utf-8").replace("{base}", base)
    text = text.replace("{len1}", str((root / "media" / "keepers-log.mp3").stat().st_size))
    text = text.replace("{len2}", str((root / "media" / "welcome.mp3").stat().st_size))
    (root / "feed.xml").write_text(text, encoding="utf-8")
    try:
        yield base, root
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def project(tmp_path: Path, mediafeed: Invoke) -> Path:
    folder = tmp_path / "show"
    result = mediafeed(tmp_path, "init", str(folder), "--title", "Harbour")
    assert result.exit_code == 0, result.output
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "build" not in p.relative_to(folder).parts
    }


def front(path: Path) -> dict[str, object]:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def test_import_makes_a_catalog_that_passes_check(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "feeds/harbour.yaml" in report["written"]
    assert sorted(report["downloaded"]) == [
        "artwork/harbour.png",
        "episodes/the-keeper-s-log/chapters.json",
        "episodes/the-keeper-s-log/cover.png",
        "episodes/the-keeper-s-log/keepers-log.mp3",
        "episodes/the-keeper-s-log/transcript.vtt",  # WebVTT preferred over SubRip
        "episodes/welcome-to-harbour-lights/welcome.mp3",
    ]
    not_carried = {(n["where"], n["field"]) for n in report["not_carried"]}
    # init's own podcast feed takes every podcast episode: said, with the way out
    other = next(n for n in report["not_carried"] if n["field"] == "select")
    assert "feeds/podcast.yaml selects every podcast episode too" in other["message"] and "--kind" in other["hint"]
    assert ("channel", "{http://www.google.com/schemas/play-podcasts/1.0}block") in not_carried
    assert ("channel", "category") in not_carried  # the second category
    assert ("the-keeper-s-log", "podcast:transcript") in not_carried  # the SubRip and HTML ones
    assert ("the-keeper-s-log", "{https://podcastindex.org/namespace/1.0}soundbite") in not_carried

    check = mediafeed(project, "check")
    assert check.exit_code == 0, check.output

    source = etree.parse(str(root / "feed.xml")).getroot().find("channel")
    for item in source.findall("item"):
        title = item.findtext("title")
        slug = "the-keeper-s-log" if title.startswith("The") else "welcome-to-harbour-lights"
        episode = front(project / "episodes" / slug / "index.md")
        assert episode["title"] == title
        assert episode["guid"] == item.findtext("guid")
        published = episode["published"]
        published = published if isinstance(published, datetime) else datetime.fromisoformat(str(published))
        original = parsedate_to_datetime(item.findtext("pubDate"))
        assert published == original and published.utcoffset() == original.utcoffset()
        media = project / "episodes" / slug / str(episode["media"])
        assert media.read_bytes() == (root / "media" / media.name).read_bytes()
    keeper = (project / "episodes" / "the-keeper-s-log" / "index.md").read_text()
    assert "**keeper's log**" in keeper and "alert" not in keeper and "- Storms" in keeper
    welcome = front(project / "episodes" / "welcome-to-harbour-lights" / "index.md")
    assert welcome["episode_type"] == "trailer"
    assert welcome["chapters"] == [
        {"start": "00:00:00", "title": "Hello"},
        {"start": "00:00:01.500", "title": "The coast", "url": "https://harbour.example.net/coast"},
    ]  # Podlove Simple Chapters
    log = front(project / "episodes" / "the-keeper-s-log" / "index.md")
    assert log["image"] == "cover.png" and log["chapters"] == "chapters.json" and log["transcript"] == "transcript.vtt"
    assert log["summary"] == "The 1891 log, read aloud." and log["keywords"] == ["lighthouse", "history", "storms"]
    assert log["persons"] == [{"name": "Tom Reed", "role": "guest", "img": "https://harbour.example.net/img/tom.jpg"}]
    assert log["articles"] == [{"title": "The log", "url": "https://harbour.example.net/log"}]
    assert (project / "episodes" / "the-keeper-s-log" / "chapters.json").read_bytes() == (
        root / "extras" / "keeper-chapters.json"
    ).read_bytes()
    feed = yaml.safe_load((project / "feeds" / "harbour.yaml").read_text())
    assert feed["title"] == "Harbour Lights Radio" and feed["guid"] == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert feed["owner"] == {"name": "Ada Lane", "email": "ada@harbour.example.net"}
    assert feed["locked"] is True and feed["category"] == "History"
    assert feed["persons"] == [{"name": "Ada Lane", "role": "host", "href": "https://harbour.example.net/ada"}]
    assert feed["funding"] == [{"url": "https://harbour.example.net/support", "text": "Keep the lights on"}]

    # Published, the feed carries the source's GUIDs, dates, titles, numbers and enclosure bytes, item by item.
    publish = mediafeed(project, "publish")
    assert publish.exit_code == 0, publish.output
    ours = etree.parse(str(project / "public" / "feeds" / "harbour.xml")).getroot().find("channel")
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    theirs = {i.findtext("guid"): i for i in source.findall("item")}
    assert {i.findtext("guid") for i in ours.findall("item")} == set(theirs)
    for item in ours.findall("item"):
        original_item = theirs[item.findtext("guid")]
        assert item.findtext("title") == original_item.findtext("title")
        assert parsedate_to_datetime(item.findtext("pubDate")) == parsedate_to_datetime(original_item.findtext("pubDate"))
        for tag in ("season", "episode", "episodeType"):
            assert item.findtext(itunes + tag) == original_item.findtext(itunes + tag)
    shutil.rmtree(project / "public")

    # Re-import: nothing changes, not even a modification time.
    before = snapshot(project)
    again = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["written"] == [] and json.loads(again.stdout)["downloaded"] == []
    assert snapshot(project) == before

    # Notes changed upstream: an episode nobody edited here is updated.
    feed_xml = root / "feed.xml"
    feed_xml.write_text(feed_xml.read_text().replace("from 1891.", "from 1891 (revised)."))
    updated = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert json.loads(updated.stdout)["written"] == ["episodes/the-keeper-s-log/index.md"]
    index = project / "episodes" / "the-keeper-s-log" / "index.md"
    assert "from 1891 (revised)." in index.read_text()

    # A producer's edit is kept, and reported, even when the notes change upstream again.
    edited = index.read_text().replace("from 1891", "from 1891, with corrections")
    index.write_text(edited)
    feed_xml.write_text(feed_xml.read_text().replace("(revised)", "(revised twice)"))
    third = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert json.loads(third.stdout)["kept"] == ["episodes/the-keeper-s-log/index.md"]
    assert json.loads(third.stdout)["written"] == []
    assert index.read_text() == edited


def test_a_failed_download_leaves_the_others(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    (root / "media" / "welcome.mp3").unlink()  # the host answers 404
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == ["episodes/welcome-to-harbour-lights/welcome.mp3"]
    assert any("HTTP 404" in n["message"] for n in report["not_carried"])
    assert (project / "episodes" / "the-keeper-s-log" / "keepers-log.mp3").is_file()
    assert not (project / "episodes" / "welcome-to-harbour-lights" / "welcome.mp3").exists()
    assert (project / "episodes" / "welcome-to-harbour-lights" / "index.md").is_file()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>
<rss version="2.0"><channel><title>&c;</title><item><title>x</title><enclosure url="http://127.0.0.1:9/a.mp3"/>
</item></channel></rss>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&secret;</title><item><title>x</title><enclosure url="http://127.0.0.1:9/a.mp3"/>
</item></channel></rss>"""
NOT_A_PODCAST = """<?xml version="1.0"?><html><body><p>hello</p></body></html>"""
RSS_WITHOUT_MEDIA = """<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><item><title>Post</title>
<guid>1</guid></item></channel></rss>"""


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (BILLION_LAUGHS, "entities"),
        (XXE, "entities"),
        (NOT_A_PODCAST, "not an RSS podcast feed"),
        (RSS_WITHOUT_MEDIA, "not a podcast"),
        ("not xml at all <", "not well-formed"),
    ],
    ids=["billion-laughs", "xxe", "html", "rss-without-enclosures", "not-xml"],
)
def test_unsafe_or_non_podcast_documents_are_refused(
    tmp_path: Path, project: Path, mediafeed: Invoke, document: str, words: str
) -> None:
    source = tmp_path / "bad.xml"
    source.write_text(document)
    before = snapshot(project)
    result = mediafeed(project, "import", "--allow-private", str(source))
    assert result.exit_code == 2, result.output
    assert str(source) in result.output and words in result.output
    assert snapshot(project) == before


def test_dry_run_writes_nothing(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, _root = served
    before = snapshot(project)
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would write feeds/harbour.yaml" in result.output
    assert "would write episodes/the-keeper-s-log/index.md" in result.output
    assert snapshot(project) == before


def test_a_partial_download_resumes_with_range(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    whole = (root / "media" / "keepers-log.mp3").read_bytes()
    bundle = project / "episodes" / "the-keeper-s-log"
    bundle.mkdir(parents=True)
    (bundle / "keepers-log.mp3.part").write_bytes(whole[:1000])
    RANGES.clear()
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour")
    assert result.exit_code == 0, result.output
    assert RANGES == ["bytes=1000-"]
    assert (bundle / "keepers-log.mp3").read_bytes() == whole
    assert not (bundle / "keepers-log.mp3.part").exists()


def test_a_local_episode_with_the_same_slug_is_not_taken_over(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, _root = served
    theirs = project / "episodes" / "welcome-to-harbour-lights"
    theirs.mkdir(parents=True)
    (theirs / "index.md").write_text("---\ntitle: Mine\nguid: 0b0b0b0b-0000-4000-8000-000000000000\n---\nnotes\n")
    before = (theirs / "index.md").read_bytes()
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 0, result.output
    assert "episodes/welcome-to-harbour-lights-2/index.md" in json.loads(result.stdout)["written"]
    assert (theirs / "index.md").read_bytes() == before
    again = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert json.loads(again.stdout)["written"] == []


def test_a_guid_that_is_not_a_uuid_is_published_as_it_was(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    feed = root / "feed.xml"
    text = feed.read_text().replace(
        'isPermaLink="false">3f2a9c1e-7d4b-4e8a-9b1c-2d3e4f5a6b7c', ">https://harbour.example.net/log"
    )
    feed.write_text(text.replace("a1b2c3d4-0000-4000-8000-000000000001", "Buzzsprout-14400123"))
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 0, result.output
    assert not [n for n in json.loads(result.stdout)["not_carried"] if n["field"] == "guid"]
    log = front(project / "episodes" / "the-keeper-s-log" / "index.md")
    assert log["guid"] == "https://harbour.example.net/log" and log["guid_permalink"] is True
    assert front(project / "episodes" / "welcome-to-harbour-lights" / "index.md")["guid"] == "Buzzsprout-14400123"
    check = mediafeed(project, "check")
    assert check.exit_code == 0, check.output
    publish = mediafeed(project, "publish")
    assert publish.exit_code == 0, publish.output
    ours = etree.parse(str(project / "public" / "feeds" / "harbour.xml")).getroot().find("channel")
    guids = {g.text: g.get("isPermaLink") for g in ours.iter("guid")}
    assert guids == {"https://harbour.example.net/log": "true", "Buzzsprout-14400123": "false"}
    again = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert json.loads(again.stdout)["written"] == []


def test_redirects_are_followed_and_a_wrong_length_is_reported(
    served: tuple[str, Path], project: Path, mediafeed: Invoke
) -> None:
    base, root = served
    feed = root / "feed.xml"
    size = (root / "media" / "welcome.mp3").stat().st_size
    text = feed.read_text().replace(f'length="{size}"', f'length="{size + 500}"')
    feed.write_text(text.replace(f"{base}/media/keepers-log.mp3", f"{base}/moved/media/keepers-log.mp3"))
    result = mediafeed(project, "import", "--allow-private", f"{base}/moved/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == []
    [mismatch] = [n for n in report["not_carried"] if n["field"] == "enclosure length"]
    assert mismatch["where"] == "welcome-to-harbour-lights" and f"{size + 500}" in mismatch["message"]
    assert (project / "episodes" / "welcome-to-harbour-lights" / "welcome.mp3").read_bytes() == (
        root / "media" / "welcome.mp3"
    ).read_bytes()
    assert (project / "episodes" / "the-keeper-s-log" / "keepers-log.mp3").is_file()
    again = mediafeed(project, "import", "--allow-private", f"{base}/moved/feed.xml", "--feed", "harbour", "--json")
    assert json.loads(again.stdout)["downloaded"] == []


def test_a_cut_off_download_is_reported_and_resumed_next_time(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    CUT_ONCE.add("/media/keepers-log.mp3")
    first = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert first.exit_code == 1, first.output
    assert json.loads(first.stdout)["failed"] == ["episodes/the-keeper-s-log/keepers-log.mp3"]
    bundle = project / "episodes" / "the-keeper-s-log"
    whole = (root / "media" / "keepers-log.mp3").read_bytes()
    assert (bundle / "keepers-log.mp3.part").stat().st_size == len(whole) // 2
    assert (project / "episodes" / "welcome-to-harbour-lights" / "welcome.mp3").is_file()
    RANGES.clear()
    second = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert second.exit_code == 0, second.output
    assert [f"bytes={len(whole) // 2}-"] == RANGES
    assert (bundle / "keepers-log.mp3").read_bytes() == whole


def test_an_enclosure_that_is_not_http_is_not_fetched(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    feed = root / "feed.xml"
    feed.write_text(feed.read_text().replace(f"{base}/media/welcome.mp3", "file:///etc/passwd"))
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == ["episodes/welcome-to-harbour-lights/passwd.mp3"]
    assert not (project / "episodes" / "welcome-to-harbour-lights" / "passwd.mp3").exists()


def test_a_new_item_upstream_adds_one_episode(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    first = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour")
    assert first.exit_code == 0, first.output
    shutil.copy(root / "media" / "welcome.mp3", root / "media" / "fog.mp3")
    feed = root / "feed.xml"
    new_item = (
        '<item><title>Fog Signals</title><guid isPermaLink="false">c0ffee00-0000-4000-8000-000000000003</guid>'
        "<pubDate>Tue, 12 Mar 2024 07:30:00 +0100</pubDate><description>Horns.</description>"
        f'<enclosure url="{base}/media/fog.mp3" type="audio/mpeg"/></item>'
    )
    feed.write_text(feed.read_text().replace("<item>", new_item + "<item>", 1))
    again = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    report = json.loads(again.stdout)
    assert report["written"] == ["episodes/fog-signals/index.md"]
    assert report["downloaded"] == ["episodes/fog-signals/fog.mp3"]
    check = mediafeed(project, "check")
    assert check.exit_code == 0, check.output


def test_private_addresses_are_refused_unless_allowed(
    served: tuple[str, Path], project: Path, mediafeed: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE")
    base, root = served
    before = snapshot(project)
    refused = mediafeed(project, "import", f"{base}/feed.xml", "--feed", "harbour")
    assert refused.exit_code == 2, refused.output
    assert "127.0.0.1 (loopback address); refused" in refused.output and "--allow-private" in refused.output
    assert snapshot(project) == before

    saved = root.parent / "saved.xml"  # a saved copy of the feed: read, but its files are on 127.0.0.1
    saved.write_bytes((root / "feed.xml").read_bytes())
    local = mediafeed(project, "import", str(saved), "--feed", "harbour", "--json")
    assert local.exit_code == 1, local.output
    report = json.loads(local.stdout)
    assert report["downloaded"] == [] and "episodes/the-keeper-s-log/keepers-log.mp3" in report["failed"]
    [note] = [n for n in report["not_carried"] if n["where"] == "the-keeper-s-log" and n["field"] == "enclosure"]
    assert "loopback address" in note["message"] and "--allow-private" in note["hint"]
    assert (project / "episodes" / "the-keeper-s-log" / "index.md").is_file()

    allowed = mediafeed(project, "import", "--allow-private", str(saved), "--feed", "harbour", "--json")
    assert allowed.exit_code == 0, allowed.output
    assert "episodes/the-keeper-s-log/keepers-log.mp3" in json.loads(allowed.stdout)["downloaded"]
    shutil.rmtree(project / "episodes" / "welcome-to-harbour-lights")
    monkeypatch.setenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE", "1")  # the environment's allowance does the same
    by_env = mediafeed(project, "import", str(saved), "--feed", "harbour", "--json")
    assert json.loads(by_env.stdout)["downloaded"] == ["episodes/welcome-to-harbour-lights/welcome.mp3"]
    check = mediafeed(project, "check")
    assert check.exit_code == 0, check.output


def test_a_redirect_to_a_private_address_is_refused(
    served: tuple[str, Path], project: Path, mediafeed: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import urlparse

    from mediafeed.publish import importing

    base, root = served
    real = importing.private_address
    # Here 127.0.0.1 stands for a public host and "localhost" for the private address it redirects to.
    monkeypatch.delenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE")
    monkeypatch.setattr(importing, "private_address", lambda url: real(url) if urlparse(url).hostname == "localhost" else None)
    monkeypatch.setattr(importing, "_check_peer", lambda connection: None)  # 127.0.0.1 connections pass here
    feed = root / "feed.xml"
    feed.write_text(feed.read_text().replace(f"{base}/media/keepers-log.mp3", f"{base}/to-localhost/media/keepers-log.mp3"))
    result = mediafeed(project, "import", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == ["episodes/the-keeper-s-log/keepers-log.mp3"]
    [note] = [n for n in report["not_carried"] if n["where"] == "the-keeper-s-log" and n["field"] == "enclosure"]
    assert "redirects to http://localhost:" in note["message"] and "refused" in note["message"]
    assert "episodes/welcome-to-harbour-lights/welcome.mp3" in report["downloaded"]


BIG_ITEMS = 10_000
MEASURE = """
import json, re, sys
from pathlib import Path
from mediafeed.publish.importing import run_import
def high_water():  # the process's peak resident memory (kB), lxml's own allocations included
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
project, source = Path(sys.argv[1]), sys.argv[2]
before = high_water()
report = run_import(project, source, feed_id="big", kind="podcast", dry_run=True)
print(json.dumps({"written": len(report.written), "notes": len(report.notes), "growth_kb": high_water() - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc")
def test_a_feed_of_ten_thousand_items_streams_in_bounded_memory(tmp_path: Path, project: Path) -> None:
    import subprocess
    import sys
    import time

    head = (FEEDS / "show.xml").read_text(encoding="utf-8").split("<item>", 1)[0].replace("{base}", "https://h.example.net")
    items = "".join(
        f'<item><title>Episode {i}</title><guid isPermaLink="false">00000000-0000-4000-8000-{i:012d}</guid>'
        f"<pubDate>Tue, 05 Mar 2024 07:30:15 +0100</pubDate><description>&lt;p&gt;Notes for {i} with "
        f'&lt;b&gt;bold&lt;/b&gt; text.&lt;/p&gt;</description><enclosure url="https://h.example.net/{i}.mp3" '
        f'length="1000" type="audio/mpeg"/><itunes:episode>{i + 1}</itunes:episode></item>'
        for i in range(BIG_ITEMS)
    )
    source = tmp_path / "big.xml"
    source.write_text(head + items + "</channel></rss>", encoding="utf-8")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", MEASURE, str(project), str(source)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    measured = json.loads(run.stdout)
    assert measured["written"] == BIG_ITEMS + 1  # the feed file and every episode
    # The document's bytes (3.7 MB), one item at a time and the report's 10,001 paths: about 17 MB here, where the
    # whole document as one lxml tree alone takes about 30 MB.
    assert measured["growth_kb"] < 24 << 10, measured
    assert time.monotonic() - started < 30


def test_an_unusable_chapters_file_is_reported(served: tuple[str, Path], project: Path, mediafeed: Invoke) -> None:
    base, root = served
    (root / "extras" / "keeper-chapters.json").write_text('{"chapters": "soon"}')
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    report = json.loads(result.stdout)
    [note] = [n for n in report["not_carried"] if n["field"] == "chapters"]
    assert note["where"] == "the-keeper-s-log" and 'no "chapters" list' in note["message"] and note["hint"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/a.mp3", "loopback"),
        ("http://localhost:8080/a.mp3", "loopback"),
        ("https://10.1.2.3/a.mp3", "private"),
        ("http://192.168.0.10/a.mp3", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://[::1]/a.mp3", "loopback"),
        ("http://[::ffff:10.0.0.1]/a.mp3", "private"),
        ("http://0.0.0.0/a.mp3", "unspecified"),
        ("http://93.184.215.14/a.mp3", None),  # a public address
    ],
)
def test_private_address(url: str, kind: str | None) -> None:
    from mediafeed.publish.importing import private_address

    why = private_address(url)
    assert (why is None) if kind is None else (why is not None and f"({kind} address)" in why), why


def test_the_address_connected_to_is_checked_too(
    served: tuple[str, Path], project: Path, mediafeed: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name may resolve to a public address when checked and to a private one when connected (DNS rebinding):
    the connection's peer is checked as well."""
    from mediafeed.publish import importing

    base, _root = served
    monkeypatch.delenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE")
    monkeypatch.setattr(importing, "private_address", lambda url: None)  # the name looked public
    result = mediafeed(project, "import", f"{base}/feed.xml", "--feed", "harbour")
    assert result.exit_code == 2, result.output
    assert "connected to 127.0.0.1 (loopback address); refused" in result.output


def test_downloads_report_progress(served: tuple[str, Path], project: Path) -> None:
    from mediafeed.progress import Advanced, Event, Finished, Started
    from mediafeed.publish.importing import run_import

    base, root = served
    events: list[Event] = []
    report = run_import(project, f"{base}/feed.xml", feed_id="harbour", kind="podcast", dry_run=False, progress=events.append)
    assert report.failed == []
    rel = "episodes/the-keeper-s-log/keepers-log.mp3"
    size = (root / "media" / "keepers-log.mp3").stat().st_size
    mine = [e for e in events if getattr(getattr(e, "task", None), "name", "") == rel]
    assert isinstance(mine[0], Started) and mine[0].total == size and mine[0].task.unit == "bytes"
    assert isinstance(mine[-2], Advanced) and mine[-2].done == size
    assert isinstance(mine[-1], Finished) and mine[-1].outcome == "done"
    overall = [e for e in events if getattr(getattr(e, "task", None), "kind", "") == "import"]
    assert isinstance(overall[0], Started) and overall[0].total == 6  # artwork, 2 enclosures, cover, chapters, transcript
    assert isinstance(overall[-1], Finished) and overall[-1].detail.startswith("6 downloaded, 0 failed")


def test_imported_media_is_published_as_served_and_its_loudness_reported(
    served: tuple[str, Path], project: Path, mediafeed: Invoke
) -> None:
    """By default an imported file is published byte for byte (process: false) and measured at import; with
    --process it is normalized like any master."""
    base, root = served
    result = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour", "--json")
    assert result.exit_code == 0, result.output
    loudness = {m["file"]: m for m in json.loads(result.stdout)["loudness"]}
    assert set(loudness) == {"episodes/the-keeper-s-log/keepers-log.mp3", "episodes/welcome-to-harbour-lights/welcome.mp3"}
    for figures in loudness.values():
        # lavfi's sine (amplitude 1/8): about -22 LUFS, quieter than the -19 LUFS mono target, so off target
        assert -24 < figures["integrated_lufs"] < -20 and figures["target_lufs"] == -19.0 and figures["on_target"] is False
    assert front(project / "episodes" / "welcome-to-harbour-lights" / "index.md")["process"] is False
    text = mediafeed(project, "import", "--allow-private", f"{base}/feed.xml", "--feed", "harbour")
    assert "loudness: 2 of 2 file(s) off target (published as is)" in text.output
    published = mediafeed(project, "publish")
    assert published.exit_code == 0, published.output
    feed = etree.parse(str(project / "public" / "feeds" / "harbour.xml")).getroot()
    for item in feed.iter("item"):
        enclosure = item.find("enclosure")
        assert enclosure is not None
        mine = project / "public" / enclosure.get("url", "").split("/", 3)[3]
        assert mine.read_bytes() in {(root / "media" / n).read_bytes() for n in ("keepers-log.mp3", "welcome.mp3")}
    other = project.parent / "processed"
    assert mediafeed(project.parent, "init", str(other), "--title", "Harbour").exit_code == 0
    processed = mediafeed(other, "import", "--allow-private", "--process", f"{base}/feed.xml", "--feed", "harbour")
    assert processed.exit_code == 0, processed.output
    assert "process" not in front(other / "episodes" / "welcome-to-harbour-lights" / "index.md")
    assert "(normalized when published)" in processed.output
