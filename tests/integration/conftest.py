"""S3 fixtures: a moto server on 127.0.0.1 (once per session), a fresh bucket per test, a fault-injecting proxy.

boto3 talks to moto over real HTTP (no in-process mocking); credentials are dummies set in the environment by
monkeypatch, and every other source of AWS settings (~/.aws, instance metadata) is switched off so nothing leaves
127.0.0.1 and the developer's own AWS setup cannot leak in.
"""

from __future__ import annotations

import http.client
import http.server
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

SECRET = "mediafeed-test-SECRET-do-not-print"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def import_from_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mediafeed import` refuses private and loopback addresses; these tests serve feeds on 127.0.0.1 (a test that
    checks the refusal removes this)."""
    monkeypatch.setenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE", "1")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """http://127.0.0.1:PORT of a moto server bound to the loopback interface only (it defaults to 0.0.0.0)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials in the environment; nothing else of the AWS chain can answer."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mediafeedtestkey")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


@pytest.fixture
def s3(moto_endpoint: str, aws_env: None) -> Any:
    """A plain boto3 client on the moto server, for tests to look at what a publish left in a bucket."""
    return s3_client(moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


def point_target(project: Path, endpoint: str, bucket: str, *, public_endpoint: str | None = None, prefix: str = "") -> None:
    """Rewrite [targets.s3] of the project's mediafeed.toml to a bucket on the test server (path-style URLs)."""
    toml = project / "mediafeed.toml"
    text = toml.read_text()
    start = text.index("[targets.s3]")
    end = text.index("[media]")
    public = f"{public_endpoint or endpoint}/{bucket}" + (f"/{prefix}" if prefix else "")
    section = (
        "[targets.s3]\n"
        'type = "s3"\n'
        f'bucket = "{bucket}"\n'
        f'prefix = "{prefix}"\n'
        'region = "us-east-1"\n'
        f'endpoint_url = "{endpoint}"\n'
        'addressing_style = "path"\n'
        f'public_url = "{public}"\n\n'
    )
    toml.write_text(text[:start] + section + text[end:])


@pytest.fixture
def s3_project(sample_project: Path, moto_endpoint: str, bucket: str) -> Path:
    """The sample catalog with [targets.s3] on a fresh bucket of the test server (and its media prepared)."""
    point_target(sample_project, moto_endpoint, bucket)
    return sample_project


# --- a fault-injecting HTTP proxy between boto3 and moto ---------------------------------------------------------


@dataclass
class FaultProxy:
    """Forwards to `upstream`; answers the first `fail_first` requests with `statuses` (cycled) instead.

    `rules` can also answer requests matching (method, path substring) with a canned status and S3 error code, e.g.
    to stand in for a store that denies access. Every request is recorded as (method, path, status).
    """

    upstream: str
    fail_first: int = 0
    fail_only: str = ""  # count only requests of this method (e.g. "PUT") towards fail_first
    statuses: tuple[int, ...] = (500, 503)
    rules: list[tuple[str, str, int, str]] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    url: str = ""
    rate: float = 0.0  # after fail_first: this share of requests gets one of `faults`, chosen by a seeded RNG
    faults: tuple[str, ...] = ("500", "503", "reset", "stall")
    stall_seconds: float = 3.0  # a stall holds the request this long, then drops the connection
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] in ("PUT", "POST", "DELETE")]


def _error_body(code: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message>'
            "<RequestId>test</RequestId></Error>").encode()  # fmt: skip


def start_proxy(proxy: FaultProxy) -> http.server.ThreadingHTTPServer:
    upstream = proxy.upstream.removeprefix("http://")
    lock = threading.Lock()
    seen = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size + 2)[:size]
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        return data
                    data += chunk
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
            self.send_response(status)
            head = self.command == "HEAD" and any(n.lower() == "content-length" for n, _ in headers)
            for name, value in headers:
                if name.lower() not in ("transfer-encoding", "connection") and (head or name.lower() != "content-length"):
                    self.send_header(name, value)
            if not head:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            body = self._body()
            with lock:
                counts = not proxy.fail_only or self.command == proxy.fail_only
                seen[0] += counts
                number = seen[0]
            if counts and number <= proxy.fail_first:
                status = proxy.statuses[(number - 1) % len(proxy.statuses)]
                proxy.requests.append((self.command, self.path, status))
                self._answer(status, _error_body("InternalError" if status == 500 else "SlowDown"), [])
                return
            with lock:
                fault = proxy.rng.choice(proxy.faults) if proxy.rate and proxy.rng.random() < proxy.rate else None
            if fault in ("reset", "stall"):
                proxy.requests.append((self.command, self.path, 0))
                if fault == "stall":
                    time.sleep(proxy.stall_seconds)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)  # the client sees a reset / a dropped connection
                return
            if fault in ("500", "503"):
                status = int(fault)
                proxy.requests.append((self.command, self.path, status))
                self._answer(status, _error_body("InternalError" if status == 500 else "SlowDown"), [])
                return
            for method, fragment, status, code in proxy.rules:
                if self.command == method and fragment in self.path:
                    proxy.requests.append((self.command, self.path, status))
                    self._answer(status, _error_body(code), [("Content-Type", "application/xml")])
                    return
            connection = http.client.HTTPConnection(upstream, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            proxy.requests.append((self.command, self.path, response.status))
            self._answer(response.status, data, response.getheaders())
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_endpoint)
    server = start_proxy(proxy)
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
