"""Apply a plan to a target in the safe order: media and sidecars, then feeds, then indexes, then the manifest.

Within a stage, writes run in parallel (as many as the storage allows); a stage starts only when the one before it
has landed whole, so a podcast app never sees a feed pointing at a missing file. Each write is confirmed (size, and
sha256 where the target reports it). Before the first feed is written the manifest version is checked again, and
the manifest itself is a compare-and-swap: a publish that loses the race re-reads the manifest and re-plans (up to
a few times), and stops with a clear message when the other publish changed something this one cannot reconcile.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from mediafeed.catalog.subscribers import is_copy
from mediafeed.digest import sha256_bytes, sha256_file
from mediafeed.errors import StorageError
from mediafeed.feeds.site import feed_deliveries, media_writes, public_feeds
from mediafeed.media.encode import Profile
from mediafeed.models import Catalog, EpisodeFailure, PreparedEpisode
from mediafeed.progress import Counter, Finished, Reporter, Started, Task, silent
from mediafeed.publish import guards
from mediafeed.publish.plan import (
    STAGES,
    HeldBack,
    Manifest,
    PublishOptions,
    PublishOutcome,
    PublishPlan,
    PublishResult,
    Write,
    make_plan,
    parse_manifest,
)
from mediafeed.publish.storage import BOOKKEEPING, ManifestConflict, Storage

EPISODE_PREFIXES = ("media", "artwork", "artwork/thumbs", "chapters", "transcripts")  # an episode's own files (gc's too)
EPISODE_PAGES = ("episodes", "embed")  # its web pages (`episodes/<slug>.html`), gone with it when it is withdrawn
CONTENT_ADDRESSED = ("media", "sidecar")  # their key changes with their bytes: once uploaded, they stay valid
_W = TypeVar("_W")  # what run_parallel hands to its workers
REPLANS = 3
READ_WHOLE = 8 * 1024 * 1024  # files up to this size are read into memory once, checked and sent from there
_DONE_LOCK = threading.Lock()  # guards the bookkeeping lists apply_plan fills from worker threads


@dataclass(frozen=True)
class Desired:
    """What a publish wants the target to hold, independent of the target's state."""

    writes: list[Write]
    feeds: dict[str, list[str]]  # feed id → GUIDs, newest first
    slugs: dict[str, str]  # guid → slug
    held_back: list[HeldBack]
    failures: list[Any]
    facts: guards.CatalogFacts = field(default_factory=guards.CatalogFacts)
    podcast_guids: dict[str, str] = field(default_factory=dict)  # feed id → podcast:guid, kept in the manifest
    feed_keys: dict[str, str] = field(default_factory=dict)  # key of a feed document (any page) → feed id
    feed_urls: dict[str, str] = field(default_factory=dict)  # feed id → public URL (what notifications announce)
    notify: bool = False  # whether hubs or a ping endpoint are configured (else nothing is queued)
    now: datetime | None = None  # when this publish runs: stamps the release history
    withdrawn: dict[str, dict[str, str]] = field(default_factory=dict)  # guid → {slug, at, reason}: taken down
    source: dict[str, Any] | None = None  # {commit, dirty} of the git checkout (None outside git: not recorded)
    private_feeds: tuple[str, ...] = ()  # feeds for subscribers only: a public document of theirs goes at once


HISTORY_LIMIT = 5000  # release-history entries kept in the manifest (oldest dropped first)


