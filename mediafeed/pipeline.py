"""Run the stages of a publish (load → prepare → render → plan → apply) and record each episode's outcome."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from mediafeed.cache import receipt
from mediafeed.cache.prepare import PrepareCache, job_digest
from mediafeed.cache.render import cached_render
from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.chapters import JSON_CHAPTERS_TYPE, delivered, json_chapters
from mediafeed.catalog.load import load_catalog
from mediafeed.catalog.transcripts import SRT_TYPE, VTT_TYPE, parse_cues, to_srt, to_vtt
from mediafeed.config import Config, Target, load_config
from mediafeed.digest import content_key, sha256_bytes
from mediafeed.errors import MediaError, MediafeedError
from mediafeed.feeds.indexes import render_opml, render_related
from mediafeed.feeds.rss import FeedItem, feed_key, podcast_guid, render_feed_pages
from mediafeed.media import masters
from mediafeed.media.facts import FileFacts
from mediafeed.media.prepare import Bumper, Profile, TagContext, prepare_episode, sidecar_asset
from mediafeed.models import Asset, Catalog, Episode, EpisodeFailure, Feed, PreparedEpisode, RenderedDocument
from mediafeed.publish import guards, notify
from mediafeed.publish.apply import Desired, EarlyUploads, PublishOptions, PublishOutcome, PublishResult, plan_for
from mediafeed.publish.apply import run as run_publish
from mediafeed.publish.offload import Offloaded
from mediafeed.publish.plan import HeldBack, PublishPlan, Write, encode_manifest, parse_manifest
from mediafeed.publish.status import Status, build_status
from mediafeed.publish.storage import Storage, open_storage

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One delivery of one episode: its processing profile and the show its files are tagged with."""

    episode: Episode
    profile: Profile
    context: TagContext

    @property
    def key(self) -> tuple[str, str]:
        return (self.episode.guid, self.profile.digest)


@dataclass(frozen=True)
class BuildOutcome:
    prepared: dict[tuple[str, str], PreparedEpisode]  # (episode guid, profile digest) → delivery
    failures: tuple[EpisodeFailure, ...]


def build_dir(config: Config) -> Path:
    return config.project / "build"


def feed_profiles(config: Config, catalog: Catalog, facts: FileFacts) -> dict[str, Profile]:
    """Each feed's processing profile: [audio] with the feed's overrides, and its bumpers."""

    def bumper(path: Path | None) -> Bumper | None:
        return Bumper(path, facts.sha256(path)) if path else None

    return {f.id: Profile(f.audio or config.audio, bumper(f.intro), bumper(f.outro)) for f in catalog.feeds}


def plan_jobs(catalog: Catalog, episodes: list[Episode], target: Target, profiles: dict[str, Profile]) -> list[Job]:
    """One job per episode and distinct profile among the feeds that carry it.

    The files are tagged with a "home" feed: the first (by id) whose selector names the episode's kind, so a podcast
    episode is filed under the podcast even when a topic feed carries it too.
    """
    jobs = []
    for episode in episodes:
        groups: dict[str, list[Feed]] = {}
        for feed in catalog.feeds:
            if feed.selects(episode):
                groups.setdefault(profiles[feed.id].digest, []).append(feed)
        for feeds in groups.values():
            home = min(feeds, key=lambda f: (episode.kind not in f.kinds, f.id))
            context = TagContext(home.title, target.url_for(feed_key(home)), episode.image or home.image)
            jobs.append(Job(episode, profiles[home.id], context))
    return jobs


