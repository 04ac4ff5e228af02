"""make_plan: the pure diff between the writes a publish wants and what the target's manifest records."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mediafeed.digest import sha256_bytes
from mediafeed.models import EpisodeFailure
from mediafeed.publish.plan import (
    STAGES,
    HeldBack,
    ManifestDamaged,
    PublishPlan,
    Write,
    encode_manifest,
    make_plan,
    parse_manifest,
)


def write(key: str, stage: str, content: bytes) -> Write:
    return Write(key, stage, len(content), sha256_bytes(content), data=content)


DESIRED = [
    write("feeds/podcast.xml", "feed", b"<rss>podcast</rss>"),
    write("media/b-episode-22222222.mp3", "media", b"second episode audio"),
    write("_mediafeed/index.json", "index", b"{}"),
    write("media/a-episode-11111111.mp3", "media", b"first episode audio"),
    write("artwork/cover-33333333.png", "sidecar", b"png bytes"),
    write("feeds/webinars.xml", "feed", b"<rss>webinars</rss>"),
    write("transcripts/a-episode.vtt", "sidecar", b"WEBVTT"),
]
FEEDS = {"podcast": ["guid-a", "guid-b"], "webinars": ["guid-c"]}


def plan(desired: list[Write] = DESIRED, manifest: bytes | None = None, **kwargs: object) -> PublishPlan:
    args: dict[str, object] = {"feeds": FEEDS, "manifest_version": None, "held_back": [], "failures": []}
    args.update(kwargs)
    return make_plan(list(desired), manifest_data=manifest, **args)  # type: ignore[arg-type]


def keys(writes: tuple[Write, ...]) -> list[str]:
    return [w.key for w in writes]


@pytest.fixture(scope="module")
def first() -> PublishPlan:
    return plan()


def test_first_plan_uploads_everything(first: PublishPlan) -> None:
    assert sorted(keys(first.uploads)) == sorted(w.key for w in DESIRED)
    assert first.unchanged == ()
    assert first.stale == ()
    assert first.manifest_changed
    assert first.upload_bytes == sum(w.size for w in DESIRED)


def test_first_plan_uploads_in_stage_order(first: PublishPlan) -> None:
    """Media and sidecars before the feeds that point at them, the index after the feeds."""
    order = [STAGES.index(w.stage) for w in first.uploads]
    assert order == sorted(order)
    stages = [w.stage for w in first.uploads]
    last = {stage: max(i for i, s in enumerate(stages) if s == stage) for stage in stages}
    first_at = {stage: stages.index(stage) for stage in stages}
    assert last["media"] < first_at["sidecar"] and last["sidecar"] < first_at["feed"] and last["feed"] < first_at["index"]


@pytest.mark.parametrize("seed", range(5))
def test_plan_does_not_depend_on_input_order(first: PublishPlan, seed: int) -> None:
    shuffled = DESIRED[:]
    random.Random(seed).shuffle(shuffled)
    again = plan(shuffled)
    assert again == first


def test_manifest_records_every_object_and_feed(first: PublishPlan) -> None:
    manifest = json.loads(first.manifest)
    assert manifest["objects"] == {w.key: {"size": w.size, "sha256": w.sha256} for w in DESIRED}
    assert {fid: entry["episodes"] for fid, entry in manifest["feeds"].items()} == FEEDS


def test_replanning_against_own_manifest_uploads_nothing(first: PublishPlan) -> None:
    second = plan(manifest=first.manifest, manifest_version="etag-1")
    assert second.uploads == ()
    assert sorted(keys(second.unchanged)) == sorted(w.key for w in DESIRED)
    assert second.manifest_changed is False
    assert second.manifest == first.manifest
    assert second.manifest_version == "etag-1"
    assert second.upload_bytes == 0
    assert second.stale == ()


@pytest.mark.parametrize("changed_key", [w.key for w in DESIRED])
@pytest.mark.parametrize("what", ["content", "same-size-content"])
def test_changed_object_reuploads_only_that_key(first: PublishPlan, changed_key: str, what: str) -> None:
    def change(w: Write) -> Write:
        if w.key != changed_key:
            return w
        assert w.data is not None
        data = w.data + b" v2" if what == "content" else bytes(reversed(w.data))
        assert data != w.data
        return replace(w, size=len(data), sha256=sha256_bytes(data), data=data)

    changed = [change(w) for w in DESIRED]
    second = plan(changed, manifest=first.manifest)
    assert keys(second.uploads) == [changed_key]
    assert changed_key not in keys(second.unchanged)
    assert len(second.unchanged) == len(DESIRED) - 1
    assert second.manifest_changed
    new_sha = next(w.sha256 for w in changed if w.key == changed_key)
    assert json.loads(second.manifest)["objects"][changed_key]["sha256"] == new_sha


def test_size_mismatch_alone_reuploads(first: PublishPlan) -> None:
    """A record with the right hash but the wrong size is not trusted (a truncated upload)."""
    manifest = json.loads(first.manifest)
    manifest["objects"][DESIRED[0].key]["size"] += 1
    second = plan(manifest=encode_manifest(manifest))
    assert keys(second.uploads) == [DESIRED[0].key]


def test_changed_feed_episodes_change_the_manifest_only(first: PublishPlan) -> None:
    second = plan(manifest=first.manifest, feeds={**FEEDS, "podcast": ["guid-a", "guid-b", "guid-d"]})
    assert second.uploads == ()
    assert second.manifest_changed
    assert json.loads(second.manifest)["feeds"]["podcast"]["episodes"] == ["guid-a", "guid-b", "guid-d"]


DAMAGED = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b"[]", id="json-list"),
    pytest.param(b'"manifest"', id="json-string"),
    pytest.param(b"{}", id="no-objects"),
    pytest.param(b'{"objects": []}', id="objects-a-list"),
    pytest.param(b'{"checksum":"' + b"0" * 64 + b'","format":1,"objects":{}}', id="checksum-mismatch"),
]
ODD = [
    pytest.param(b'{"objects": {}, "feeds": []}', id="feeds-a-list"),
    pytest.param(b'{"objects": {}, "feeds": "x"}', id="feeds-a-string"),
    pytest.param(b'{"objects": {"media/a-episode-11111111.mp3": "abc"}}', id="record-not-a-mapping"),
    pytest.param(b'{"objects": {"media/a-episode-11111111.mp3": {"sha256": null}}}', id="record-without-hash"),
]


@pytest.mark.parametrize("manifest", DAMAGED)
def test_damaged_manifest_is_never_read_as_empty(manifest: bytes) -> None:
    """A torn manifest would switch the removal guard off and re-date the history: it stops the plan (exit 4)."""
    with pytest.raises(ManifestDamaged, match="publish --verify"):
        plan(manifest=manifest)
    assert parse_manifest(manifest, lenient=True) == {"format": 1, "objects": {}, "feeds": {}}  # publish --verify


def test_truncated_manifest_fails_its_checksum(first: PublishPlan) -> None:
    assert json.loads(first.manifest)["checksum"]
    parse_manifest(first.manifest)  # verifies
    for cut in (len(first.manifest) // 2, len(first.manifest) - 3):
        with pytest.raises(ManifestDamaged):
            parse_manifest(first.manifest[:cut])
    tampered = first.manifest.replace(b'"format":1', b'"format":2')
    with pytest.raises(ManifestDamaged, match="checksum"):
        parse_manifest(tampered)


def test_manifest_without_checksum_is_accepted_and_gains_one(first: PublishPlan) -> None:
    old = json.loads(first.manifest)
    del old["checksum"]
    legacy = json.dumps(old, sort_keys=True).encode()
    assert parse_manifest(legacy)["objects"] == old["objects"]
    again = plan(manifest=legacy)
    assert again.uploads == () and again.manifest_changed and again.manifest == first.manifest


@pytest.mark.parametrize("manifest", ODD)
def test_odd_manifest_uploads_everything(manifest: bytes) -> None:
    result = plan(manifest=manifest)
    assert sorted(keys(result.uploads)) == sorted(w.key for w in DESIRED)
    assert result.unchanged == ()
    assert result.manifest_changed
    repaired = json.loads(result.manifest)
    assert set(repaired["objects"]) >= {w.key for w in DESIRED}
    assert {fid: entry["episodes"] for fid, entry in repaired["feeds"].items()} == FEEDS
    assert plan(manifest=result.manifest).uploads == ()


def test_parse_manifest_of_nothing_is_empty() -> None:
    assert parse_manifest(None)["objects"] == {}
    assert parse_manifest(None)["feeds"] == {}


def test_stale_keys_reported_and_left_in_place(first: PublishPlan) -> None:
    dropped = {"media/b-episode-22222222.mp3", "feeds/webinars.xml"}
    remaining = [w for w in DESIRED if w.key not in dropped]
    second = plan(remaining, manifest=first.manifest, feeds={"podcast": ["guid-a"]})
    assert set(second.stale) == dropped
    assert list(second.stale) == sorted(second.stale)
    assert second.uploads == ()
    manifest = json.loads(second.manifest)
    assert dropped <= set(manifest["objects"])  # still published, so still recorded
    assert "webinars" in manifest["feeds"]
    assert second.as_dict()["stale"] == sorted(dropped)


def test_held_back_sorted_and_failures_kept() -> None:
    held = [
        HeldBack("later", "Later", datetime(2027, 1, 1, tzinfo=UTC)),
        HeldBack("sooner", "Sooner", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    failures = [EpisodeFailure("broken", "episodes/broken/index.md", "no audio stream")]
    result = plan(held_back=held, failures=failures)
    assert [h.slug for h in result.held_back] == ["sooner", "later"]
    assert result.failures == tuple(failures)
    as_dict = json.loads(json.dumps(result.as_dict()))
    assert [h["slug"] for h in as_dict["held_back"]] == ["sooner", "later"]
    assert as_dict["failures"] == [{"slug": "broken", "file": "episodes/broken/index.md", "error": "no audio stream"}]
    assert as_dict["feeds_to_write"] == [w.key for w in result.uploads if w.stage == "feed"]
    assert as_dict["upload_bytes"] == result.upload_bytes


@pytest.mark.parametrize(
    ("key", "stage", "immutable", "content_type"),
    [
        ("media/a-12ab.mp3", "media", True, "audio/mpeg"),
        ("media/v-12ab.mp4", "media", True, "video/mp4"),
        ("artwork/show-12ab.png", "sidecar", True, "image/png"),
        ("chapters/a-12ab.json", "sidecar", True, "application/json+chapters"),
        ("transcripts/a-12ab.vtt", "sidecar", True, "text/vtt; charset=utf-8"),
        ("transcripts/a-12ab.srt", "sidecar", True, "application/x-subrip"),
        ("feeds/podcast.xml", "feed", False, "application/xml; charset=utf-8"),
        ("feeds.opml", "index", False, "text/x-opml; charset=utf-8"),
        ("related.json", "index", False, "application/json; charset=utf-8"),
    ],
)
def test_headers_come_from_the_one_table(key: str, stage: str, immutable: bool, content_type: str) -> None:
    w = write(key, stage, b"x")
    assert w.content_type == content_type
    control = w.cache_control
    assert ("immutable" in control) is immutable
    max_age = int(control.split("max-age=")[1].split(",")[0])
    assert max_age >= 86_400 * 365 if immutable else max_age <= 3_600
