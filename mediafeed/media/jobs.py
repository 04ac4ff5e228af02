"""The media work of a run: one job per episode and processing profile, prepared in parallel, remembered whole.

A job whose inputs are unchanged (the episode as loaded, the profile, the show it is tagged with, the content of
its master and artwork, the prepare code and the tool versions) comes back from the store in one lookup, so a large
catalog with nothing new neither probes nor walks its deliveries file by file. The rest go to a thread pool (ffmpeg
works in subprocesses); one failure never stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from mediafeed.cache.code import code_digest
from mediafeed.cache.store import Store, key_of
from mediafeed.config import Config, Target
from mediafeed.errors import MediaError
from mediafeed.media import published
from mediafeed.media.encode import Bumper, Profile
from mediafeed.media.prepare import TagContext, prepare_episode
from mediafeed.media.probe import Facts
from mediafeed.models import Asset, Catalog, Episode, EpisodeFailure, Feed, PreparedEpisode
from mediafeed.progress import Advanced, Event, Finished, Reporter, Started, Task, silent

KIND = "prepared"


@dataclass(frozen=True)
class Job:
    """One delivery of one episode: its processing profile and the show its files are tagged with."""

    episode: Episode
    profile: Profile
    context: TagContext
    carried_by: tuple[tuple[str, str], ...] = ()  # (file, medium) of every feed that selects the episode

    @property
    def key(self) -> tuple[str, str]:
        return (self.episode.guid, self.profile.digest)


@dataclass(frozen=True)
class BuildOutcome:
    prepared: dict[tuple[str, str], PreparedEpisode]  # (episode guid, profile digest) → delivery
    failures: tuple[EpisodeFailure, ...]


def feed_profiles(config: Config, catalog: Catalog, facts: Facts) -> dict[str, Profile]:
    """Each feed's processing profile: [audio] with the feed's overrides, and its bumpers (by content)."""

    def bumper(path: Path | None) -> Bumper | None:
        return Bumper(path, facts.id(path)) if path else None

    return {f.id: Profile(f.audio or config.audio, bumper(f.intro), bumper(f.outro)) for f in catalog.feeds}


def plan_jobs(catalog: Catalog, episodes: list[Episode], target: Target, profiles: dict[str, Profile]) -> list[Job]:
    """One job per episode and distinct profile among the feeds that carry it.

    The files are tagged with a "home" feed: the first (by id) whose selector names the episode's kind, so a podcast
    episode is filed under the podcast even when a topic feed carries it too; a public feed before a private one.
    """
    jobs = []
    for episode in episodes:
        groups: dict[str, list[Feed]] = {}
        for feed in catalog.feeds:
            if feed.selects(episode):
                groups.setdefault(profiles[feed.id].digest, []).append(feed)
        # An episode published as it is must suit every feed that carries it (media.published.medium_mismatch).
        carried_by = tuple(sorted({(f.file, f.medium) for fs in groups.values() for f in fs})) if not episode.process else ()
        for feeds in groups.values():
            home = min(feeds, key=lambda f: (f.private, episode.kind not in f.kinds, f.id))
            # A private feed has no public URL to name (each subscriber's copy lives at their own secret one).
            feed_url = "" if home.private else target.url_for(home.key)
            context = TagContext(home.title, feed_url, episode.image or home.image)
            jobs.append(Job(episode, profiles[home.id], context, carried_by))
    return jobs


@dataclass
class Work:
    """The jobs of a run and what became of each: a delivery, a failure, or None (still to prepare)."""

    jobs: list[Job]
    keys: list[str | None]
    outcomes: list[PreparedEpisode | EpisodeFailure | None]

    @property
    def pending(self) -> list[int]:
        return [i for i, outcome in enumerate(self.outcomes) if outcome is None]


def remembered(jobs: list[Job], facts: Facts) -> Work:
    """The jobs, with the deliveries the store holds for unchanged inputs already filled in (one query per 500)."""
    keys = [job_key(job, facts) for job in jobs]
    found = facts.store.get_many(KIND, [k for k in keys if k is not None])
    outcomes: list[PreparedEpisode | EpisodeFailure | None] = []
    for job, key in zip(jobs, keys, strict=True):
        known = found.get(key) if key is not None else None
        intact = isinstance(known, PreparedEpisode) and _intact(known, facts.store)
        outcomes.append(replace(known, episode=job.episode) if isinstance(known, PreparedEpisode) and intact else None)
    store = facts.store
    if store.shares:  # a stat per file on every run otherwise, for nothing
        here = [(key, found[key], _store_files(found[key], store)) for key in keys if key is not None and key in found]
        store.share_known(KIND, [(k, v, files) for k, v, files in here if files is not None])
    return Work(jobs, keys, outcomes)


def _store_files(prepared: PreparedEpisode, store: Store) -> list[tuple[str, Path]] | None:
    """A delivery's store files as (sha256, path), when all of them are here (else None: nothing to share from here)."""
    media = [a for a in (prepared.main, prepared.audio) if a is not None and store.holds(a.path)]
    if not all(store.trusted(a.path, a.sha256) for a in media):
        return None
    return [(a.sha256, a.path) for a in media]


