"""Publish receipts (build/receipts/): a publish with nothing to do loads nothing, and anything that matters undoes that.

Every test checks both sides: the shortcut is taken when nothing changed (`"receipt": true`, and with S3 a single
HEAD of the manifest goes to the store), and a change of each kind the publish depends on (an edit, a new episode
folder, a feed definition, mediafeed.toml, a release time reached, another publisher's manifest, --verify) takes
the full path and publishes what a cold run would.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mediafeed.cache.receipt import FOLDER
from tests.integration.conftest import FaultProxy, point_target

SCHEDULED_AT = "2027-01-15T14:00:00Z"  # delirium-or-dementia, the sample's scheduled episode


def age(project: Path, seconds: int = 60) -> None:
    """Date every catalog file a minute back: a receipt is never written for files modified in the last seconds."""
    past = time.time() - seconds
    files = [project / "mediafeed.toml"]
    for folder in ("feeds", "episodes", "artwork"):
        files += (project / folder).rglob("*")
    for path in files:
        os.utime(path, (past, past), follow_symlinks=False)
    for folder in ("feeds", "episodes", "artwork"):
        os.utime(project / folder, (past, past))


def publish(mediafeed: Callable[..., Any], project: Path, *args: str, now: str | None = None) -> dict[str, Any]:
    extra = {"now": now} if now else {}
    result = mediafeed(project, "-q", "publish", "--json", *args, **extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def comparable(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "receipt"}


@pytest.fixture
def published(sample_project: Path, mediafeed: Callable[..., Any]) -> Path:
    """The sample published to its local target, with its files old enough for a receipt."""
    age(sample_project)
    first = publish(mediafeed, sample_project)
    assert first["uploads"] and first["receipt"] is False
    return sample_project


def test_a_publish_with_nothing_to_do_reports_what_a_full_one_would(published: Path, mediafeed: Callable[..., Any]) -> None:
    reused = publish(mediafeed, published)
    assert reused["receipt"] is True
    assert reused["uploads"] == [] and reused["bytes_written"] == 0 and reused["written"] == 0
    shutil.rmtree(published / "build" / FOLDER)
    full = publish(mediafeed, published)
    assert full["receipt"] is False
    assert comparable(full) == comparable(reused)  # unchanged count, held-back episodes, stale keys, feed URLs
    text = mediafeed(published, "publish").output
    assert "up to date; wrote nothing" in text and "nothing changed since the last publish" in text
    dry = mediafeed(published, "plan").output
    assert "would write nothing" in dry


def test_editing_an_episode_takes_the_full_path(published: Path, mediafeed: Callable[..., Any]) -> None:
    index = published / "episodes" / "lithium-levels-in-practice" / "index.md"
    index.write_text(index.read_text() + "\nA new paragraph of show notes.\n")
    changed = publish(mediafeed, published)
    assert changed["receipt"] is False
    assert {u["key"] for u in changed["uploads"]} >= {"feeds/podcast.xml"}
    age(published)
    assert publish(mediafeed, published)["receipt"] is False  # the edit's publish could not vouch for a racy file
    assert publish(mediafeed, published)["receipt"] is True


@pytest.mark.parametrize("change", ["new-episode", "index-in-empty-folder", "new-feed", "config", "artwork"])
def test_a_change_anywhere_the_catalog_reads_takes_the_full_path(
    published: Path, mediafeed: Callable[..., Any], change: str
) -> None:
    assert publish(mediafeed, published)["receipt"] is True
    episodes = published / "episodes"
    if change == "new-episode":
        shutil.copytree(episodes / "lithium-levels-in-practice", episodes / "lithium-again")
        index = episodes / "lithium-again" / "index.md"
        text = index.read_text()
        guid = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("guid:"))
        index.write_text(text.replace(guid, "0b9d6a3e-3f6e-4b5e-9a58-3c0d3b1f2a11"))
    elif change == "index-in-empty-folder":
        (episodes / "drafts").mkdir()
        age(published)
        assert publish(mediafeed, published)["receipt"] is False  # a new folder: full path, then a new receipt
        assert publish(mediafeed, published)["receipt"] is True
        shutil.copy(episodes / "lithium-levels-in-practice" / "index.md", episodes / "drafts" / "index.md")
    elif change == "new-feed":
        (published / "feeds" / "lithium.yaml").write_text(
            (published / "feeds" / "podcast.yaml").read_text().replace("guid:", "#guid:")
        )
    elif change == "config":
        toml = published / "mediafeed.toml"
        toml.write_text(toml.read_text().replace("http://127.0.0.1:8000", "http://127.0.0.1:8001"))
    elif change == "artwork":
        image = next((published / "artwork").glob("*.png"))
        image.write_bytes(image.read_bytes())  # same bytes, new mtime: only a stat can tell, so it must be checked
    result = mediafeed(published, "-q", "publish", "--json")
    if change == "index-in-empty-folder":
        assert result.exit_code == 3 and "episodes/drafts/index.md" in result.output  # a duplicate GUID: caught
        return
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["receipt"] is False
    if change in ("new-episode", "new-feed", "config"):
        assert payload["uploads"], change


def test_a_release_time_reached_takes_the_full_path(published: Path, mediafeed: Callable[..., Any]) -> None:
    before = publish(mediafeed, published, now="2027-01-15T13:59:59Z")
    assert before["receipt"] is True and [h["slug"] for h in before["held_back"]] == ["delirium-or-dementia"]
    released = publish(mediafeed, published, now=SCHEDULED_AT)
    assert released["receipt"] is False and released["held_back"] == []
    assert any(u["key"].startswith("media/delirium-or-dementia-") for u in released["uploads"])
    # and a run dated before a release the receipt has seen does not trust it: the full plan refuses to drop it
    assert publish(mediafeed, published, now=SCHEDULED_AT)["receipt"] is True
    earlier = mediafeed(published, "-q", "plan", now="2026-11-25T00:00:00Z")
    assert earlier.exit_code == 3 and "refused" in earlier.output and "delirium-or-dementia" in earlier.output


def test_verify_never_takes_the_shortcut(published: Path, mediafeed: Callable[..., Any]) -> None:
    (published / "public" / "feeds" / "podcast.xml").unlink()  # lost behind the manifest's back
    assert publish(mediafeed, published)["receipt"] is True  # the manifest cannot know: --verify is for this
    repaired = publish(mediafeed, published, "--verify")
    assert repaired["receipt"] is False and [u["key"] for u in repaired["uploads"]] == ["feeds/podcast.xml"]


def test_another_publishers_manifest_takes_the_full_path(
    s3_project: Path, mediafeed: Callable[..., Any], s3: Any, bucket: str
) -> None:
    age(s3_project)
    assert publish(mediafeed, s3_project, "--target", "s3")["uploads"]
    assert publish(mediafeed, s3_project, "--target", "s3")["receipt"] is True
    # another machine publishes a changed catalog to the same bucket: its manifest differs from ours
    other = s3_project.parent / "other"
    shutil.copytree(s3_project, other, symlinks=True)
    index = other / "episodes" / "lithium-levels-in-practice" / "index.md"
    index.write_text(index.read_text() + "\nEdited elsewhere.\n")
    assert publish(mediafeed, other, "--target", "s3")["uploads"]
    ours = publish(mediafeed, s3_project, "--target", "s3")
    assert ours["receipt"] is False
    assert "feeds/podcast.xml" in {u["key"] for u in ours["uploads"]}  # our catalog's version goes back up


def test_the_shortcut_costs_one_request_to_the_store(
    s3_project: Path, mediafeed: Callable[..., Any], bucket: str, fault_proxy: FaultProxy, moto_endpoint: str
) -> None:
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    age(s3_project)
    assert publish(mediafeed, s3_project, "--target", "s3")["uploads"]
    fault_proxy.requests.clear()
    assert publish(mediafeed, s3_project, "--target", "s3")["receipt"] is True
    assert [(method, status) for method, _, status in fault_proxy.requests] == [("HEAD", 200)]
