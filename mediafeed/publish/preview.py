"""The preview server (`mediafeed serve`): a local target's folder over HTTP, answered the way the real host answers.

Every object is served with the Content-Type and Cache-Control of the one table (content_types.headers_for), the
bucket's CORS rule, byte ranges (206/416, Apple's `bytes=0-1` probe), strong ETags and Last-Modified (304 and 412,
decided before any Range in RFC 9110's order; If-Range only for the same representation), and text gzipped when asked
(what a CDN in front of the bucket does; never media or images, never with a Range). Werkzeug does the HTTP (header
parsing, ranges, HTTP/1.1 keep-alive): nothing here parses a header by hand.

Never served, always the same 404: bookkeeping (`_mediafeed/`), the lock file, dot files, directories (no listings;
`/` is index.html when there is one), and anything outside the folder (`..`, encoded or not, symlinks out of it).

Without `rewrite`, a request to another loopback name for the same server (localhost for 127.0.0.1) is redirected
to the public_url's name, whose origin the pages' links and Content-Security-Policy expect.

With `rewrite`, every occurrence of the target's public_url in a text response is replaced by the origin the request
came to, so podcast apps fetch from the preview instead of the real host; nothing on disk changes.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit, urlunsplit

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.security import safe_join
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from mediafeed import content_types
from mediafeed.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from mediafeed.config import Target

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
METHODS = ("GET", "HEAD", "OPTIONS")
TEXT_PLAIN = "text/plain; charset=utf-8"
NOT_FOUND = b"404 not found\n"  # the same for every key that is missing or never served: nothing to tell them apart
NO_HOME = (
    b"404 not found: this folder has no home page (index.html).\n"
    b"Publish first (mediafeed publish), then open a feed, e.g. /feeds/<feed>.xml.\n"
)
PRECONDITION_FAILED = b"412 precondition failed: the object does not match If-Match or If-Unmodified-Since\n"
# decided by _precondition and _if_range_holds before Werkzeug applies the Range (its own checks run Range first)
_CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE"}
)
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Address:
    """Where the preview listens, and what the feeds' URLs say."""

    host: str
    port: int
    public_url: str  # the target's, no trailing slash

    @property
    def origin(self) -> str:
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def prefix(self) -> str:
        """The path the public_url carries ('' or '/podcast'): URL paths below it are keys."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def base(self) -> str:
        """What a key's URL starts with on this server (the origin plus the public_url's path)."""
        return self.origin + self.prefix

    @property
    def matches_public_url(self) -> bool:
        """Whether the feeds' URLs point at this server (so a podcast app on this machine fetches from it)."""
        parts = urlsplit(self.public_url)
        if parts.scheme != "http" or (parts.hostname or "") not in LOOPBACK_HOSTS:
            return False
        if (parts.port or 80) != self.port:
            return False
        return self.host in LOOPBACK_HOSTS or self.host in WILDCARD_HOSTS or self.host == parts.hostname


def default_address(public_url: str, host: str | None, port: int | None) -> Address:
    """The public_url's host and port when it is a loopback URL (what the feeds point at), else 127.0.0.1:8000;
    --host and --port override either."""
    parts = urlsplit(public_url)
    local = parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    try:
        public_port = parts.port
    except ValueError:
        public_port = None
    chosen_host = host or ((parts.hostname or DEFAULT_HOST) if local else DEFAULT_HOST)
    chosen_port = port if port is not None else ((public_port or 80) if local else DEFAULT_PORT)
    return Address(chosen_host, chosen_port, public_url.rstrip("/"))


