"""The walk: a Run goes through a list of named stages, and every command is a selection of that one list.

    receipt ─► load ─► resolve ─► probe ─► prepare ─► render ─► plan ─► apply ─► notify ─► remember
    no-op      pure     s3://      ffprobe  ffmpeg,    feeds,    pure    the only  WebSub,   the no-op
    shortcut   catalog  masters    (cached) mutagen    indexes   diff    writer of Podping   receipt
                                            (cached)   (cached)          a target

    check   = load, then (probe, and render for lint)        build   = load, resolve, probe, prepare (all episodes)
    plan    = publish without apply and notify               status  = plan without the receipt, then the manifest
    publish = every stage

Each stage is a short function over the Run that calls into its package (catalog/, media/, feeds/, publish/) and
imports it when it runs, so a run that stops at the receipt loads no catalog, media or feed code. Caching wraps the
stages (cache/: one store keyed by content and code); the stages themselves know nothing of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from mediafeed.cache import receipt as receipts
from mediafeed.cache.code import code_digest
from mediafeed.cache.identity import ContentIds
from mediafeed.cache.memo import record, still_valid
from mediafeed.cache.store import Store, key_of, portable
from mediafeed.config import CONFIG_FILE, Config, Target
from mediafeed.feeds.page_files import templates_digest
from mediafeed.models import Catalog, Episode, EpisodeFailure, RenderedDocument
from mediafeed.progress import Advanced, Finished, Reporter, Started, Task, silent
from mediafeed.publish.plan import HeldBack, Manifest, PublishOptions, PublishOutcome, PublishPlan, PublishResult
from mediafeed.publish.storage import Storage
from mediafeed.publish.targets import open_storage

Progress = Reporter  # typed events (mediafeed.progress); the CLI decides how to show them
Stage = Callable[["Run"], None]


@dataclass
class Run:
    """One command's state as it walks the stages: what it was asked, and what each stage has made so far."""

    project: Path
    now: datetime
    progress: Progress
    target_name: str | None = None
    options: PublishOptions = field(default_factory=PublishOptions)
    all_episodes: bool = False  # build: scheduled episodes too (a release then needs no encoding)
    shared_tier: bool = False  # use the cache's shared tier (publish, plan, status, build; not offline commands)
    shard: tuple[int, int] | None = None  # build --shard K/N: only the K-th of N parts of the media work
    config: Config | None = None
    target: Target | None = None
    storage: Storage | None = None
    manifest: Manifest | None = None
    catalog: Catalog | None = None
    read: list[Any] = field(default_factory=list)  # every file the catalog was built from (catalog.load.FileUse)
    episodes: list[Episode] = field(default_factory=list)  # what this run publishes (or builds)
    held_back: list[HeldBack] = field(default_factory=list)
    failures: list[EpisodeFailure] = field(default_factory=list)
    work: Any = None  # media.jobs.Work
    built: Any = None  # media.jobs.BuildOutcome
    profiles: dict[str, Any] = field(default_factory=dict)
    site: Any = None  # feeds.site.Site
    early: Any = None  # publish.apply.EarlyUploads, from render to apply
    wanted: Any = None  # publish.apply.Desired
    plan: PublishPlan | None = None
    proof: tuple[bytes, PublishPlan] | None = None
    result: PublishResult | None = None
    warnings: tuple[str, ...] = ()
    outcome: PublishOutcome | None = None
    source: Any = None  # publish.lineage.Source of the project's git checkout (None outside git)
    lease: Any = None  # publish.lease.Lease, held from apply to the end of the walk
    subscribers: Any = None  # Subscribers, when there are private feeds to keep (or subscribers' copies to delete)
    private: Any = None  # publish.private.PrivatePlan
    done: bool = False  # a stage ended the walk early (the receipt held)

    def __post_init__(self) -> None:
        self.project = self.project.resolve()
        self.store = Store(self.project / "build", root=self.project)
        self.ids = ContentIds(self.project, self.store)
        self._facts: Any = None
        self._shared = False  # the shared tier has been looked for (choose_target)

    @property
    def build_dir(self) -> Path:
        return self.project / "build"

    @property
    def facts(self) -> Any:
        """media.probe.Facts: content ids, probe results and tool versions, over the store."""
        if self._facts is None:
            from mediafeed.media.probe import Facts

            self._facts = Facts(self.store, self.ids)
        return self._facts

    def open_target(self) -> None:
        self.choose_target(share=False)
        if self.storage is None:
            assert self.target is not None
            self.storage = open_storage(self.target)
        self._share()

    def choose_target(self, share: bool = True) -> None:
        """The run's target, and with it the cache's shared tier (cache/remote.py: [cache] url, or the target's bucket)."""
        if self.config is None:
            self.config = settings(self.project, self.store)
        if self.target is None:
            self.target = self.config.target(self.target_name)
        if share:
            self._share()

    def _share(self) -> None:
        if not self._shared:
            from mediafeed.cache.remote import open_remote

            assert self.config is not None
            self._shared = True
            client = getattr(self.storage, "client", None)  # the target's, when it is open: reused where it can be
            remote = open_remote(self.config.cache, self.target, self.project, client)
            self.store.share(remote, writes=not self.options.dry_run)  # a dry run writes nothing anywhere


# --- the stages --------------------------------------------------------------------------------------------------


def receipt(run: Run) -> None:
    """The no-op shortcut: the target's receipt still describes this project and the target's manifest."""
    run.open_target()
    assert run.target is not None and run.storage is not None
    if run.options.verify:
        return
    from mediafeed.catalog.listing import listing

    shared = run.store.remote is not None
    version = run.storage.manifest_version() if shared else None  # first: a target that fails stops here (exit 4)
    key, files = receipt_key(run), listing(run.project)
    found = receipts.load(run.store, run.target.name, key, run.now, files, run.ids)
    if found is not None and not shared:
        version = run.storage.manifest_version()
    if found is not None and shared and version == found.manifest_version:
        receipts.share(run.store, found)  # made before the shared tier was attached: other runners need it too
    elif shared and version is not None:
        found = receipts.load_shared(run.store, key, version, run.now, files, run.ids)  # another runner's
    if found is None or version != found.manifest_version:
        return
    result = None if run.options.dry_run else PublishResult((), 0, False)
    private = found.outcome.private
    if private is not None:  # the copies stand as that publish left them: nothing to write or delete now
        private = {**private, "write": 0, "delete": 0, "added": 0, "revoked": 0, "rotated": 0}
    run.outcome = replace(found.outcome, target=run.target, result=result, reused=True, private=private)
    run.done = True