def prepare_all(
    config: Config,
    jobs: list[Job],
    facts: FileFacts,
    progress: Progress,
    workers: int | None = None,
    inputs: receipt.Inputs | None = None,
) -> BuildOutcome:
    """Prepare in parallel across episodes (ffmpeg works in subprocesses); one failure never stops the others.

    `inputs`, when given, records the files each delivery was made from (for a publish receipt).
    """
    prepared: dict[tuple[str, str], PreparedEpisode] = {}
    failures: dict[str, EpisodeFailure] = {}

    def one(job: Job) -> PreparedEpisode | EpisodeFailure:
        episode = job.episode
        try:
            return prepare_episode(episode, build_dir(config), facts, job.profile, job.context)
        except MediaError as exc:
            return EpisodeFailure(episode.slug, episode.file, str(exc))
        except OSError as exc:
            return EpisodeFailure(episode.slug, episode.file, f"{exc.filename or episode.media}: {exc.strerror}")

    # Deliveries already made from unchanged inputs come from the prepare cache, in this thread; only the rest go
    # to the pool (so a no-op run neither touches build/ file by file nor hands 10,000 jobs to threads).
    cache = PrepareCache.open(build_dir(config))
    digests = [job_digest(job.episode, job.profile, job.context) for job in jobs]
    outcomes: list[PreparedEpisode | EpisodeFailure | None] = [
        cache.get(job.key, digest, job.episode) for job, digest in zip(jobs, digests, strict=True)
    ]
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if todo:
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
            for i, outcome in zip(todo, pool.map(one, [jobs[i] for i in todo]), strict=True):
                outcomes[i] = outcome
                if not isinstance(outcome, EpisodeFailure):
                    cache.put(jobs[i].key, digests[i], outcome, jobs[i].context)
    cache.save()
    if inputs is not None:
        for job in jobs:
            inputs.add(cache.checks_of(job.key), f"the delivery of {job.episode.slug}")
    for done, (job, outcome) in enumerate(zip(jobs, outcomes, strict=True), start=1):
        if isinstance(outcome, EpisodeFailure):
            failures.setdefault(outcome.slug, outcome)
            progress(f"[{done}/{len(jobs)}] failed   {outcome.slug}: {outcome.message}")
        elif outcome is not None:
            prepared[job.key] = outcome
            progress(f"[{done}/{len(jobs)}] prepared {outcome.episode.slug}{_loudness_summary(outcome)}")
    return BuildOutcome(prepared, tuple(failures.values()))


def _loudness_summary(prepared: PreparedEpisode) -> str:
    main = prepared.loudness.get("main") or {}
    if "integrated_lufs" not in main:
        return ""
    how = "passed through" if main.get("passthrough") else f"{main.get('passes', 1)} pass(es)"
    return f": {main['integrated_lufs']:.1f} LUFS, {main['true_peak_dbtp']:.1f} dBTP ({how})"


def build(project: Path, progress: Progress, target_name: str | None = None) -> BuildOutcome:
    """Prepare every selected episode's media, scheduled ones included (so a release needs no encoding)."""
    config, catalog = load_catalog(project)
    target = config.target(target_name)
    episodes, fetch_failures = masters.resolve(list(catalog.episodes), build_dir(config), config.masters_s3, progress)
    facts = FileFacts(build_dir(config))
    try:
        jobs = plan_jobs(catalog, episodes, target, feed_profiles(config, catalog, facts))
        outcome = prepare_all(config, jobs, facts, progress)
        return BuildOutcome(outcome.prepared, (*fetch_failures, *outcome.failures))
    finally:
        facts.save()


