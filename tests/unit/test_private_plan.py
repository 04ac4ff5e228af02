"""The pure part of subscribers' feed copies: tokens, the CSV, and the plan that keeps copies in step."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml

from mediafeed.catalog.subscribers import (
    feed_key,
    parse_rotations,
    parse_subscribers,
    rotated,
    rotations_text,
    subscriber_key,
    token,
)
from mediafeed.errors import StorageError
from mediafeed.publish.private import PrivatePlan, Wanted, apply_private, plan_private

SECRET = b"x" * 40
URL = "https://media.example.org/".__add__


def test_tokens_are_derived_url_safe_and_depend_on_everything() -> None:
    key = subscriber_key(SECRET, "c-1")
    assert len(key) == 32 and key == subscriber_key(SECRET, "c-1") != subscriber_key(SECRET, "c-2")
    first = token(SECRET, key, 0)
    assert len(first) == 32 and first.replace("-", "").replace("_", "").isalnum()
    assert first != token(SECRET, key, 1) != token(b"y" * 40, key, 1)
    assert feed_key(SECRET, key, 0, "webinars") == f"private/{first}/feeds/webinars.xml"


def test_the_csv_is_read_and_checked_without_naming_addresses() -> None:
    text = "\ufeffid,email,feeds,expires,plan\na,a@x.org,webinars bonus,2026-12-31,gold\n\nb,nope,podcast,31/12/2026,x\n"
    found, problems = parse_subscribers(text, "subs.csv", ["webinars", "bonus"])
    assert [s.id for s in found] == ["a"] and found[0].feeds == ("webinars", "bonus")
    assert found[0].expires == date(2026, 12, 31) and "a@x.org" not in repr(found[0])
    assert found[0].active(datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert not found[0].active(datetime(2027, 1, 1, tzinfo=UTC))
    assert sorted(p.field for p in problems) == ["line 4: email", "line 4: expires", "line 4: feeds"]
    assert not any("nope" in str(p) for p in problems)
    _, missing = parse_subscribers("id,email\n", "subs.csv", [])
    assert missing and "feeds, expires" in missing[0].message


def test_rotations_round_trip() -> None:
    key = subscriber_key(SECRET, "c-1")
    text = rotations_text(rotated(rotated({}, key), key))
    assert parse_rotations(yaml.safe_load(text), "r.yaml") == ({key: 2}, [])
    assert parse_rotations({"c-1": 1}, "r.yaml")[1]  # ids are never written there


def plan(manifest: dict, wanted: list[Wanted], templates: dict[str, str] | None = None, **kw: str) -> PrivatePlan:
    return plan_private(manifest, templates or {"w": "t1", "b": "t2"}, wanted, SECRET, URL, **kw)


def test_a_first_plan_writes_every_copy_and_a_second_nothing() -> None:
    wanted = [Wanted("k1", 0, ("w", "b")), Wanted("k2", 0, ("w",))]
    first = plan({}, wanted)
    assert len(first.writes) == 3 and first.deletes == () and first.added == 2 and first.changed
    again = plan({"private": first.record}, wanted)
    assert again.writes == () and again.deletes == () and not again.changed


@pytest.mark.parametrize(
    ("change", "writes", "deletes", "counts"),
    [
        pytest.param(
            [Wanted("k1", 0, ("w", "b")), Wanted("k2", 0, ("w",)), Wanted("k3", 0, ("w",))], 1, 0, (1, 0, 0), id="added"
        ),
        pytest.param([Wanted("k1", 0, ("w", "b"))], 0, 1, (0, 1, 0), id="revoked"),
        pytest.param([Wanted("k1", 1, ("w", "b")), Wanted("k2", 0, ("w",))], 2, 2, (0, 0, 1), id="rotated"),
        pytest.param([Wanted("k1", 0, ("w",)), Wanted("k2", 0, ("w",))], 0, 1, (0, 0, 0), id="lost-a-feed"),
    ],
)
def test_changes_touch_only_that_subscriber(change: list[Wanted], writes: int, deletes: int, counts: tuple) -> None:
    before = plan({}, [Wanted("k1", 0, ("w", "b")), Wanted("k2", 0, ("w",))]).record
    after = plan({"private": before}, change)
    assert (len(after.writes), len(after.deletes)) == (writes, deletes)
    assert (after.added, after.revoked, after.rotated) == counts
    assert not set(after.deletes) & {k for k, _, _ in after.writes}


def test_a_template_change_rewrites_each_copy_of_that_feed_once() -> None:
    wanted = [Wanted(f"k{n}", 0, ("w", "b")) for n in range(5)]
    before = plan({}, wanted).record
    after = plan({"private": before}, wanted, {"w": "t1-new", "b": "t2"})
    assert len(after.writes) == 5 and {f for _, f, _ in after.writes} == {"w"} and after.deletes == ()


def test_presigned_copies_are_signed_again_when_due() -> None:
    wanted = [Wanted("k1", 0, ("w", "b"))]
    first = plan({}, wanted, signed_at="2026-01-01T00:00:00Z", resign_before="2025-12-31T00:00:00Z")
    assert first.record["subscribers"]["k1"]["signed"] == "2026-01-01T00:00:00Z"
    early = plan({"private": first.record}, wanted, signed_at="2026-01-01T06:00:00Z", resign_before="2025-12-31T14:00:00Z")
    assert early.writes == ()
    due = plan({"private": first.record}, wanted, signed_at="2026-01-03T00:00:00Z", resign_before="2026-01-02T00:00:00Z")
    assert len(due.writes) == 2 and due.record["subscribers"]["k1"]["signed"] == "2026-01-03T00:00:00Z"


class Refusing:
    concurrency = 1

    def put_bytes(self, key: str, *args: object) -> None:
        raise StorageError(f"PUT {key}: access denied", hint=f"check the bucket policy for {key}")


def test_a_storage_error_never_shows_a_token() -> None:
    wanted = [Wanted("k1", 0, ("w",))]
    the_plan = plan({}, wanted, {"w": "t"})
    key = the_plan.writes[0][0]
    with pytest.raises(StorageError) as info:
        apply_private(Refusing(), the_plan, {"w": b"<rss>MARK</rss>"}, "MARK")  # type: ignore[arg-type]
    assert key.split("/")[1] not in str(info.value) and "private/<token>/feeds/w.xml" in str(info.value)
