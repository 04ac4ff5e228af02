"""Pure parts of take-downs and gc: what gc deletes given a manifest, a listing, now and a grace period; stale marks
and claims in the plan; retired GUIDs; the front-matter edit; the `withdrawn` field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediafeed.catalog.schema import EpisodeFront, EpisodeFrontPartial
from mediafeed.catalog.withdraw import insert_before_closing_fence
from mediafeed.errors import Problem
from mediafeed.models import Write
from mediafeed.publish.apply import withdrawn_keys
from mediafeed.publish.gc import GcPlan, after_gc, plan_gc, without_marks
from mediafeed.publish.guards import CatalogFacts, check, retired_guids
from mediafeed.publish.plan import encode_manifest, make_plan, parse_manifest
from mediafeed.publish.storage import ObjectStat
from mediafeed.validation import validate_collecting

NOW = datetime(2026, 12, 3, tzinfo=UTC)
WEEK = timedelta(days=7)


def manifest(stale: dict[str, str], objects: list[str], **extra: object) -> dict[str, object]:
    return {"format": 1, "objects": {k: {"size": 10, "sha256": "a" * 64} for k in objects}, "feeds": {}, "stale": stale, **extra}


@pytest.mark.parametrize(
    ("since", "grace", "deleted"),
    [
        ("2026-11-25T00:00:00Z", WEEK, True),  # 8 days stale
        ("2026-11-26T00:00:00Z", WEEK, True),  # exactly the grace period
        ("2026-11-27T00:00:00Z", WEEK, False),  # 6 days
        ("2026-12-03T00:00:00Z", timedelta(0), True),  # --grace 0
        ("not a date", WEEK, False),  # an unreadable mark is kept
    ],
)
def test_stale_keys_are_deleted_after_the_grace_period(since: str, grace: timedelta, deleted: bool) -> None:
    plan = plan_gc(manifest({"media/a-0123abcd.mp3": since}, ["media/a-0123abcd.mp3"]), [], NOW, grace, set())
    assert [g.key for g in plan.delete] == (["media/a-0123abcd.mp3"] if deleted else [])
    assert [k for k, _ in plan.waiting] == ([] if deleted else ["media/a-0123abcd.mp3"])


def test_gc_never_deletes_referenced_feeds_indexes_or_untracked_recent_objects() -> None:
    old = "2026-01-01T00:00:00Z"
    content = manifest(
        {"media/a-0123abcd.mp3": old, "feeds/gone.xml": old, "related.json": old, "media/b-0123abcd.mp3": old},
        ["media/a-0123abcd.mp3", "feeds/gone.xml", "related.json", "media/b-0123abcd.mp3"],
    )
    listing = [
        ObjectStat("media/a-0123abcd.mp3", 11),
        ObjectStat("media/orphan-0123abcd.mp3", 5, modified=NOW - timedelta(days=30)),
        ObjectStat("media/young-0123abcd.mp3", 5, modified=NOW - timedelta(days=1)),
        ObjectStat("elsewhere/x.bin", 5, modified=NOW - timedelta(days=30)),
        ObjectStat("_mediafeed/manifest.json", 5, modified=NOW - timedelta(days=30)),
    ]
    plan = plan_gc(content, listing, NOW, WEEK, {"media/b-0123abcd.mp3"})
    assert [(g.key, g.size) for g in plan.delete] == [("media/a-0123abcd.mp3", 11)]  # size from the listing
    assert plan.referenced == ("media/b-0123abcd.mp3",)
    assert plan.adopt == {"media/orphan-0123abcd.mp3": 5}


def test_gc_manifest_marks_deleting_and_adopts_as_stale_from_now() -> None:
    content = manifest({"media/a-0123abcd.mp3": "2026-01-01T00:00:00Z"}, ["media/a-0123abcd.mp3", "media/keep-0123abcd.mp3"])
    plan = plan_gc(content, [ObjectStat("media/o-0123abcd.mp3", 5, modified=NOW - timedelta(days=9))], NOW, WEEK, set())
    written = after_gc(content, plan, NOW)
    assert set(written["objects"]) == {"media/keep-0123abcd.mp3", "media/o-0123abcd.mp3"}
    assert written["objects"]["media/o-0123abcd.mp3"] == {"size": 5}  # no sha256: a publish that wants it re-uploads
    assert written["stale"] == {"media/o-0123abcd.mp3": "2026-12-03T00:00:00Z"}
    assert written["deleting"] == {"media/a-0123abcd.mp3": "2026-12-03T00:00:00Z"}
    assert "deleting" not in without_marks(written, {"media/a-0123abcd.mp3"})


def test_an_abandoned_deleting_mark_is_finished_a_recent_one_left_alone() -> None:
    marks = {"media/x-0123abcd.mp3": "2026-12-02T00:00:00Z", "media/y-0123abcd.mp3": "2026-12-02T23:59:00Z"}
    plan = plan_gc(manifest({}, [], deleting=marks), [], NOW, WEEK, set())
    assert [g.key for g in plan.delete] == ["media/x-0123abcd.mp3"]
    assert plan_gc(manifest({}, []), [], NOW, WEEK, set()) == GcPlan()


def write(key: str, sha: str = "b") -> Write:
    return Write(key, "media" if key.startswith("media/") else "feed", 10, sha * 64, data=b"x")


def test_make_plan_marks_stale_since_the_first_publish_that_dropped_them_and_claims_revived_keys() -> None:
    first = make_plan([write("media/a-1.mp3"), write("media/b-1.mp3")], {}, None, None, [], [], stamp="2026-11-01T00:00:00Z")
    second = make_plan([write("media/b-1.mp3")], {}, first.manifest, "v1", [], [], stamp="2026-11-02T00:00:00Z")
    assert parse_manifest(second.manifest)["stale"] == {"media/a-1.mp3": "2026-11-02T00:00:00Z"} and second.claim is None
    third = make_plan([write("media/b-1.mp3")], {}, second.manifest, "v2", [], [], stamp="2026-11-09T00:00:00Z")
    assert parse_manifest(third.manifest)["stale"] == {"media/a-1.mp3": "2026-11-02T00:00:00Z"}  # kept its time
    assert third.manifest == second.manifest and not third.manifest_changed
    revived = make_plan([write("media/a-1.mp3"), write("media/b-1.mp3")], {}, second.manifest, "v2", [], [], stamp="x")
    assert revived.claim is not None and "stale" not in parse_manifest(revived.manifest)
    claim = parse_manifest(revived.claim)
    assert "stale" not in claim and claim["objects"] == parse_manifest(second.manifest)["objects"]


def test_withdrawn_keys_are_dropped_from_the_manifest_and_planned_for_deletion() -> None:
    objects = ["media/ep-0123abcd.mp3", "media/ep-2-0123abcd.mp3", "artwork/ep-0123abcd.png", "chapters/ep-0123abcd.json",
               "transcripts/ep-0123abcd.vtt", "feeds/ep.xml", "media/ep-0123abcd-x.mp3"]  # fmt: skip
    gone = withdrawn_keys(objects, ["ep"])
    own = {"media/ep-0123abcd.mp3", "artwork/ep-0123abcd.png", "chapters/ep-0123abcd.json", "transcripts/ep-0123abcd.vtt"}
    assert gone == own
    before = encode_manifest(manifest({}, objects))
    plan = make_plan([write("media/other-0123abcd.mp3")], {}, before, "v", [], [], stamp="s", withdrawn=gone)
    assert set(plan.deletions) == gone and not gone & set(parse_manifest(plan.manifest)["objects"])


def test_withdrawal_is_the_explicit_allow_and_retired_guids_are_refused() -> None:
    previous = {"podcast": {"episodes": ["g1", "g2"], "slugs": {"g1": "one", "g2": "two"}}}
    facts = CatalogFacts(guids={"one": "g1"}, files={"one": "episodes/one/index.md"}, withdrawn={"two": "retracted"})
    assert check(previous, {"podcast": ["g1"]}, facts) == []
    guid = "645bd2b2-427d-408b-8ecb-4672a54a5f1f"
    retired = {guid: {"slug": "old", "at": "2026-11-25T00:00:00Z", "reason": "r"}}
    copy = CatalogFacts(guids={"new": "{" + guid.upper() + "}"}, files={"new": "episodes/new/index.md"})
    (refusal,) = retired_guids(retired, copy)
    assert refusal.kind == "retired-guid" and refusal.file == "episodes/new/index.md" and "'old' was withdrawn" in refusal.message
    itself = CatalogFacts(guids={"old": guid}, withdrawn={"old": "r"})
    assert retired_guids(retired, itself) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitle: A\n---\nbody\n---\n", "---\ntitle: A\nW\n---\nbody\n---\n"),
        ("\ufeff---\r\ntitle: A\r\n...\r\nnotes", "\ufeff---\r\ntitle: A\r\nW\n...\r\nnotes"),
        ("---\ntitle: A # c\nlist:\n  - x\n---\n", "---\ntitle: A # c\nlist:\n  - x\nW\n---\n"),
    ],
)
def test_the_withdrawn_line_goes_last_in_the_front_matter(text: str, expected: str) -> None:
    assert insert_before_closing_fence(text, "W\n") == expected


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        ({"at": "2026-11-25T09:00:00-05:00", "reason": "consent withdrawn"}, []),
        ({"at": "2026-11-25", "reason": "x"}, ["withdrawn.at"]),
        ({"at": "2026-11-25T09:00:00", "reason": "x"}, ["withdrawn.at"]),
        ({"reason": "x"}, ["withdrawn.at"]),
        ({"at": "2026-11-25T09:00:00Z", "reason": " "}, ["withdrawn.reason"]),
        ({"at": "2026-11-25T09:00:00Z", "reason": "x", "by": "me"}, ["withdrawn.by"]),
        ("yes", ["withdrawn"]),
    ],
)
def test_withdrawn_field(value: object, fields: list[str]) -> None:
    problems: list[Problem] = []
    front = validate_collecting(EpisodeFront, EpisodeFrontPartial, {"withdrawn": value}, "episodes/a/index.md", problems)
    withdrawn = [p.field for p in problems if p.field.startswith("withdrawn")]
    assert withdrawn == fields
    if not fields:
        assert front.withdrawn.at == datetime(2026, 11, 25, 14, tzinfo=UTC) and front.withdrawn.reason == "consent withdrawn"


def test_references_are_read_from_pages_a_target_stored_gzipped() -> None:
    """An S3 target stores pages gzipped (Target.precompress): gc reads their links all the same."""
    from mediafeed.content_types import gzipped
    from mediafeed.publish.gc import live_references

    page = b'<a href="https://x.test/episodes/a.html">A</a><img src="https://x.test/artwork/thumbs/a-0123abcd.jpg">'
    held = {"shows/podcast.html": gzipped(page), "index.html": b'<a href="https://x.test/shows/podcast.html">'}

    class Held:
        def read(self, key: str) -> bytes | None:
            return held.get(key)

    listing = [ObjectStat(k, len(v)) for k, v in held.items()]
    found = live_references(Held(), listing)  # type: ignore[arg-type]
    assert {"episodes/a.html", "artwork/thumbs/a-0123abcd.jpg", "shows/podcast.html"} <= found
