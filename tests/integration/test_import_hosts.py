"""`mediafeed import` on real feeds from several hosts (tests/integration/import_feeds/hosts/, origin and licence in
its README): each is served from 127.0.0.1 with small generated media, artwork, chapters and transcripts at the
paths of its enclosure, image, chapters and transcript URLs (the URLs are rewritten to the local server in memory;
the fixture files stay byte-identical), imported into a fresh project, checked, published to the local target, and
the published feed compared with the source item by item: GUID, date, title, enclosure bytes, season and episode,
chapters and transcripts. Running the import again changes nothing.

Nothing leaves 127.0.0.1: every other http(s) request goes to a dead proxy (http_proxy=127.0.0.1:9)."""

from __future__ import annotations

import functools
import hashlib
import html
import http.server
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from click.testing import CliRunner, Result
from lxml import etree
from PIL import Image

from mediafeed.cli import cli
from tests.conftest import LOCAL_BASE, ffmpeg_generate

HOSTS_DIR = Path(__file__).parent / "import_feeds" / "hosts"
NOW = "2026-11-30T00:00:00Z"  # after every item of every fixture
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
# Podcasting 2.0: the namespace URI of the spec, and the one early feeds (and some still) declare
PODCAST_NS = (
    "https://podcastindex.org/namespace/1.0",
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
)

# The fixture file stems, also the feed ids (one per host; see import_feeds/hosts/README.md). The feeds of 50 items
# and more are marked slow: while imported media is still encoded on publish, one takes 25-50 s (measured with the
# GUIDs fixed by `check --fix`); `-m "not slow"` keeps Libsyn, Podbean and the Podcasting 2.0 chapters and persons.
SLOW = pytest.mark.slow
HOSTS = [
    "libsyn", "podbean", "homegrown-hits", pytest.param("sovereign-feeds", marks=SLOW), pytest.param("art19", marks=SLOW),
    pytest.param("acast", marks=SLOW), pytest.param("simplecast", marks=SLOW),
]  # fmt: skip


