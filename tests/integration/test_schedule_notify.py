"""Scheduled releases on a timer, WebSub/Podping notifications, status and release history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from mediafeed.catalog.load import load_catalog

SCHEDULED_AT = "2027-01-15T14:00:00Z"  # the sample's scheduled episode


class Hub:
    """A WebSub hub / ping endpoint on 127.0.0.1 that records requests and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                query = parse_qs(urlparse(self.path).query)
                hub.requests.append((method, self.path, parse_qs(body) if body else query))
                self.send_response(hub.status)
                self.end_headers()

            def do_POST(self) -> None:
                self._record("POST")

            def do_GET(self) -> None:
                self._record("GET")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publishes(self) -> list[str]:
        return [fields["hub.url"][0] for method, _, fields in self.requests if method == "POST"]

    def pings(self) -> list[str]:
        return [fields["url"][0] for method, _, fields in self.requests if method == "GET"]


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.server.shutdown()


@pytest.fixture
def notified_project(sample_project: Path, hub: Hub) -> Path:
    toml = sample_project / "mediafeed.toml"
    toml.write_text(toml.read_text() + f'\n[notify]\nwebsub_hubs = ["{hub.url}"]\npodping_url = "{hub.url}ping"\n')
    return sample_project


def test_one_ping_per_real_feed_change_and_none_on_a_no_op(notified_project: Path, mediafeed, hub: Hub) -> None:
    first = mediafeed(notified_project, "publish")
    assert first.exit_code == 0, first.output
    _, catalog = load_catalog(notified_project)
    every_feed = sorted(f"http://127.0.0.1:8000/feeds/{f.id}.xml" for f in catalog.feeds)
    assert sorted(hub.publishes()) == every_feed and sorted(hub.pings()) == every_feed
    feed_xml = (notified_project / "public" / "feeds" / "podcast.xml").read_text()
    assert f'<atom:link href="{hub.url}" rel="hub"/>' in feed_xml

    hub.requests.clear()
    assert mediafeed(notified_project, "publish").exit_code == 0
    assert hub.requests == []  # nothing changed: nobody is bothered

    notes = notified_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    notes.write_text(notes.read_text() + "\nOne more line.\n")
    assert mediafeed(notified_project, "publish").exit_code == 0
    assert hub.publishes() == ["http://127.0.0.1:8000/feeds/podcast.xml"]


def test_a_failing_hub_warns_and_is_retried_on_the_next_run(notified_project: Path, mediafeed, hub: Hub) -> None:
    hub.status = 503
    result = mediafeed(notified_project, "publish")
    assert result.exit_code == 0, result.output  # a notification never fails a publish
    assert "warning: notification failed (retried on the next publish)" in result.stderr
    manifest = json.loads((notified_project / "public" / "_mediafeed" / "manifest.json").read_text())
    assert len(manifest["notify_pending"]) == 4
    hub.status = 204
    hub.requests.clear()
    again = mediafeed(notified_project, "publish")
    assert again.exit_code == 0 and "warning" not in again.stderr
    assert len(hub.publishes()) == 4  # the pending ones, although no feed changed this time
    manifest = json.loads((notified_project / "public" / "_mediafeed" / "manifest.json").read_text())
    assert "notify_pending" not in manifest
    hub.requests.clear()
    assert mediafeed(notified_project, "publish").exit_code == 0 and hub.requests == []


def test_scheduled_episode_goes_live_at_its_time_and_is_recorded(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish", now="2027-01-15T13:59:59Z").exit_code == 0
    before = json.loads(mediafeed(sample_project, "status", "--json", now="2027-01-15T13:59:59Z").stdout)
    assert [s["slug"] for s in before["scheduled"]] == ["delirium-or-dementia"]
    assert before["scheduled"][0]["seconds_until"] == 1
    assert before["pending"]["files"] == 0 and before["due"] == []

    due = json.loads(mediafeed(sample_project, "status", "--json", now=SCHEDULED_AT).stdout)
    assert due["scheduled"] == [] and [d["slug"] for d in due["due"]] == ["delirium-or-dementia"]
    assert "feeds/podcast.xml" in due["pending"]["feeds"]

    assert mediafeed(sample_project, "publish", now=SCHEDULED_AT).exit_code == 0
    report = json.loads(mediafeed(sample_project, "status", "--json", "--history", now=SCHEDULED_AT).stdout)
    assert "delirium-or-dementia" in {e["slug"] for e in report["live"]["podcast"]}
    went_live = [h for h in report["history"] if h["slug"] == "delirium-or-dementia"]
    assert went_live == [{"at": SCHEDULED_AT, "feed": "podcast", "guid": went_live[0]["guid"], "slug": "delirium-or-dementia"}]


def test_status_text_says_what_goes_live_next(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    result = mediafeed(sample_project, "status", now="2027-01-14T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert "next:       delirium-or-dementia" in result.stdout and "in 1 d 2 h" in result.stdout
    assert "unpublished: nothing; the target is up to date" in result.stdout
    assert "failed:     none" in result.stdout


def test_a_no_op_scheduled_run_writes_nothing(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    manifest = sample_project / "public" / "_mediafeed" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    result = mediafeed(sample_project, "publish", now="2026-12-01T00:15:00Z")  # a later cron tick, nothing due
    assert result.exit_code == 0 and "up to date" in result.stdout
    assert manifest.stat().st_mtime_ns == stamp