def shard_of(jobs: list[Job], facts: Facts, k: int, n: int, workers: int | None = None) -> list[Job]:
    """The K-th (1-based) of N parts of the media work: deterministic, balanced by duration, stable as episodes are
    added.

    Every shard computes the same split from the same catalog: the jobs in release order (then GUID and profile),
    each given to the part with the least programme so far (ties to the lower part). Durations come from what the
    cache knows (a prepared delivery's, or the master's probe facts, shared by all runners), so no shard encodes to
    find out. A new episode, released after the others, joins a part without moving any other job; one back-dated
    into the middle of the catalog moves only the jobs released after it."""
    if n == 1:
        return list(jobs)
    known = remembered(jobs, facts)

    def seconds(i: int) -> float:
        outcome = known.outcomes[i]
        if isinstance(outcome, PreparedEpisode):
            return outcome.main_info.duration or 0.0
        try:
            return facts.probe_master(Path(jobs[i].episode.media)).duration or 0.0
        except (MediaError, OSError):
            return 0.0  # it fails wherever it goes; the shard that gets it reports why

    with ThreadPoolExecutor(max_workers=workers or _cores()) as pool:
        durations = list(pool.map(seconds, range(len(jobs))))
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].episode.published, jobs[i].episode.guid, jobs[i].profile.digest))
    loads = [0.0] * n
    mine = []
    for i in order:
        part = min(range(n), key=lambda p: (loads[p], p))
        loads[part] += max(durations[i], 1.0)
        if part == k - 1:
            mine.append(jobs[i])
    return mine


