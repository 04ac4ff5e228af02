"""The pure diff between what should exist in a target and what its manifest says exists."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from mediafeed.config import Target
from mediafeed.errors import StorageError
from mediafeed.models import STAGES, EpisodeFailure, Write

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class HeldBack:
    slug: str
    title: str
    published: datetime


@dataclass(frozen=True)
class Refusal:
    """A reason to refuse a plan unless explicitly allowed (see guards.py)."""

    kind: str  # "removal" | "guid-change"
    feed: str
    guid: str
    slug: str | None
    file: str  # the episode (or feed definition) to look at
    message: str
    hint: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "feed": self.feed, "guid": self.guid, "slug": self.slug, "file": self.file,
                "message": self.message, "hint": self.hint}  # fmt: skip


@dataclass(frozen=True)
class PublishPlan:
    uploads: tuple[Write, ...]
    unchanged: tuple[Write, ...]
    held_back: tuple[HeldBack, ...]
    failures: tuple[EpisodeFailure, ...]
    manifest: bytes
    manifest_version: str | None  # what the manifest was when read (compare-and-swap)
    manifest_changed: bool
    stale: tuple[str, ...] = field(default=())  # published before, no longer wanted; left in place (gc deletes them)
    deletions: tuple[str, ...] = field(default=())  # withdrawn episodes' files: deleted once the manifest is written
    claim: bytes | None = None  # written (compare-and-swap) before any feed when stale keys are wanted again
    refusals: tuple[Refusal, ...] = field(default=())  # filled by guards.py; a plan with refusals is not applied
    verify: dict[str, Any] | None = None  # publish --verify: how the manifest compared with a real listing

    @property
    def upload_bytes(self) -> int:
        return sum(w.size for w in self.uploads)

    def as_dict(self) -> dict[str, Any]:
        return {
            "uploads": [{"key": w.key, "stage": w.stage, "size": w.size} for w in self.uploads],
            "upload_bytes": self.upload_bytes,
            "unchanged": len(self.unchanged),
            "feeds_to_write": [w.key for w in self.uploads if w.stage == "feed"],
            "held_back": [{"slug": h.slug, "title": h.title, "published": h.published.isoformat()} for h in self.held_back],
            "failures": [{"slug": f.slug, "file": f.file, "error": f.message} for f in self.failures],
            "stale": list(self.stale),
            "deletions": list(self.deletions),
            "refusals": [r.as_dict() for r in self.refusals],
            "manifest_changed": self.manifest_changed,
            **({"verify": self.verify} if self.verify is not None else {}),
        }


ANNOTATIONS = ("history", "notify_pending", "retired", "source", "private")  # bookkeeping besides objects and feeds
# `stale`: key → when it stopped being wanted (ISO, UTC); `deleting`: key → when `mediafeed gc` started deleting it
# (see publish/gc.py); `retired`: guid → {slug, at, reason} of withdrawn episodes, never to be used again;
# `source`: {commit, dirty} of the git checkout last published from (publish/lineage.py); `private`: the subscribers'
# feed copies, by keyed hash (publish/private.py).


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Compact and key-sorted (one encoding for one content), carrying its own checksum. Not indented: `indent`
    makes the json module fall back from its C encoder to pure Python, which costs seconds per plan on a
    10,000-episode manifest.

    The checksum is the sha256 of the encoding without it; "checksum" sorts first, so the encoding is
    `{"checksum":"<hex>",` followed by the rest of that encoding, and a reader checks it without re-encoding."""
    body = json.dumps({k: v for k, v in manifest.items() if k != "checksum"}, sort_keys=True, separators=(",", ":")) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    return (f'{{"checksum":"{digest}",' + body[1:]).encode() if body != "{}\n" else body.encode()


_CHECKSUM = re.compile(rb'^\{"checksum":"([0-9a-f]{64})",')
DAMAGED_HINT = "run `mediafeed publish --verify` to rebuild it from a listing of the target (nothing else is changed until then)"


class ManifestDamaged(StorageError):
    """The target's manifest does not parse or does not match its checksum (a torn or truncated write)."""