def load(run: Run) -> None:
    """Read and validate mediafeed.toml, feeds/ and episodes/ (each episode remembered by the content it was read from)."""
    from mediafeed.catalog.load import FileUse, load_catalog, load_episode

    if run.shared_tier:
        run.choose_target()  # before any content id is needed: the shared blob packs identify files without reading
    run.config = run.config or settings(run.project, run.store)
    run.read = [FileUse(run.project, CONFIG_FILE, run.project / CONFIG_FILE)]
    learnt: list[tuple[str, bytes]] = []
    published = _published(run)
    task = Task("load", "catalog", "items")
    run.progress(Started(task))
    loader = _counted(run.progress, task, _remembered_loader(run, load_episode, learnt))
    try:
        run.config, run.catalog = load_catalog(run.project, run.config, load_one=loader, read=run.read, published=published)
    except BaseException:
        run.progress(Finished(task, "failed"))
        raise
    run.progress(Finished(task, "done", f"{len(run.catalog.episodes)} episode(s), {len(run.catalog.feeds)} feed(s)"))
    run.store.put_many("episode", learnt)  # only once the whole catalog is valid


def subscribers_stage(run: Run) -> None:
    """Read the subscriber list (and the secret) when private feeds are kept or copies of them remain: before
    anything is written, so a missing secret stops the run with nothing changed (exit 4)."""
    from mediafeed.progress import Note
    from mediafeed.publish.private import recorded

    assert run.config is not None and run.catalog is not None
    nobody = _unreachable_private_feeds(run.catalog, run.config)
    if nobody is not None:
        run.progress(Note(str(nobody)))
    if run.config.subscribers_file or recorded(_manifest(run).content)["subscribers"]:
        assert run.target is not None  # opened by _manifest
        run.subscribers = _read_subscribers(run.project, run.config, run.catalog, run.target, run.now)


def lineage(run: Run) -> None:
    """Never backwards: refuse (exit 3) a checkout that lacks the commit the target was last published from."""
    from mediafeed.progress import Note
    from mediafeed.publish.lineage import check, git_source

    run.source = git_source(run.project)
    if run.source is None:
        run.progress(Note("not a git checkout: the check that a publish never goes backwards is off"))
    elif not run.options.force:
        check(run.project, _manifest(run).content, run.source)


def resolve(run: Run) -> None:
    """Choose the episodes this run handles (released at `now`, selected by a feed) and fetch s3:// masters."""
    from mediafeed.catalog.load import PLACEHOLDER_REFUSAL
    from mediafeed.media import masters

    assert run.config is not None and run.catalog is not None
    catalog, now = run.catalog, run.now
    live = [e for e in catalog.episodes if e.withdrawn is None]  # a withdrawn episode is in no feed or index
    selected = [e for e in live if any(f.selects(e) for f in catalog.feeds)]
    if run.all_episodes:
        run.episodes = live
    else:
        run.episodes = [e for e in selected if e.is_released(now) and not e.placeholder]
        run.held_back = [HeldBack(e.slug, e.title, e.published) for e in catalog.episodes if e.is_scheduled(now)]
        run.failures += [
            EpisodeFailure(e.slug, e.file, PLACEHOLDER_REFUSAL, "notes") for e in selected if e.is_released(now) and e.placeholder
        ]
    run.episodes, fetch_failures = masters.resolve(run.episodes, run.build_dir, run.config.masters_s3, run.progress)
    run.failures += fetch_failures


def probe(run: Run) -> None:
    """Plan the media jobs, take the ones the store remembers, and probe the masters of the rest."""
    from mediafeed.media.jobs import feed_profiles, plan_jobs, probe_pending, remembered, shard_of

    assert run.config is not None and run.catalog is not None
    if run.shared_tier:
        run.choose_target()
    elif run.target is None:
        run.target = run.config.target(run.target_name)
    assert run.target is not None
    run.profiles = feed_profiles(run.config, run.catalog, run.facts)
    jobs = plan_jobs(run.catalog, run.episodes, run.target, run.profiles)
    if run.shard is not None:
        jobs = shard_of(jobs, run.facts, *run.shard)
    run.work = remembered(jobs, run.facts)
    probe_pending(run.work, run.facts)


def prepare(run: Run) -> None:
    """Encode and tag what the store does not hold yet (in parallel across cores)."""
    from mediafeed.media.jobs import fetch_unpublished, prepare_pending

    if run.storage is not None and run.store.remote is not None and not run.options.dry_run:  # what it uploads: here
        objects = _manifest(run).content["objects"]

        def published(asset: Any) -> bool:
            record = objects.get(asset.key)
            return isinstance(record, dict) and record.get("sha256") == asset.sha256

        fetch_unpublished(run.work, run.store, published, run.progress)
    run.built = prepare_pending(run.work, run.facts, run.progress)
    run.failures += run.built.failures


def render(run: Run) -> None:
    """Render every feed, OPML and related.json; new media starts uploading meanwhile (publish.apply.EarlyUploads)."""
    from mediafeed.feeds.site import render_all
    from mediafeed.publish.apply import EarlyUploads, early_media
    from mediafeed.publish.offload import Offloaded

    assert run.config is not None and run.catalog is not None and run.target is not None
    manifest = _manifest(run)
    prepared = run.built.prepared
    sendable = []
    if run.storage is not None:
        sendable = early_media(run.catalog, prepared, run.profiles, manifest, run.options, run.failures, run.held_back)
    # While media uploads, the feeds render in a child process (forked before the upload threads start; see
    # publish/offload.py), or here when there is nothing to upload or no safe way to fork.
    rendering = Offloaded(
        partial(render_all, run.config, run.catalog, prepared, run.profiles, run.target, run.facts, manifest.podcast_guids),
        wanted=bool(sendable),
    )
    try:
        run.early = EarlyUploads(run.storage, sendable, run.progress) if sendable and run.storage is not None else None
        run.site = rendering.result()
    except BaseException:
        rendering.cancel()
        raise


def plan(run: Run) -> None:
    """Compare what the catalog wants with the manifest: uploads, unchanged, held back, refusals (pure)."""
    from mediafeed.feeds.site import channel_guid, episodes_per_feed
    from mediafeed.publish import guards
    from mediafeed.publish.apply import Desired, next_plan, plan_for
    from mediafeed.publish.notify import Notifiers

    manifest = _manifest(run)
    assert run.config is not None and run.catalog is not None and run.storage is not None and run.target is not None
    catalog, site, target = run.catalog, run.site, run.target
    run.wanted = Desired(
        writes=site.writes,
        feeds=episodes_per_feed(site.documents),
        slugs={e.guid: e.slug for e in catalog.episodes},
        held_back=run.held_back,
        failures=run.failures,
        facts=guards.facts_for(catalog.episodes, run.failures, run.held_back),
        podcast_guids={
            f.id: channel_guid(f, site.feed_urls.get(f.id) or target.url_for(f.key), manifest.podcast_guids)
            for f in catalog.feeds
        },
        feed_keys={d.key: d.feed_id for d in site.documents if d.feed_id},
        feed_urls=site.feed_urls,
        notify=Notifiers(run.config.websub_hubs, run.config.podping_url).any,
        now=run.now,
        source=run.source.as_dict() if run.source is not None else None,
        private_feeds=tuple(f.id for f in catalog.feeds if f.private),
        withdrawn={
            e.guid: {"slug": e.slug, "at": e.withdrawn.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "reason": e.withdrawn.reason}
            for e in catalog.episodes
            if e.withdrawn is not None
        },
    )
    run.plan = plan_for(run.storage, run.wanted, run.options, manifest)
    if run.subscribers is not None:
        run.private = _private_plan(run, manifest)
    # Neither the plan nor the proof a receipt needs depends on which media has landed: while media is still
    # uploading, both are made here instead of after it.
    if run.early is not None:
        run.proof = next_plan(run.storage, run.wanted, run.options, run.plan)


