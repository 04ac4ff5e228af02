"""One writer at a time: a lease object, `_mediafeed/lease.json`, taken before anything but content-addressed media
is written to a target (feeds, indexes, the manifest, deletions) and by `mediafeed gc`.

* Taking it is an exclusive create (S3: PutObject with If-None-Match: *; a local folder: a hard link, which fails
  when the name exists). The object names its owner (host, pid, a random id), when it was taken and when it expires.
* The holder renews it in the background (a replace with If-Match on the ETag it last wrote); a renewal that fails
  its condition means another publisher took the lease over, and `check()` (called before every write phase) stops
  the publish. A holder that cannot renew for a whole term stops too, by its own clock.
* An expired lease (its holder died or lost the network) is taken over by a conditional replace of exactly the
  expired version read, so of two publishers taking over at once only one succeeds.
* Releasing deletes it with If-Match (best effort: a lease left behind expires).

Expiry compares the holder's clock with the taker's: machines that publish need roughly synchronised clocks (NTP);
the term (MEDIAFEED_LEASE_SECONDS, default 300 s) is far longer than any plausible skew. Real time is used, never
`--now` (which is for catalog logic).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mediafeed.errors import StorageError
from mediafeed.progress import Note, Reporter, silent
from mediafeed.publish.storage import BOOKKEEPING, PreconditionFailed, Storage

LEASE_KEY = BOOKKEEPING + "lease.json"
DEFAULT_TERM = 300.0  # seconds a lease lasts unless renewed
POLL = 1.0  # seconds between attempts while waiting (--wait)
FOREVER = float("inf")


class LeaseHeld(StorageError):
    """Another publisher (or gc) holds the target's lease."""


class LeaseLost(StorageError):
    """This run's lease was taken over (it could not renew it in time): it must not write anything more."""


def term() -> float:
    try:
        value = float(os.environ.get("MEDIAFEED_LEASE_SECONDS", DEFAULT_TERM))
    except ValueError:
        return DEFAULT_TERM
    return value if value > 0 else DEFAULT_TERM


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    id: str

    def __str__(self) -> str:
        return f"{self.host} (pid {self.pid})"

    def died_here(self) -> bool:
        """A holder on this very host whose process is gone (killed, crashed): no need to wait for its lease to expire."""
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, but another user's
            return False
        return False


@dataclass(frozen=True)
class LeaseRecord:
    owner: Owner
    command: str
    acquired: float  # seconds since the epoch (real time)
    expires: float

    def expired(self, now: float) -> bool:
        return now >= self.expires

    def encode(self) -> bytes:
        return (
            json.dumps(
                {
                    "owner": {"host": self.owner.host, "pid": self.owner.pid, "id": self.owner.id},
                    "command": self.command,
                    "acquired": iso(self.acquired),
                    "expires": iso(self.expires),
                },
                sort_keys=True,
            )
            + "\n"
        ).encode()

    def renewed(self, now: float, seconds: float) -> LeaseRecord:
        return LeaseRecord(self.owner, self.command, self.acquired, now + seconds)

    def describe(self, now: float) -> str:
        left = self.expires - now
        until = f"expires {iso(self.expires)} (in {left:.0f} s)" if left > 0 else f"expired {iso(self.expires)}"
        return f"{self.owner} running `mediafeed {self.command}` since {iso(self.acquired)}; the lease {until}"


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(text: object) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def decode(data: bytes) -> LeaseRecord | None:
    """The lease's record, or None when it cannot be read (a torn write: it counts as expired)."""
    try:
        raw = json.loads(data)
        owner = raw["owner"]
        acquired, expires = _seconds(raw["acquired"]), _seconds(raw["expires"])
        if acquired is None or expires is None:
            return None
        return LeaseRecord(Owner(str(owner["host"]), int(owner["pid"]), str(owner["id"])), str(raw["command"]), acquired, expires)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def me() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), uuid.uuid4().hex)