@dataclass
class Preview:
    """The WSGI app: a folder answered like the bucket that holds the same keys."""

    root: Path
    address: Address
    rewrite: bool = False
    _root: Path = field(init=False)

    def __post_init__(self) -> None:
        self._root = self.root.resolve()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        _cors(response)
        return response(environ, start_response)

    # --- routing -----------------------------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _preflight(request)
        if request.method not in ("GET", "HEAD"):
            response = _text(f"405 method not allowed: {request.method}\n".encode(), 405)
            response.allow.update(METHODS)
            return response
        canonical = self.canonical_url(request)
        if canonical is not None:
            response = _text(f"307 see {canonical}\n".encode(), 307)
            response.headers["Location"] = canonical
            return response
        key = self.key_for(request.path)
        if key == "":
            if self.file_for("index.html") is None:
                return _text(NO_HOME, 404)
            key = "index.html"
        path = self.file_for(key) if key is not None else None
        if key is None or path is None:
            return _text(NOT_FOUND, 404)
        try:
            return self.serve_file(request, key, path)
        except OSError:  # unreadable (permissions), or removed between the look and the read
            return _text(b"500 this file cannot be read; check its permissions\n", 500)

    def canonical_url(self, request: Request) -> str | None:
        """The same URL on the public_url's host, when the request came to this server by another loopback name
        (http://localhost:8000/ while the feeds say http://127.0.0.1:8000, or back); else None.

        Pages link their stylesheet, script, artwork and media by the public_url and allow only their own origin
        (Content-Security-Policy 'self'), so a page read from another name for the same server would come without
        them: no style, no player. A temporary redirect (307) sends the browser to the name the pages use. Never with
        --rewrite (the response is rewritten for the name asked), nor for a name other than loopback (a phone asking
        by the LAN address must not be sent to its own 127.0.0.1), nor when the public_url is another server's."""
        if self.rewrite or not self.address.matches_public_url:
            return None
        public = urlsplit(self.address.public_url)
        try:
            asked = urlsplit(f"//{request.host}")
            name, port = asked.hostname, asked.port or 80
        except ValueError:
            return None
        if name is None or name not in LOOPBACK_HOSTS or name == public.hostname or port != (public.port or 80):
            return None
        return urlunsplit(urlsplit(request.url)._replace(scheme=public.scheme, netloc=public.netloc))

    def key_for(self, url_path: str) -> str | None:
        """The key a URL path names ('' for the home page), or None when it names nothing this server holds."""
        prefix = self.address.prefix
        if prefix:
            if url_path in (prefix, prefix + "/"):
                return ""
            if not url_path.startswith(prefix + "/"):
                return "" if url_path == "/" else None
            url_path = url_path[len(prefix) :]
        if url_path == "/":
            return ""
        if not url_path.startswith("/") or url_path.endswith("/"):
            return None  # a folder: never listed
        return url_path[1:]

    def file_for(self, key: str) -> Path | None:
        """The regular file inside the folder that `key` names, or None (missing, a folder, never served, outside)."""
        if content_types.never_served(key) or "\\" in key or "\x00" in key:
            return None
        joined = safe_join(str(self._root), key)  # refuses `..`, absolute paths and Windows separators
        if joined is None:
            return None
        try:
            path = Path(joined).resolve(strict=True)  # symlinks followed: where the bytes really are
        except (OSError, RuntimeError, ValueError):
            return None
        if not path.is_relative_to(self._root) or not path.is_file():
            return None
        if content_types.never_served(path.relative_to(self._root).as_posix()):  # a link from a public name to bookkeeping
            return None
        return path

    # --- a file --------------------------------------------------------------------------------------------------------

    def serve_file(self, request: Request, key: str, path: Path) -> Response:
        headers = content_types.headers_for(key)
        handle = path.open("rb")
        stat = os.fstat(handle.fileno())  # of the bytes sent, even if a publish replaces the file meanwhile
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        if headers.compressible:
            with handle:
                response = self._text_file(request, handle.read())
        else:
            response = Response(wrap_file(request.environ, handle), direct_passthrough=True)
            response.content_length = stat.st_size
            response.set_etag(f"{stat.st_size:x}-{stat.st_mtime_ns:x}")
        _describe(response, headers)
        response.last_modified = modified
        length = response.content_length or 0
        etag = response.get_etag()[0] or ""
        failed = _precondition(request, etag, modified)
        if failed == 412:
            response.close()
            return _text(PRECONDITION_FAILED, 412)
        if failed == 304:
            response.status_code = 304  # no body; Werkzeug drops the entity headers, keeps ETag and Cache-Control
            response.accept_ranges = "bytes"
            return response
        # The preconditions passed (or were absent): Werkzeug is left only the Range to apply, and none when If-Range
        # names another representation or the request asks for several ranges (the whole object, as S3 answers).
        environ = {k: v for k, v in request.environ.items() if k not in _CONDITIONAL_HEADERS}
        if "," in request.headers.get("Range", "") or not _if_range_holds(request, etag, modified):
            environ.pop("HTTP_RANGE", None)
        try:
            response.make_conditional(environ, accept_ranges=True, complete_length=length)
            del response.headers["Date"]  # the server sends one
        except RequestedRangeNotSatisfiable:
            response.close()
            unsatisfiable = Response(b"", 416)
            _describe(unsatisfiable, headers)
            unsatisfiable.headers["Content-Range"] = f"bytes */{length}"
            unsatisfiable.accept_ranges = "bytes"
            return unsatisfiable
        return response

    def _text_file(self, request: Request, data: bytes) -> Response:
        """Feeds, pages, lists: read whole (they are small), rewritten and gzipped as asked; the ETag is of the bytes
        sent, so each representation has its own."""
        if self.rewrite:
            data = data.replace(self.address.public_url.encode(), self._served_base(request).encode())
        response = Response(data)
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"] > 0 and "Range" not in request.headers:
            data = gzip.compress(data, compresslevel=6, mtime=0)
            response.set_data(data)
            response.content_encoding = "gzip"
        response.set_etag(hashlib.sha256(data).hexdigest()[:32])
        return response

    def _served_base(self, request: Request) -> str:
        """The origin this request came to (so a phone on the LAN gets URLs it can reach), or the listening one."""
        host = request.host
        if not _HOST_HEADER.match(host):
            return self.address.base
        return f"http://{host}{self.address.prefix}"