def _pc(element: Any, name: str) -> list[Any]:
    """The item's Podcasting 2.0 elements `name`, under either namespace URI."""
    return [child for ns in PODCAST_NS for child in element.findall(f"{{{ns}}}{name}")]


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def parse_lenient(data: bytes) -> Any:
    """The harness's own reading of a fixture (to find its URLs and expectations): a leading blank line before the
    XML declaration, which one captured feed has, is skipped here; the importer is still served the bytes as they are."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=False, huge_tree=False)
    return etree.fromstring(data.lstrip(), parser)


# --- generated media ---------------------------------------------------------------------------------------------


@dataclass
class Masters:
    """One tiny file per media kind, made with ffmpeg once per session; each URL gets its own bytes from a tag."""

    mp3: bytes
    m4a: bytes
    mp4: bytes
    folder: Path
    count: int = 0

    def media(self, mime: str, _number: int, url: str) -> bytes:
        """Distinct bytes for each URL: the master with a tag naming the URL (a valid file of the same kind)."""
        kind = media_kind(mime, url)
        self.count += 1
        path = self.folder / f"tagged-{self.count}.{kind}"
        path.write_bytes(getattr(self, kind))
        if kind == "mp3":
            from mutagen.id3 import ID3, TXXX

            tags = ID3()
            tags.add(TXXX(encoding=3, desc="source", text=[url]))
            tags.save(str(path))
        else:
            from mutagen.mp4 import MP4

            tagged = MP4(str(path))
            tagged["\xa9cmt"] = [url]
            tagged.save()
        return path.read_bytes()


def media_kind(mime: str, url: str) -> str:
    path = urlsplit(url).path.lower()
    if mime.startswith("video/") or path.endswith((".mp4", ".m4v", ".mov")):
        return "mp4"
    if mime.lower() in ("audio/x-m4a", "audio/mp4", "audio/m4a", "audio/aac") or path.endswith((".m4a", ".aac")):
        return "m4a"
    return "mp3"


@pytest.fixture(scope="session")
def masters(tmp_path_factory: pytest.TempPathFactory) -> Masters:
    folder = tmp_path_factory.mktemp("host-media")
    tone = ("-f", "lavfi", "-i", "sine=frequency=523:duration=2", "-ac", "1")
    mp3 = ffmpeg_generate(folder / "master.mp3", *tone, "-c:a", "libmp3lame", "-b:a", "64k")
    m4a = ffmpeg_generate(folder / "master.m4a", *tone, "-c:a", "aac", "-b:a", "64k")
    mp4 = ffmpeg_generate(
        folder / "master.mp4",
        "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=2", *tone,
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
    )  # fmt: skip
    return Masters(mp3.read_bytes(), m4a.read_bytes(), mp4.read_bytes(), folder)


def artwork(number: int, url: str) -> bytes:
    """A square 1400 px image (what Apple asks for), a colour of its own, PNG or JPEG as the URL says."""
    out = io.BytesIO()
    colour = (number * 37 % 256, number * 91 % 256, 120)
    png = urlsplit(url).path.lower().endswith(".png")
    Image.new("RGB", (1400, 1400), colour).save(out, "PNG" if png else "JPEG", quality=80)
    return out.getvalue()


def chapters_json(number: int, _url: str) -> bytes:
    chapters = [{"startTime": 0, "title": f"Opening {number}"}, {"startTime": 1, "title": f"Second part {number}"}]
    return json.dumps({"version": "1.2.0", "chapters": chapters}).encode()


def transcript(mime: str, number: int, _url: str) -> bytes:
    line = f"Transcript line {number}"
    if "vtt" in mime:
        return f"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n{line}\n".encode()
    if "srt" in mime or "subrip" in mime:
        return f"1\n00:00:00,000 --> 00:00:01,500\n{line}\n".encode()
    if "json" in mime:
        return json.dumps({"version": "1.0.0", "segments": [{"startTime": 0, "endTime": 1.5, "body": line}]}).encode()
    return f"<p>{line}</p>\n".encode()


def cue_texts(data: bytes) -> list[str]:
    """The spoken lines of a VTT or SRT file (no header, numbers or timings)."""
    lines = data.decode("utf-8").splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip() and "-->" not in line and not line.strip().isdigit() and not line.startswith("WEBVTT")
    ]


# --- the local host ----------------------------------------------------------------------------------------------


@dataclass
class Served:
    """One fixture as its host would serve it from 127.0.0.1."""

    host: str
    source: bytes  # the fixture's bytes, with its URLs pointing at the local server
    tree: Any  # the harness's parse of `source`
    files: dict[str, bytes]  # local path → bytes
    urls: dict[str, str] = field(default_factory=dict)  # original URL → local URL

    def local(self, url: str) -> bytes:
        """The bytes served for a URL of the served feed (or for the original URL it replaced)."""
        return self.files[urlsplit(self.urls.get(url.strip(), url.strip())).path]


class Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        files, requests = self.files, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                requests.append(path)
                data = files.get(path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """Any http(s) request not for 127.0.0.1 goes to a closed port (a dead proxy) instead of the network."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            patch.setenv(name, "http://127.0.0.1:9")
        patch.setenv("no_proxy", "127.0.0.1")
        patch.setenv("NO_PROXY", "127.0.0.1")
        yield


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


_URL_ATTR = re.compile(r"""\b(url|href|uri)\s*=\s*(["'])(.*?)\2""", re.DOTALL)
_IMAGE_URL = re.compile(r"(<url>\s*(?:<!\[CDATA\[)?\s*)(.*?)(\s*(?:\]\]>)?\s*</url>)", re.DOTALL)


def serve_fixture(host: str, server: Server, masters: Masters) -> Served:
    """Map every URL the import (now or later) may fetch to a local path with generated bytes, and rewrite the
    fixture's text to those URLs: only the url/href/uri attributes and the <image><url> text change."""
    raw = (HOSTS_DIR / f"{host}.xml").read_bytes()
    tree = parse_lenient(raw)
    channel = tree.find("channel")
    files: dict[str, bytes] = {}
    urls: dict[str, str] = {}

    def local(original: str, make: Callable[[int, str], bytes]) -> None:
        original = original.strip()
        if not original or original in urls:
            return
        number = len(urls) + 1
        name = urlsplit(original).path.rstrip("/").rsplit("/", 1)[-1] or "file"
        path = f"/{host}/{number:03d}/{name}"
        urls[original] = server.base + path
        files[path] = make(number, original)

    for image in [*tree.iter(f"{ITUNES}image"), *channel.findall("image")]:
        local((image.get("href") if image.tag == f"{ITUNES}image" else image.findtext("url")) or "", artwork)
    for item in channel.findall("item"):
        for enclosure in item.findall("enclosure"):
            local(enclosure.get("url") or "", functools.partial(masters.media, enclosure.get("type") or ""))
        for alternate in _pc(item, "alternateEnclosure"):
            for source in _pc(alternate, "source"):
                local(source.get("uri") or "", functools.partial(masters.media, alternate.get("type") or ""))
        for chapters in _pc(item, "chapters"):
            local(chapters.get("url") or "", chapters_json)
        # An item's transcripts are one transcript in several formats (VTT, SRT, JSON, HTML): the same words in each.
        said = len(urls) + 1
        for text in _pc(item, "transcript"):
            words = functools.partial(transcript, text.get("type") or "", said)
            local(text.get("url") or "", lambda _n, url, words=words: words(url))

    def attribute(match: re.Match[str]) -> str:
        value = html.unescape(match.group(3)).strip()
        if value not in urls:
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}={quote}{html.escape(urls[value], quote=True)}{quote}"

    def image_url(match: re.Match[str]) -> str:
        value = html.unescape(match.group(2)).strip()
        return match.group(1) + html.escape(urls[value], quote=False) + match.group(3) if value in urls else match.group(0)

    text = raw.decode("utf-8")
    text = _IMAGE_URL.sub(image_url, _URL_ATTR.sub(attribute, text))
    source = text.encode("utf-8")
    files[f"/{host}/feed.xml"] = source
    server.files.update(files)
    served = Served(host, source, parse_lenient(source), files, urls)
    # the served feed is the fixture with local URLs: the same items, GUIDs, titles and dates, every enclosure local
    before, after = channel.findall("item"), served.tree.find("channel").findall("item")
    assert [(_words(i.findtext("guid")), _title(i), i.findtext("pubDate")) for i in before] == [
        (_words(i.findtext("guid")), _title(i), i.findtext("pubDate")) for i in after
    ]
    assert all(i.find("enclosure").get("url").startswith(server.base + "/") for i in after)
    return served