@dataclass
class Lease:
    """A lease this process holds; renewed in the background until `release`."""

    storage: Storage
    record: LeaseRecord
    version: str | None
    seconds: float
    clock: Callable[[], float] = time.time
    lost: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> Lease:
        self._thread = threading.Thread(target=self._renew_loop, name="mediafeed-lease", daemon=True)
        self._thread.start()
        return self

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            self.renew()

    def renew(self) -> None:
        with self._lock:
            if self.lost is not None or self.version is None:
                return
            fresh = self.record.renewed(self.clock(), self.seconds)
            try:
                self.version = self.storage.replace_object(LEASE_KEY, fresh.encode(), self.version)
                self.record = fresh
            except PreconditionFailed:
                self.lost = "another publisher took the lease over (this one could not renew it in time)"
            except StorageError:
                pass  # a network hiccup: try again; `check` stops the run if the term runs out meanwhile

    def check(self) -> None:
        """Raise LeaseLost unless the lease is still this run's with time to spare (called before each write phase)."""
        with self._lock:
            lost = self.lost
            if lost is None and self.clock() > self.record.expires - self.seconds / 10:
                lost = "the lease ran out before it could be renewed"
        if lost is not None:
            raise LeaseLost(
                f"stopped before writing more to {self.storage.describe()}: {lost}",
                hint="run the command again; `mediafeed publish --verify` repairs whatever this run left half-done",
            )

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours (best effort: a lease left behind expires)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.lost is None and self.version is not None:
                with contextlib.suppress(StorageError):
                    self.storage.delete_object_if(LEASE_KEY, self.version)
            self.version = None


def acquire(
    storage: Storage,
    command: str,
    *,
    wait: float | None = None,
    progress: Reporter = silent,
    seconds: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    owner: Owner | None = None,
) -> Lease:
    """Take the target's lease (waiting up to `wait` seconds for its holder to finish; None: not at all)."""
    seconds = term() if seconds is None else seconds
    owner = owner or me()
    waited_since = time.monotonic()
    told = False
    while True:
        now = clock()
        record = LeaseRecord(owner, command, now, now + seconds)
        try:
            version = storage.create_object(LEASE_KEY, record.encode())
            return Lease(storage, record, version, seconds, clock)
        except PreconditionFailed:
            pass
        data, version = storage.read_versioned(LEASE_KEY)
        if data is None or version is None:
            continue  # released meanwhile: try to create it again
        held = decode(data)
        if held is not None and held.owner.id == owner.id:
            return Lease(storage, held, version, seconds, clock)  # a retried create whose first attempt landed
        dead = held is not None and held.owner.died_here()
        if held is None or held.expired(now) or dead:
            try:
                taken = storage.replace_object(LEASE_KEY, record.encode(), version)
            except PreconditionFailed:
                continue  # someone else renewed or took it over first: look again
            before = held.describe(now) if held is not None else "an unreadable lease"
            why = "the lease of a publish that died on this host" if dead else "the expired lease"
            progress(Note(f"took over {why} of {storage.describe()}: {before}"))
            return Lease(storage, record, taken, seconds, clock)
        waited = time.monotonic() - waited_since
        if wait is None or waited >= wait:
            how = f" (waited {waited:.0f} s)" if wait else ""
            raise LeaseHeld(
                f"another publish holds {storage.describe()}: {held.describe(now)}{how}; nothing was written",
                hint="run again with --wait (or --wait=SECONDS) to wait for it; a lease whose holder died expires "
                f"at {iso(held.expires)} and is then taken over",
            )
        if not told:
            progress(Note(f"waiting for the lease of {storage.describe()}: {held.describe(now)}"))
            told = True
        sleep(min(POLL, max(0.0, wait - waited), max(0.05, held.expires - now)))


def describe_held(storage: Storage, clock: Callable[[], float] = time.time) -> dict[str, Any] | None:
    """The lease as it stands (for status and tests): None when nobody holds it."""
    data, _ = storage.read_versioned(LEASE_KEY)
    if data is None:
        return None
    held = decode(data)
    return None if held is None else {"owner": str(held.owner), "expires": iso(held.expires), "expired": held.expired(clock())}


def honours_conditional_writes(storage: Storage) -> bool:
    """Whether the store refuses what a lease and the manifest's compare-and-swap rely on being refused: a create
    (If-None-Match: *) of an existing key, and a replace with a stale If-Match. One probe object, deleted after."""
    key = f"{BOOKKEEPING}probe-{uuid.uuid4().hex}.json"
    try:
        storage.create_object(key, b'{"probe": 1}\n')
        for attempt in (
            lambda: storage.create_object(key, b'{"probe": 2}\n'),
            lambda: storage.replace_object(key, b'{"probe": 3}\n', '"00000000000000000000000000000000"'),
        ):
            try:
                attempt()
            except PreconditionFailed:
                continue
            return False
        return True
    finally:
        with contextlib.suppress(StorageError):
            storage.delete(key)