@dataclass(frozen=True)
class Manifest:
    """The target's manifest as read once per run: its bytes, its version (ETag on S3, hash locally), and its content
    parsed on first use."""

    data: bytes | None
    version: str | None
    lenient: bool = False  # a damaged manifest reads as empty (publish --verify, which rebuilds it from a listing)

    @cached_property
    def content(self) -> dict[str, Any]:
        return parse_manifest(self.data, lenient=self.lenient)

    @cached_property
    def episode_slugs(self) -> dict[str, str]:
        """GUID → slug of every episode in a published feed."""
        found: dict[str, str] = {}
        for entry in self.content["feeds"].values():
            slugs = entry.get("slugs") if isinstance(entry, dict) else None
            if isinstance(slugs, dict):
                found.update({str(g): str(s) for g, s in slugs.items()})
        return found

    @property
    def podcast_guids(self) -> dict[str, str]:
        """The podcast:guid each feed was published with (a moved feed keeps it)."""
        feeds = self.content["feeds"]
        return {fid: str(f["podcast_guid"]) for fid, f in feeds.items() if isinstance(f, dict) and f.get("podcast_guid")}


def parse_manifest(data: bytes | None, *, lenient: bool = False) -> dict[str, Any]:
    """The manifest's content; none yet (a first publish) is an empty one. A manifest that does not parse, or whose
    checksum does not match, is never read as empty (that would switch the removal guard off and re-date the release
    history): ManifestDamaged, unless `lenient` (publish --verify). A manifest without a checksum (written by an older
    mediafeed) is accepted; the next write adds one."""
    empty = {"format": MANIFEST_FORMAT, "objects": {}, "feeds": {}}
    if data is None:
        return empty
    problem = manifest_problem(data)
    if problem is not None:
        if lenient:
            return empty
        raise ManifestDamaged(f"the target's manifest ({problem}) cannot be trusted", hint=DAMAGED_HINT)
    manifest = json.loads(data)
    manifest.pop("checksum", None)
    if not isinstance(manifest.get("feeds"), dict):
        manifest["feeds"] = {}  # missing or damaged: the feeds written by this plan replace it
    return manifest


def manifest_problem(data: bytes) -> str | None:
    """What is wrong with a manifest's bytes, or None when they parse and match their checksum."""
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{len(data)} bytes that are not valid JSON: truncated or overwritten"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("objects"), dict):
        return "no objects map"
    if "checksum" in manifest:
        found = _CHECKSUM.match(data)
        body = b"{" + data[found.end() :] if found else b""
        if found is None or hashlib.sha256(body).hexdigest() != found.group(1).decode():
            return "its checksum does not match its content"
    return None