def _cores() -> int:
    """The cores this process may run on (a runner pinned with taskset has fewer than the machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 2


def probe_pending(work: Work, facts: Facts, workers: int | None = None) -> None:
    """Probe the masters of the jobs still to prepare (each remembered by content); a master that is empty or not
    media fails its job here, before any encoding starts."""

    def one(i: int) -> EpisodeFailure | None:
        episode = work.jobs[i].episode
        try:
            facts.probe_master(Path(episode.media))
        except MediaError as exc:
            return EpisodeFailure(episode.slug, episode.file, str(exc))
        except OSError as exc:
            return EpisodeFailure(episode.slug, episode.file, f"{exc.filename or episode.media}: {exc.strerror}")
        return None

    pending = work.pending
    if not pending:
        return
    with ThreadPoolExecutor(max_workers=workers or _cores()) as pool:
        for i, failure in zip(pending, pool.map(one, pending), strict=True):
            if failure is not None:
                work.outcomes[i] = failure


def prepare_pending(work: Work, facts: Facts, report: Reporter, workers: int | None = None) -> BuildOutcome:
    """Encode and tag what is still to prepare, in parallel across cores; one failure never stops the others.

    Reported as it happens: a "prepare" task counting jobs, each job's outcome as a task of its own ("cached",
    "encoded", "tagged" when only the tags changed, "failed"), and the ffmpeg runs inside each job (media.encode)."""

    def one(job: Job) -> tuple[PreparedEpisode | EpisodeFailure, bool]:
        episode = job.episode
        ran: list[bool] = []

        def watched(event: Event) -> None:
            if isinstance(event, Started):
                ran.append(True)
            report(event)

        try:
            watcher = silent if report is silent else watched
            return prepare_episode(episode, facts, job.profile, job.context, watcher, job.carried_by), bool(ran)
        except MediaError as exc:
            return EpisodeFailure(episode.slug, episode.file, str(exc), exc.field or "media"), bool(ran)
        except OSError as exc:
            return EpisodeFailure(episode.slug, episode.file, f"{exc.filename or episode.media}: {exc.strerror}"), bool(ran)

    jobs, outcomes = work.jobs, work.outcomes
    todo = work.pending
    overall = Task("prepare", "media", "items")
    if jobs:
        report(Started(overall, len(jobs)))
    tally = {"encoded": 0, "tagged": 0, "measured": 0, "cached": 0, "failed": 0}

    def told(job: Job, outcome: PreparedEpisode | EpisodeFailure, how: str) -> None:
        tally[how] += 1
        detail = outcome.message if isinstance(outcome, EpisodeFailure) else _loudness_summary(outcome)
        report(Finished(Task("prepare", job.episode.slug), how, detail))
        report(Advanced(overall, sum(tally.values())))

    for i, outcome in enumerate(outcomes):
        if outcome is not None:  # remembered whole, or its master failed the probe
            told(jobs[i], outcome, "failed" if isinstance(outcome, EpisodeFailure) else "cached")
    if todo:
        with ThreadPoolExecutor(max_workers=workers or _cores()) as pool:
            futures = {pool.submit(one, jobs[i]): i for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                made, encoded = future.result()
                outcomes[i] = made
                key = work.keys[i] or job_key(jobs[i], facts)  # a master hashed by the job itself is known now
                if isinstance(made, PreparedEpisode) and key is not None:
                    facts.store.put(KIND, key, replace(made, episode=None))  # type: ignore[arg-type]
                how = "failed" if isinstance(made, EpisodeFailure) else "encoded" if encoded else "tagged"
                if how != "failed" and not jobs[i].episode.process:
                    how = "measured" if encoded else "cached"  # published as it is: nothing encoded or tagged
                told(jobs[i], made, how)
    if jobs:
        report(Finished(overall, "done", ", ".join(f"{count} {how}" for how, count in tally.items() if count)))
    prepared: dict[tuple[str, str], PreparedEpisode] = {}
    failures: dict[str, EpisodeFailure] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, EpisodeFailure):
            failures.setdefault(outcome.slug, outcome)
        elif outcome is not None:
            prepared[job.key] = outcome
    return BuildOutcome(prepared, tuple(failures.values()))


def job_key(job: Job, facts: Facts) -> str | None:
    """Everything a delivery is made from; None when a file cannot be read (preparing it will say why)."""
    episode = job.episode
    try:
        master = facts.id(Path(episode.media))
        artwork = facts.id(job.context.artwork) if job.context.artwork.is_file() else None
        image = facts.id(episode.image) if episode.image else None
        tools = (facts.tool("ffmpeg"), facts.tool("ffprobe"))
    except (OSError, MediaError):
        return None
    code = code_digest("mediafeed.media.prepare")
    profile = job.profile.digest  # audio settings and bumpers by content (not their paths)
    return key_of(KIND, episode, profile, job.context, job.carried_by, master, artwork, image, code, tools,
                  root=facts.store.root)  # fmt: skip


def _intact(prepared: object, store: Store) -> bool:
    """A remembered delivery whose store files are all still there, with the bytes they are named by (Store.trusted:
    a stat compare, a hash only when the stat changed), or, with a shared tier, there (a file is written to it before
    any value naming it; `fetch_unpublished` downloads, and checks, the ones a publish must upload); its passed-through
    master and sidecar artwork (sources) are still there."""
    if not isinstance(prepared, PreparedEpisode):
        return False
    media = [asset for asset in (prepared.main, prepared.audio) if asset is not None]
    for asset in media:
        if not store.holds(asset.path):  # the master itself (process: false): a source, its content id is in the key
            if not asset.path.is_file():
                return False
            continue
        if not store.trusted(asset.path, asset.sha256) and (store.remote is None or not store.holds(asset.path)):
            return False
    return prepared.image is None or prepared.image.path.is_file()


def fetch_unpublished(work: Work, store: Store, published: Callable[[Asset], bool], report: Reporter = silent,
                      workers: int = 8) -> None:  # fmt: skip
    """Before a publish: the remembered deliveries the target does not hold yet are downloaded from the shared tier
    (each checked against its sha256); one that cannot be (gone, truncated, corrupt) is prepared again instead. What
    the target holds already is never downloaded: a fresh runner publishing an unchanged catalog fetches nothing."""
    wanted: dict[int, list[Asset]] = {}
    for i, outcome in enumerate(work.outcomes):
        if isinstance(outcome, PreparedEpisode):
            media = [a for a in (outcome.main, outcome.audio) if a is not None]
            # A master published as it is (not a store file) is here with the sources, or its job fails on its own.
            missing = [a for a in media if store.holds(a.path) and not published(a) and not store.trusted(a.path, a.sha256)]
            if missing:
                wanted[i] = missing
    if not wanted:
        return
    task = Task("fetch", "shared cache", "items")
    report(Started(task, sum(len(a) for a in wanted.values())))
    done = 0

    def one(asset: Asset) -> Path | None:
        return store.file(asset.sha256, asset.path.suffix) if store.holds(asset.path) else None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, assets in wanted.items():
            paths = list(pool.map(one, assets))
            done += len(assets)
            report(Advanced(task, done))
            outcome = work.outcomes[i]
            assert isinstance(outcome, PreparedEpisode)
            if any(path is None for path in paths):
                work.outcomes[i] = None  # prepared again by prepare_pending
                continue
            moved = {a.sha256: replace(a, path=path) for a, path in zip(assets, paths, strict=True) if path is not None}
            main = moved.get(outcome.main.sha256, outcome.main)
            audio = moved.get(outcome.audio.sha256, outcome.audio) if outcome.audio is not None else None
            work.outcomes[i] = replace(outcome, main=main, audio=audio)
    report(Finished(task, "done", f"{done} file(s)"))


def _loudness_summary(prepared: PreparedEpisode) -> str:
    main = prepared.loudness.get("main") or {}
    if "integrated_lufs" not in main:
        return ""
    if main.get("as_published"):
        return published.summary(main)
    how = "passed through" if main.get("passthrough") else f"{main.get('passes', 1)} pass(es)"
    return f"{main['integrated_lufs']:.1f} LUFS, {main['true_peak_dbtp']:.1f} dBTP ({how})"
