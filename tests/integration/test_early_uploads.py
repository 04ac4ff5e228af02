"""Early uploads: new media goes to the store while feeds render, and that changes nothing a subscriber or a
producer can see: every media object lands before the first feed, the outcome counts them as written, and a dry
run, a refused plan or a failing store sends no media ahead of a plan that would not be applied."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import NOW
from tests.integration.conftest import FaultProxy, point_target

NEW_GUID = "5d3c9a0e-7f4b-4e1a-9c2d-8b6a4f1e2d3c"


def proxied(s3_project: Path, fault_proxy: FaultProxy, bucket: str, moto_endpoint: str) -> Path:
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    return s3_project


def puts(proxy: FaultProxy) -> list[str]:
    """Writes of the target's content (the cache's shared tier, never public, keeps work done by any run)."""
    return [path for method, path, _ in proxy.requests if method == "PUT" and "/_mediafeed/cache/" not in path]


def add_episode(project: Path) -> None:
    """A copy of an existing episode under a new folder and GUID: new media to upload."""
    episodes = project / "episodes"
    shutil.copytree(episodes / "lithium-levels-in-practice", episodes / "lithium-levels-again")
    index = episodes / "lithium-levels-again" / "index.md"
    lines = [f"guid: {NEW_GUID}" if line.startswith("guid:") else line for line in index.read_text().splitlines()]
    index.write_text("\n".join(lines) + "\n")
    media = next(p for p in (episodes / "lithium-levels-again").iterdir() if p.suffix in (".mp3", ".wav", ".flac", ".m4a"))
    media.write_bytes(media.read_bytes() + b"\0" * 16)  # other bytes: a new content-addressed key


def test_media_lands_before_any_feed_and_counts_as_written(
    s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, moto_endpoint: str
) -> None:
    project = proxied(s3_project, fault_proxy, bucket, moto_endpoint)
    result = mediafeed(project, "-q", "publish", "--target", "s3", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["written"] == len(payload["uploads"]) and payload["bytes_written"] == payload["upload_bytes"]
    sent = puts(fault_proxy)
    media = [i for i, path in enumerate(sent) if "/media/" in path]
    feeds = [i for i, path in enumerate(sent) if "/feeds/" in path]
    assert media and feeds and max(media) < min(feeds)
    assert len([p for p in sent if "/media/" in p]) == len([u for u in payload["uploads"] if u["stage"] == "media"])


def test_dry_run_and_refused_plans_send_no_media(
    s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, moto_endpoint: str
) -> None:
    project = proxied(s3_project, fault_proxy, bucket, moto_endpoint)
    assert mediafeed(project, "-q", "publish", "--target", "s3").exit_code == 0
    add_episode(project)
    fault_proxy.requests.clear()
    dry = mediafeed(project, "-q", "publish", "--target", "s3", "--dry-run", "--json")
    assert dry.exit_code == 0 and any(u["stage"] == "media" for u in json.loads(dry.output)["uploads"])
    assert puts(fault_proxy) == []
    shutil.rmtree(project / "episodes" / "welcome-to-northfield-rounds")  # a published episode disappears: refused
    refused = mediafeed(project, "-q", "publish", "--target", "s3")
    assert refused.exit_code == 3 and "refused" in refused.output
    assert puts(fault_proxy) == []  # the new episode's media was not sent ahead of a plan that is not applied


def test_a_store_refusing_media_stops_before_any_feed(
    s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, moto_endpoint: str
) -> None:
    project = proxied(s3_project, fault_proxy, bucket, moto_endpoint)
    fault_proxy.rules.append(("PUT", "/media/", 403, "AccessDenied"))
    result = mediafeed(project, "-q", "publish", "--target", "s3")
    assert result.exit_code == 4 and "access denied" in result.output and "Traceback" not in result.output
    assert not any("/feeds/" in path or "manifest" in path for path in puts(fault_proxy))


def test_feeds_rendered_in_a_child_process_equal_those_rendered_in_process(s3_project: Path, mediafeed: Any, bucket: str) -> None:
    """The CLI run as a program forks the feed rendering off while media uploads (see offload.py); a test runner's
    in-process CLI cannot (its server threads make fork unsafe) and renders in place. A second, in-process publish
    planning against what the forked one wrote must find nothing to write."""
    command = [sys.executable, "-m", "mediafeed", "--project", str(s3_project), "-q", "--now", NOW]
    first = subprocess.run([*command, "publish", "--target", "s3", "--json"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert any(u["stage"] == "media" for u in json.loads(first.stdout)["uploads"])
    with (s3_project / "mediafeed.toml").open("a") as config:  # plan for real, not from a receipt (also not a shared one)
        config.write("\n[cache]\nshared = false\n")
    again = mediafeed(s3_project, "-q", "publish", "--target", "s3", "--json")
    assert again.exit_code == 0, again.output
    payload = json.loads(again.output)
    assert payload["receipt"] is False and payload["written"] == 0 and payload["uploads"] == []