def make_plan(
    desired: list[Write],
    feeds: dict[str, Any],
    manifest_data: bytes | None,
    manifest_version: str | None,
    held_back: list[HeldBack],
    failures: list[EpisodeFailure],
    *,
    slugs: dict[str, str] | None = None,
    known_objects: dict[str, Any] | None = None,
    annotations: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
    stamp: str | None = None,
    withdrawn: frozenset[str] = frozenset(),
) -> PublishPlan:
    """Uploads are the writes whose key is new or whose content differs from what the manifest recorded.

    `slugs` (guid → slug) is recorded per feed so a later plan can tell a changed GUID from a removed episode;
    `known_objects` replaces the manifest's objects as "what exists" (publish --verify, or a re-plan after losing
    the manifest race that knows what this run already uploaded). `annotations` replace the manifest's
    bookkeeping entries (release `history`, `notify_pending`); without them the previous ones are kept.
    `previous` is `manifest_data` already parsed (see Manifest.content).

    Keys recorded but no longer wanted are marked stale since `stamp` (a mark already there keeps its time), for
    `mediafeed gc`; a wanted key loses its mark, and when that happens the plan carries a `claim` manifest to write
    before any feed (see apply_plan). `withdrawn` are keys to delete after the manifest (withdrawn episodes' files):
    the manifest stops recording them.
    """
    previous = parse_manifest(manifest_data) if previous is None else previous
    known: dict[str, Any] = previous["objects"] if known_objects is None else known_objects
    wanted = {w.key for w in desired}
    deletions = tuple(sorted(k for k in withdrawn if k not in wanted))
    if deletions:
        known = {k: v for k, v in known.items() if k not in withdrawn or k in wanted}
    uploads, unchanged = [], []
    for write in sorted(desired, key=lambda w: (STAGES.index(w.stage), w.key)):
        record = known.get(write.key)
        if isinstance(record, dict) and record.get("sha256") == write.sha256 and record.get("size") == write.size:
            unchanged.append(write)
        else:
            uploads.append(write)
    objects = {**known, **{w.key: w.record for w in desired}}
    marks = stale_marks(previous)
    stale = {k: marks.get(k, stamp) for k in sorted(known) if k not in wanted}
    revived = sorted(k for k in wanted if k in marks)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "objects": dict(sorted(objects.items())),
        # per feed: its episodes' GUIDs (and podcast:guid, slugs when known)
        "feeds": {**previous["feeds"], **{fid: _feed_entry(state, slugs) for fid, state in sorted(feeds.items())}},
    }
    manifest["feeds"] = dict(sorted(manifest["feeds"].items()))
    if stale:
        manifest["stale"] = {k: since for k, since in stale.items() if since}
    if previous.get("deleting"):
        manifest["deleting"] = previous["deleting"]  # gc's, cleared by gc
    for name in ANNOTATIONS:
        value = (annotations or {}).get(name, previous.get(name))
        if value:
            manifest[name] = value
    encoded = encode_manifest(manifest)
    return PublishPlan(
        uploads=tuple(uploads),
        unchanged=tuple(unchanged),
        held_back=tuple(sorted(held_back, key=lambda h: h.published)),
        failures=tuple(failures),
        manifest=encoded,
        manifest_version=manifest_version,
        manifest_changed=encoded != manifest_data,
        stale=tuple(stale),
        deletions=deletions,
        claim=_claim(previous, revived) if revived else None,
    )


def stale_marks(manifest: dict[str, Any]) -> dict[str, str]:
    """key → since (ISO) of the manifest's stale objects."""
    marks = manifest.get("stale")
    return {k: v for k, v in marks.items() if isinstance(v, str)} if isinstance(marks, dict) else {}


def _claim(previous: dict[str, Any], revived: list[str]) -> bytes:
    """The manifest as read, with the revived keys no longer stale: once written, a gc that planned from the old
    manifest cannot write its own (compare-and-swap), so it cannot delete what the feeds are about to point at."""
    claim = dict(previous)
    marks = {k: v for k, v in stale_marks(previous).items() if k not in revived}
    if marks:
        claim["stale"] = marks
    else:
        claim.pop("stale", None)
    return encode_manifest(claim)


def _feed_entry(state: Any, slugs: dict[str, str] | None) -> dict[str, Any]:
    """A feed's manifest entry from its episode GUIDs, or from a mapping that also carries its podcast:guid."""
    entry: dict[str, Any] = dict(state) if isinstance(state, dict) else {"episodes": list(state)}
    if slugs is not None:
        entry["slugs"] = {guid: slugs[guid] for guid in entry["episodes"] if guid in slugs}
    return entry


@dataclass(frozen=True)
class PublishResult:
    written: tuple[str, ...]
    bytes_written: int
    manifest_written: bool
    replans: int = 0  # how many times the manifest race was lost and the plan made again
    manifest_version: str | None = None  # the manifest's version after this publish wrote it (None: not written/unknown)


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish reports (the CLI prints it)."""

    target: Target
    plan: PublishPlan
    result: PublishResult | None  # None on a dry run
    feed_urls: dict[str, str]
    feed_counts: dict[str, int]
    warnings: tuple[str, ...] = ()  # problems that did not fail the publish (a notification that did not go out)
    reused: bool = False  # nothing changed since the last publish: this is its receipt's outcome (see receipt.py)
    files_read: int = 0  # files read to identify them (hashed): 0 when git and the cache vouched for every one
    loudness: tuple[dict[str, Any], ...] = ()  # episodes published as they are: measured loudness vs target
    private: dict[str, int] | None = None  # subscribers' feed copies (publish/private.py: counts only, never a key)


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool = False
    verify: bool = False
    allow_removal: bool = False
    allow_guid_change: bool = False
    force: bool = False  # publish even from a checkout that lacks the commit the target was published from
    wait: float | None = None  # seconds to wait for another publisher's lease (None: do not wait)