def publish(
    project: Path,
    target_name: str | None,
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress,
    options: PublishOptions | None = None,
    storage: Storage | None = None,
) -> PublishOutcome:
    """Load, prepare, render, plan and apply; leaves a receipt for the next run (see receipt.py), which the CLI
    checks before calling this (`storage`: the target it opened then)."""
    config = load_config(project)
    target = config.target(target_name)
    storage = storage or open_storage(target)
    options = replace(options or PublishOptions(), dry_run=dry_run)
    inputs = receipt.Inputs()
    config, catalog = load_catalog(project, config, inputs)
    notifiers = notify.Notifiers(config.websub_hubs, config.podping_url)
    manifest = storage.read_manifest()  # first request to the target: credentials/bucket problems stop us here (exit 4)
    released = [e for e in catalog.episodes if e.is_released(now) and any(f.selects(e) for f in catalog.feeds)]
    held_back = [HeldBack(e.slug, e.title, e.published) for e in catalog.episodes if not e.is_released(now)]
    stored_guids = stored_podcast_guids(manifest[0])
    released, fetch_failures = masters.resolve(released, build_dir(config), config.masters_s3, progress)
    facts = FileFacts(build_dir(config))
    try:
        profiles = feed_profiles(config, catalog, facts)
        jobs = plan_jobs(catalog, released, target, profiles)
        outcome = prepare_all(config, jobs, facts, progress, inputs=inputs)
        sendable = early_media(catalog, outcome, profiles, manifest[0], options, fetch_failures, held_back)
        # While media uploads, the feeds render in a child process (forked before the upload threads start; see
        # offload.py), or here when there is nothing to upload or no safe way to fork. File facts the child learns
        # (an artwork hash) stay in the child: at worst a large artwork file is hashed again next run.
        rendering = Offloaded(
            partial(render_all, config, catalog, outcome.prepared, profiles, target, facts, stored_guids),
            wanted=bool(sendable),
        )
        early = None
        try:
            early = EarlyUploads(storage, sendable) if sendable else None
            desired, documents, feed_urls, feed_counts = rendering.result()
        except BaseException:
            rendering.cancel()
            if early is not None:
                early.stop()
            raise
    finally:
        facts.save()
    if any(e.media.startswith("s3://") for e in catalog.episodes):
        inputs.gap("s3:// masters are checked by fetching them")
    failures = [*fetch_failures, *outcome.failures]
    wanted = Desired(
        writes=desired,
        feeds=episodes_per_feed(documents),
        slugs={e.guid: e.slug for e in catalog.episodes},
        held_back=held_back,
        failures=failures,
        facts=guards.facts_for(catalog.episodes, failures, held_back),
        podcast_guids={f.id: channel_guid(f, feed_urls[f.id], stored_guids) for f in catalog.feeds},
        feed_keys={d.key: d.feed_id for d in documents if d.feed_id},
        feed_urls=feed_urls,
        notify=notifiers.any,
        now=now,
    )
    # Neither the plan nor the proof a receipt needs depends on which media has landed: while media is still
    # uploading, both are made here instead of after it.
    plan = plan_for(storage, wanted, options, manifest)
    proof = next_plan(storage, wanted, options, plan) if early is not None else None
    landed = early.finish() if early is not None else {}
    plan, result = run_publish(storage, wanted, options, manifest, landed, plan)
    warnings = notify_pending(storage, plan, notifiers, progress) if result is not None and notifiers.any else ()
    published = PublishOutcome(target, plan, result, feed_urls, feed_counts, warnings)
    window = (
        max((e.published for e in catalog.episodes if e.is_released(now)), default=None),
        min((h.published for h in held_back), default=None),
    )
    remember(build_dir(config), storage, wanted, options, published, inputs, window, proof)
    return published


def next_plan(storage: Storage, wanted: Desired, options: PublishOptions, plan: PublishPlan) -> tuple[bytes, PublishPlan]:
    """The plan the same catalog would make once `plan` is applied (planned against the manifest it writes; its
    version is not known yet), with that manifest: what `remember` checks is a no-op."""
    return plan.manifest, plan_for(storage, wanted, replace(options, verify=False), (plan.manifest, None))


def remember(
    build: Path,
    storage: Storage,
    wanted: Desired,
    options: PublishOptions,
    published: PublishOutcome,
    inputs: receipt.Inputs,
    window: tuple[datetime | None, datetime | None],
    proof: tuple[bytes, PublishPlan] | None = None,
) -> None:
    """Leave a receipt when the target now holds exactly what the catalog wants (see receipt.py).

    An older receipt needs no removal otherwise: it names the manifest version it was made for, so it stops
    matching as soon as this or any other publish changes the target.

    After a publish that wrote something, that is proven by planning again against the manifest it wrote: the
    receipt is kept only when that plan is a no-op, and it records the outcome of that no-op. `proof` is that plan
    when it was made ahead (see next_plan); it is used only if the manifest written is the one it was made for (a
    publish that lost the manifest race applied another plan).
    """
    plan, result = published.plan, published.result
    if plan.refusals or plan.failures or published.warnings:
        return
    if not plan.uploads and not plan.manifest_changed:
        noop, version = plan, plan.manifest_version
    elif result is not None and result.manifest_version is not None:
        version = result.manifest_version
        if proof is None or proof[0] != plan.manifest:
            proof = next_plan(storage, wanted, options, plan)
        noop = replace(proof[1], manifest_version=version)
        if noop.uploads or noop.manifest_changed:
            return
    else:
        return
    if version is None or parse_manifest(noop.manifest).get("notify_pending"):
        return  # a notification still owed: the next run must send it
    # A reused outcome only counts its unchanged writes: no bytes, no paths (10,000 paths cost 0.1 s to unpickle).
    unchanged = tuple(Write(w.key, w.stage, w.size, w.sha256, w.content_type) for w in noop.unchanged)
    slim = replace(noop, unchanged=unchanged, verify=None)
    outcome = replace(published, plan=slim, result=PublishResult((), 0, False))
    receipt.save(build, published.target, inputs, version, window, outcome)


