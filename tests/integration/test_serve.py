"""`mediafeed serve`: the real server process, spoken to over real HTTP/1.1 on 127.0.0.1, answers like the real host.

The sample catalog is published once for the module; each server is `python -m mediafeed serve` in a subprocess on a
free loopback port (killed at teardown). A few edge cases also go through the WSGI app with Werkzeug's test client.
"""

from __future__ import annotations

import gzip
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.http import http_date, parse_date
from werkzeug.test import Client

from mediafeed import content_types
from mediafeed.cli import cli
from mediafeed.publish.preview import NOT_FOUND, TEXT_PLAIN, Address, Preview
from tests.conftest import NOW, REPO, copy_build, copy_catalog
from tests.integration.conftest import free_port

PUBLIC_URL = "http://127.0.0.1:8000"  # the sample's local target
MEDIA = "media/"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, sample_build: Path) -> Path:
    """The sample catalog, published once to its local target (public/) for every test here."""
    project = copy_catalog(tmp_path_factory.mktemp("serve") / "project")
    copy_build(sample_build, project)
    result = CliRunner().invoke(cli, ["--project", str(project), "--now", NOW, "-q", "publish"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return project


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    output: str  # what it printed on start (stdout and stderr)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        connection = self.connect()
        try:
            return exchange(connection, method, path, headers)
        finally:
            connection.close()


def exchange(
    connection: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


MEDIAFEED = ("-m", "mediafeed")
# the same, with Ctrl-C's signal handled even when the test runner's process ignores SIGINT (its children inherit that)
WITH_CTRL_C = (
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); from mediafeed.cli import main; main()",
)


def start(
    project: Path, *args: str, port: int | None = None, command: tuple[str, ...] = MEDIAFEED
) -> tuple[subprocess.Popen[bytes], int]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, *command, "serve", "--port", str(port), *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return process, port


def wait_for(process: subprocess.Popen[bytes], port: int) -> str:
    """Until the server accepts connections; returns what it printed on start."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.stdout.read().decode() if process.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError("serve did not start listening within 15 s")
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    time.sleep(0.1)  # the start-up lines are printed just before serve_forever
    return (process.stdout.read() or b"").decode()


def stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture(scope="module")
def server(published: Path) -> Iterator[Server]:
    process, port = start(published)
    try:
        yield Server(process, port, wait_for(process, port))
    finally:
        stop(process)


@pytest.fixture(scope="module")
def rewriting(published: Path) -> Iterator[Server]:
    process, port = start(published, "--rewrite")
    try:
        yield Server(process, port, wait_for(process, port))
    finally:
        stop(process)


def public_keys(project: Path) -> list[str]:
    root = project / "public"
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not content_types.never_served(p.relative_to(root).as_posix())
    )


def a_media_key(project: Path) -> str:
    return next(key for key in public_keys(project) if key.startswith(MEDIA))


# --- headers from the one table -----------------------------------------------------------------------------------------


def test_every_published_key_has_the_tables_content_type_and_cache_control(server: Server, published: Path) -> None:
    keys = public_keys(published)
    suffixes = {content_types.suffix_of(key) for key in keys}
    assert {".xml", ".opml", ".mp3", ".json", ".vtt", ".srt"} <= suffixes, suffixes
    connection = server.connect()  # one kept-alive connection for every key
    sockets = set()
    for key in keys:
        response, body = exchange(connection, "GET", f"/{key}")
        sockets.add(connection.sock.getsockname() if connection.sock else None)
        assert response.getheader("Connection") != "close", key
        expected = content_types.headers_for(key)
        assert response.status == 200, key
        assert response.getheader("Content-Type") == expected.content_type, key
        assert response.getheader("Cache-Control") == expected.cache_control, key
        assert response.getheader("Accept-Ranges") == "bytes", key
        assert response.getheader("Access-Control-Allow-Origin") == "*", key
        assert body == (published / "public" / key).read_bytes(), key
        if key.startswith("feeds/") or key.endswith((".opml", ".vtt", ".srt")) or key.startswith("chapters/"):
            assert expected.content_type != content_types.DEFAULT_TYPE, key
    connection.close()
    assert len(sockets) == 1, "HTTP/1.1 keep-alive: every request went over the same connection"
    by_key = {content_types.suffix_of(k): content_types.headers_for(k).content_type for k in keys if "/" in k}
    assert by_key[".xml"] == content_types.RSS_TYPE
    assert by_key[".vtt"] == content_types.VTT_TYPE and by_key[".srt"] == content_types.SRT_TYPE
    assert content_types.headers_for("feeds.opml").content_type == content_types.OPML_TYPE
    chapters = next(k for k in keys if k.startswith("chapters/"))
    assert content_types.headers_for(chapters).content_type == content_types.JSON_CHAPTERS_TYPE


def test_start_up_lines_name_the_folder_address_and_feeds(server: Server, published: Path) -> None:
    assert f"serving {published / 'public'} at {server.origin}/ (Ctrl-C to stop)" in server.output
    assert f"{server.origin}/feeds/podcast.xml" in server.output
    assert "Traceback" not in server.output


# --- ranges, conditionals, HEAD ---------------------------------------------------------------------------------------


def test_byte_ranges(server: Server, published: Path) -> None:
    key = a_media_key(published)
    data = (published / "public" / key).read_bytes()
    size = len(data)
    connection = server.connect()
    response, body = exchange(connection, "GET", f"/{key}", {"Range": "bytes=0-99"})
    assert response.status == 206
    assert body == data[:100]
    assert response.getheader("Content-Range") == f"bytes 0-99/{size}"
    assert response.getheader("Content-Length") == "100"
    assert response.getheader("Content-Type") == content_types.headers_for(key).content_type
    response, body = exchange(connection, "GET", f"/{key}", {"Range": "bytes=0-1"})  # Apple's probe
    assert (response.status, body, response.getheader("Content-Range")) == (206, data[:2], f"bytes 0-1/{size}")
    response, body = exchange(connection, "GET", f"/{key}", {"Range": "bytes=-500"})  # the last 500 bytes
    assert (response.status, body) == (206, data[-500:])
    assert response.getheader("Content-Range") == f"bytes {size - 500}-{size - 1}/{size}"
    response, body = exchange(connection, "GET", f"/{key}", {"Range": f"bytes={size + 10}-"})
    assert response.status == 416
    assert response.getheader("Content-Range") == f"bytes */{size}"
    assert body == b""
    response, body = exchange(connection, "GET", f"/{key}", {"Range": f"bytes={size - 3}-"})  # still usable after 416
    assert (response.status, body) == (206, data[-3:])
    connection.close()


def test_conditional_requests_answer_304(server: Server, published: Path) -> None:
    for key in ("feeds/podcast.xml", a_media_key(published)):
        first, _ = server.request("GET", f"/{key}")
        etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
        assert etag and etag.startswith('"') and modified, key  # a strong ETag
        connection = server.connect()
        response, body = exchange(connection, "GET", f"/{key}", {"If-None-Match": etag})
        assert (response.status, body) == (304, b""), key
        assert response.getheader("ETag") == etag
        assert response.getheader("Cache-Control") == content_types.headers_for(key).cache_control
        response, body = exchange(connection, "GET", f"/{key}", {"If-Modified-Since": modified})
        assert (response.status, body) == (304, b""), key
        response, body = exchange(connection, "GET", f"/{key}", {"If-None-Match": '"something-else"'})
        assert response.status == 200 and body == (published / "public" / key).read_bytes()
        connection.close()


def moved(http_date_value: str, seconds: int) -> str:
    """An HTTP date `seconds` after (or before) the one given."""
    parsed = parse_date(http_date_value)
    assert parsed is not None, http_date_value
    return http_date(parsed + timedelta(seconds=seconds))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditionals_are_evaluated_before_the_range(server: Server, published: Path, method: str) -> None:
    """RFC 9110 §13.2.2: If-Match / If-Unmodified-Since (412), then If-None-Match / If-Modified-Since (304), and only
    then Range: a client whose copy is current gets 304 even when it asks for a range (or an unsatisfiable one)."""
    for key in ("feeds/podcast.xml", a_media_key(published)):
        data = (published / "public" / key).read_bytes()
        first, _ = server.request("GET", f"/{key}")
        etag, modified = first.getheader("ETag") or "", first.getheader("Last-Modified") or ""
        assert etag and modified
        part = b"" if method == "HEAD" else data[:10]
        connection = server.connect()  # one kept-alive connection: every answer below keeps it in step
        cases: list[tuple[dict[str, str], int]] = [
            ({"If-None-Match": etag, "Range": "bytes=0-9"}, 304),
            ({"If-None-Match": f'"other", {etag}', "Range": "bytes=0-9"}, 304),
            ({"If-None-Match": "*", "Range": "bytes=0-9"}, 304),
            ({"If-None-Match": etag, "Range": f"bytes={len(data) + 10}-"}, 304),  # not 416: the precondition first
            ({"If-Modified-Since": modified, "Range": "bytes=0-9"}, 304),
            ({"If-Modified-Since": moved(modified, 3600), "Range": "bytes=0-9"}, 304),
            ({"If-Modified-Since": moved(modified, -1), "Range": "bytes=0-9"}, 206),  # changed since: the range
            ({"If-None-Match": '"other"', "Range": "bytes=0-9"}, 206),
            # If-None-Match present: If-Modified-Since is ignored (RFC 9110 §13.1.3)
            ({"If-None-Match": '"other"', "If-Modified-Since": modified, "Range": "bytes=0-9"}, 206),
            ({"If-Match": '"other"', "Range": "bytes=0-9"}, 412),
            ({"If-Match": '"other"', "If-None-Match": etag, "Range": "bytes=0-9"}, 412),  # If-Match comes first
            ({"If-Unmodified-Since": moved(modified, -1), "Range": "bytes=0-9"}, 412),
            ({"If-Match": etag, "Range": "bytes=0-9"}, 206),
            ({"If-Match": "*", "Range": "bytes=0-9"}, 206),
            ({"If-Unmodified-Since": modified, "Range": "bytes=0-9"}, 206),
        ]
        for headers, status in cases:
            response, body = exchange(connection, method, f"/{key}", headers)
            assert response.status == status, (key, method, headers, response.status)
            assert response.getheader("Access-Control-Allow-Origin") == "*"
            if status == 304:
                assert body == b"" and response.getheader("Content-Range") is None
                assert response.getheader("ETag") == etag, headers
                assert response.getheader("Cache-Control") == content_types.headers_for(key).cache_control
            elif status == 206:
                assert body == part, (key, headers)
                assert response.getheader("Content-Range") == f"bytes 0-9/{len(data)}"
            else:
                assert response.getheader("Content-Range") is None and b"bytes" not in body
                assert response.getheader("Content-Type") == TEXT_PLAIN
        response, body = exchange(connection, "GET", f"/{key}")  # still in step after 304s and 412s
        assert (response.status, body) == (200, data)
        connection.close()


def test_if_range_applies_the_range_only_for_the_same_representation(server: Server, published: Path) -> None:
    """RFC 9110 §13.1.5: with If-Range naming this representation (its strong ETag, or exactly its Last-Modified) the
    range is sent (206); naming anything else (another or a weak ETag, another date), the whole object (200)."""
    for key in ("feeds/podcast.xml", a_media_key(published)):
        data = (published / "public" / key).read_bytes()
        first, _ = server.request("GET", f"/{key}")
        etag, modified = first.getheader("ETag") or "", first.getheader("Last-Modified") or ""
        connection = server.connect()
        cases: list[tuple[dict[str, str], int]] = [
            ({"If-Range": etag, "Range": "bytes=0-9"}, 206),
            ({"If-Range": modified, "Range": "bytes=0-9"}, 206),
            ({"If-Range": etag, "If-None-Match": '"other"', "Range": "bytes=0-9"}, 206),
            ({"If-Range": modified, "If-None-Match": '"other"', "Range": "bytes=0-9"}, 206),
            ({"If-Range": modified, "If-Modified-Since": moved(modified, -60), "Range": "bytes=0-9"}, 206),
            ({"If-Range": '"other"', "Range": "bytes=0-9"}, 200),
            ({"If-Range": f"W/{etag}", "Range": "bytes=0-9"}, 200),  # If-Range compares strongly: weak never matches
            ({"If-Range": moved(modified, -1), "Range": "bytes=0-9"}, 200),
            ({"If-Range": moved(modified, 1), "Range": "bytes=0-9"}, 200),  # exactly Last-Modified, not "since"
            ({"If-Range": '"other"', "Range": f"bytes={len(data) + 10}-"}, 200),  # the range is ignored: no 416
            ({"If-Range": '"other"'}, 200),  # without a Range, If-Range is ignored
            ({"If-Range": etag}, 200),
        ]
        for headers, status in cases:
            response, body = exchange(connection, "GET", f"/{key}", headers)
            assert response.status == status, (key, headers, response.status)
            if status == 206:
                assert body == data[:10] and response.getheader("Content-Range") == f"bytes 0-9/{len(data)}"
            else:
                assert body == data and response.getheader("Content-Range") is None, (key, headers)
                assert response.getheader("Content-Length") == str(len(data))
            assert response.getheader("ETag") == etag and response.getheader("Accept-Ranges") == "bytes"
        # a matching If-Range with a current copy is still 304: the preconditions come first
        response, body = exchange(connection, "GET", f"/{key}", {"If-Range": etag, "If-None-Match": etag, "Range": "bytes=0-9"})
        assert (response.status, body) == (304, b"")
        connection.close()


def test_head_sends_the_headers_without_a_body(server: Server, published: Path) -> None:
    key = a_media_key(published)
    connection = server.connect()
    response, body = exchange(connection, "HEAD", f"/{key}")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Length") == str((published / "public" / key).stat().st_size)
    assert response.getheader("Content-Type") == content_types.headers_for(key).content_type
    response, body = exchange(connection, "GET", "/feeds/podcast.xml")  # the connection is still in step
    assert response.status == 200 and body == (published / "public" / "feeds/podcast.xml").read_bytes()
    connection.close()


# --- CORS ---------------------------------------------------------------------------------------------------------------


def test_cors_on_get_and_a_preflight(server: Server, published: Path) -> None:
    response, _ = server.request("GET", "/feeds/podcast.xml", {"Origin": "https://www.example.org"})
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    exposed = {h.strip() for h in (response.getheader("Access-Control-Expose-Headers") or "").split(",")}
    assert exposed == set(content_types.CORS_EXPOSED_HEADERS)
    preflight = {"Origin": "https://www.example.org", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "range"}  # fmt: skip
    response, body = server.request("OPTIONS", f"/{a_media_key(published)}", preflight)
    assert (response.status, body) == (204, b"")
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert response.getheader("Access-Control-Allow-Methods") == ", ".join(content_types.CORS_METHODS)
    assert response.getheader("Access-Control-Allow-Headers") == ", ".join(content_types.CORS_ALLOWED_HEADERS)
    assert response.getheader("Access-Control-Max-Age") == str(content_types.CORS_MAX_AGE)


# --- never served -------------------------------------------------------------------------------------------------------


def test_bookkeeping_lock_folders_and_traversal_are_404(server: Server, published: Path) -> None:
    assert (published / "public" / "_mediafeed" / "manifest.json").is_file()
    assert (published / "public" / ".mediafeed-lock").exists()
    _, missing = server.request("GET", "/no-such-file.xml")
    secret = (published / "mediafeed.toml").read_bytes()
    connection = server.connect()
    for path in ("/_mediafeed/manifest.json", "/.mediafeed-lock", "/media/", "/media", "/feeds/", "/_mediafeed/",
                 "/../mediafeed.toml", "/%2e%2e/mediafeed.toml", "/feeds/%2e%2e/%2e%2e/mediafeed.toml",
                 "/feeds/..%2f..%2fmediafeed.toml", "/..%5cmediafeed.toml", "//etc/passwd", "/%2fetc/passwd"):  # fmt: skip
        for method in ("GET", "HEAD"):
            response, body = exchange(connection, method, path)
            assert response.status == 404, (method, path)
            assert body == (missing if method == "GET" else b""), path
            assert secret not in body and b"manifest" not in body
    connection.close()


def test_a_symlink_out_of_the_folder_or_to_bookkeeping_is_404(server: Server, published: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.xml"
    outside.write_text("<secret/>")
    links = {published / "public" / "feeds" / "leak.xml": outside,
             published / "public" / "feeds" / "manifest.json": published / "public" / "_mediafeed" / "manifest.json"}  # fmt: skip
    for link, to in links.items():
        link.symlink_to(to)
    try:
        for link in links:
            response, body = server.request("GET", f"/feeds/{link.name}")
            assert (response.status, body) == (404, NOT_FOUND), link.name
        app = Client(Preview(published / "public", Address("127.0.0.1", 8000, PUBLIC_URL)))
        assert app.get("/feeds/leak.xml").status_code == 404
        assert app.get("/feeds/podcast.xml").status_code == 200
    finally:
        for link in links:
            link.unlink()


def test_home_page_is_index_html_or_a_helpful_404(server: Server, published: Path) -> None:
    index = published / "public" / "index.html"
    if index.exists():  # another part of issue 16 publishes pages
        response, body = server.request("GET", "/")
        assert response.status == 200 and body == index.read_bytes()
    else:
        response, body = server.request("GET", "/")
        assert response.status == 404
        assert b"no home page" in body and b"publish" in body.lower()
    app = Client(Preview(published / "public", Address("127.0.0.1", 8000, PUBLIC_URL)))
    assert app.get("/").status_code == (200 if index.exists() else 404)


def test_only_get_head_options(server: Server) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response, _ = server.request(method, "/feeds/podcast.xml")
        assert response.status == 405, method
        assert set(h.strip() for h in (response.getheader("Allow") or "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    connection = server.connect()
    connection.request("POST", "/feeds/podcast.xml", body=b"x" * 1000, headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    assert (response.status, response.read()[:3]) == (405, b"405")
    response, body = exchange(connection, "GET", "/feeds/podcast.xml")  # the POST's body did not desync the stream
    assert response.status == 200 and body.startswith(b"<?xml")
    connection.close()


# --- compression ------------------------------------------------------------------------------------------------------


def test_gzip_for_text_when_asked_never_for_media(server: Server, published: Path) -> None:
    connection = server.connect()
    for key in ("feeds/podcast.xml", "feeds.opml"):
        data = (published / "public" / key).read_bytes()
        response, body = exchange(connection, "GET", f"/{key}", {"Accept-Encoding": "gzip"})
        assert response.getheader("Content-Encoding") == "gzip", key
        assert "Accept-Encoding" in (response.getheader("Vary") or "")
        assert gzip.decompress(body) == data
        assert int(response.getheader("Content-Length") or 0) == len(body) < len(data)
        again, body_again = exchange(connection, "GET", f"/{key}", {"Accept-Encoding": "gzip"})
        assert body_again == body and again.getheader("ETag") == response.getheader("ETag")  # deterministic
        plain, plain_body = exchange(connection, "GET", f"/{key}")
        assert plain.getheader("Content-Encoding") is None and plain_body == data
        assert plain.getheader("ETag") != response.getheader("ETag")  # another representation
        ranged, ranged_body = exchange(connection, "GET", f"/{key}", {"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
        assert (ranged.status, ranged.getheader("Content-Encoding"), ranged_body) == (206, None, data[:10])
    key = a_media_key(published)
    response, body = exchange(connection, "GET", f"/{key}", {"Accept-Encoding": "gzip"})
    assert response.getheader("Content-Encoding") is None
    assert body == (published / "public" / key).read_bytes()
    connection.close()


# --- address, warnings, rewrite ---------------------------------------------------------------------------------------


def test_another_port_than_the_public_url_warns_and_suggests_rewrite(server: Server) -> None:
    assert "warning" in server.output
    assert PUBLIC_URL in server.output and "--rewrite" in server.output


def test_every_interface_with_loopback_urls_warns_that_other_devices_need_rewrite(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --host 0.0.0.0` (not started here: tests listen on 127.0.0.1 only): what it says on start."""
    from mediafeed.cli import _serving
    from mediafeed.publish.preview import Address, Started

    address = Address("0.0.0.0", 8000, PUBLIC_URL)
    _serving(Started(Path("/srv/public"), address, False, f"{PUBLIC_URL}/", ()))
    err = capsys.readouterr().err
    assert "another device (a phone) cannot reach" in err and "--rewrite" in err


def test_an_empty_target_folder_says_to_publish_first(tmp_path: Path) -> None:
    project = copy_catalog(tmp_path / "project")
    (project / "public").mkdir()
    process, port = start(project)
    try:
        output = wait_for(process, port)
    finally:
        stop(process)
    assert "nothing is published in" in output and "run `mediafeed publish` first" in output


def test_port_in_use_is_a_clear_error(published: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        process, _ = start(published, port=port)
        output, _ = process.communicate(timeout=20)
    text = output.decode()
    assert process.returncode == 4, text
    assert f"port {port}" in text and "--port N" in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


def test_rewrite_points_the_feeds_at_the_server(rewriting: Server, published: Path) -> None:
    path = published / "public" / "feeds" / "podcast.xml"
    on_disk = path.read_bytes()
    assert PUBLIC_URL.encode() in on_disk
    assert "warning" not in rewriting.output and "rewriting" in rewriting.output
    connection = rewriting.connect()
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        response, body = exchange(connection, "GET", "/feeds/podcast.xml", headers)
        if headers:
            body = gzip.decompress(body)
        else:
            assert response.getheader("Content-Length") == str(len(body))
        assert rewriting.origin.encode() + b"/media/" in body
        assert PUBLIC_URL.encode() not in body
        assert body == on_disk.replace(PUBLIC_URL.encode(), rewriting.origin.encode())
    etag = response.getheader("ETag")
    response, _ = exchange(connection, "GET", "/feeds/podcast.xml", {"If-None-Match": etag or ""})
    assert response.status == 200  # that was the gzip variant's ETag: the plain one differs
    key = a_media_key(published)
    response, body = exchange(connection, "GET", f"/{key}")  # media are sent as they are
    assert body == (published / "public" / key).read_bytes()
    connection.close()
    assert path.read_bytes() == on_disk  # nothing on disk changed


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_stops_quietly(published: Path, how: signal.Signals) -> None:
    process, port = start(published, command=WITH_CTRL_C)
    wait_for(process, port)
    assert stop(process, how) == 0
    assert process.stdout is not None
    rest = (process.stdout.read() or b"").decode()
    assert "Traceback" not in rest and "interrupted" not in rest


# --- the WSGI app alone: edge cases -----------------------------------------------------------------------------------


def test_a_public_url_with_a_path_is_stripped_and_rewritten(published: Path) -> None:
    address = Address("127.0.0.1", 8123, "https://cdn.example.org/podcast")
    app = Client(Preview(published / "public", address, rewrite=True))
    assert app.get("/feeds/podcast.xml").status_code == 404  # not under the public_url's path
    response = app.get("/podcast/feeds.opml", headers={"Host": "127.0.0.1:8123"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_types.OPML_TYPE
    assert not address.matches_public_url
    assert Address("127.0.0.1", 8000, PUBLIC_URL).matches_public_url
    assert not Address("127.0.0.1", 8001, PUBLIC_URL).matches_public_url


def test_preflight_for_what_the_rule_does_not_allow_is_refused(published: Path) -> None:
    app = Client(Preview(published / "public", Address("127.0.0.1", 8000, PUBLIC_URL)))
    refused = app.options("/feeds/podcast.xml", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "PUT"})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Methods" not in refused.headers
    plain = app.options("/feeds/podcast.xml")
    assert plain.status_code == 204 and plain.headers["Access-Control-Allow-Origin"] == "*"


def test_another_loopback_name_for_the_server_is_redirected_to_the_public_urls(published: Path) -> None:
    """http://localhost:8000/ while the pages link http://127.0.0.1:8000: their CSP ('self') would refuse every
    stylesheet, script and image, so the preview sends the browser to the name the pages use (307, path and query
    kept). Not with --rewrite, not for a LAN name or another port, never for a preflight."""
    served = Address("127.0.0.1", 8000, PUBLIC_URL)
    app = Client(Preview(published / "public", served))
    path = "/episodes/lithium-levels-in-practice.html?from=%20an%20article"
    for host in ("localhost:8000", "LOCALHOST:8000", "[::1]:8000"):
        for method in ("GET", "HEAD"):
            response = app.open(path, method=method, headers={"Host": host})
            assert response.status_code == 307, (host, method)
            assert response.headers["Location"] == PUBLIC_URL + path
            assert response.headers["Access-Control-Allow-Origin"] == "*"
    for host in ("127.0.0.1:8000", "localhost:8001", "192.168.1.20:8000", "podcast.example.org:8000", "not:a:host"):
        assert app.get("/feeds/podcast.xml", headers={"Host": host}).status_code == 200, host
    preflight = {"Host": "localhost:8000", "Origin": "https://a.example", "Access-Control-Request-Method": "GET"}
    assert app.options("/feeds/podcast.xml", headers=preflight).status_code == 204
    rewriting = Client(Preview(published / "public", served, rewrite=True))
    response = rewriting.get("/feeds/podcast.xml", headers={"Host": "localhost:8000"})
    assert response.status_code == 200 and b"http://localhost:8000/media/" in response.data
    elsewhere = Client(Preview(published / "public", Address("127.0.0.1", 8001, PUBLIC_URL)))  # feeds point elsewhere
    assert elsewhere.get("/feeds/podcast.xml", headers={"Host": "localhost:8001"}).status_code == 200


def test_a_target_folder_that_is_a_file_is_named_so(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "mediafeed.toml").write_text((REPO / "mediafeed.toml").read_text())
    (project / "public").write_text("not a folder")
    result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--port", "0"])
    assert result.exit_code == 4, result.output
    assert f"{project / 'public'}: not a folder" in result.output and "Traceback" not in result.output
    (project / "public").unlink()
    result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--port", "0"])
    assert result.exit_code == 4 and "no such folder" in result.output and "publish first" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder whatever its mode: run the tests as another user")
def test_an_unreadable_target_folder_says_read_not_write(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "public" / "feeds").mkdir(parents=True)
    (project / "mediafeed.toml").write_text((REPO / "mediafeed.toml").read_text())
    (project / "public").chmod(0)
    try:
        result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--port", "0"])
    finally:
        (project / "public").chmod(0o755)
    assert result.exit_code == 4, result.output
    assert f"cannot read {project / 'public'}" in result.output and "read the folder" in result.output
    assert "write" not in result.output
