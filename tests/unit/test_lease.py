"""The lease's pure parts and its protocol over a local folder (exclusive create, conditional replace), with a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediafeed.publish.lease import (
    LEASE_KEY,
    LeaseHeld,
    LeaseLost,
    LeaseRecord,
    Owner,
    acquire,
    decode,
    honours_conditional_writes,
)
from mediafeed.publish.lineage import Source, refusal
from mediafeed.publish.storage import LocalStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def owner(name: str) -> Owner:
    return Owner(name, 1, name * 8)


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"[]", b'{"owner": {}}', b'{"owner":{"host":"h","pid":1,"id":"x"},"command":"p","acquired":"no","expires":"no"}'],
)
def test_unreadable_lease_decodes_as_none(data: bytes) -> None:
    assert decode(data) is None


def test_record_round_trip_and_expiry() -> None:
    record = LeaseRecord(owner("a"), "publish", 1_800_000_000.0, 1_800_000_300.0)
    assert decode(record.encode()) == record
    assert not record.expired(1_800_000_299.0) and record.expired(1_800_000_300.0)
    assert "a (pid 1)" in record.describe(1_800_000_000.0) and "in 300 s" in record.describe(1_800_000_000.0)


def test_one_holder_at_a_time_then_release(tmp_path: Path) -> None:
    storage, clock = LocalStorage(tmp_path), Clock()
    lease = acquire(storage, "publish", seconds=60, clock=clock, owner=owner("a"))
    with pytest.raises(LeaseHeld, match=r"a \(pid 1\).*nothing was written"):
        acquire(storage, "publish", seconds=60, clock=clock, owner=owner("b"))
    lease.check()
    lease.release()
    assert storage.read(LEASE_KEY) is None
    acquire(storage, "gc", seconds=60, clock=clock, owner=owner("b")).release()


def test_expired_lease_is_taken_over_and_the_old_holder_stops(tmp_path: Path) -> None:
    storage, clock = LocalStorage(tmp_path), Clock()
    old = acquire(storage, "publish", seconds=60, clock=clock, owner=owner("a"))
    clock.now += 61
    new = acquire(storage, "publish", seconds=60, clock=clock, owner=owner("b"))
    with pytest.raises(LeaseLost):
        old.check()  # ran out by its own clock
    old.renew()  # and cannot renew: the version it holds is gone
    assert old.lost is not None
    old.release()  # does not delete the new holder's lease
    assert decode(storage.read(LEASE_KEY) or b"") == new.record
    new.check()
    new.release()


def test_renewal_extends_the_term(tmp_path: Path) -> None:
    storage, clock = LocalStorage(tmp_path), Clock()
    lease = acquire(storage, "publish", seconds=60, clock=clock, owner=owner("a"))
    clock.now += 40
    lease.renew()
    clock.now += 40
    lease.check()
    with pytest.raises(LeaseHeld):
        acquire(storage, "publish", seconds=60, clock=clock, owner=owner("b"))


def test_a_retried_create_that_landed_is_ours(tmp_path: Path) -> None:
    storage, clock = LocalStorage(tmp_path), Clock()
    acquire(storage, "publish", seconds=60, clock=clock, owner=owner("a"))
    again = acquire(storage, "publish", seconds=60, clock=clock, owner=owner("a"))
    assert again.version is not None


def test_wait_gives_up_after_the_time_given(tmp_path: Path) -> None:
    storage, clock = LocalStorage(tmp_path), Clock()
    acquire(storage, "publish", seconds=600, clock=clock, owner=owner("a"))
    with pytest.raises(LeaseHeld, match="waited"):
        acquire(storage, "publish", wait=0.2, seconds=600, clock=clock, owner=owner("b"), sleep=lambda s: None)


def test_local_folders_honour_conditional_writes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert honours_conditional_writes(storage)
    assert [o.key for o in storage.list()] == []


@pytest.mark.parametrize(
    ("recorded", "here", "ancestor", "refused"),
    [
        (None, Source("b" * 40, False), False, False),  # nothing recorded (first publish, or from outside git)
        ("a" * 40, None, False, False),  # outside git: protection off
        ("a" * 40, Source("a" * 40, True), False, False),  # the same commit
        ("a" * 40, Source("b" * 40, False), True, False),  # a descendant
        ("a" * 40, Source("b" * 40, False), False, True),  # older, sibling, or unknown here
    ],
)
def test_never_backwards_rule(recorded: str | None, here: Source | None, ancestor: bool, refused: bool) -> None:
    assert (refusal(recorded, here, ancestor) is not None) is refused
