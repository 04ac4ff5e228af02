"""Two publishers at once: the manifest's conditional write makes the loser re-plan, or stop without undoing the winner.

The interleavings are made deterministic by running publisher A from inside publisher B, at the moment under test
(after B has read the manifest, or just before B writes it).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mediafeed.pipeline import publish as pipeline_publish
from mediafeed.publish.s3 import S3Storage
from mediafeed.publish.storage import MANIFEST_KEY
from tests.conftest import copy_build

NOW = datetime(2026, 11, 25, tzinfo=UTC)
ONLY_WEBINARS = "medications-for-alcohol-use-disorder"
ONLY_PODCAST = "lithium-levels-in-practice"


def clone(project: Path, name: str) -> Path:
    copy = project.parent / name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build"))
    copy_build(project / "build", copy)
    return copy


def edit_notes(project: Path, slug: str, text: str) -> None:
    index = project / "episodes" / slug / "index.md"
    index.write_text(index.read_text() + f"\n{text}\n")


def add_episode(project: Path, slug: str, guid: str) -> None:
    source = project / "episodes" / "welcome-to-northfield-rounds"
    target = project / "episodes" / slug
    shutil.copytree(source, target)
    index = target / "index.md"
    lines = [f"guid: {guid}" if line.startswith("guid:") else line for line in index.read_text().splitlines()]
    lines = [f"title: {slug}" if line.startswith("title:") else line for line in lines]
    index.write_text("\n".join(lines) + "\n")


def run_a(project: Path) -> None:
    pipeline_publish(project, "s3", NOW, dry_run=False, progress=lambda _m: None)


def feed(s3: Any, bucket: str, feed_id: str) -> str:
    return s3.get_object(Bucket=bucket, Key=f"feeds/{feed_id}.xml")["Body"].read().decode()


def manifest(s3: Any, bucket: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())


@pytest.fixture
def base(s3_project: Path, mediafeed: Any) -> Path:
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert result.exit_code == 0, result.output
    return s3_project


def interleave(monkeypatch: pytest.MonkeyPatch, method: str, winner: Path) -> None:
    """The first call of S3Storage.<method> (made by the loser) first lets `winner` publish completely."""
    original = getattr(S3Storage, method)
    state = {"done": False}

    def patched(self: S3Storage, *args: Any, **kwargs: Any) -> Any:
        if state["done"]:
            return original(self, *args, **kwargs)
        if method in ("read_manifest", "manifest_version"):
            answer = original(self, *args, **kwargs)  # the loser reads (or re-checks) first...
            state["done"] = True
            run_a(winner)  # ...then the winner publishes
            return answer
        state["done"] = True
        run_a(winner)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Storage, method, patched)


def test_the_loser_stops_rather_than_drop_the_winners_new_episode(
    base: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str
) -> None:
    a, b = clone(base, "a"), clone(base, "b")
    add_episode(a, "a-new-episode", "11111111-2222-4333-8444-555555555555")
    edit_notes(b, ONLY_PODCAST, "B's edit.")
    interleave(monkeypatch, "read_manifest", a)
    result = mediafeed(b, "publish", "--target", "s3")
    assert result.exit_code == 4, result.output
    assert "another publish updated" in result.stderr and "feeds/podcast.xml" in result.stderr
    assert "a-new-episode" in result.stderr  # the removal guard names what B would have dropped
    assert "Nothing this run wrote is visible" in result.stderr  # the manifest re-check stopped B before its feeds
    assert "11111111-2222-4333-8444-555555555555" in feed(s3, bucket, "podcast")  # A's episode is still served
    assert "B's edit." not in feed(s3, bucket, "podcast")
    assert "11111111-2222-4333-8444-555555555555" in manifest(s3, bucket)["feeds"]["podcast"]["episodes"]


def test_the_loser_replans_when_its_catalog_already_includes_the_winners_change(
    base: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str
) -> None:
    a = clone(base, "a")
    edit_notes(a, ONLY_WEBINARS, "Edit one.")
    b = clone(a, "b")  # a later commit: edit one, and then edit two
    edit_notes(b, ONLY_PODCAST, "Edit two.")
    interleave(monkeypatch, "read_manifest", a)
    result = mediafeed(b, "publish", "--target", "s3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replans"] == 1
    assert "Edit one." in feed(s3, bucket, "webinars") and "Edit two." in feed(s3, bucket, "podcast")
    again = mediafeed(b, "publish", "--target", "s3", "--json")
    assert json.loads(again.stdout)["uploads"] == [] and json.loads(again.stdout)["manifest_changed"] is False


def test_the_loser_stops_rather_than_overwrite_the_winners_edit(
    base: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str
) -> None:
    a, b = clone(base, "a"), clone(base, "b")
    edit_notes(a, ONLY_WEBINARS, "A's edit.")
    edit_notes(b, ONLY_WEBINARS, "B's edit.")
    interleave(monkeypatch, "read_manifest", a)
    result = mediafeed(b, "publish", "--target", "s3")
    assert result.exit_code == 4, result.output
    assert "feeds/webinars.xml" in result.stderr and "would overwrite" in result.stderr
    assert "A's edit." in feed(s3, bucket, "webinars")


def test_the_lease_closes_the_window_between_the_last_check_and_the_feeds(
    base: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str
) -> None:
    """The narrowest window of the manifest-only design: A publishing between B's last manifest check and B's feed
    writes. B holds the lease there, so A cannot take it: A stops (exit 4, nothing written) and B's edit is live."""
    from mediafeed.publish.lease import LeaseHeld

    a, b = clone(base, "a"), clone(base, "b")
    edit_notes(a, ONLY_WEBINARS, "A's edit.")
    edit_notes(b, ONLY_WEBINARS, "B's edit.")
    refused: list[str] = []
    original = S3Storage.manifest_version

    def patched(self: S3Storage) -> Any:
        answer = original(self)
        # Once B holds the lease (not at B's receipt check), and not again inside A's own publish.
        if not refused and self.read("_mediafeed/lease.json") is not None:
            refused.append("")
            with pytest.raises(LeaseHeld) as held:
                run_a(a)
            refused[0] = str(held.value)
        return answer

    monkeypatch.setattr(S3Storage, "manifest_version", patched)
    result = mediafeed(b, "publish", "--target", "s3")
    assert result.exit_code == 0, result.output
    assert refused and "another publish holds" in refused[0] and "nothing was written" in refused[0]
    assert "B's edit." in feed(s3, bucket, "webinars") and "A's edit." not in feed(s3, bucket, "webinars")


def test_first_publishes_racing_on_an_empty_bucket(s3_project: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both see no manifest; the winner creates it; the loser's If-None-Match: * fails, it re-plans and has nothing left."""
    a = clone(s3_project, "a")
    interleave(monkeypatch, "read_manifest", a)
    result = mediafeed(s3_project, "publish", "--target", "s3", "--json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["replans"] == 1
