"""Run the stages of a publish (load → prepare → render → plan → apply) and record each episode's outcome."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from . import guards, masters
from .artwork import CONTENT_TYPES as IMAGE_TYPES
from .catalog import load_catalog
from .config import Config, Target
from .errors import MediaError
from .facts import FileFacts
from .feed import feed_key, render_feed
from .indexes import render_opml, render_related
from .media import prepare_episode, sidecar_asset
from .models import Asset, Catalog, Episode, EpisodeFailure, Feed, PreparedEpisode, RenderedDocument
from .plan import HeldBack, PublishPlan, Write
from .publish import Desired, PublishOptions, PublishResult
from .publish import run as run_publish
from .storage import open_storage

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOutcome:
    prepared: tuple[PreparedEpisode, ...]
    failures: tuple[EpisodeFailure, ...]


@dataclass(frozen=True)
class PublishOutcome:
    target: Target
    plan: PublishPlan
    result: PublishResult | None  # None on a dry run
    feed_urls: dict[str, str]
    feed_counts: dict[str, int]


def build_dir(config: Config) -> Path:
    return config.project / "build"


def prepare_all(
    config: Config, episodes: list[Episode], facts: FileFacts, progress: Progress, workers: int | None = None
) -> BuildOutcome:
    """Prepare episodes in parallel (ffmpeg does the work in subprocesses); one failure never stops the others."""
    prepared: list[PreparedEpisode] = []
    failures: list[EpisodeFailure] = []

    def one(episode: Episode) -> PreparedEpisode | EpisodeFailure:
        try:
            return prepare_episode(episode, build_dir(config), facts)
        except MediaError as exc:
            return EpisodeFailure(episode.slug, episode.file, str(exc))
        except OSError as exc:
            return EpisodeFailure(episode.slug, episode.file, f"{exc.filename or episode.media}: {exc.strerror}")

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for outcome in pool.map(one, episodes):
            if isinstance(outcome, EpisodeFailure):
                failures.append(outcome)
                progress(f"failed   {outcome.slug}: {outcome.message}")
            else:
                prepared.append(outcome)
                progress(f"prepared {outcome.episode.slug}")
    return BuildOutcome(tuple(prepared), tuple(failures))


def build(project: Path, progress: Progress) -> BuildOutcome:
    """Prepare every episode's media, scheduled ones included (so a release needs no encoding)."""
    config, catalog = load_catalog(project)
    episodes, fetch_failures = masters.resolve(list(catalog.episodes), build_dir(config), config.masters_s3, progress)
    facts = FileFacts(build_dir(config))
    try:
        outcome = prepare_all(config, episodes, facts, progress)
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
) -> PublishOutcome:
    config, catalog = load_catalog(project)
    target = config.target(target_name)
    storage = open_storage(target)
    options = replace(options or PublishOptions(), dry_run=dry_run)
    manifest = storage.read_manifest()  # first request to the target: credentials/bucket problems stop us here (exit 4)
    released = [e for e in catalog.episodes if e.is_released(now) and any(f.selects(e) for f in catalog.feeds)]
    held_back = [HeldBack(e.slug, e.title, e.published) for e in catalog.episodes if not e.is_released(now)]
    released, fetch_failures = masters.resolve(released, build_dir(config), config.masters_s3, progress)
    facts = FileFacts(build_dir(config))
    try:
        outcome = prepare_all(config, released, facts, progress)
        desired, documents, feed_urls, feed_counts = render_all(config, catalog, outcome.prepared, target, facts)
    finally:
        facts.save()
    failures = [*fetch_failures, *outcome.failures]
    wanted = Desired(
        writes=desired,
        feeds={d.feed_id: list(d.episode_guids) for d in documents if d.feed_id},
        slugs={e.guid: e.slug for e in catalog.episodes},
        held_back=held_back,
        failures=failures,
        facts=guards.facts_for(catalog.episodes, failures, held_back),
    )
    plan, result = run_publish(storage, wanted, options, manifest)
    return PublishOutcome(target, plan, result, feed_urls, feed_counts)


def render_all(
    config: Config, catalog: Catalog, prepared: tuple[PreparedEpisode, ...], target: Target, facts: FileFacts
) -> tuple[list[Write], list[RenderedDocument], dict[str, str], dict[str, int]]:
    """Everything the target should hold: assets of the prepared episodes, each feed, the OPML, related.json."""
    writes: dict[str, Write] = {}

    def add_asset(asset: Asset, stage: str) -> None:
        writes[asset.key] = Write(asset.key, stage, asset.size, asset.sha256, asset.content_type, path=asset.path)

    documents: list[RenderedDocument] = []
    feed_urls: dict[str, str] = {}
    feed_counts: dict[str, int] = {}
    feeds_by_episode: dict[str, list[tuple[Feed, str]]] = {}
    for feed in catalog.feeds:
        artwork = sidecar_asset(feed.image, f"artwork/{feed.id}", IMAGE_TYPES, facts)
        add_asset(artwork, "sidecar")
        url = target.url_for(feed_key(feed))
        feed_urls[feed.id] = url
        items = [p for p in prepared if feed.selects(p.episode)]
        for item in items:
            asset, _ = item.enclosure_for(feed.medium)
            add_asset(asset, "media")
            for extra in (item.image, item.transcript):
                if extra is not None:
                    add_asset(extra, "sidecar")
            feeds_by_episode.setdefault(item.episode.guid, []).append((feed, url))
        document = render_feed(feed, items, feed_url=url, artwork_url=target.url_for(artwork.key), url_for=target.url_for)
        documents.append(document)
        feed_counts[feed.id] = len(items)
    for item in prepared:
        add_asset(item.main, "media")  # related.json links every episode's main rendition
    documents.append(render_opml(config.site_title, [(f, feed_urls[f.id]) for f in catalog.feeds]))
    documents.append(render_related(prepared, feeds_by_episode, target.url_for))
    for document in documents:
        stage = "feed" if document.feed_id else "index"
        writes[document.key] = Write(
            document.key, stage, len(document.data), document.sha256, document.content_type, data=document.data
        )
    return list(writes.values()), documents, feed_urls, feed_counts
