"""A flaky store (500s, 503 SlowDown, connection resets, stalls past the timeout) between boto3 and the S3 server:
a publish either completes through retries or stops with exit 4, and the published state is always consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.integration.conftest import SECRET, FaultProxy, point_target


def feeds(s3: Any, bucket: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="feeds/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def inconsistencies(s3: Any, bucket: str) -> list[str]:
    """What a podcast app would trip over: an enclosure missing from the bucket or of another length."""
    sizes = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    problems = []
    for key, data in feeds(s3, bucket).items():
        for enclosure in etree.fromstring(data).iter("enclosure"):
            media_key = "media/" + enclosure.get("url", "").split("/media/", 1)[-1]
            if sizes.get(media_key) != int(enclosure.get("length", "-1")):
                problems.append(f"{key}: {media_key} is {sizes.get(media_key)}, feed says {enclosure.get('length')}")
    return problems


def change_catalog(project: Path) -> None:
    """A notes edit (feed changes) and a summary edit (the media file is re-tagged: a new object to upload)."""
    index = project / "episodes" / "lithium-levels-in-practice" / "index.md"
    text = index.read_text().replace("with a\nprintable table", "with a\nprintable chart")
    index.write_text(text.replace('summary: "Lithium remains', 'summary: "Lithium, still'))


@pytest.fixture
def published_v1(s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, s3: Any) -> dict[str, bytes]:
    point_target(s3_project, moto_endpoint, bucket)
    assert mediafeed(s3_project, "publish", "--target", "s3").exit_code == 0
    return feeds(s3, bucket)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flaky_store_completes_through_retries_or_stops_cleanly(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, s3: Any, fault_proxy: FaultProxy,
    published_v1: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, seed: int,
) -> None:  # fmt: skip
    import random

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "6")
    monkeypatch.setenv("MEDIAFEED_S3_READ_TIMEOUT", "1")
    fault_proxy.rate, fault_proxy.stall_seconds, fault_proxy.rng = 0.25, 1.5, random.Random(seed)
    change_catalog(s3_project)
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert SECRET not in result.output and "Traceback" not in result.output
    assert any(status in (0, 500, 503) for _, _, status in fault_proxy.requests), "faults were injected"
    assert inconsistencies(s3, bucket) == []
    if result.exit_code == 0:
        assert b"printable chart" in feeds(s3, bucket)["feeds/podcast.xml"]
    else:
        assert result.exit_code == 4, result.output
        assert "s3://" in result.stderr  # names the target
        assert (
            b"printable table" in feeds(s3, bucket)["feeds/podcast.xml"]
            or b"printable chart" in feeds(s3, bucket)["feeds/podcast.xml"]
        )
    fault_proxy.rate = 0.0  # the store recovers: the next run converges
    again = mediafeed(s3_project, "publish", "--target", "s3")
    assert again.exit_code == 0, again.output
    assert b"printable chart" in feeds(s3, bucket)["feeds/podcast.xml"]
    assert inconsistencies(s3, bucket) == []


def test_a_store_that_keeps_failing_leaves_the_published_state_intact(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, s3: Any, fault_proxy: FaultProxy,
    published_v1: dict[str, bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("MEDIAFEED_S3_READ_TIMEOUT", "1")
    fault_proxy.rate, fault_proxy.faults, fault_proxy.stall_seconds = 1.0, ("503", "reset", "stall"), 1.5
    change_catalog(s3_project)
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and SECRET not in result.output
    assert feeds(s3, bucket) == published_v1  # nothing half-done is visible
    assert inconsistencies(s3, bucket) == []