def annotate(previous: dict[str, Any], desired: Desired) -> dict[str, Any]:
    """The manifest's bookkeeping after this publish: what went live when, and which feeds still owe a ping.

    An episode "goes live" in a feed the first time the feed carries it; a feed owes a notification when its
    document differs from the one recorded (or a notification failed before and is still pending).
    """
    history = list(previous.get("history") or [])
    stamp = desired.now.strftime("%Y-%m-%dT%H:%M:%SZ") if desired.now else None
    for feed_id, guids in sorted(desired.feeds.items()):
        entry = previous["feeds"].get(feed_id)
        before = set(entry.get("episodes", [])) if isinstance(entry, dict) else set()
        for guid in reversed(guids):  # oldest first, so the history reads in order
            if guid not in before and stamp:
                history.append({"at": stamp, "feed": feed_id, "guid": guid, "slug": desired.slugs.get(guid, "")})
    pending: set[str] = set()
    if desired.notify:
        pending = {url for url in previous.get("notify_pending") or [] if isinstance(url, str)}
        recorded = previous["objects"]
        for write in desired.writes:
            changed = desired.feed_keys.get(write.key)
            if changed and (recorded.get(write.key) or {}).get("sha256") != write.sha256 and changed in desired.feed_urls:
                pending.add(desired.feed_urls[changed])
    retired = dict(previous.get("retired") or {})
    for guid, info in sorted(desired.withdrawn.items()):
        retired.setdefault(guid, info)
    return {"history": history[-HISTORY_LIMIT:], "notify_pending": sorted(pending), "retired": retired, "source": desired.source}


def withdrawn_keys(objects: Any, slugs: Any) -> frozenset[str]:
    """The files of withdrawn episodes among `objects`: media, artwork, chapters and transcripts keyed by their slug
    (`media/<slug>-<sha8>.mp3`: every version, current and stale), and its episode and embed pages."""
    if not slugs:
        return frozenset()
    names = "|".join(re.escape(s) for s in sorted(slugs))
    pattern = re.compile(rf"^(?:{'|'.join(EPISODE_PREFIXES)})/(?:{names})-[0-9a-f]{{8}}(?:\.[A-Za-z0-9]+)?$")
    pages = re.compile(rf"^(?:{'|'.join(EPISODE_PAGES)})/(?:{names})\.html$")
    return frozenset(k for k in objects if pattern.match(k) or pages.match(k))


def public_copies(objects: Any, private_feeds: tuple[str, ...]) -> frozenset[str]:
    """Public documents of feeds now for subscribers only (`feeds/<id>.xml` and its pages), left by a publish from
    before the feed became private: deleted after the manifest like a withdrawn episode's files, not left to gc."""
    if not private_feeds:
        return frozenset()
    names = "|".join(re.escape(f) for f in sorted(private_feeds))
    pattern = re.compile(rf"^feeds/(?:{names})(?:-page-[0-9]+)?\.xml$")
    return frozenset(k for k in objects if pattern.match(k))


def plan_for(
    storage: Storage,
    desired: Desired,
    options: PublishOptions,
    manifest: Manifest,
    uploaded: dict[str, dict[str, Any]] | None = None,
) -> PublishPlan:
    """The plan against `manifest`, with guards applied and, with --verify, a real listing."""
    previous = manifest.content
    known: dict[str, Any] | None = None
    report = None
    if options.verify:
        known, report = reconcile(storage, previous["objects"], desired.writes)
    if uploaded:
        known = {**(previous["objects"] if known is None else known), **uploaded}
    feed_states = {
        fid: {"episodes": guids, "podcast_guid": desired.podcast_guids.get(fid)} for fid, guids in desired.feeds.items()
    }
    recorded = {**previous["objects"], **(known or {})}
    gone = withdrawn_keys(recorded, [i["slug"] for i in desired.withdrawn.values()]) | public_copies(
        recorded, desired.private_feeds
    )
    plan = make_plan(
        desired.writes, feed_states, manifest.data, manifest.version, desired.held_back, desired.failures,
        slugs=desired.slugs, known_objects=known, annotations=annotate(previous, desired), previous=previous,
        stamp=desired.now.strftime("%Y-%m-%dT%H:%M:%SZ") if desired.now else None, withdrawn=gone,
    )  # fmt: skip
    refusals = guards.check(
        previous["feeds"], desired.feeds, desired.facts,
        allow_removal=options.allow_removal, allow_guid_change=options.allow_guid_change,
    )  # fmt: skip
    refusals += guards.retired_guids(previous.get("retired") or {}, desired.facts)
    return replace(plan, refusals=tuple(refusals), verify=report)