def _precondition(request: Request, etag: str, modified: datetime) -> int | None:
    """The conditional headers in RFC 9110's order (§13.2.2), all before any Range: 412 when If-Match (or, without it,
    If-Unmodified-Since) fails; 304 when If-None-Match (or, without it, If-Modified-Since) says the client's copy is
    current, even with a Range; None when the request goes on. Werkzeug parses every header."""
    if request.if_match:  # strong comparison; `*` matches any existing object
        if not request.if_match.contains(etag):
            return 412
    elif request.if_unmodified_since is not None and modified > request.if_unmodified_since:
        return 412
    if request.if_none_match:  # weak comparison; `*` matches
        if request.if_none_match.contains_weak(etag):
            return 304
    elif request.if_modified_since is not None and modified <= request.if_modified_since:
        return 304
    return None


def _if_range_holds(request: Request, etag: str, modified: datetime) -> bool:
    """If-Range (RFC 9110 §13.1.5): the Range applies only when the validator names exactly this representation, by
    the same strong ETag (a weak or unquoted one never matches) or by exactly its Last-Modified date; otherwise the
    whole object is sent. True when there is no If-Range."""
    value = request.headers.get("If-Range")
    if value is None:
        return True
    if_range = request.if_range
    if if_range.date is not None:
        return if_range.date == modified
    return value.strip().startswith('"') and if_range.etag == etag


def _describe(response: Response, headers: content_types.Headers) -> None:
    response.headers["Content-Type"] = headers.content_type
    response.headers["Cache-Control"] = headers.cache_control


def _text(body: bytes, status: int) -> Response:
    response = Response(body, status)
    _describe(response, content_types.Headers(TEXT_PLAIN, content_types.NO_CACHE))
    return response


