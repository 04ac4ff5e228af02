"""Pages in a real browser: Debian's Chromium driven by Playwright (executable_path, no browser download), reading a
published sample catalog through the real preview server (`mediafeed serve`, a subprocess) over HTTP on 127.0.0.1.

Skipped, saying why, only where no Chromium can be found (`scripts/setup.sh --test` installs Debian's as root;
MEDIAFEED_CHROMIUM names another binary).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mediafeed.cli import cli
from tests.conftest import NOW, copy_build, copy_catalog
from tests.integration.conftest import free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in CI containers; the pages are our own, on loopback
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str | None:
    return os.environ.get("MEDIAFEED_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found: install Debian's chromium (make test does it as root) or set MEDIAFEED_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Site:
    """A published project served by `mediafeed serve` at `origin`."""

    project: Path
    origin: str
    process: subprocess.Popen[bytes]

    @property
    def public(self) -> Path:
        return self.project / "public"

    def url(self, key: str) -> str:
        return f"{self.origin}/{key}"


def publish_and_serve(project: Path) -> Iterator[Site]:
    """Point the local target at a free loopback port, publish, and serve it with the real command."""
    port = free_port()
    toml = project / "mediafeed.toml"
    served = f'public_url = "http://127.0.0.1:{port}"'
    toml.write_text(re.sub(r'public_url = "http://127\.0\.0\.1:8000"', served, toml.read_text()))
    result = CliRunner().invoke(cli, ["--project", str(project), "--now", NOW, "-q", "publish"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    process = subprocess.Popen(
        [sys.executable, "-m", "mediafeed", "--project", str(project), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate(timeout=5) if process.poll() is not None else (b"", b"")
                pytest.fail(f"mediafeed serve did not start: {out.decode()} {err.decode()}")
            time.sleep(0.05)
    try:
        yield Site(project, f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, sample_build: Path) -> Iterator[Site]:
    project = copy_catalog(tmp_path_factory.mktemp("browser") / "project")
    copy_build(sample_build, project)
    yield from publish_and_serve(project)


@dataclass
class Watched:
    """A page with what it said: console errors, dialogs opened, requests and their transferred sizes."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def transferred(self) -> dict[str, int]:
        """URL → bytes on the wire (headers and body as sent, compressed when it was) of the page and every resource
        it loaded but audio and video, as the browser's Resource Timing reports them (a fresh context: no cache)."""
        entries = self.page.evaluate(
            """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
                     .map(e => [e.name, e.transferSize, e.initiatorType])"""
        )
        return {url: size for url, size, initiator in entries if initiator not in ("audio", "video") and "/media/" not in url}


@pytest.fixture
def watch(browser: Any) -> Iterator[Any]:
    """watch() → a fresh page (own context) that records console errors, dialogs and responses."""
    contexts: list[Any] = []

    def open_page() -> Watched:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)
        page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: watched.errors.append(f"uncaught: {e}"))

        def dialog(d: Any) -> None:
            watched.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        return watched

    yield open_page
    for context in contexts:
        context.close()