def notify_pending(storage: Storage, plan: PublishPlan, notifiers: notify.Notifiers, progress: Progress) -> tuple[str, ...]:
    """Announce the feeds the manifest says still owe a notification; failures stay pending for the next run."""
    manifest = parse_manifest(plan.manifest)
    pending = list(manifest.get("notify_pending") or [])
    if not pending:
        return ()
    outcome = notify.announce(pending, notifiers)
    for line in outcome.sent:
        progress(f"notified {line}")
    warnings = tuple(f"notification failed (retried on the next publish): {why}" for why in outcome.failed.values())
    remaining = sorted(outcome.failed)
    if remaining != pending:
        manifest["notify_pending"] = remaining
        if not remaining:
            del manifest["notify_pending"]
        try:
            storage.put_manifest(encode_manifest(manifest), storage.manifest_version())
        except MediafeedError as exc:  # another publish moved on: it will send what is still pending
            warnings += (f"could not record sent notifications: {exc}",)
    return warnings


def render_all(
    config: Config,
    catalog: Catalog,
    prepared: dict[tuple[str, str], PreparedEpisode],
    profiles: dict[str, Profile],
    target: Target,
    facts: FileFacts,
    stored_guids: dict[str, str] | None = None,
) -> tuple[list[Write], list[RenderedDocument], dict[str, str], dict[str, int]]:
    """Everything the target should hold: media, artwork, chapters and transcripts, each feed, OPML, related.json.

    `stored_guids` are the podcast:guid values this target published before: a feed keeps its guid even when its
    URL changes (a feed move), as the Podcasting 2.0 spec asks.
    """
    writes: dict[str, Write] = {}

    def add_asset(asset: Asset, stage: str) -> None:
        writes[asset.key] = Write(asset.key, stage, asset.size, asset.sha256, asset.content_type, path=asset.path)

    def add_bytes(key_stem: str, suffix: str, data: bytes, content_type: str) -> str:
        digest = sha256_bytes(data)
        key = content_key(key_stem, digest, suffix)
        writes[key] = Write(key, "sidecar", len(data), digest, content_type, data=data)
        return target.url_for(key)

    documents: list[RenderedDocument] = []
    feed_urls: dict[str, str] = {}
    feed_counts: dict[str, int] = {}
    feeds_by_episode: dict[str, list[tuple[Feed, str]]] = {}
    for feed in catalog.feeds:
        artwork = sidecar_asset(feed.image, f"artwork/{feed.id}", IMAGE_TYPES, facts)
        add_asset(artwork, "sidecar")
        url = target.url_for(feed_key(feed))
        feed_urls[feed.id] = url
        items = []
        for delivery in feed_deliveries(catalog, feed, prepared, profiles):
            items.append(_feed_item(feed, delivery, add_asset, add_bytes, target))
            feeds_by_episode.setdefault(delivery.episode.guid, []).append((feed, url))
        guid = channel_guid(feed, url, stored_guids or {})
        artwork_url = target.url_for(artwork.key)
        arguments = (feed, items, url, artwork_url, guid, target, config.websub_hubs)
        pages = cached_render(
            build_dir(config),
            f"{target.name}-feed-{feed.id}",
            arguments,
            partial(
                render_feed_pages,
                feed,
                items,
                feed_url=url,
                artwork_url=artwork_url,
                guid=guid,
                url_for=target.url_for,
                hubs=config.websub_hubs,
            ),
        )
        documents.extend(pages)
        feed_counts[feed.id] = len(items)
    firsts = one_per_episode(prepared)
    for delivery in firsts:
        add_asset(delivery.main, "media")  # related.json links every episode's main rendition
    documents.append(render_opml(config.site_title, [(f, feed_urls[f.id]) for f in catalog.feeds]))
    documents.append(
        cached_render(
            build_dir(config),
            f"{target.name}-related",
            (firsts, feeds_by_episode, target),
            lambda: render_related(firsts, feeds_by_episode, target.url_for),
        )
    )
    for document in documents:
        stage = "feed" if document.feed_id else "index"
        writes[document.key] = Write(
            document.key, stage, len(document.data), document.sha256, document.content_type, data=document.data
        )
    return list(writes.values()), documents, feed_urls, feed_counts