def run(
    storage: Storage,
    desired: Desired,
    options: PublishOptions,
    manifest: Manifest | None = None,
    landed: dict[str, dict[str, Any]] | None = None,
    plan: PublishPlan | None = None,
    report: Reporter = silent,
    guard: Callable[[], None] | None = None,
    current: Manifest | None = None,
) -> tuple[PublishPlan, PublishResult | None]:
    """Plan (against `manifest`, or a fresh read), and unless dry-run or refused, apply; re-plan on a lost race.

    `landed`: content-addressed objects this run already uploaded (see EarlyUploads); they are not sent again but
    count as written. `plan`: the plan against `manifest`, when the caller made it already. `current`: the manifest
    as read once this run holds the target's lease; when another publish wrote it since `manifest` was read, this
    run re-plans from it, or stops (nothing written) when it would overwrite that publish's feeds or drop its episodes.
    """
    basis = manifest or Manifest(*storage.read_manifest())
    plan = plan if plan is not None and manifest is not None else plan_for(storage, desired, options, basis)
    if options.dry_run or plan.refusals:
        return plan, None
    uploaded: dict[str, dict[str, Any]] = dict(landed or {})
    replanned = 0
    if current is not None and current.version != basis.version:
        fresh = _after_gc(storage, desired, current, uploaded)
        contested = _contested(desired.writes, basis, fresh)
        plan = plan_for(storage, desired, replace(options, verify=False), fresh, uploaded)
        if contested or plan.refusals:
            raise _lost(storage, plan, contested, [])
        basis, replanned = fresh, 1
    settled = _after_gc(storage, desired, basis, uploaded)
    if settled is not basis:
        basis = settled
        plan = plan_for(storage, desired, replace(options, verify=False), basis, uploaded)
        if plan.refusals:
            return plan, None
    log: list[Write] = []
    for attempt in range(REPLANS + 1):
        feeds_written: list[str] = []
        try:
            result = apply_plan(
                plan, storage, uploaded=uploaded, feeds_written=feeds_written, log=log, report=report, guard=guard
            )
            return plan, replace(result, replans=attempt + replanned)
        except ManifestConflict:
            if attempt == REPLANS:
                raise
            fresh = _after_gc(storage, desired, Manifest(*storage.read_manifest()), uploaded)
            contested = _contested(desired.writes, basis, fresh)
            plan = plan_for(storage, desired, replace(options, verify=False), fresh, uploaded)
            if contested or plan.refusals:
                raise _lost(storage, plan, contested, feeds_written) from None
            basis = fresh
    raise AssertionError("unreachable")


GC_WAIT = 60.0  # seconds a publish waits for a running gc to finish deleting objects it wants again
GC_ABANDONED = 15 * 60  # seconds after which a `deleting` mark is a gc that died (nothing deletes those keys any more)


def _after_gc(storage: Storage, desired: Desired, basis: Manifest, uploaded: dict[str, Any]) -> Manifest:
    """The manifest to plan from once no gc is deleting a key this publish wants.

    A gc deletes only after writing a manifest that marks the keys `deleting` (and clears the marks when done).
    Uploading such a key while its delete may still be in flight could lose it, so wait for the marks to clear;
    then the key is uploaded again (whatever this run sent before is forgotten, as the delete may have removed it).
    """
    wanted = {w.key for w in desired.writes if w.stage in CONTENT_ADDRESSED}
    deadline = time.monotonic() + GC_WAIT
    while True:
        marks = basis.content.get("deleting") or {}
        busy = sorted(k for k in marks if k in wanted and not _abandoned(marks[k], desired.now))
        for key in (k for k in marks if k in wanted):
            uploaded.pop(key, None)
        if not busy:
            return basis
        if time.monotonic() > deadline:
            raise ManifestConflict(
                f"`mediafeed gc` is deleting {', '.join(busy[:3])}{' ...' if len(busy) > 3 else ''} from "
                f"{storage.describe()}, which this publish needs again",
                hint="run the publish again once gc has finished",
            )
        time.sleep(0.5)
        basis = Manifest(*storage.read_manifest())