def apply(run: Run) -> None:
    """Take the target's lease, then write the plan in the safe order; the manifest last, by compare-and-swap."""
    from mediafeed.publish.apply import run as run_publish
    from mediafeed.publish.lineage import check

    assert run.storage is not None and run.plan is not None and run.target is not None
    landed = run.early.finish() if run.early is not None else {}
    run.early = None
    manifest, current = _manifest(run), None
    if _writes(run.plan) and not run.options.dry_run:
        run.lease = take_lease(run.storage, run.target, run.store, "publish", run.options.wait, run.progress)
        current = Manifest(*run.storage.read_manifest())
        if current.version != manifest.version and run.source is not None and not run.options.force:
            check(run.project, current.content, run.source)  # another publish finished meanwhile: still ahead of it?
    guard = run.lease.check if run.lease is not None else None
    run.plan, run.result = run_publish(
        run.storage, run.wanted, run.options, manifest, landed, run.plan, run.progress, guard, current
    )
    if run.result is not None and run.target.type != "local":  # what the bucket now holds, for `check` (_published)
        run.store.put("published", run.target.name, Manifest(run.plan.manifest, None).episode_slugs)


def private(run: Run) -> None:
    """Bring the subscribers' feed copies in step (publish/private.py), under the target's lease, after the public
    feeds and media they point at are in place."""
    from mediafeed.feeds.site import PRIVATE_URL_MARK
    from mediafeed.publish.private import apply_private

    if run.subscribers is None or run.result is None or run.options.dry_run:
        return
    assert run.storage is not None and run.target is not None
    if run.lease is None:
        if not (run.private.writes or run.private.deletes or run.private.changed):
            return
        run.lease = take_lease(run.storage, run.target, run.store, "publish", run.options.wait, run.progress)
    run.private = _private_plan(run, Manifest(*run.storage.read_manifest()))  # as the lease holder sees it
    templates = {fid: doc.data for fid, doc in run.site.private.items()}
    target, storage = run.target, run.storage
    sign = None
    if target.private_media == "presigned":

        def sign(url: str) -> str:
            key = url.removeprefix(target.public_url + "/")
            return str(storage.presigned_url(key, target.presign_seconds))  # type: ignore[attr-defined]

    version = apply_private(
        storage, run.private, templates, PRIVATE_URL_MARK, report=run.progress, guard=run.lease.check, sign=sign,
        private_urls=run.site.private_urls,
    )  # fmt: skip
    if version is not None:
        run.result = replace(run.result, manifest_version=version, manifest_written=True)