# --- the test ----------------------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not {"build", "public"} & set(p.relative_to(folder).parts)
    }


def published_file(url: str, project: Path) -> Path:
    assert url.startswith(LOCAL_BASE), url
    return project / "public" / url.removeprefix(LOCAL_BASE)


def _number(element: Any, tag: str) -> str | None:
    """itunes:<tag>, else podcast:<tag> (some Podcasting 2.0 feeds number their items only there), as a plain integer."""
    texts = [element.findtext(f"{ITUNES}{tag}"), *(e.text for e in _pc(element, tag))]
    values = [_words(t) for t in texts if t and _words(t).isdigit()]
    return str(int(values[0])) if values else None


def numbers_unique(items: list[Any]) -> bool:
    """Whether the source's full episodes have distinct season+episode pairs (else the feed leaves numbers out)."""
    pairs = [
        (_number(i, "season"), _number(i, "episode"))
        for i in items
        if (i.findtext(f"{ITUNES}episodeType") or "full").strip().lower() == "full" and _number(i, "episode")
    ]
    return len(pairs) == len(set(pairs))


def _instant(text: str | None) -> datetime:
    """An RFC 2822 date as an aware datetime; `-0000` (UTC, local offset unknown: ART19 writes it) is UTC."""
    moment = parsedate_to_datetime(_words(text))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _title(item: Any) -> str:
    return _words(item.findtext("title") or item.findtext(f"{ITUNES}title"))


@dataclass
class Imported:
    """One host's feed, served, imported into a fresh project, checked and published (once per host)."""

    served: Served
    project: Path
    feed_url: str
    report: dict[str, Any]
    import_output: str
    import_code: int
    check: Result
    publish: Result
    edited: tuple[str, ...] = ()  # index.md files the test changed as a producer would (see `imported`)

    @property
    def source_items(self) -> list[Any]:
        return list(self.served.tree.find("channel").findall("item"))

    def published_channel(self) -> Any:
        assert self.check.exit_code == 0, f"check failed, nothing to compare:\n{self.check.output}"
        assert self.publish.exit_code == 0, f"publish failed, nothing to compare:\n{self.publish.output}"
        feed = self.project / "public" / "feeds" / f"{self.served.host}.xml"
        assert feed.is_file(), f"no feeds/{feed.name} was published; the import said:\n{self.import_output}"
        return etree.parse(str(feed)).getroot().find("channel")

    def pairs(self) -> list[tuple[str, Any, Any | None]]:
        """(source GUID, source item, the published item for it): found by GUID, else by the same title and date
        (so that a GUID published differently, which test_guids reports, does not hide the other comparisons)."""
        ours = self.published_channel().findall("item")
        by_guid = {_words(i.findtext("guid")): i for i in ours}
        by_title = {(_title(i), _instant(i.findtext("pubDate"))): i for i in ours}
        found = []
        for item in self.source_items:
            guid = _words(item.findtext("guid"))
            mine = by_guid.get(guid)
            if mine is None:
                mine = by_title.get((_title(item), _instant(item.findtext("pubDate"))))
            found.append((guid, item, mine))
        return found


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(project), "--now", NOW, *args], catch_exceptions=False)