def _abandoned(mark: object, now: datetime | None) -> bool:
    try:
        started = datetime.fromisoformat(str(mark).replace("Z", "+00:00"))
    except ValueError:
        return True
    return now is not None and (now - started).total_seconds() > GC_ABANDONED


def early_media(
    catalog: Catalog,
    prepared: dict[tuple[str, str], PreparedEpisode],
    profiles: dict[str, Profile],
    manifest: Manifest,
    options: PublishOptions,
    failures: list[EpisodeFailure],
    held_back: list[HeldBack],
) -> list[Write]:
    """The new media that may be uploaded while the feeds render (see EarlyUploads): none when nothing may be
    written (a dry run; --verify, which decides from a listing; a plan the guards will refuse, checked here on the
    episodes each feed will carry, exactly as the plan will check them), else what the manifest lacks."""
    if options.dry_run or options.verify:
        return []
    previous = manifest.content
    feeds = {f.id: [d.episode.guid for d in feed_deliveries(catalog, f, prepared, profiles)] for f in public_feeds(catalog)}
    facts = guards.facts_for(catalog.episodes, failures, held_back)
    if guards.check(
        previous["feeds"], feeds, facts, allow_removal=options.allow_removal, allow_guid_change=options.allow_guid_change
    ):
        return []
    recorded = previous["objects"]
    return [w for w in media_writes(catalog, prepared, profiles) if recorded.get(w.key) != w.record]


def next_plan(storage: Storage, wanted: Desired, options: PublishOptions, plan: PublishPlan) -> tuple[bytes, PublishPlan]:
    """The plan the same catalog would make once `plan` is applied (planned against the manifest it writes; its
    version is not known yet), with that manifest: what `noop_outcome` checks is a no-op."""
    return plan.manifest, plan_for(storage, wanted, replace(options, verify=False), Manifest(plan.manifest, None))


def noop_outcome(
    storage: Storage,
    wanted: Desired,
    options: PublishOptions,
    published: PublishOutcome,
    proof: tuple[bytes, PublishPlan] | None = None,
) -> tuple[PublishOutcome, str] | None:
    """What a publish of the same catalog would report now that this one is done, and the manifest version it
    holds for, when that publish would be a no-op (the target holds exactly what the catalog wants); else None.

    After a publish that wrote something, that is proven by planning again against the manifest it wrote. `proof`
    is that plan when it was made ahead (see next_plan); it is used only if the manifest written is the one it was
    made for (a publish that lost the manifest race applied another plan).
    """
    plan, result = published.plan, published.result
    if plan.refusals or plan.failures or published.warnings:
        return None
    if not plan.uploads and not plan.manifest_changed:
        noop, version = plan, plan.manifest_version
    elif result is not None and result.manifest_version is not None:
        version = result.manifest_version
        if proof is None or proof[0] != plan.manifest:
            proof = next_plan(storage, wanted, options, plan)
        noop = replace(proof[1], manifest_version=version)
        if noop.uploads or noop.manifest_changed:
            return None
    else:
        return None
    if version is None or parse_manifest(noop.manifest).get("notify_pending"):
        return None  # a notification still owed: the next run must send it
    # A reused outcome only counts its unchanged writes: no bytes, no paths (10,000 paths cost 0.1 s to unpickle).
    unchanged = tuple(Write(w.key, w.stage, w.size, w.sha256) for w in noop.unchanged)
    slim = replace(noop, unchanged=unchanged, verify=None)
    return replace(published, plan=slim, result=PublishResult((), 0, False)), version