def early_media(
    catalog: Catalog,
    outcome: BuildOutcome,
    profiles: dict[str, Profile],
    manifest_data: bytes | None,
    options: PublishOptions,
    fetch_failures: list[EpisodeFailure],
    held_back: list[HeldBack],
) -> list[Write]:
    """The new media that may be uploaded while the feeds render (see publish.EarlyUploads): none when nothing may
    be written (a dry run; --verify, which decides from a listing; a plan the guards will refuse, checked here on
    the episodes each feed will carry, exactly as the plan will check them), else what the manifest lacks."""
    if options.dry_run or options.verify:
        return []
    previous = parse_manifest(manifest_data)
    feeds = {f.id: [d.episode.guid for d in feed_deliveries(catalog, f, outcome.prepared, profiles)] for f in catalog.feeds}
    facts = guards.facts_for(catalog.episodes, [*fetch_failures, *outcome.failures], held_back)
    if guards.check(
        previous["feeds"], feeds, facts, allow_removal=options.allow_removal, allow_guid_change=options.allow_guid_change
    ):
        return []
    recorded = previous["objects"]
    return [w for w in media_writes(catalog, outcome.prepared, profiles) if recorded.get(w.key) != w.record]


def feed_deliveries(
    catalog: Catalog, feed: Feed, prepared: dict[tuple[str, str], PreparedEpisode], profiles: dict[str, Profile]
) -> list[PreparedEpisode]:
    """The deliveries a feed carries, newest first: its episodes whose media was prepared for its profile."""
    digest = profiles[feed.id].digest
    return [prepared[(e.guid, digest)] for e in catalog.episodes_for(feed) if (e.guid, digest) in prepared]


def media_writes(catalog: Catalog, prepared: dict[tuple[str, str], PreparedEpisode], profiles: dict[str, Profile]) -> list[Write]:
    """The media files render_all will want written (enclosures, alternate renditions, related.json's main
    renditions), known before any feed is rendered: what EarlyUploads can send while feeds render."""
    assets: dict[str, Asset] = {}
    for feed in catalog.feeds:
        for delivery in feed_deliveries(catalog, feed, prepared, profiles):
            enclosure = delivery.enclosure_for(feed.medium)[0]
            assets.setdefault(enclosure.key, enclosure)
            other = delivery.alternate_for(feed.medium)
            if other is not None:
                assets.setdefault(other[0].key, other[0])
    for delivery in one_per_episode(prepared):
        assets.setdefault(delivery.main.key, delivery.main)
    return [Write(a.key, "media", a.size, a.sha256, a.content_type, path=a.path) for a in assets.values()]


def one_per_episode(prepared: dict[tuple[str, str], PreparedEpisode]) -> list[PreparedEpisode]:
    """Each episode's first delivery (related.json links its main rendition)."""
    return list({p.episode.guid: p for p in reversed(list(prepared.values()))}.values())


def stored_podcast_guids(manifest_data: bytes | None) -> dict[str, str]:
    """The podcast:guid each feed was published with on a target (a moved feed keeps it)."""
    feeds = parse_manifest(manifest_data)["feeds"]
    return {fid: str(f["podcast_guid"]) for fid, f in feeds.items() if isinstance(f, dict) and f.get("podcast_guid")}


def episodes_per_feed(documents: list[RenderedDocument]) -> dict[str, list[str]]:
    """Feed id → the GUIDs it carries, newest first, across all of its pages."""
    feeds: dict[str, list[str]] = {}
    for document in documents:
        if document.feed_id:
            feeds.setdefault(document.feed_id, []).extend(document.episode_guids)
    return feeds