def _private_plan(run: Run, manifest: Manifest) -> Any:
    from mediafeed.catalog.subscribers import fingerprint
    from mediafeed.content_types import PRIVATE_PREFIX
    from mediafeed.publish.private import plan_private, recorded

    assert run.target is not None
    found, target = run.subscribers, run.target
    templates = {fid: doc.sha256 for fid, doc in run.site.private.items()}
    secret_print = fingerprint(found.secret)
    before = recorded(manifest.content)
    rekeyed = bool(before["subscribers"]) and before.get("secret") != secret_print  # old copies' keys: unknown now
    present = None
    if (run.options.verify or rekeyed) and run.storage is not None:  # lost copies written, stray ones deleted
        present = {stat.key for stat in run.storage.list(PRIVATE_PREFIX)}
    stamp = renew = None
    if target.private_media == "presigned":
        # Signed links are renewed once a third of their lifetime has passed: a publish at least that often (the
        # receipt lapses on the same rhythm, see _subscriber_inputs) keeps every link valid.
        stamp = run.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        renew = (run.now - timedelta(seconds=target.presign_seconds / 3)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return plan_private(
        manifest.content, templates, found.wanted(), found.secret, target.url_for, signed_at=stamp, resign_before=renew,
        present=present, secret_print=secret_print,
    )  # fmt: skip


def _writes(plan: PublishPlan) -> bool:
    return not plan.refusals and bool(plan.uploads or plan.manifest_changed or plan.deletions or plan.claim)


def take_lease(storage: Storage, target: Target, store: Store, command: str, wait: float | None, progress: Progress) -> Any:
    """The target's lease (publish.lease), once the store is known to honour conditional writes (probed once per
    target's settings, remembered in build/); None when the target says locking = "external"."""
    from mediafeed.errors import EnvironmentProblem
    from mediafeed.publish.lease import acquire, honours_conditional_writes

    if target.locking == "external":
        return None
    if target.type != "local":
        key = key_of("conditional-writes", target.type, target.bucket, target.prefix, target.endpoint_url, target.region)
        if store.get("conditional-writes", key) is not True:
            if not honours_conditional_writes(storage):
                raise EnvironmentProblem(
                    f"{storage.describe()} does not honour conditional writes (it accepted a PUT with a stale If-Match "
                    "or an If-None-Match: * on an existing key), so a lease cannot keep two publishers apart",
                    hint=f'set locking = "external" under [targets.{target.name}] in mediafeed.toml and let only one '
                    "publish run at a time (e.g. a CI concurrency group); see README: Concurrent publishers",
                )
            store.put("conditional-writes", key, True)
    return acquire(storage, command, wait=wait, progress=progress).start()


def notify(run: Run) -> None:
    """Announce the feeds that changed (WebSub, Podping); a failure stays pending in the manifest, as a warning."""
    from mediafeed.publish.notify import Notifiers, announce_pending

    assert run.config is not None and run.storage is not None and run.plan is not None
    notifiers = Notifiers(run.config.websub_hubs, run.config.podping_url)
    if run.result is not None and notifiers.any:
        version = run.result.manifest_version
        run.warnings = announce_pending(run.storage, run.plan, version, notifiers, run.progress)


def remember(run: Run) -> None:
    """Leave a receipt when the target now holds exactly what the catalog wants (see cache/receipt.py)."""
    from mediafeed.catalog.listing import listing
    from mediafeed.publish.apply import noop_outcome

    assert run.catalog is not None and run.storage is not None and run.target is not None
    published = _outcome(run)
    if any(e.media.startswith("s3://") for e in run.catalog.episodes):
        return  # s3:// masters are checked by fetching them, not by content ids
    settled = noop_outcome(run.storage, run.wanted, run.options, published, run.proof)
    if settled is None:
        return
    outcome, version = settled
    released = [e.published for e in run.catalog.episodes if e.is_released(run.now)]
    window = (max(released, default=None), min((h.published for h in run.held_back), default=None))
    reads = record(run.read, run.ids)
    if any(read.content is None for read in reads) or not still_valid(reads, run.ids):
        return  # a file vanished or changed while we ran
    new = receipts.Receipt(receipt_key(run), listing(run.project), reads, version, window[0], window[1], outcome)
    receipts.save(run.store, run.target.name, new)


STAGES: tuple[tuple[str, Stage], ...] = (
    ("receipt", receipt),
    ("load", load),
    ("subscribers", subscribers_stage),
    ("lineage", lineage),
    ("resolve", resolve),
    ("probe", probe),
    ("prepare", prepare),
    ("render", render),
    ("plan", plan),
    ("apply", apply),
    ("private", private),
    ("notify", notify),
    ("remember", remember),
)


def stages(*names: str) -> tuple[Stage, ...]:
    table = dict(STAGES)
    return tuple(table[name] for name in names)


PUBLISH = stages(
    "receipt", "load", "subscribers", "lineage", "resolve", "probe", "prepare", "render", "plan", "apply", "private",
    "notify", "remember",
)  # fmt: skip
PLAN = stages("receipt", "load", "subscribers", "lineage", "resolve", "probe", "prepare", "render", "plan", "remember")
STATUS = stages("load", "subscribers", "resolve", "probe", "prepare", "render", "plan")
BUILD = stages("load", "resolve", "probe", "prepare")
RENDER = stages("load", "resolve", "probe", "prepare", "render")


def walk(run: Run, selection: tuple[Stage, ...]) -> Run:
    """Run the stages in order until one ends the walk; whatever happens, leave nothing running. An invalid
    catalog touches nothing, build/ included; any other failure keeps what was learnt (hashes of big masters)."""
    from mediafeed.errors import CatalogError

    invalid = False
    try:
        for stage in selection:
            stage(run)
            if run.done:
                break
    except CatalogError:
        invalid = True
        raise
    finally:
        if run.early is not None:
            run.early.stop()
        if run.lease is not None:
            run.lease.release()
        if not invalid:
            run.ids.save()
            _tally(run)
        run.store.close()
    return run


def _tally(run: Run) -> None:
    """What the cache's tiers answered this run: kept for `cache status`, and said when a shared tier was used."""
    from mediafeed.progress import Note

    tally = run.store.tally
    if not tally.counts:
        return
    run.store.put("cache-stats", "last", {"at": run.now.isoformat(), "counts": dict(tally.counts)})
    remote = run.store.remote
    found, damaged, written = tally.total("shared"), tally.total("damaged"), tally.total("written")
    if remote is not None and found + damaged + written:
        bad = f", {damaged} damaged (ignored, made again)" if damaged else ""
        run.progress(Note(f"shared cache {remote.describe()}: {found} found, {written} written{bad}"))


# --- entry points (one per command; the CLI calls one of these and formats the result) ---------------------------


def publish(
    project: Path,
    target_name: str | None,
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress,
    options: PublishOptions | None = None,
) -> PublishOutcome:
    """publish (or, with dry_run, plan): the whole walk, stopping at the receipt when nothing changed."""
    options = replace(options or PublishOptions(), dry_run=dry_run)
    run = walk(Run(project, now, progress, target_name, options, shared_tier=True), PLAN if dry_run else PUBLISH)
    return replace(run.outcome or _outcome(run), files_read=run.ids.read)


def build(
    project: Path,
    progress: Progress,
    target_name: str | None = None,
    now: datetime | None = None,
    shard: tuple[int, int] | None = None,
) -> Any:
    """Prepare every selected episode's media, scheduled ones included (with `shard` (K, N): only the K-th of N parts,
    media.jobs.shard_of), into the cache and its shared tier; returns media.jobs.BuildOutcome."""
    from datetime import UTC

    run = Run(project, now or datetime.now(UTC), progress, target_name, all_episodes=True, shared_tier=True, shard=shard)
    walk(run, BUILD)
    return replace(run.built, failures=tuple(run.failures))


def render_feeds(
    project: Path, target_name: str | None, now: datetime, *, progress: Progress
) -> tuple[Catalog, list[RenderedDocument], tuple[EpisodeFailure, ...]]:
    """The feed documents a publish at `now` would write, without writing anything (for `lint` and `check`).

    The target is only read (its podcast:guid values); when it cannot be reached, the guids are computed."""
    from mediafeed.errors import MediafeedError

    run = Run(project, now, progress, target_name, PublishOptions(dry_run=True))  # dry: no early uploads
    try:
        run.open_target()
        assert run.storage is not None
        run.manifest = Manifest(*run.storage.read_manifest(), lenient=True)  # lint/check: feeds as they would render
    except MediafeedError:
        run.storage, run.manifest = None, Manifest(None, None)
    walk(run, RENDER)
    assert run.catalog is not None
    return run.catalog, [d for d in run.site.documents if d.feed_id], tuple(run.failures)


def status(project: Path, target_name: str | None, now: datetime, *, progress: Progress) -> Any:
    """Where a target stands at `now` (publish.status.Status): a plan (nothing written) and the target's manifest."""
    from mediafeed.media.prepare import loudness_report
    from mediafeed.publish.status import build_status

    run = walk(Run(project, now, progress, target_name, PublishOptions(dry_run=True), shared_tier=True), STATUS)
    assert run.target is not None and run.catalog is not None and run.plan is not None
    loudness = loudness_report(run.built.prepared.values())
    found = build_status(run.target.name, run.catalog, _manifest(run).content, run.plan, now, loudness)
    return replace(found, private=run.private.summary() if run.private is not None else None)


def withdraw(project: Path, slug: str, reason: str, now: datetime) -> Path:
    """withdraw: record `withdrawn: {at: now, reason}` in the episode's front matter (the next publish acts on it)."""
    from mediafeed.catalog.withdraw import withdraw_episode

    return withdraw_episode(project.resolve(), slug, reason, now)


def gc(
    project: Path,
    target_name: str | None,
    now: datetime,
    *,
    grace: timedelta,
    dry_run: bool,
    progress: Progress,
    wait: float | None = None,
) -> Any:
    """gc: delete objects no published document has referenced for longer than `grace` (publish.gc.GcResult);
    under the target's lease, like a publish (a dry run takes none)."""
    from mediafeed.config_file import load_config
    from mediafeed.publish.gc import collect

    project = project.resolve()
    target = load_config(project).target(target_name)
    storage = open_storage(target)
    store = Store(project / "build", root=project)
    lease = None
    try:
        if not dry_run:
            lease = take_lease(storage, target, store, "gc", wait, progress)
        guard = lease.check if lease is not None else None
        return collect(storage, target.name, now, grace, dry_run=dry_run, progress=progress, guard=guard)
    finally:
        if lease is not None:
            lease.release()
        store.close()


@dataclass(frozen=True)
class Checked:
    """What `check` found: GUIDs it assigned, the catalog (None when invalid, then `problems`), media problems, and
    the lint findings of the feeds a publish would write (with the media failures met while rendering them)."""

    fixed: list[str]
    catalog: Catalog | None
    problems: list[Any]  # errors.Problem
    media: list[Any]  # errors.Problem: masters that are broken, or cannot go out as published
    lint: list[tuple[str, Any]]  # (feed key, feeds.lint.Finding)
    failures: tuple[EpisodeFailure, ...] = ()
    warnings: list[Any] = field(default_factory=list)  # errors.Problem: worth fixing, not failing (catalog_warnings)


def check(
    project: Path, now: datetime, progress: Progress, *, fix: bool, media: bool, lint: bool, target_name: str | None = None
) -> Checked:
    """check: assign missing GUIDs (with fix), load; then probe every master and lint the rendered feeds (as they
    would be published to `target_name`, whose shared cache tier is read when it can be reached)."""
    from mediafeed.catalog.scaffold import assign_missing_guids
    from mediafeed.errors import CatalogError

    fixed: list[str] = []
    if fix:
        run = Run(project, now, progress)
        try:
            run.config = settings(project, run.store)
            restore = {slug: guid for guid, slug in _published(run).items()}
        except CatalogError:
            restore = {}  # an invalid mediafeed.toml is reported by the load below
        finally:
            run.store.close()
        fixed = assign_missing_guids(project, restore)
    try:
        catalog = load_catalog(project)
    except CatalogError as exc:
        return Checked(fixed, None, list(exc.problems), [], [])
    retired = retired_guid_problems(project, catalog)
    if retired:
        return Checked(fixed, None, retired, [], [])
    from mediafeed.catalog.load import catalog_warnings

    if target_name is not None:
        from mediafeed.config_file import load_config

        load_config(project).target(target_name)  # an unknown name: say so before any work
    problems = probe_masters(project, catalog, target_name) if media else []
    findings, _, failures = lint_rendered(project, target_name, now, progress) if media and lint else ([], 0, ())
    warnings = catalog_warnings(catalog, project) + _subscriber_warnings(project, catalog)
    return Checked(fixed, catalog, [], problems, findings, failures, warnings)


def _unreachable_private_feeds(catalog: Catalog, config: Config) -> Any:
    """errors.Problem when the catalog has private feeds but no subscriber list names anyone to get them."""
    from mediafeed.errors import Problem

    private = [f.id for f in catalog.feeds if f.private]
    if not private or config.subscribers_file:
        return None
    return Problem(CONFIG_FILE, "subscribers.file", f"private feed(s) {', '.join(private)} but no subscriber list: "
                   "nobody gets them", 'add [subscribers] file = "private/subscribers.csv" (see README)')  # fmt: skip


def _subscriber_warnings(project: Path, catalog: Catalog) -> list[Any]:
    """Private feeds nobody can get, subscriber-only episodes no private feed carries, a subscriber list in git."""
    import subprocess

    from mediafeed.config_file import load_config
    from mediafeed.errors import Problem

    config = load_config(project)
    nobody = _unreachable_private_feeds(catalog, config)
    found = [nobody] if nobody is not None else []
    for episode in catalog.episodes:
        if episode.access == "subscribers" and not any(f.private and f.selects(episode) for f in catalog.feeds):
            found.append(Problem(episode.file, "access", "subscriber-only, but no private feed selects it",
                                 "add its kind or topic to a private feed's select:, or make it public"))  # fmt: skip
    if config.subscribers_file:

        def git(*args: str) -> int:
            try:
                return subprocess.run(
                    ["git", "-C", str(project), *args, "--", config.subscribers_file], capture_output=True
                ).returncode
            except OSError:
                return 128  # no git: nothing to warn about

        if git("ls-files", "--error-unmatch") == 0:
            found.append(
                Problem(config.subscribers_file, "", "tracked by git: it holds subscribers' addresses",
                        f"git rm --cached {config.subscribers_file} and add it to .gitignore")
            )  # fmt: skip
        elif git("check-ignore", "-q") == 1:  # in a git checkout, and not ignored: one `git add -A` from a commit
            found.append(
                Problem(config.subscribers_file, "", "not ignored by git: `git add -A` would commit subscribers' addresses",
                        f"add {config.subscribers_file} to .gitignore")
            )  # fmt: skip
    return found


def cache_status(project: Path, target_name: str | None, now: datetime) -> Any:
    """cache status: (build/ tier, shared tier or None, the last run's lookups or None) — cache.maintenance types."""
    from mediafeed.cache import maintenance

    run = Run(project, now, silent, target_name, PublishOptions(dry_run=True), shared_tier=True)
    try:
        run.choose_target()
        local = maintenance.local_status(run.store)
        remote = run.store.remote
        shared = maintenance.tier_status(remote.describe(), _listing(remote)) if remote is not None else None
        return local, shared, maintenance.last_run(run.store)
    finally:
        run.store.close()


def cache_prune(project: Path, target_name: str | None, now: datetime, older_than: timedelta, *, dry_run: bool,
                progress: Progress) -> Any:  # fmt: skip
    """cache prune: remove shared-tier entries older than `older_than` that the catalog at this checkout does not use
    (its prepared deliveries, their files, the receipt of the manifest the target holds, tool versions), and compact
    the blob packs; returns cache.maintenance.Pruned."""
    from mediafeed.cache import maintenance
    from mediafeed.cache.identity import compact_packs
    from mediafeed.cache.remote import VALUES, file_name, value_name
    from mediafeed.errors import UsageError
    from mediafeed.media.jobs import KIND, feed_profiles, job_key, plan_jobs

    run = Run(project, now, progress, target_name, PublishOptions(dry_run=True), all_episodes=True, shared_tier=True)
    walk(run, stages("load", "resolve"))
    remote = run.store.remote
    assert run.config is not None and run.catalog is not None and run.target is not None
    if remote is None:
        raise UsageError(
            f"target '{run.target.name}' has no shared cache tier (a local target without [cache] url)",
            hint='build/ is the whole cache: remove build/cache to start over, or set [cache] url = "<folder>"',
        )
    try:
        jobs = plan_jobs(run.catalog, run.episodes, run.target, feed_profiles(run.config, run.catalog, run.facts))
        keys = [k for k in (job_key(job, run.facts) for job in jobs) if k is not None]
        used = run.store.get_many(KIND, keys)
        in_use = {value_name(KIND, key) for key in used}
        for prepared in used.values():
            in_use |= {file_name(a.sha256, a.path.suffix) for a in (prepared.main, prepared.audio) if a is not None}
        run.open_target()
        assert run.storage is not None
        version = run.storage.manifest_version()
        if version is not None:
            in_use.add(value_name(receipts.SHARED_KIND, key_of(receipts.SHARED_KIND, receipt_key(run), version)))
        entries = _listing(remote)
        in_use |= {e.name for e in entries if e.name.startswith(f"{VALUES}tool/")}
        cutoff = now - older_than
        remove, kept_in_use, kept_recent = maintenance.plan_prune(entries, in_use, cutoff)
        packs = (0, 0)
        if not dry_run:
            remote.delete([e.name for e in remove])
            packs = compact_packs(remote)
        return maintenance.Pruned(remote.describe(), cutoff, tuple(remove), kept_in_use, kept_recent, packs)
    finally:
        run.store.close()


def cache_verify(project: Path, target_name: str | None, now: datetime, sample: int) -> Any:
    """cache verify: re-hash `sample` shared-tier entries (chosen by a shuffle seeded with `now`); damaged ones are
    removed, so the next run makes them again. Returns cache.maintenance.Verified."""
    from mediafeed.cache import maintenance
    from mediafeed.errors import UsageError

    run = Run(project, now, silent, target_name, PublishOptions(dry_run=True), shared_tier=True)
    try:
        run.choose_target()
        remote = run.store.remote
        if remote is None:
            raise UsageError("this target has no shared cache tier", hint="set [cache] url, or use an S3 target")
        return maintenance.verify_sample(remote, _listing(remote), sample, now.isoformat())
    finally:
        run.store.close()


def _listing(remote: Any) -> list[Any]:
    """Every entry of the shared tier; a store that cannot be listed is exit 4, naming it."""
    from mediafeed.errors import EnvironmentProblem

    try:
        return list(remote.listing("v1/"))
    except Exception as exc:  # denied, unreachable: the command cannot do its job
        raise EnvironmentProblem(
            f"cannot list the shared cache {remote.describe()} ({type(exc).__name__})",
            hint="check the credentials (s3:ListBucket on the bucket), endpoint_url and the network",
        ) from None


def retired_guid_problems(project: Path, catalog: Catalog) -> list[Any]:
    """Episodes using a GUID a local target retired (a withdrawn episode's): check refuses them as publish does.
    Buckets are not read by check (it works offline); publish checks its own target again."""
    from mediafeed.errors import MediafeedError, Problem
    from mediafeed.publish import guards

    store = Store(project / "build", root=project)
    try:
        config = settings(project, store)
    except MediafeedError:
        return []
    finally:
        store.close()
    retired: dict[str, Any] = {}
    for manifest in _local_manifests(config).values():
        found = manifest.content.get("retired")
        retired.update(found if isinstance(found, dict) else {})
    refusals = guards.retired_guids(retired, guards.facts_for(catalog.episodes, [], []))
    return [Problem(r.file, "guid", r.message, r.hint) for r in refusals]


def lint_rendered(
    project: Path, target_name: str | None, now: datetime, progress: Progress
) -> tuple[list[tuple[str, Any]], int, tuple[EpisodeFailure, ...]]:
    """Render the feeds a publish at `now` would write (nothing is published) and lint each one:
    ([(feed key, finding)], how many feed documents, media failures met while rendering)."""
    from mediafeed.feeds.lint import lint_feed

    catalog, documents, failures = render_feeds(project, target_name, now, progress=progress)
    feeds = {feed.id: feed for feed in catalog.feeds}
    report = []
    for document in documents:
        guids = set(document.episode_guids)
        episodes = [e for e in catalog.episodes if e.guid in guids]
        feed = feeds.get(document.feed_id or "")
        report += [(document.key, finding) for finding in lint_feed(document.data, feed=feed, episodes=episodes)]
    return report, len(documents), failures


def new_episode(
    project: Path,
    title: str,
    kind: str,
    media: Path,
    published: datetime,
    slug: str | None,
    topics: tuple[str, ...],
) -> Path:
    """new: a draft episode bundle, once its options are checked (the master probed as `check` probes it, the topics
    against [catalog] topics); returns its index.md. Nothing is written when an option is wrong, build/ included."""
    from mediafeed.catalog.scaffold import new_episode as scaffold
    from mediafeed.errors import MediaError
    from mediafeed.media.probe import Facts

    unstored = Store(None)  # probing a file that is not in the catalog yet leaves nothing in build/

    def check_master(path: Path) -> str | None:
        try:
            Facts(unstored, ContentIds(project, unstored)).probe_master(path)
        except MediaError as exc:
            return f"{exc.message}; {exc.hint or 'pass an audio or video file ffprobe can read'}"
        return None

    return scaffold(project, title, kind, media, published, slug, topics, check_master)


def init_project(folder: Path, title: str | None, site_url: str | None, now: datetime) -> Any:
    """init: a new project in `folder` that passes `check` (catalog.init.Created: what was written)."""
    from mediafeed.catalog.init import init_project as scaffold
    from mediafeed.media.ffmpeg import find_tool, placeholder_tone

    find_tool("ffmpeg")  # missing (exit 4) before anything is written
    return scaffold(folder, title, site_url, now, placeholder_tone)


def load_catalog(project: Path) -> Catalog:
    """The validated catalog (the load stage alone: episodes remembered by content)."""
    run = walk(Run(project, datetime.now().astimezone(), silent), stages("load"))
    assert run.catalog is not None
    return run.catalog


def probe_masters(project: Path, catalog: Catalog, target_name: str | None = None) -> list[Any]:
    """Every local master probed (remembered by content, also in the shared tier when it can be reached): a problem
    (errors.Problem) for each episode whose master is empty or not media (field `media`), or is to be published as it
    is (`process: false`) but podcast apps, or a feed that carries it, could not play it (field `process`)."""
    from mediafeed.errors import MediaError, MediafeedError, Problem
    from mediafeed.media import published

    run = Run(project, datetime.now().astimezone(), silent, target_name, PublishOptions(dry_run=True))
    problems = []
    try:
        with contextlib.suppress(MediafeedError):  # offline, or without credentials: probed here
            run.choose_target()  # read only (a dry run)
        for episode in catalog.episodes:
            if episode.media.startswith("s3://"):
                continue
            path = Path(episode.media)
            try:
                info = run.facts.probe_master(path)
            except MediaError as exc:
                problems.append(Problem(episode.file, "media", f"{path.name}: {exc.message}", exc.hint))
                continue
            if not episode.process:
                carried_by = [(f.file, f.medium) for f in catalog.feeds if f.selects(episode)]
                refused = published.refusal(info, carried_by)
                if refused is not None:
                    problems.append(Problem(episode.file, published.FIELD, *refused))
    finally:
        run.ids.save()
        run.store.close()
    return problems


# --- helpers -----------------------------------------------------------------------------------------------------


def receipt_key(run: Run) -> str:
    """What a receipt is valid for besides its files: the publishing code, the tools, the target's settings."""
    facts = run.facts
    # The walk, how a receipt is checked, and the web pages' templates (code digests cover Python sources only).
    code = (code_digest(__name__), code_digest(receipts.__name__), templates_digest())
    return key_of(code, facts.tool("ffmpeg"), facts.tool("ffprobe"), run.target, _subscriber_inputs(run), root=run.project)


def _subscriber_inputs(run: Run) -> Any:
    """What the subscribers' copies depend on besides the catalog: the subscriber and rotations files (git-ignored,
    so not among the receipt's files), the secret (by fingerprint) and how many lines have expired by today."""
    import hashlib

    from mediafeed.catalog.subscribers import expired_count, fingerprint

    config = run.config
    if config is None or not config.subscribers_file:
        return None
    parts: list[Any] = [fingerprint(_secret())]
    target = run.target
    if target is not None and target.private_media == "presigned":
        parts.append(int(run.now.timestamp() // (target.presign_seconds / 3)))  # see _private_plan
    for name in (config.subscribers_file, config.rotations_file):
        try:
            data = (run.project / name).read_bytes()
        except OSError:
            data = b""
        parts.append(hashlib.sha256(data).hexdigest())
        if name == config.subscribers_file:
            parts.append(expired_count(data.decode("utf-8", "replace"), run.now.date()))
    return tuple(parts)


def settings(project: Path, store: Store) -> Config:
    """mediafeed.toml, validated; remembered by its bytes and the schema's code, so a run that finds nothing to do
    never imports the schema library."""
    import hashlib

    path = project / CONFIG_FILE
    try:
        key = key_of(hashlib.sha256(path.read_bytes()).hexdigest(), code_digest("mediafeed.config_file"))
    except OSError:
        key = None  # missing or unreadable: load_config says so
    found = store.get("config", key) if key else None
    if isinstance(found, Config):
        return replace(found, project=project)
    from mediafeed.config_file import load_config

    config = load_config(project)
    if key:
        store.put("config", key, config)
    return config


def _manifest(run: Run) -> Manifest:
    """The target's manifest, read once per run (the first request a full publish makes: credentials, bucket and
    endpoint problems stop it here, exit 4)."""
    if run.manifest is None:
        run.open_target()
        assert run.storage is not None and run.target is not None
        # A damaged manifest stops everything but publish --verify, which rebuilds it from a listing.
        run.manifest = Manifest(*run.storage.read_manifest(), lenient=run.options.verify)
        if run.target.type != "local":  # remembered for `check`, which reads no bucket (see _published)
            run.store.put("published", run.target.name, run.manifest.episode_slugs)
    return run.manifest


def _published(run: Run) -> dict[str, str]:
    """GUID → slug of every episode any target has published, so a copied folder never takes a published GUID
    (load_catalog). Local targets' manifests are read; a bucket's is the run's own, or as the last run read it."""
    assert run.config is not None
    found: dict[str, str] = {}
    own = run.target.name if run.target is not None and run.storage is not None else None
    local = _local_manifests(run.config, skip=own)
    for name in sorted(run.config.targets):
        if name == own:
            found.update(_manifest(run).episode_slugs)
        elif name in local:
            found.update(local[name].episode_slugs)
        else:
            remembered = run.store.get("published", name)
            found.update(remembered if isinstance(remembered, dict) else {})
    return found


def _local_manifests(config: Config, skip: str | None = None) -> dict[str, Manifest]:
    """Each local target's manifest but `skip`'s, as `check` may read it (offline; a damaged one reads as empty:
    publish says so)."""
    from mediafeed.publish.storage import LocalStorage

    return {
        name: Manifest(LocalStorage(target.path).read_manifest()[0], None, lenient=True)
        for name, target in config.targets.items()
        if target.type == "local" and target.path is not None and name != skip
    }


def _outcome(run: Run) -> PublishOutcome:
    from mediafeed.media.prepare import loudness_report

    assert run.target is not None and run.plan is not None
    site = run.site
    loudness = tuple(loudness_report(run.built.prepared.values())) if run.built is not None else ()
    private = run.private.summary() if run.private is not None else None
    return PublishOutcome(
        run.target, run.plan, run.result, site.feed_urls, site.feed_counts, run.warnings, loudness=loudness, private=private
    )


def _counted(report: Reporter, task: Task, load_one: Any) -> Any:
    """load_one, reporting how many episodes have been read so far."""
    if report is silent:
        return load_one
    count = [0]

    def loader(*args: Any) -> Any:
        episode = load_one(*args)
        count[0] += 1
        report(Advanced(task, count[0]))
        return episode

    return loader


def _remembered_loader(run: Run, load_one: Any, learnt: list[tuple[str, bytes]]) -> Any:
    """load_episode, remembered in the store by the content of every file it read (cache/memo.py) and keyed by the
    loader's code and the project's settings. Episodes with problems are never remembered: each run reports them."""
    assert run.config is not None
    context = key_of(code_digest("mediafeed.catalog.load"), run.config, root=run.project)

    def loader(index: Path, rel: str, config: Config, problems: list[Any], files: list[Any]) -> Episode | None:
        try:
            key = key_of(context, rel, run.ids.id(index))
        except OSError:
            return load_one(index, rel, config, problems, files)
        entry = run.store.get("episode", key)
        if isinstance(entry, tuple) and len(entry) == 3 and still_valid(entry[0], run.ids):
            files[:] = entry[1]
            return entry[2]
        before, mine = len(problems), list(files)
        episode = load_one(index, rel, config, problems, mine)
        files[:] = mine
        if episode is not None and len(problems) == before:
            learnt.append((key, portable((record(mine, run.ids), tuple(mine), episode), run.project)))
        return episode

    return loader


def write_schemas(folder: Path) -> list[Path]:
    """The JSON Schemas of mediafeed.toml, feeds/*.yaml and episode front matter, written into `folder` (for
    editors; see README: Editor support). Files already up to date are left alone; returns the ones written."""
    import json

    from mediafeed.atomic import write_atomically
    from mediafeed.catalog.schema import json_schemas

    written = []
    for name, document in json_schemas().items():
        path = folder / name
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
        if not path.is_file() or path.read_bytes() != data:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data, 0o644)
            written.append(path)
    return written


def serve(
    project: Path,
    target_name: str | None,
    *,
    host: str | None,
    port: int | None,
    rewrite: bool,
    started: Callable[[Any], None],
    log_line: Callable[[str], None] | None = None,
) -> None:
    """Serve a local target's folder the way its real host would (publish/preview.py) until Ctrl-C. `started` is
    given a preview.Started (folder, address, feed URLs) once the server listens; port in use → EnvironmentProblem."""
    from mediafeed.config_file import load_config
    from mediafeed.publish import preview

    target = load_config(project).target(target_name)
    address = preview.default_address(target.public_url, host, port)
    preview.run(target, address, rewrite=rewrite, started=started, log_line=log_line)


def setup_target(project: Path, target_name: str, *, public_read: bool, cors: bool, dry_run: bool, progress: Progress) -> Any:
    """`mediafeed target setup`: public read of the published keys and the CORS rule on an S3 target's bucket
    (publish/bucket.py); each change is announced on `progress` before it is made."""
    from mediafeed.config_file import load_config
    from mediafeed.progress import Note
    from mediafeed.publish.bucket import setup_bucket

    target = load_config(project).target(target_name)
    return setup_bucket(target, public_read=public_read, cors=cors, dry_run=dry_run, say=lambda message: progress(Note(message)))


def import_show(
    project: Path,
    source: str,
    *,
    feed_id: str | None,
    kind: str,
    dry_run: bool,
    allow_private: bool | None = None,
    progress: Reporter = silent,
    process: bool = False,
) -> Any:
    """`mediafeed import`: an existing podcast's RSS feed (file or URL) → feeds/<id>.yaml, one episode bundle per
    item and the enclosures downloaded into them and measured (publish/importing.py); returns its ImportReport."""
    from mediafeed.publish.importing import run_import

    return run_import(
        project, source, feed_id=feed_id, kind=kind, dry_run=dry_run, allow_private=allow_private, progress=progress,
        process=process,
    )  # fmt: skip


def import_check(
    project: Path, source: str, *, feed_id: str | None, target_name: str | None, allow_private: bool | None = None
) -> Any:
    """`mediafeed import --check`: the old feed (file or URL) against the feed we published for the same show on the
    target, item by item (publish/migration.py); returns its feeds.migration.MigrationReport."""
    from mediafeed.config_file import load_config
    from mediafeed.publish.migration import check_migration

    project = project.resolve()
    return check_migration(load_config(project), source, feed_id=feed_id, target_name=target_name, allow_private=allow_private)


@dataclass(frozen=True)
class Subscribers:
    """The subscriber list as a command sees it: who may read which private feed, and where (`url_of`)."""

    target: Target
    private_feeds: tuple[str, ...]
    subscribers: tuple[Any, ...]  # catalog.subscribers.Subscriber, in file order
    rotations: dict[str, int]
    secret: bytes = field(repr=False)
    now: datetime
    rotations_file: Path  # where `rotate` records generations (the project's [subscribers] rotations)

    def key_of(self, subscriber: Any) -> str:
        from mediafeed.catalog.subscribers import subscriber_key

        return subscriber_key(self.secret, subscriber.id)

    def generation(self, subscriber: Any) -> int:
        return self.rotations.get(self.key_of(subscriber), 0)

    def urls_of(self, subscriber: Any) -> list[tuple[str, str]]:
        """(feed id, secret URL) for each private feed the subscriber may read."""
        from mediafeed.catalog.subscribers import feed_key

        key = self.key_of(subscriber)
        return [(f, self.target.url_for(feed_key(self.secret, key, self.generation(subscriber), f))) for f in subscriber.feeds]

    def wanted(self) -> list[Any]:
        """publish.private.Wanted of every subscriber active now (an expired one is revoked at the next publish)."""
        from mediafeed.publish.private import Wanted

        return [Wanted(self.key_of(s), self.generation(s), s.feeds) for s in self.subscribers if s.active(self.now) and s.feeds]

    def find(self, subscriber_id: str) -> Any:
        from mediafeed.errors import UsageError

        for subscriber in self.subscribers:
            if subscriber.id == subscriber_id:
                return subscriber
        raise UsageError(
            f"no subscriber with id {subscriber_id!r} in the subscriber file",
            hint="`mediafeed subscribers list` shows the ids (the file is [subscribers] file in mediafeed.toml)",
        )


def subscribers(project: Path, target_name: str | None, now: datetime) -> Subscribers:
    """The subscriber list as `mediafeed subscribers` sees it (see _read_subscribers)."""
    from mediafeed.config_file import load_config
    from mediafeed.errors import UsageError

    project = project.resolve()
    catalog = load_catalog(project)
    config = load_config(project)
    if not config.subscribers_file:
        raise UsageError(
            "no subscriber list: [subscribers] file is not set in mediafeed.toml",
            hint='add [subscribers] file = "private/subscribers.csv" (the store\'s export; keep it out of git); see README',
        )
    return _read_subscribers(project, config, catalog, config.target(target_name), now)


def _secret() -> bytes:
    """MEDIAFEED_SUBSCRIBER_SECRET, from the environment only; missing or short: an environment problem (exit 4)."""
    import os

    from mediafeed.catalog.subscribers import MIN_SECRET_BYTES, SECRET_VARIABLE, check_secret
    from mediafeed.errors import EnvironmentProblem

    secret = check_secret(os.environ.get(SECRET_VARIABLE))
    if secret is None:
        raise EnvironmentProblem(
            f"{SECRET_VARIABLE} is not set, or shorter than {MIN_SECRET_BYTES} bytes: private feed URLs are derived "
            "from it; nothing was written",
            hint="set it in the environment (a CI secret), never in a project file; make one with `python3 -c "
            "'import secrets; print(secrets.token_urlsafe(48))'` and keep it: changing it changes every subscriber's URL",
        )
    return secret


def _read_subscribers(project: Path, config: Config, catalog: Catalog, target: Target, now: datetime) -> Subscribers:
    """The subscriber file, the rotations file and the secret, read and checked: every problem at once (naming the
    CSV line, never an address). No [subscribers] file: nobody (every copy a target still holds is revoked)."""
    import yaml

    from mediafeed import files as fs
    from mediafeed.catalog.subscribers import parse_rotations, parse_subscribers
    from mediafeed.errors import CatalogError, Problem

    secret = _secret()
    private = tuple(f.id for f in catalog.feeds if f.private)
    found: list[Any] = []
    problems: list[Problem] = []
    if config.subscribers_file:
        try:
            text = fs.read_text(project / config.subscribers_file, config.subscribers_file)
        except UnicodeDecodeError:
            raise CatalogError(
                [Problem(config.subscribers_file, "", "not UTF-8 text", "export the list again as CSV UTF-8")]
            ) from None
        found, problems = parse_subscribers(text, config.subscribers_file, private)
    rotations_path = project / config.rotations_file
    rotations: dict[str, int] = {}
    if rotations_path.exists():
        try:
            data = yaml.safe_load(fs.read_text(rotations_path, config.rotations_file))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            data = None
            problems.append(Problem(config.rotations_file, "", f"not YAML ({exc})", "restore it from git"))
        rotations, more = parse_rotations(data, config.rotations_file)
        problems += more
    if problems:
        raise CatalogError(problems)
    return Subscribers(target, private, tuple(found), rotations, secret, now, rotations_path)


def rotate_subscriber(project: Path, subscriber_id: str, now: datetime) -> tuple[Subscribers, Any]:
    """A new token for one subscriber: its generation goes up in the rotations file (written atomically); the next
    publish writes the feeds at the new URL and deletes the old ones. Returns the list after the change."""
    from mediafeed import files as fs
    from mediafeed.catalog.subscribers import rotated, rotations_text

    found = subscribers(project, None, now)
    subscriber = found.find(subscriber_id)
    rotations = rotated(found.rotations, found.key_of(subscriber))
    rel = found.rotations_file.relative_to(project.resolve()).as_posix()
    fs.write_atomically(found.rotations_file, rotations_text(rotations).encode("utf-8"), rel)
    return replace(found, rotations=rotations), subscriber


def export_subscribers(project: Path, target_name: str | None, now: datetime, output: Path | None) -> str:
    """The mailer's CSV (id,email,feed,url) of every active subscriber; written atomically to `output` when given
    (mode 0600: it holds addresses and secret URLs)."""
    import csv
    import io

    from mediafeed.atomic import write_atomically

    found = subscribers(project, target_name, now)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "email", "feed", "url"])
    for subscriber in found.subscribers:
        if subscriber.active(now):
            for feed_id, url in found.urls_of(subscriber):
                writer.writerow([subscriber.id, subscriber.email, feed_id, url])
    text = buffer.getvalue()
    if output is not None:
        write_atomically(output, text.encode("utf-8"), mode=0o600)
    return text