def _contested(writes: list[Write], before: Manifest, after: Manifest) -> list[str]:
    """Feeds and indexes the other publish changed and this one would now overwrite with something else."""
    old, new = before.content["objects"], after.content["objects"]
    return [
        w.key
        for w in writes
        if w.stage not in CONTENT_ADDRESSED
        and new.get(w.key) != old.get(w.key)
        and (new.get(w.key) or {}).get("sha256") != w.sha256
    ]


def _lost(storage: Storage, plan: PublishPlan, contested: list[str], feeds_written: list[str]) -> ManifestConflict:
    reasons = [f"it changed {', '.join(contested)}, which this catalog would overwrite with another version"] if contested else []
    reasons += [r.message for r in plan.refusals[:5]] + (["..."] if len(plan.refusals) > 5 else [])
    repair = (
        f" This run had already written {', '.join(feeds_written)}: once your catalog is up to date, "
        "`mediafeed publish --verify` rewrites whatever differs from the manifest."
        if feeds_written
        else " Nothing this run wrote is visible to subscribers (at most new media files were uploaded)."
    )
    return ManifestConflict(
        f"another publish updated {storage.describe()} while this one was running; stopped so as not to undo it: "
        f"{'; '.join(reasons)}.{repair}",
        hint="update your catalog (e.g. git pull) and publish again",
    )


def apply_plan(
    plan: PublishPlan,
    storage: Storage,
    *,
    uploaded: dict[str, dict[str, Any]] | None = None,
    feeds_written: list[str] | None = None,
    log: list[Write] | None = None,
    report: Reporter = silent,
    guard: Callable[[], None] | None = None,
) -> PublishResult:
    """Write the plan's uploads stage by stage (parallel within a stage), then the manifest (compare-and-swap).

    `uploaded` collects the content-addressed objects that landed, `feeds_written` the feeds and indexes, `log`
    every write (across re-plans): a re-plan after a lost race reuses them. Each stage's bytes are reported to
    `report` as they are sent (an "upload" task per stage). `guard` is called before every stage but media and
    before the manifest (the lease's check: it raises when this run no longer holds the target).
    """
    guard = guard or (lambda: None)
    uploaded = {} if uploaded is None else uploaded
    feeds_written = [] if feeds_written is None else feeds_written
    log = [] if log is None else log
    expected = plan.manifest_version  # the manifest version the next compare-and-swap expects
    for stage in STAGES:
        batch = [w for w in plan.uploads if w.stage == stage]
        if stage in CONTENT_ADDRESSED:  # uploaded early (or before a lost race): already there, and counted
            logged = {w.key for w in log}
            there = {w.key for w in batch if uploaded.get(w.key) == w.record}
            log.extend(w for w in batch if w.key in there and w.key not in logged)
            batch = [w for w in batch if w.key not in there]
        if not batch:
            continue
        if stage not in CONTENT_ADDRESSED:
            guard()
        if stage not in CONTENT_ADDRESSED and not feeds_written and expected == plan.manifest_version:
            if plan.claim is not None:
                # Keys a gc may be about to delete are wanted again: un-mark them first, by compare-and-swap, so a
                # gc planned from the manifest we read can no longer write its own (and so never deletes them).
                expected = storage.put_manifest(plan.claim, plan.manifest_version)
            elif storage.manifest_version() != plan.manifest_version:
                # Another publish finished since we planned: writing our feeds now could undo its episodes.
                raise ManifestConflict(f"another publish updated {storage.describe()} while this one was running")

        def done(write: Write, stage: str = stage) -> None:
            with _DONE_LOCK:
                log.append(write)
                if stage in CONTENT_ADDRESSED:
                    uploaded[write.key] = write.record
                else:
                    feeds_written.append(write.key)

        _send(report, stage, batch, partial(_put, storage), done, _width(storage))
    manifest_written, version = False, None
    if plan.claim is not None or plan.manifest_changed or plan.deletions:
        guard()
    if plan.claim is not None and expected == plan.manifest_version:
        expected = storage.put_manifest(plan.claim, plan.manifest_version)  # no feed to write: claimed all the same
    if plan.manifest_changed:
        version = storage.put_manifest(plan.manifest, expected)
        manifest_written = True
    if plan.deletions:
        # Withdrawn episodes' files, only now: every feed and index that pointed at them has been replaced, and the
        # manifest that no longer records them is the target's. (A crash here leaves them for `mediafeed gc`.)
        storage.delete_many(list(plan.deletions))
    return PublishResult(tuple(w.key for w in log), sum(w.size for w in log), manifest_written, manifest_version=version)