def _cors(response: Response) -> None:
    """The bucket's rule on every response: any origin, and the range and size headers readable by a page's script."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = ", ".join(content_types.CORS_EXPOSED_HEADERS)


def _preflight(request: Request) -> Response:
    """OPTIONS: a browser's preflight answered from the CORS rule (403 for what the rule does not allow, as S3 does);
    a plain OPTIONS lists the methods."""
    method = request.headers.get("Access-Control-Request-Method")
    if "Origin" not in request.headers or method is None:
        response = Response(b"", 204)
        response.allow.update(METHODS)
        return response
    allowed_headers = {name.lower() for name in content_types.CORS_ALLOWED_HEADERS}
    asked = [h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()]
    if method not in content_types.CORS_METHODS or any(h not in allowed_headers for h in asked):
        return _text(b"403 CORS preflight refused: the rule allows GET and HEAD with Range and conditionals\n", 403)
    response = Response(b"", 204)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(content_types.CORS_METHODS)
    response.headers["Access-Control-Allow-Headers"] = ", ".join(content_types.CORS_ALLOWED_HEADERS)
    response.headers["Access-Control-Max-Age"] = str(content_types.CORS_MAX_AGE)
    response.vary.update(("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"))
    return response


# --- the server --------------------------------------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """Werkzeug's request handler, kept on the connection between requests (HTTP/1.1 keep-alive, as a real host).

    Werkzeug's development server closes every connection (it cannot tell where an unread request body ends). The
    preview never reads a body, so it discards a declared Content-Length's worth itself and keeps the connection
    open whenever the response has a Content-Length (which every response of the app has, or needs none).
    """

    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle keep-alive connection is kept
    log_line: Callable[[str], None] | None = None
    BODY_LIMIT = 1 << 20  # a request body beyond this (never useful here) closes the connection instead of being read

    def run_wsgi(self) -> None:
        self._discard_body()
        self.environ = environ = self.make_environ()
        answer: list[object] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], object]:
            answer[:] = [status, headers]
            return self.wfile.write

        body = self.server.app(environ, start_response)
        try:
            status, headers = cast("tuple[str, list[tuple[str, str]]]", tuple(answer))
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            names = set()
            for name, value in headers:
                self.send_header(name, value)
                names.add(name.lower())
            bodiless = environ["REQUEST_METHOD"] == "HEAD" or int(code) in (204, 304) or int(code) < 200
            if "content-length" not in names and not bodiless:
                self.close_connection = True  # the end of the body is where the connection ends
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            for chunk in body:
                self.wfile.write(chunk)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def _discard_body(self) -> None:
        """Read past a request's body so the next request line is where the next read starts."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.BODY_LIMIT:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_line is not None:
            path = "".join(c if c.isprintable() else "?" for c in self.path)  # a request line cannot forge log lines
            self.log_line(f"{self.command} {path} {code}")

    def log(self, type: str, message: str, *args: object) -> None:
        if self.log_line is not None:
            self.log_line(f"{type}: {message % args if args else message}")


@dataclass(frozen=True)
class Started:
    """What the server tells the user once it listens."""

    folder: Path
    address: Address
    rewrite: bool
    home: str | None  # the home page's URL when the folder has one
    feeds: tuple[str, ...]  # the feeds' URLs on this server


def target_folder(target: Target) -> Path:
    if target.path is None:
        raise UsageError(
            f"target '{target.name}' is not a local folder ({target.type})",
            hint='serve a target with type = "local" (use --target NAME)',
        )
    return target.path


def listen(address: Address) -> socket.socket:
    """A listening socket on the address, or an error saying what to do (the port is taken, the host is unknown)."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise UsageError(f"cannot listen on {address.host}:{address.port} ({exc})", hint="use --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise EnvironmentProblem(
                f"port {address.port} is already in use on {address.host}",
                hint=f"stop what uses it, or pick another port with --port N (e.g. --port {address.port + 1})",
            ) from None
        if exc.errno == errno.EACCES:
            raise EnvironmentProblem(
                f"not allowed to listen on port {address.port}", hint="use a port above 1023 with --port N"
            ) from None
        raise EnvironmentProblem(f"cannot listen on {address.host}:{address.port}: {exc.strerror}") from None
    return sock


def run(
    target: Target,
    address: Address,
    *,
    rewrite: bool,
    started: Callable[[Started], None],
    log_line: Callable[[str], None] | None = None,
) -> None:
    """Serve the target's folder until interrupted (Ctrl-C returns normally)."""
    folder = target_folder(target)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise EnvironmentProblem(f"{folder}: {what}", hint="publish first (mediafeed publish), or fix the target's path")
    try:
        feed_files = sorted(p.name for p in (folder / "feeds").glob("*.xml") if not p.name.startswith("."))
        os.listdir(folder)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot read {folder}: {exc.strerror or exc}",
            hint="let the user running mediafeed serve read the folder (check its owner and mode)",
        ) from None
    sock = listen(address)
    address = replace(address, port=sock.getsockname()[1])  # --port 0: the one the system picked
    app = Preview(folder, address, rewrite=rewrite)
    handler = type("Handler", (_Handler,), {"log_line": staticmethod(log_line) if log_line else None})
    try:
        server = make_server(address.host, address.port, app, threaded=True, request_handler=handler, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor
    base = address.base if rewrite or not address.matches_public_url else address.public_url
    feeds = tuple(f"{base}/feeds/{name}" for name in feed_files)
    home = f"{base}/" if app.file_for("index.html") is not None else None
    started(Started(folder, address, rewrite, home, feeds))
    on_main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None  # `kill`: as quiet as Ctrl-C
    try:
        server.serve_forever()  # returns on KeyboardInterrupt, and closes the socket
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if on_main_thread:
            signal.signal(signal.SIGTERM, before)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
