"""Guards on a real target: a publish that would take back published episodes is refused (exit 3), writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mediafeed.publish.storage import MANIFEST_KEY

GUID = "645bd2b2-427d-408b-8ecb-4672a54a5f1f"  # lithium-levels-in-practice


@pytest.fixture
def published(s3_project: Path, mediafeed: Any) -> Path:
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert result.exit_code == 0, result.output
    return s3_project


def etag(s3: Any, bucket: str) -> str:
    return str(s3.head_object(Bucket=bucket, Key=MANIFEST_KEY)["ETag"])


def podcast(s3: Any, bucket: str) -> str:
    return s3.get_object(Bucket=bucket, Key="feeds/podcast.xml")["Body"].read().decode()


def set_field(project: Path, slug: str, name: str, value: str) -> None:
    index = project / "episodes" / slug / "index.md"
    lines = [f"{name}: {value}" if line.startswith(f"{name}:") else line for line in index.read_text().splitlines()]
    index.write_text("\n".join(lines) + "\n")


def test_deleting_a_published_episode_is_refused_unless_allowed(published: Path, mediafeed: Any, s3: Any, bucket: str) -> None:
    assert GUID in podcast(s3, bucket)
    shutil.rmtree(published / "episodes" / "lithium-levels-in-practice")
    before = etag(s3, bucket)
    result = mediafeed(published, "publish", "--target", "s3")
    assert result.exit_code == 3, result.output
    assert "feed 'podcast' would drop the published episode 'lithium-levels-in-practice'" in result.stderr
    assert "no longer in the catalog" in result.stderr and "--allow-removal" in result.stderr
    assert "nothing was published" in result.stderr
    assert etag(s3, bucket) == before and GUID in podcast(s3, bucket)
    plan = mediafeed(published, "plan", "--target", "s3", "--json")
    assert plan.exit_code == 3
    (refusal,) = json.loads(plan.stdout)["refusals"]
    assert refusal["kind"] == "removal" and refusal["guid"] == GUID and refusal["feed"] == "podcast"
    allowed = mediafeed(published, "publish", "--target", "s3", "--allow-removal")
    assert allowed.exit_code == 0, allowed.output
    assert GUID not in podcast(s3, bucket)
    assert mediafeed(published, "publish", "--target", "s3").exit_code == 0  # the removal is now the published state


def test_changing_a_published_guid_is_refused_unless_allowed(published: Path, mediafeed: Any, s3: Any, bucket: str) -> None:
    new = "0f0f0f0f-1111-4222-8333-444444444444"
    set_field(published, "lithium-levels-in-practice", "guid", new)
    result = mediafeed(published, "publish", "--target", "s3")
    assert result.exit_code == 3, result.output
    assert f"the published GUID {GUID} of episode 'lithium-levels-in-practice'" in result.stderr
    assert f"put back guid: {GUID}" in result.stderr and "would drop" not in result.stderr
    assert "episodes/lithium-levels-in-practice/index.md: guid:" in result.stderr
    allowed = mediafeed(published, "publish", "--target", "s3", "--allow-guid-change")
    assert allowed.exit_code == 0, allowed.output
    assert new in podcast(s3, bucket) and GUID not in podcast(s3, bucket)


def test_moving_a_published_episode_into_the_future_is_a_removal(published: Path, mediafeed: Any) -> None:
    set_field(published, "lithium-levels-in-practice", "published", "2027-03-01T09:00:00-05:00")
    result = mediafeed(published, "publish", "--target", "s3", "--dry-run")
    assert result.exit_code == 3, result.output
    assert "now dated in the future" in result.stdout + result.stderr


def test_a_master_that_fails_does_not_silently_drop_its_published_episode(
    published: Path, mediafeed: Any, s3: Any, bucket: str
) -> None:
    (published / "episodes" / "lithium-levels-in-practice" / "audio.mp3").write_bytes(b"not audio at all" * 100)
    result = mediafeed(published, "publish", "--target", "s3")
    assert result.exit_code == 3, result.output
    assert "its media failed" in result.stderr and "episodes/lithium-levels-in-practice/index.md: media:" in result.stderr
    assert GUID in podcast(s3, bucket)


def test_a_new_feed_and_new_episodes_need_no_permission(published: Path, mediafeed: Any) -> None:
    shutil.copy(published / "feeds" / "podcast.yaml", published / "feeds" / "podcast-copy.yaml")
    set_field(published, "delirium-or-dementia", "published", "2026-11-01T09:00:00-05:00")  # released now
    result = mediafeed(published, "publish", "--target", "s3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["refusals"] == []
