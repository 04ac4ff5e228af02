"""Publish the sample catalog to S3 (moto over HTTP) and read it back the way podcast apps and CDNs do."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import podcastparser
from lxml import etree

from mediafeed.catalog.load import load_catalog
from mediafeed.content_types import IMMUTABLE, SHORT, headers_for, never_served
from mediafeed.publish.storage import MANIFEST_KEY
from tests.integration.conftest import FaultProxy, point_target

NOW_DT = "2026-11-25T00:00:00Z"


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()  # case-insensitive headers


def make_public(s3: Any, bucket: str) -> None:
    """What a deployment does (or a CDN with origin access): anyone may read objects.

    AWS authorizes HEAD with s3:GetObject; moto 5.2.5 checks an anonymous HEAD against "s3:HeadObject", so both."""
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                      "Action": ["s3:GetObject", "s3:HeadObject"],
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def publish_json(mediafeed: Any, project: Path, *args: str) -> dict[str, Any]:
    result = mediafeed(project, "publish", "--target", "s3", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_publish_to_s3_then_every_feed_and_enclosure_is_served(s3_project: Path, mediafeed: Any, bucket: str, s3: Any) -> None:
    make_public(s3, bucket)
    first = publish_json(mediafeed, s3_project)
    assert first["upload_bytes"] > 0 and first["bytes_written"] == first["upload_bytes"]
    _, catalog = load_catalog(s3_project)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert MANIFEST_KEY in keys and {f"feeds/{f.id}.xml" for f in catalog.feeds} <= keys
    enclosures = 0
    for feed in catalog.feeds:
        url = first["feeds"][feed.id]["url"]
        status, headers, body = fetch(url)
        assert status == 200 and headers["Content-Type"] == "application/xml; charset=utf-8"
        assert headers["Cache-Control"] == SHORT
        parsed = podcastparser.parse(url, __import__("io").BytesIO(body))
        assert len(parsed["episodes"]) == first["feeds"][feed.id]["episodes"] > 0
        assert etree.fromstring(body).xpath(
            "//channel/itunes:image/@href", namespaces={"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd"}
        )
        for episode in parsed["episodes"]:
            (enclosure,) = episode["enclosures"]
            status, headers, _ = fetch(enclosure["url"], method="HEAD")
            assert status == 200 and int(headers["Content-Length"]) == enclosure["file_size"], enclosure["url"]
            assert headers["Content-Type"] == enclosure["mime_type"]
            assert headers["Cache-Control"] == IMMUTABLE
            status, headers, part = fetch(enclosure["url"], headers={"Range": "bytes=0-99"})
            assert status == 206 and len(part) == 100
            assert headers["Content-Range"] == f"bytes 0-99/{enclosure['file_size']}"
            _, _, whole = fetch(enclosure["url"])
            assert len(whole) == enclosure["file_size"] and whole[:100] == part
            enclosures += 1
    assert enclosures >= 8
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    assert manifest["feeds"]["podcast"]["slugs"]  # GUID → slug, for the guards


def test_noop_republish_uploads_nothing_and_writes_nothing(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, fault_proxy: FaultProxy
) -> None:
    publish_json(mediafeed, s3_project)
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)  # same bucket, watched
    again = publish_json(mediafeed, s3_project)
    assert again["uploads"] == [] and again["upload_bytes"] == 0 and again["bytes_written"] == 0
    assert again["manifest_changed"] is False and again["unchanged"] > 20
    # New settings (the endpoint) make a new receipt: shared for other runners, in the cache (never public).
    shared = f"/{bucket}/_mediafeed/cache/"
    assert [w for w in fault_proxy.writes() if not w[1].startswith(shared)] == []
    content = [(m, p.split("?")[0]) for m, p, _ in fault_proxy.requests if not p.startswith(shared)]
    assert set(content) <= {("HEAD", f"/{bucket}/{MANIFEST_KEY}"), ("GET", f"/{bucket}/{MANIFEST_KEY}")}
    fault_proxy.requests.clear()
    third = publish_json(mediafeed, s3_project)  # the receipt: one request, no write anywhere
    assert third["uploads"] == [] and fault_proxy.writes() == []
    assert [(m, p.split("?")[0]) for m, p, _ in fault_proxy.requests] == [("HEAD", f"/{bucket}/{MANIFEST_KEY}")]


def test_editing_one_episodes_notes_rewrites_only_the_feeds_that_carry_it(s3_project: Path, mediafeed: Any) -> None:
    publish_json(mediafeed, s3_project)
    index = s3_project / "episodes" / "melatonin-for-children" / "index.md"
    index.write_text(index.read_text().replace("Show notes", "Show notes (updated)", 1) + "\nOne more line.\n")
    second = publish_json(mediafeed, s3_project)
    _, catalog = load_catalog(s3_project)
    carrying = {
        f"feeds/{f.id}.xml" for f in catalog.feeds if any(e.slug == "melatonin-for-children" for e in catalog.episodes_for(f))
    }
    assert set(second["feeds_to_write"]) == carrying and 0 < len(carrying) < len(catalog.feeds)
    pages = {"episodes/melatonin-for-children.html"}  # its web page shows the notes; no other page does
    assert {u["key"] for u in second["uploads"]} <= carrying | pages | {"related.json", "feeds.opml"}
    assert second["manifest_changed"] is True


def test_verify_repairs_a_lost_manifest_and_a_deleted_object_without_reuploading_the_rest(
    s3_project: Path, mediafeed: Any, bucket: str, s3: Any
) -> None:
    first = publish_json(mediafeed, s3_project)
    media = sorted(u["key"] for u in first["uploads"] if u["stage"] == "media")
    s3.delete_object(Bucket=bucket, Key=MANIFEST_KEY)
    s3.delete_object(Bucket=bucket, Key=media[0])
    s3.put_object(Bucket=bucket, Key="feeds/podcast.xml", Body=b"<rss>overwritten by hand</rss>")
    plan = mediafeed(s3_project, "plan", "--target", "s3", "--verify", "--json")
    assert plan.exit_code == 0, plan.output
    report = json.loads(plan.stdout)
    assert sorted(u["key"] for u in report["uploads"]) == sorted([media[0], "feeds/podcast.xml"])
    assert report["verify"]["adopted"] and media[0] not in report["verify"]["adopted"]
    repaired = publish_json(mediafeed, s3_project, "--verify")
    assert sorted(u["key"] for u in repaired["uploads"]) == sorted([media[0], "feeds/podcast.xml"])
    assert s3.head_object(Bucket=bucket, Key=media[0])["ContentLength"] > 0
    assert publish_json(mediafeed, s3_project, "--verify")["uploads"] == []  # now consistent
    assert publish_json(mediafeed, s3_project)["manifest_changed"] is False


def test_plan_and_dry_run_show_the_plan_and_write_nothing(s3_project: Path, mediafeed: Any, bucket: str, s3: Any) -> None:
    for args in (("plan", "--target", "s3", "--json"), ("publish", "--target", "s3", "--dry-run", "--json")):
        result = mediafeed(s3_project, *args)
        assert result.exit_code == 0, result.output
        plan = json.loads(result.stdout)
        assert all(u["size"] > 0 for u in plan["uploads"]) and plan["upload_bytes"] == sum(u["size"] for u in plan["uploads"])
        assert plan["feeds_to_write"] and plan["refusals"] == [] and plan["unchanged"] == 0
        assert [h["slug"] for h in plan["held_back"]] == ["delirium-or-dementia"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    text = mediafeed(s3_project, "plan", "--target", "s3")
    assert f"s3://{bucket}/" in text.stdout and "held back until 2027-01-15" in text.stdout and "upload media/" in text.stdout


def test_a_target_prefix_keeps_keys_and_urls_under_it(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, s3: Any
) -> None:
    make_public(s3, bucket)
    point_target(s3_project, moto_endpoint, bucket, prefix="shows/northfield")
    published = publish_json(mediafeed, s3_project)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys and all(k.startswith("shows/northfield/") for k in keys)
    status, _, body = fetch(published["feeds"]["podcast"]["url"])
    assert status == 200 and f"{moto_endpoint}/{bucket}/shows/northfield/media/".encode() in body


def test_masters_in_object_storage_are_downloaded_once(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, s3: Any, fault_proxy: FaultProxy
) -> None:
    masters = "masters-" + s3_project.parent.name.lower().replace("_", "-")[-20:]
    s3.create_bucket(Bucket=masters)
    bundle = s3_project / "episodes" / "lithium-levels-in-practice"
    audio = bundle / "audio.mp3"
    s3.put_object(Bucket=masters, Key="shows/lithium.mp3", Body=audio.read_bytes())
    audio.unlink()
    index = bundle / "index.md"
    index.write_text(index.read_text().replace("media: audio.mp3", f"media: s3://{masters}/shows/lithium.mp3"))
    toml = s3_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace("[media]\n", f'[media]\nendpoint_url = "{fault_proxy.url}"\n'))
    first = publish_json(mediafeed, s3_project)
    assert any(u["key"].startswith("media/lithium-levels-in-practice-") for u in first["uploads"])
    downloads = [r for r in fault_proxy.requests if r[0] == "GET"]
    assert len(downloads) == 1 and len(list((s3_project / "build" / "masters").iterdir())) == 1
    fault_proxy.requests.clear()
    again = publish_json(mediafeed, s3_project)
    assert again["uploads"] == []
    assert [r[0] for r in fault_proxy.requests] == ["HEAD"]  # the ETag is known: no download
    # the master changes in the bucket: downloaded again, a new media key is published
    s3.put_object(
        Bucket=masters,
        Key="shows/lithium.mp3",
        Body=(s3_project / "episodes" / "welcome-to-northfield-rounds" / "audio.mp3").read_bytes(),
    )
    changed = publish_json(mediafeed, s3_project)
    assert any(u["key"].startswith("media/lithium-levels-in-practice-") for u in changed["uploads"])


def test_a_missing_master_in_object_storage_fails_only_its_episode(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, s3: Any
) -> None:
    index = s3_project / "episodes" / "lithium-monitoring-essentials" / "index.md"
    text = index.read_text()
    media_line = next(line for line in text.splitlines() if line.startswith("media:"))
    index.write_text(text.replace(media_line, "media: s3://no-such-masters-bucket/x.mp3"))
    toml = s3_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace("[media]\n", f'[media]\nendpoint_url = "{moto_endpoint}"\n'))
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert result.exit_code == 1, result.output
    assert "s3://no-such-masters-bucket/x.mp3" in result.stderr and "episodes/lithium-monitoring-essentials" in result.stderr


def test_every_object_carries_the_tables_headers_as_the_preview_server_does(
    s3_project: Path, mediafeed: Any, bucket: str, s3: Any
) -> None:
    """The S3 target and `mediafeed serve` answer from one table (content_types.headers_for): pages, feeds, the
    stylesheet, chapters, transcripts, artwork and media alike (test_serve checks the server against the same)."""
    publish_json(mediafeed, s3_project)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    kinds = set()
    for key in keys:
        if never_served(key):
            continue  # bookkeeping and the shared cache: private, read only by mediafeed
        head = s3.head_object(Bucket=bucket, Key=key)
        expected = headers_for(key)
        assert (head["ContentType"], head["CacheControl"]) == (expected.content_type, expected.cache_control), key
        kinds.add(expected.content_type)
    assert {"text/html; charset=utf-8", "application/xml; charset=utf-8", "text/xsl; charset=utf-8", "audio/mpeg",
            "video/mp4", "application/json+chapters", "text/vtt; charset=utf-8", "image/jpeg"} <= kinds  # fmt: skip
