"""`mediafeed gc`: delete what no published document has referenced for longer than a grace period.

Content-addressed keys change with their bytes, so every new version of an episode's media, artwork, chapters or
transcript leaves the old object behind. A publish records when each object stopped being wanted (the manifest's
`stale` map: key → since); gc deletes the ones stale for longer than the grace period (default 7 days, so caches
and apps holding an older feed keep working), and never anything a current feed or index mentions.

Safety against a concurrent publish rests on the manifest's compare-and-swap:

1. gc reads the manifest (and its version), lists the target and reads the live feeds and related.json;
2. it writes a manifest without the doomed keys and with a `deleting` mark on each (compare-and-swap against the
   version read: if any publish wrote meanwhile, gc starts again from the new manifest);
3. only then does it delete, and finally clears its marks.

A publish that wants a stale key again first writes a manifest without that key's stale mark (its `claim`, also a
compare-and-swap, before any feed): so either the claim lands first and gc's own write fails (gc re-plans and keeps
the key), or gc's lands first and the claim fails (the publish re-plans, waits for the `deleting` marks to clear,
and uploads the key again). Objects the manifest never recorded (a crashed run's uploads) are first adopted as stale
(since this run) and deleted by a later gc once the grace period has passed again: an upload in flight at the moment
gc lists the target is never deleted by that same run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mediafeed.content_types import CONTENT_ADDRESSED, HOME_PAGE, PAGE_FOLDERS, PRIVATE_PREFIX, readable
from mediafeed.progress import Note, Reporter
from mediafeed.publish.plan import encode_manifest, parse_manifest, stale_marks
from mediafeed.publish.storage import MANIFEST_KEY, ManifestConflict, ObjectStat, Storage

# What gc may delete: content-addressed files, and the web pages a publish no longer wants (an episode page of a
# feed that was removed, a show's last page after it shrank, every page after `[site] pages = false`), and the
# subscriber-only episodes' files under private/ (never the subscribers' feed copies: publish keeps those in step).
PREFIXES = (*CONTENT_ADDRESSED, *(PRIVATE_PREFIX + p for p in CONTENT_ADDRESSED), *PAGE_FOLDERS, HOME_PAGE)
# What references them: feeds, the indexes, the home page and the show pages (episode and embed pages are not read:
# there is one per episode, and what they link is what the show pages and feeds link).
DOCUMENTS = re.compile(r"^(?:feeds/.+\.xml|related\.json|feeds\.opml|index\.html|shows/.+\.html)$")
_NAME = r"[A-Za-z0-9._~%-]+"
_FOLDER = rf"media|artwork(?:/thumbs)?|chapters|transcripts|assets|shows(?:/{_NAME}(?=/))?|episodes|embed"
REFERENCE = re.compile(rf"(?:{_FOLDER})/{_NAME}")
ATTEMPTS = 4
ABANDONED = timedelta(minutes=15)  # a `deleting` mark this old is a gc that died: finish its work


@dataclass(frozen=True)
class Garbage:
    key: str
    size: int
    why: str  # "stale since ..." | "left by an unfinished gc"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "why": self.why}


@dataclass(frozen=True)
class GcPlan:
    delete: tuple[Garbage, ...] = ()
    adopt: dict[str, int] = field(default_factory=dict)  # untracked key → size: marked stale from now
    waiting: tuple[tuple[str, str], ...] = ()  # (key, since): stale, still within the grace period
    referenced: tuple[str, ...] = ()  # stale in the manifest, but a live document still mentions them: kept


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def plan_gc(manifest: dict[str, Any], listing: list[ObjectStat], now: datetime, grace: timedelta, referenced: set[str]) -> GcPlan:
    """What to delete (pure): stale keys whose mark is older than `grace`, minus what a live document mentions;
    keys an earlier gc marked `deleting` long ago (it died); and untracked listed objects last written more than
    `grace` ago, which are only adopted (marked stale from now), never deleted in the same run."""
    objects = manifest["objects"]
    sizes = {o.key: o.size for o in listing}
    deletes, waiting, kept = [], [], []
    for key, since in sorted(stale_marks(manifest).items()):
        if not key.startswith(PREFIXES) or key not in objects:
            continue
        moment = _when(since)
        if moment is None or now - moment < grace:
            waiting.append((key, since))
        elif key in referenced:
            kept.append(key)
        else:
            record = objects[key] if isinstance(objects[key], dict) else {}
            deletes.append(Garbage(key, int(sizes.get(key, record.get("size", 0))), f"stale since {since}"))
    found = manifest.get("deleting")
    marks: dict[str, Any] = found if isinstance(found, dict) else {}
    for key, started in sorted(marks.items()):
        moment = _when(started)
        finished = moment is None or now - moment > ABANDONED
        if key.startswith(PREFIXES) and key not in objects and key not in referenced and finished:
            deletes.append(Garbage(key, sizes.get(key, 0), f"left by an unfinished gc ({started})"))
    adopt = {
        o.key: o.size
        for o in listing
        if o.key.startswith(PREFIXES)
        and o.key not in objects
        and o.key not in marks
        and (o.modified is None or now - o.modified >= grace)
    }
    return GcPlan(tuple(deletes), adopt, tuple(waiting), tuple(kept))


def after_gc(manifest: dict[str, Any], plan: GcPlan, now: datetime) -> dict[str, Any]:
    """The manifest gc writes before deleting: doomed keys gone from objects and stale, each marked `deleting`;
    adopted keys recorded (size only: a publish that wants one uploads it again) and stale from now."""
    doomed = {g.key for g in plan.delete}
    content = dict(manifest)
    objects = {k: v for k, v in manifest["objects"].items() if k not in doomed}
    objects.update({k: {"size": size} for k, size in plan.adopt.items()})
    content["objects"] = dict(sorted(objects.items()))
    marks = {k: v for k, v in stale_marks(manifest).items() if k not in doomed}
    marks.update({k: stamp(now) for k in plan.adopt})
    content["stale"] = dict(sorted(marks.items()))
    deleting = dict(manifest.get("deleting") or {})
    deleting.update({k: stamp(now) for k in doomed})
    content["deleting"] = dict(sorted(deleting.items()))
    return {k: v for k, v in content.items() if v or k in ("objects", "feeds")}


def without_marks(manifest: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    content = dict(manifest)
    deleting = {k: v for k, v in (manifest.get("deleting") or {}).items() if k not in keys}
    if deleting:
        content["deleting"] = deleting
    else:
        content.pop("deleting", None)
    return content


def live_references(storage: Storage, listing: list[ObjectStat], stale: Collection[str] = ()) -> set[str]:
    """Every key a feed (any page), feeds.opml, related.json, the home page or a show page in the target mentions now
    (documents a publish no longer wants, marked stale, are not live: their links keep nothing)."""
    found: set[str] = set()
    for item in listing:
        if DOCUMENTS.match(item.key) and item.key not in stale:
            data = storage.read(item.key)
            if data is not None:
                found.update(REFERENCE.findall(readable(data).decode("utf-8", "replace")))
    return found


@dataclass(frozen=True)
class GcResult:
    target: str
    now: datetime
    grace: timedelta
    dry_run: bool
    plan: GcPlan
    deleted: tuple[str, ...] = ()
    retries: int = 0

    @property
    def bytes(self) -> int:
        return sum(g.size for g in self.plan.delete)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "now": stamp(self.now),
            "grace_seconds": int(self.grace.total_seconds()),
            "dry_run": self.dry_run,
            "garbage": [g.as_dict() for g in self.plan.delete],
            "bytes": self.bytes,
            "deleted": list(self.deleted),
            "adopted": [{"key": k, "size": s} for k, s in sorted(self.plan.adopt.items())],
            "waiting": [{"key": k, "since": since} for k, since in self.plan.waiting],
            "referenced": list(self.plan.referenced),
            "retries": self.retries,
        }


def collect(
    storage: Storage,
    target: str,
    now: datetime,
    grace: timedelta,
    *,
    dry_run: bool,
    progress: Reporter,
    guard: Callable[[], None] | None = None,
) -> GcResult:
    """Plan from the manifest and a listing; unless dry_run, write the manifest (compare-and-swap), then delete.
    `guard` (the lease's check) runs before each write and raises when gc no longer holds the target."""
    guard = guard or (lambda: None)
    for attempt in range(ATTEMPTS):
        data, version = storage.read_manifest()
        if data is None:
            return GcResult(target, now, grace, dry_run, GcPlan(), retries=attempt)
        manifest = parse_manifest(data)
        listing = [o for o in storage.list() if o.key != MANIFEST_KEY]
        plan = plan_gc(manifest, listing, now, grace, live_references(storage, listing, set(stale_marks(manifest))))
        if dry_run or (not plan.delete and not plan.adopt):
            return GcResult(target, now, grace, dry_run, plan, retries=attempt)
        guard()
        try:
            storage.put_manifest(encode_manifest(after_gc(manifest, plan, now)), version)
        except ManifestConflict:
            progress(Note("a publish wrote the manifest meanwhile: planning again"))
            continue
        keys = [g.key for g in plan.delete]
        guard()
        storage.delete_many(keys)
        for garbage in plan.delete:
            progress(Note(f"deleted {garbage.key} ({garbage.size} bytes, {garbage.why})"))
        _clear_marks(storage, set(keys))
        return GcResult(target, now, grace, dry_run, plan, tuple(keys), retries=attempt)
    raise ManifestConflict(
        f"publishes kept updating {storage.describe()} while gc was planning", hint="run gc again when publishing is quiet"
    )


def _clear_marks(storage: Storage, keys: set[str]) -> None:
    """Take this run's `deleting` marks out again (a publish waiting for them goes on); if publishes keep winning
    the race, the marks stay and count as abandoned after ABANDONED."""
    if not keys:
        return
    for _ in range(ATTEMPTS):
        data, version = storage.read_manifest()
        manifest = parse_manifest(data)
        if not keys & set(manifest.get("deleting") or {}):
            return
        try:
            storage.put_manifest(encode_manifest(without_marks(manifest, keys)), version)
            return
        except ManifestConflict:
            continue