def channel_guid(feed: Feed, feed_url: str, stored: dict[str, str]) -> str:
    """podcast:guid: pinned in the feed definition, else the one this target published, else computed from the URL."""
    return feed.guid or stored.get(feed.id) or podcast_guid(feed_url)


def _feed_item(feed: Feed, delivery: PreparedEpisode, add_asset: Any, add_bytes: Any, target: Target) -> FeedItem:
    """The episode as this feed encloses it, registering every file the item points at."""
    episode = delivery.episode
    asset, info = delivery.enclosure_for(feed.medium)
    add_asset(asset, "media")

    def public(key: str) -> str:
        """Enclosure URLs go through the feed's analytics prefix; GUIDs and keys never change because of it."""
        url = target.url_for(key)
        return feed.enclosure_prefix + url.split("://", 1)[-1] if feed.enclosure_prefix else url

    alternate = None
    other = delivery.alternate_for(feed.medium)
    if other is not None:
        add_asset(other[0], "media")
        alternate = (public(other[0].key), other[0], other[1])
    if delivery.image is not None:
        add_asset(delivery.image, "sidecar")
    chapters = delivered(episode.chapters, delivery.offset_for(feed.medium))
    chapters_url = None
    if chapters:
        document = json_chapters(chapters, title=episode.title)
        chapters_url = add_bytes(f"chapters/{episode.slug}", ".json", document, JSON_CHAPTERS_TYPE)
    transcripts: tuple[tuple[str, str], ...] = ()
    if episode.transcript is not None:
        cues = parse_cues(episode.transcript.read_bytes().decode("utf-8-sig"))
        offset = delivery.offset_for(feed.medium)
        transcripts = (
            (add_bytes(f"transcripts/{episode.slug}", ".vtt", to_vtt(cues, offset), VTT_TYPE), VTT_TYPE),
            (add_bytes(f"transcripts/{episode.slug}", ".srt", to_srt(cues, offset), SRT_TYPE), SRT_TYPE),
        )
    return FeedItem(
        episode=episode,
        enclosure_url=public(asset.key),
        enclosure=asset,
        info=info,
        alternate=alternate,
        image_url=target.url_for(delivery.image.key) if delivery.image else None,
        chapters_url=chapters_url,
        transcripts=transcripts,
        chapters=chapters,
    )


def render_feeds(
    project: Path, target_name: str | None, now: datetime, *, progress: Progress
) -> tuple[Catalog, list[RenderedDocument], tuple[EpisodeFailure, ...]]:
    """The feed documents a publish at `now` would write, without touching the target (for `lint` and `check`).

    Media is prepared like `publish` does (from build/ when it was prepared before), so what is returned is exactly
    what would be published; episodes whose media fails are left out and returned as failures.
    """
    config, catalog = load_catalog(project)
    target = config.target(target_name)
    released = [e for e in catalog.episodes if e.is_released(now) and any(f.selects(e) for f in catalog.feeds)]
    stored_guids: dict[str, str] = {}
    with contextlib.suppress(MediafeedError):  # read-only; when the target is unreachable the guids are computed
        stored_guids = stored_podcast_guids(open_storage(target).read_manifest()[0])
    released, fetch_failures = masters.resolve(released, build_dir(config), config.masters_s3, progress)
    facts = FileFacts(build_dir(config))
    try:
        profiles = feed_profiles(config, catalog, facts)
        outcome = prepare_all(config, plan_jobs(catalog, released, target, profiles), facts, progress)
        _, documents, _, _ = render_all(config, catalog, outcome.prepared, profiles, target, facts, stored_guids)
    finally:
        facts.save()
    return catalog, [d for d in documents if d.feed_id], (*fetch_failures, *outcome.failures)


def status(project: Path, target_name: str | None, now: datetime, *, progress: Progress) -> Status:
    """Where a target stands at `now`: a dry-run publish (writes nothing) plus the target's manifest."""
    outcome = publish(project, target_name, now, dry_run=True, progress=progress)
    _, catalog = load_catalog(project)
    manifest_data, _ = open_storage(outcome.target).read_manifest()
    return build_status(outcome.target.name, catalog, manifest_data, outcome.plan, now)
