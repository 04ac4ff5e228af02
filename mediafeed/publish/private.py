"""Subscribers' feeds: one copy of each private feed per paying subscriber, at a secret key, kept in step with the
subscriber list.

A private feed is rendered once (feeds/site.py, with PRIVATE_URL_MARK where its own URL goes); a subscriber's copy
is that document with their URL in place of the mark. The manifest's `private` entry records, per subscriber *key*
(a keyed hash: catalog/subscribers.py), the generation and the template digest of each feed copy written. Planning
compares that with what the subscriber list wants, without rendering anything:

- a copy is written when its template changed, or the subscriber is new, was rotated, or gained the feed;
- a copy is deleted when the subscriber left the list, expired, was rotated (the old key), or lost the feed.

A no-op therefore costs a hash per subscriber and a comparison, whatever the number of subscribers. Keys are secret:
plans and results expose counts only. Order: copies written, revoked ones deleted, then the manifest (by
compare-and-swap); a crash in between leaves the manifest describing less than the target holds, so the next run
writes or deletes again (both idempotent), and never leaves a revoked copy that no record points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from mediafeed.catalog.subscribers import feed_key, is_copy
from mediafeed.content_types import headers_for
from mediafeed.digest import sha256_bytes
from mediafeed.errors import MediafeedError
from mediafeed.progress import Counter, Finished, Reporter, Started, Task, silent
from mediafeed.publish.apply import run_parallel
from mediafeed.publish.plan import encode_manifest, parse_manifest
from mediafeed.publish.storage import Storage

RECORD = "private"  # the manifest's entry


@dataclass(frozen=True)
class Wanted:
    """One active subscriber, as publishing sees them: their key, token generation and private feeds."""

    key: str
    generation: int
    feeds: tuple[str, ...]


@dataclass(frozen=True)
class PrivatePlan:
    writes: tuple[tuple[str, str, str], ...] = field(repr=False)  # (secret key, feed id, secret URL)
    deletes: tuple[str, ...] = field(repr=False)  # secret keys
    record: dict[str, Any] = field(repr=False)
    changed: bool = False  # the manifest's entry changes
    added: int = 0  # subscribers new to the target
    revoked: int = 0  # subscribers whose every copy goes (left the list, expired)
    rotated: int = 0  # subscribers given a new token
    subscribers: int = 0  # active subscribers
    copies: int = 0  # feed copies the target holds afterwards

    def summary(self) -> dict[str, int]:
        """What may be shown: counts, never a key."""
        return {
            "subscribers": self.subscribers,
            "copies": self.copies,
            "write": len(self.writes),
            "delete": len(self.deletes),
            "added": self.added,
            "revoked": self.revoked,
            "rotated": self.rotated,
        }


def recorded(manifest: Mapping[str, Any]) -> dict[str, Any]:
    entry = manifest.get(RECORD)
    if not isinstance(entry, dict) or not isinstance(entry.get("subscribers"), dict):
        return {"feeds": {}, "subscribers": {}}
    return entry


def plan_private(
    manifest: Mapping[str, Any],
    templates: Mapping[str, str],
    wanted: Sequence[Wanted],
    secret: bytes,
    url_for: Callable[[str], str],
    *,
    signed_at: str | None = None,
    resign_before: str | None = None,
    present: set[str] | None = None,
    secret_print: str = "",
) -> PrivatePlan:
    """The copies to write and delete so the target holds exactly `wanted` (templates: feed id → digest).

    Presigned media (`signed_at`: now, ISO): every copy of a subscriber is written again, and stamped `signed_at`,
    when any of theirs changes or was signed before `resign_before` (so its links never outlive their signatures).
    `present` (the keys a listing found under private/: publish --verify, or a secret that changed): a recorded copy
    that is not there is written again, and a copy there that no subscriber should have is deleted (one the record
    cannot name: left by a crash, or made under the previous secret, whose keys cannot be derived any more).
    `secret_print` (catalog.subscribers.fingerprint) is recorded, so a publish knows when the secret changed."""
    before = recorded(manifest)
    old: dict[str, Any] = before["subscribers"]
    writes: list[tuple[str, str, str]] = []
    deletes: list[str] = []
    subscribers: dict[str, Any] = {}
    added = rotated = 0
    for subscriber in sorted(wanted, key=lambda w: w.key):
        feeds = {f: templates[f] for f in subscriber.feeds if f in templates}
        previous = old.get(subscriber.key)
        had: dict[str, str] = previous.get("feeds", {}) if isinstance(previous, dict) else {}
        generation = previous.get("generation") if isinstance(previous, dict) else None
        if previous is None:
            added += 1
        elif generation != subscriber.generation:
            rotated += 1
        stale = {f for f, d in feeds.items() if generation != subscriber.generation or had.get(f) != d}
        signed = previous.get("signed") if isinstance(previous, dict) else None
        if present is not None:
            stale |= {f for f in feeds if feed_key(secret, subscriber.key, subscriber.generation, f) not in present}
        if signed_at is not None and (stale or not isinstance(signed, str) or signed < (resign_before or "")):
            stale, signed = set(feeds), signed_at  # re-signed together: one stamp per subscriber
        for feed_id in sorted(stale):
            key = feed_key(secret, subscriber.key, subscriber.generation, feed_id)
            writes.append((key, feed_id, url_for(key)))
        if isinstance(generation, int):
            for feed_id in sorted(had):
                if generation != subscriber.generation or feed_id not in feeds:
                    deletes.append(feed_key(secret, subscriber.key, generation, feed_id))
        if feeds:
            entry: dict[str, Any] = {"generation": subscriber.generation, "feeds": feeds}
            subscribers[subscriber.key] = entry if signed_at is None else {**entry, "signed": signed}
    revoked = 0
    for key, previous in sorted(old.items()):
        if key in subscribers or not isinstance(previous, dict):
            continue
        generation = previous.get("generation")
        gone = sorted(previous.get("feeds") or {}) if isinstance(generation, int) else []
        deletes += [feed_key(secret, key, int(generation or 0), f) for f in gone]
        revoked += 1 if gone else 0
    if present is not None:
        kept = {feed_key(secret, k, s["generation"], f) for k, s in subscribers.items() for f in s["feeds"]}
        kept |= set(deletes)  # already going
        deletes += sorted(k for k in present if is_copy(k) and k not in kept)
    record = {"feeds": dict(sorted(templates.items())), "subscribers": subscribers, "secret": secret_print}
    return PrivatePlan(
        writes=tuple(writes),
        deletes=tuple(deletes),
        record=record,
        changed=record != before,
        added=added,
        revoked=revoked,
        rotated=rotated,
        subscribers=len(wanted),
        copies=sum(len(s["feeds"]) for s in subscribers.values()),
    )


def apply_private(
    storage: Storage,
    plan: PrivatePlan,
    templates: Mapping[str, bytes],
    mark: str,
    *,
    report: Reporter = silent,
    guard: Callable[[], None] | None = None,
    sign: Callable[[str], str] | None = None,
    private_urls: Mapping[str, Sequence[str]] | None = None,
) -> str | None:
    """Write the copies, delete the revoked ones, then record the new entry in the manifest (compare-and-swap
    against the manifest as read here: the caller holds the target's lease). Returns the manifest's new version.

    `sign` (presigned media): URL → a presigned URL for it, put in place of each of `private_urls` in every copy."""
    guard = guard or (lambda: None)
    mark_bytes = mark.encode("utf-8")

    def put(write: tuple[str, str, str]) -> None:
        key, feed_id, url = write
        data = templates[feed_id].replace(mark_bytes, url.encode("utf-8"))
        if sign is not None:
            for link in (private_urls or {}).get(feed_id, ()):
                data = data.replace(escape(link).encode("utf-8"), escape(sign(link)).encode("utf-8"))
        headers = headers_for(key)
        with _secret_keys_hidden(key):
            storage.put_bytes(key, data, headers.content_type, headers.cache_control, sha256_bytes(data))
        counter.add(len(data))

    guard()
    task = Task("upload", "private feeds", "bytes")
    report(Started(task, sum(len(templates[feed_id]) for _, feed_id, _ in plan.writes)))  # each copy: about its template
    counter = Counter(report, task)
    try:
        run_parallel(plan.writes, put, lambda _write: None, getattr(storage, "concurrency", 1))
    except BaseException:
        report(Finished(task, "failed"))
        raise
    report(Finished(task, "done", f"{len(plan.writes)} written, {len(plan.deletes)} revoked"))
    guard()
    if plan.deletes:
        with _secret_keys_hidden(*plan.deletes):
            storage.delete_many(list(plan.deletes))
    if not plan.changed:
        return None
    data, version = storage.read_manifest()
    content = parse_manifest(data)
    content[RECORD] = plan.record
    return storage.put_manifest(encode_manifest(content), version)


@contextmanager
def _secret_keys_hidden(*keys: str) -> Iterator[None]:
    """A storage error about a subscriber's copy names it without its token (errors are printed, and logged by CI)."""
    try:
        yield
    except MediafeedError as exc:
        tokens = {k.split("/")[1] for k in keys if k.startswith("private/") and k.count("/") >= 3}
        message, hint = exc.message, exc.hint
        for token in tokens:
            message, hint = message.replace(token, "<token>"), hint.replace(token, "<token>")
        exc.message, exc.hint, exc.args = message, hint, (message,)
        raise
