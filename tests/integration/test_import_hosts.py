"""`mediafeed import` on real feeds from several hosts (tests/integration/import_feeds/hosts/, origin and licence in
its README): each is served from 127.0.0.1 with small generated media, artwork, chapters and transcripts at the
paths of its enclosure, image, chapters and transcript URLs (the URLs are rewritten to the local server in memory;
the fixture files stay byte-identical), imported into a fresh project, checked, published to the local target, and
the published feed compared with the source item by item: GUID, date, title, enclosure bytes, season and episode,
chapters and transcripts. Running the import again changes nothing.

Nothing leaves 127.0.0.1: every other http(s) request goes to a dead proxy (http_proxy=127.0.0.1:9)."""

from __future__ import annotations

import hashlib
import html
import http.server
import io
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from lxml import etree
from PIL import Image

from tests.conftest import LOCAL_BASE, Invoke, ffmpeg_generate

HOSTS_DIR = Path(__file__).parent / "import_feeds" / "hosts"
NOW = "2026-11-30T00:00:00Z"  # after every item of every fixture
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
# Podcasting 2.0: the namespace URI of the spec, and the one early feeds (and some still) declare
PODCAST_NS = ("https://podcastindex.org/namespace/1.0", "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md")

# fixture file stems, also the feed ids (one per host; see import_feeds/hosts/README.md); 102 items are slow to publish
HOSTS = [
    "libsyn", "podbean", pytest.param("simplecast", marks=pytest.mark.slow), "art19", "acast", "sovereign-feeds",
    "homegrown-hits",
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

    def media(self, mime: str, url: str) -> bytes:
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


def artwork(url: str, number: int) -> bytes:
    """A square 1400 px image (what Apple asks for), a colour of its own, PNG or JPEG as the URL says."""
    out = io.BytesIO()
    colour = (number * 37 % 256, number * 91 % 256, 120)
    png = urlsplit(url).path.lower().endswith(".png")
    Image.new("RGB", (1400, 1400), colour).save(out, "PNG" if png else "JPEG", quality=80)
    return out.getvalue()


def chapters_json(number: int) -> bytes:
    chapters = [{"startTime": 0, "title": f"Opening {number}"}, {"startTime": 1, "title": f"Second part {number}"}]
    return json.dumps({"version": "1.2.0", "chapters": chapters}).encode()


def transcript(mime: str, number: int) -> bytes:
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

    def local(original: str, make: Callable[[int], bytes]) -> None:
        original = original.strip()
        if not original or original in urls:
            return
        number = len(urls) + 1
        name = urlsplit(original).path.rstrip("/").rsplit("/", 1)[-1] or "file"
        path = f"/{host}/{number:03d}/{name}"
        urls[original] = server.base + path
        files[path] = make(number)

    for image in [*tree.iter(f"{ITUNES}image"), *channel.findall("image")]:
        url = image.get("href") if image.tag == f"{ITUNES}image" else image.findtext("url")
        if url:
            local(url, lambda n, u=url.strip(): artwork(u, n))
    for item in channel.findall("item"):
        for enclosure in [*item.findall("enclosure"), *(s for a in _pc(item, "alternateEnclosure") for s in _pc(a, "source"))]:
            url = enclosure.get("url") or enclosure.get("uri") or ""
            mime = enclosure.get("type") or (enclosure.getparent().get("type") if enclosure.tag != "enclosure" else "") or ""
            local(url, lambda _n, m=mime, u=url.strip(): masters.media(m, u))
        for chapters in _pc(item, "chapters"):
            local(chapters.get("url") or "", chapters_json)
        for text in _pc(item, "transcript"):
            local(text.get("url") or "", lambda n, m=(text.get("type") or ""): transcript(m, n))

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
    return Served(host, source, parse_lenient(source), files, urls)


# --- the test ----------------------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request not for 127.0.0.1 goes to a closed port instead of the network."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not {"build", "public"} & set(p.relative_to(folder).parts)
    }


def published_file(url: str, project: Path) -> Path:
    assert url.startswith(LOCAL_BASE), url
    return project / "public" / url.removeprefix(LOCAL_BASE)


def numbers_unique(items: list[Any]) -> bool:
    """Whether the source's full episodes have distinct season+episode pairs (else the feed leaves numbers out)."""
    pairs = [
        (i.findtext(f"{ITUNES}season"), i.findtext(f"{ITUNES}episode"))
        for i in items
        if (i.findtext(f"{ITUNES}episodeType") or "full").strip().lower() == "full" and i.findtext(f"{ITUNES}episode")
    ]
    return len(pairs) == len(set(pairs))


def _int_text(element: Any, tag: str) -> str | None:
    value = _words(element.findtext(tag))
    return str(int(value)) if value.isdigit() else None