def import_command(feed_url: str, host: str) -> list[str]:
    """`import URL --feed HOST --json`, with --allow-private where the importer has it: it refuses loopback and
    private addresses without it, and this test's host is 127.0.0.1."""
    command = cli.commands["import"]
    allow = [opt for p in command.params for opt in p.opts if opt == "--allow-private"]
    return ["import", *allow, feed_url, "--feed", host, "--json"]


@pytest.fixture(scope="module", params=HOSTS)
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, server: Server, masters: Masters
) -> Imported:
    host = request.param
    served = serve_fixture(host, server, masters)
    folder = tmp_path_factory.mktemp(f"host-{host}")
    project = folder / "show"
    created = run(folder, "init", str(project), "--title", "Moved Show")
    assert created.exit_code == 0, created.output
    feed_url = f"{server.base}/{host}/feed.xml"
    result = run(project, *import_command(feed_url, host))
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {}
    # What a producer does about an unnumbered full episode in a serial show (Acast's specials), as the report says:
    # call it a bonus episode, which Apple lets go unnumbered (its GUID, date and title stay as they were).
    edited = []
    for note in report.get("not_carried", []):
        if note.get("field") == "itunes:episode" and "serial show" in note.get("message", ""):
            index = project / "episodes" / note["where"] / "index.md"
            index.write_text(index.read_text().replace("\nepisode_type: full\n", "\nepisode_type: bonus\n", 1))
            edited.append(index.relative_to(project).as_posix())
    check = run(project, "check")
    publish = run(project, "publish")
    return Imported(served, project, feed_url, report, result.output, result.exit_code, check, publish, tuple(edited))


def test_every_item_is_imported_and_downloaded(imported: Imported) -> None:
    assert imported.import_code == 0, imported.import_output
    report = imported.report
    assert report["failed"] == [], report["not_carried"]
    episodes = [w for w in report["written"] if w.startswith("episodes/") and w.endswith("/index.md")]
    skipped = [n for n in report["not_carried"] if "skipped" in n["message"]]
    assert len(episodes) == len(imported.source_items), skipped
    with_media = {d.rsplit("/", 1)[0] for d in report["downloaded"] if d.startswith("episodes/")}
    assert with_media == {e.rsplit("/", 1)[0] for e in episodes}  # every episode folder got its enclosure


def test_wrong_declared_lengths_are_reported(imported: Imported) -> None:
    """The fixtures declare the real episodes' sizes and the local host serves 2-second files: the report names
    each item whose declared length is not what the host sent."""
    assert imported.report, imported.import_output
    mismatched = [n["where"] for n in imported.report["not_carried"] if n["field"] == "enclosure length"]
    declared_wrong = 0
    for item in imported.source_items:
        enclosure = item.find("enclosure")
        length = (enclosure.get("length") or "").strip()
        if length.isdigit() and int(length) > 0 and int(length) != len(imported.served.local(enclosure.get("url"))):
            declared_wrong += 1
    assert len(mismatched) == declared_wrong


def test_check_passes(imported: Imported) -> None:
    assert (imported.project / "feeds" / f"{imported.served.host}.yaml").is_file(), imported.import_output
    assert imported.check.exit_code == 0, imported.check.output


def test_publish_succeeds(imported: Imported) -> None:
    assert (imported.project / "feeds" / f"{imported.served.host}.yaml").is_file(), imported.import_output
    assert imported.publish.exit_code == 0, imported.publish.output


def test_guids_are_published_as_the_source_has_them(imported: Imported) -> None:
    ours = [_words(i.findtext("guid")) for i in imported.published_channel().findall("item")]
    theirs = [_words(i.findtext("guid")) for i in imported.source_items]
    assert sorted(ours) == sorted(theirs)  # each exactly once, the same text, nothing else


def test_titles_and_dates_match(imported: Imported) -> None:
    for guid, original, item in imported.pairs():
        assert item is not None, f"{guid} ({_title(original)}) is not published"
        assert _title(item) == _title(original), guid
        assert _instant(item.findtext("pubDate")) == _instant(original.findtext("pubDate")), guid  # the same instant


def test_enclosures_are_the_bytes_the_host_served(imported: Imported) -> None:
    """Imported media is published as it was published (no second encode), with a length that is true."""
    for guid, original, item in imported.pairs():
        assert item is not None, f"{guid} ({_title(original)}) is not published"
        enclosure = item.find("enclosure")
        media = published_file(enclosure.get("url"), imported.project)
        assert int(enclosure.get("length")) == media.stat().st_size, guid
        served = imported.served.local(original.find("enclosure").get("url"))
        assert hashlib.sha256(media.read_bytes()).hexdigest() == hashlib.sha256(served).hexdigest(), (
            f"{guid}: {media.name} is not the file the host served"
        )