class EarlyUploads:
    """Media uploaded in the background while the feeds are still being rendered and planned.

    A first publish of a large catalog spends most of its time uploading media, and its feeds take seconds to
    render; media keys change with their bytes and nothing points at a new one until a feed is written, so sending
    them before the plan exists changes nothing a subscriber can see. `todo` is what the manifest does not record
    (pipeline.early_media); `finish` waits for them and returns what landed (for `run`), or raises the first failure.
    """

    def __init__(self, storage: Storage, todo: list[Write], report: Reporter = silent) -> None:
        self.landed: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None
        self.stopped = threading.Event()

        def put(write: Write, sent: Sent) -> None:
            if not self.stopped.is_set():
                _put(storage, write, sent)

        def done(write: Write) -> None:
            if not self.stopped.is_set():
                with _DONE_LOCK:
                    self.landed[write.key] = write.record

        def work() -> None:
            try:
                _send(report, "media", todo, put, done, _width(storage))
            except BaseException as exc:  # reported by finish(), in the publishing thread
                self.error = exc

        # Whatever this thread does meanwhile (the plan, and the feeds where they cannot render in a child process:
        # see offload.py), the upload threads must get the GIL back quickly when a response arrives, or the store
        # sits idle waiting for the next request: a shorter switch interval meanwhile.
        self.interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.interval, 0.0005))
        self.thread = threading.Thread(target=work, name="mediafeed-early-uploads", daemon=True)
        self.thread.start()

    def finish(self) -> dict[str, dict[str, Any]]:
        self.thread.join()
        sys.setswitchinterval(self.interval)
        if self.error is not None:
            raise self.error
        return self.landed

    def stop(self) -> None:
        """Send nothing more (the publish failed elsewhere); waits for the uploads already in flight."""
        self.stopped.set()
        self.thread.join()
        sys.setswitchinterval(self.interval)


def run_parallel(writes: Sequence[_W], put: Callable[[_W], None], done: Callable[[_W], None], workers: int) -> None:
    """put() each item on up to `workers` threads; done() for each that succeeded; the first failure is raised once
    the others in flight have finished (none is started after it)."""
    if not writes:
        return
    if workers <= 1 or len(writes) == 1:
        for write in writes:
            put(write)
            done(write)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(writes))) as pool:
        futures = {pool.submit(put, w): w for w in writes}
        finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in finished:
            if future.exception() is None:
                done(futures[future])
        errors = [f.exception() for f in finished if f.exception() is not None]
        if errors:
            raise errors[0]  # type: ignore[misc]


def _width(storage: Storage) -> int:
    return getattr(storage, "concurrency", 1)


Sent = Callable[[int], None] | None  # told the bytes sent, as they go (None: nobody is listening)


def _send(
    report: Reporter,
    stage: str,
    writes: list[Write],
    put: Callable[[Write, Sent], None],
    done: Callable[[Write], None],
    workers: int,
) -> None:
    """put(write, sent) every write in parallel, reported as an "upload" task for `stage` counting bytes."""
    if report is silent:
        run_parallel(writes, lambda write: put(write, None), done, workers)
        return
    task = Task("upload", stage, "bytes")
    report(Started(task, sum(w.size for w in writes)))
    counter = Counter(report, task)
    try:
        run_parallel(writes, lambda write: put(write, counter.add), done, workers)
    except BaseException:
        report(Finished(task, "failed"))
        raise
    report(Finished(task, "done", f"{len(writes)} file(s)"))