@pytest.mark.parametrize("host", HOSTS)
def test_a_real_feed_is_imported_checked_published_and_matches_its_source(
    host: str, tmp_path: Path, server: Server, masters: Masters, mediafeed: Invoke, offline: None
) -> None:
    served = serve_fixture(host, server, masters)
    project = tmp_path / "show"
    created = mediafeed(tmp_path, "init", str(project), "--title", "Moved Show")
    assert created.exit_code == 0, created.output
    feed_url = f"{server.base}/{host}/feed.xml"

    result = mediafeed(project, "import", feed_url, "--feed", host, "--json", now=NOW)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["failed"] == [], report["not_carried"]
    source_items = served.tree.find("channel").findall("item")

    # The report names each enclosure whose declared length is not what the host sent (every one here: the
    # fixtures declare the real episodes' sizes, the local host serves 2-second files).
    mismatched = {n["where"] for n in report["not_carried"] if n["field"] == "enclosure length"}
    declared_wrong = 0
    for item in source_items:
        enclosure = item.find("enclosure")
        length = (enclosure.get("length") or "").strip()
        if length.isdigit() and int(length) > 0 and int(length) != len(served.local(enclosure.get("url").strip())):
            declared_wrong += 1
    assert len(mismatched) == declared_wrong

    check = mediafeed(project, "check", now=NOW)
    assert check.exit_code == 0, check.output

    publish = mediafeed(project, "publish", now=NOW)
    assert publish.exit_code == 0, publish.output
    published_xml = project / "public" / "feeds" / f"{host}.xml"
    ours = etree.parse(str(published_xml)).getroot().find("channel")

    # Item by item: every source GUID is published exactly once, as the same text, and nothing else is.
    theirs = {_words(i.findtext("guid")): i for i in source_items}
    published = {i.findtext("guid"): i for i in ours.findall("item")}
    assert len(published) == len(ours.findall("item"))
    assert sorted(published) == sorted(theirs)

    unique_numbers = numbers_unique(source_items)
    for guid, item in published.items():
        original = theirs[guid]
        assert _words(item.findtext("title")) == _words(original.findtext("title") or original.findtext(f"{ITUNES}title")), guid
        assert parsedate_to_datetime(item.findtext("pubDate")) == parsedate_to_datetime(original.findtext("pubDate")), guid

        # the enclosure: the bytes the host served, published as they are, with a length that is true
        enclosure = item.find("enclosure")
        media = published_file(enclosure.get("url"), project)
        served_media = served.local(original.find("enclosure").get("url").strip())
        assert int(enclosure.get("length")) == media.stat().st_size, guid
        assert hashlib.sha256(media.read_bytes()).hexdigest() == hashlib.sha256(served_media).hexdigest(), (
            f"{guid}: {media.name} is not the file the host served"
        )

        for tag in ("season", "episode"):
            want = _int_text(original, f"{ITUNES}{tag}") if unique_numbers else None
            assert _int_text(item, f"{ITUNES}{tag}") == want, (guid, tag)

        # chapters: the source's JSON chapters, published as podcast:chapters with the same starts and titles
        source_chapters = _pc(original, "chapters")
        if source_chapters:
            want_chapters = json.loads(served.local(source_chapters[0].get("url").strip()))["chapters"]
            [ours_chapters] = _pc(item, "chapters")
            got = json.loads(published_file(ours_chapters.get("url"), project).read_bytes())["chapters"]
            assert [(c["startTime"], c["title"]) for c in got] == [(c["startTime"], c["title"]) for c in want_chapters], guid

        # transcripts: each VTT or SRT transcript the source has, published with the same cues
        for source_text in _pc(original, "transcript"):
            mime = (source_text.get("type") or "").lower()
            if not any(k in mime for k in ("vtt", "srt", "subrip")):
                continue
            want_cues = cue_texts(served.local(source_text.get("url").strip()))
            candidates = [
                cue_texts(published_file(t.get("url"), project).read_bytes())
                for t in _pc(item, "transcript")
                if ("vtt" in mime) == ("vtt" in (t.get("type") or ""))
            ]
            assert want_cues in candidates, (guid, mime)

    # The same comparison as a podcast app sees it (feedparser, lenient like the apps).
    app_source = feedparser.parse(served.source)
    app_ours = feedparser.parse(published_xml.read_bytes())
    assert not app_ours.bozo, app_ours.get("bozo_exception")
    by_id = {e.id: e for e in app_ours.entries}
    assert sorted(by_id) == sorted(_words(e.id) for e in app_source.entries)
    for entry in app_source.entries:
        mine = by_id[_words(entry.id)]
        assert _words(mine.title) == _words(entry.title)
        assert mine.published_parsed == entry.published_parsed

    # Re-import: nothing is written or downloaded, and no file changes, not even its modification time.
    shutil.rmtree(project / "public")
    before = snapshot(project)
    again = mediafeed(project, "import", feed_url, "--feed", host, "--json", now=NOW)
    assert again.exit_code == 0, again.output
    second = json.loads(again.output)
    assert (second["written"], second["downloaded"], second["kept"], second["failed"]) == ([], [], [], [])
    assert snapshot(project) == before