def test_season_and_episode_numbers_match(imported: Imported) -> None:
    unique = numbers_unique(imported.source_items)
    for guid, original, item in imported.pairs():
        assert item is not None, f"{guid} ({_title(original)}) is not published"
        for tag in ("season", "episode"):
            want = _number(original, tag) if unique else None
            got = _words(item.findtext(f"{ITUNES}{tag}")) or None
            assert got == want, (guid, tag)


def test_chapters_match(imported: Imported) -> None:
    """The source's JSON chapters are published as podcast:chapters with the same starts and titles."""
    if not any(_pc(i, "chapters") for i in imported.source_items):
        return  # this host's feed has none: nothing to compare
    for guid, original, item in imported.pairs():
        source_chapters = _pc(original, "chapters")
        if not source_chapters:
            continue
        assert item is not None, f"{guid} ({_title(original)}) is not published"
        want = json.loads(imported.served.local(source_chapters[0].get("url")))["chapters"]
        published = _pc(item, "chapters")
        assert len(published) == 1, f"{guid}: the source has chapters, the published item has {len(published)}"
        got = json.loads(published_file(published[0].get("url"), imported.project).read_bytes())["chapters"]
        assert [(c["startTime"], c["title"]) for c in got] == [(c["startTime"], c["title"]) for c in want], guid


def test_transcripts_match(imported: Imported) -> None:
    """Each VTT or SRT transcript of the source is published (as the same format) with the same cues; any other
    format is named in the import report."""
    if not any(_pc(i, "transcript") for i in imported.source_items):
        return  # this host's feed has none: nothing to compare
    reported = {n["where"] for n in imported.report.get("not_carried", []) if "transcript" in n["field"]}
    for guid, original, item in imported.pairs():
        for source_text in _pc(original, "transcript"):
            mime = (source_text.get("type") or "").lower()
            if not any(k in mime for k in ("vtt", "srt", "subrip")):
                assert reported, f"{guid}: a {mime} transcript, neither carried nor reported"
                continue
            assert item is not None, f"{guid} ({_title(original)}) is not published"
            want = cue_texts(imported.served.local(source_text.get("url")))
            candidates = [
                cue_texts(published_file(t.get("url"), imported.project).read_bytes())
                for t in _pc(item, "transcript")
                if ("vtt" in mime) == ("vtt" in (t.get("type") or ""))
            ]
            assert want in candidates, f"{guid}: its {mime} transcript is not published"


def test_persons_match(imported: Imported) -> None:
    """The source's podcast:person entries of each item are published with the same names and roles."""
    if not any(_pc(i, "person") for i in imported.source_items):
        return  # this host's feed has none: nothing to compare
    for guid, original, item in imported.pairs():
        want = sorted((_words(p.text), (p.get("role") or "host").lower()) for p in _pc(original, "person"))
        if not want:
            continue
        assert item is not None, f"{guid} ({_title(original)}) is not published"
        got = sorted((_words(p.text), (p.get("role") or "host").lower()) for p in _pc(item, "person"))
        assert got == want, guid


def test_a_podcast_app_reads_the_same_items(imported: Imported) -> None:
    """The same comparison as a lenient podcast app makes it (feedparser)."""
    imported.published_channel()  # fails with why when there is nothing to compare
    app_source = feedparser.parse(imported.served.source)
    app_ours = feedparser.parse((imported.project / "public" / "feeds" / f"{imported.served.host}.xml").read_bytes())
    assert not app_ours.bozo, app_ours.get("bozo_exception")
    by_id = {e.id: e for e in app_ours.entries}
    assert sorted(by_id) == sorted(_words(e.id) for e in app_source.entries)
    for entry in app_source.entries:
        mine = by_id[_words(entry.id)]
        assert (_words(mine.title), mine.published_parsed) == (_words(entry.title), entry.published_parsed), entry.id
        assert len(mine.enclosures) == 1


def test_importing_again_changes_nothing(imported: Imported) -> None:
    """Run last for each host: nothing is written or downloaded, and no file changes, not even its mtime; what the
    producer edited is kept."""
    before = snapshot(imported.project)
    again = run(imported.project, *import_command(imported.feed_url, imported.served.host))
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert (second["written"], second["downloaded"], second["failed"]) == ([], [], [])
    assert sorted(second["kept"]) == sorted(imported.edited)
    assert snapshot(imported.project) == before