def _put(storage: Storage, write: Write, sent: Sent = None) -> None:
    # The build cache or a source may have changed since planning; never publish bytes the feed doesn't describe.
    # `sent` is told the bytes sent: as they go for a large file, whole for one sent from memory.
    if write.path is not None and write.size <= READ_WHOLE:
        data = write.path.read_bytes()  # read once: the bytes checked are the bytes sent
        if len(data) != write.size or sha256_bytes(data) != write.sha256:
            raise StorageError(f"{write.path} changed while publishing", hint="run the publish again")
        landed = storage.put_bytes(write.key, data, write.content_type, write.cache_control, write.sha256)
    elif write.path is not None:
        if write.path.stat().st_size != write.size or sha256_file(write.path) != write.sha256:
            raise StorageError(f"{write.path} changed while publishing", hint="run the publish again")
        landed = storage.put_file(write.key, write.path, write.content_type, write.cache_control, write.sha256, sent)
        sent = None  # counted as it went
    else:
        assert write.data is not None
        landed = storage.put_bytes(write.key, write.data, write.content_type, write.cache_control, write.sha256, write.encoding)
    if sent is not None:
        sent(write.size)
    landed = landed or storage.stat(write.key)
    if landed is None or landed.size != write.size or (landed.sha256 is not None and landed.sha256 != write.sha256):
        raise StorageError(
            f"{write.key} did not land whole in {storage.describe()}",
            hint="check free space on the target and publish again; feeds were not updated",
        )


def reconcile(storage: Storage, recorded: dict[str, Any], writes: list[Write]) -> tuple[dict[str, Any], dict[str, Any]]:
    """publish --verify: what really exists, from a listing (and a HEAD for the objects a listing can't vouch for).

    Keeps a manifest record only when the object is listed with the recorded size; for feeds and indexes (whose key
    does not change with their content) and for wanted objects the manifest doesn't know, reads the sha256 the
    object carries, so a missing or stale manifest is repaired without uploading again what is already there.
    """
    listing = {o.key: o.size for o in storage.list() if not o.key.startswith(BOOKKEEPING)}
    known: dict[str, Any] = {}
    missing, size_mismatch = [], []
    for key, record in recorded.items():
        if key not in listing:
            missing.append(key)
        elif not isinstance(record, dict) or record.get("size") != listing[key]:
            size_mismatch.append(key)
        else:
            known[key] = record
    candidates = [w for w in writes if listing.get(w.key) == w.size and (w.key not in known or w.stage not in CONTENT_ADDRESSED)]
    adopted, changed = [], []
    stats: dict[str, str | None] = {}

    def head(write: Write) -> None:
        found = storage.stat(write.key)
        stats[write.key] = found.sha256 if found else None

    run_parallel(candidates, head, lambda _w: None, _width(storage))
    for write in candidates:
        sha = stats.get(write.key)
        if sha == write.sha256:
            if write.key not in known:
                adopted.append(write.key)
            known[write.key] = write.record
        elif write.key in known and sha != known[write.key].get("sha256"):
            changed.append(write.key)  # overwritten behind the manifest's back: write it again
            del known[write.key]
    wanted = {w.key for w in writes}
    # (subscribers' feed copies are kept by the private stage, and their keys are secret: never listed here)
    untracked = sorted(k for k in listing if k not in recorded and k not in wanted and not is_copy(k))
    report = {
        "listed": len(listing),
        "missing": sorted(missing),
        "size_mismatch": sorted(size_mismatch),
        "changed": sorted(changed),
        "adopted": sorted(adopted),
        "untracked": untracked,
    }
    return known, report
