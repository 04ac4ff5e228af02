"""The prepare stage: an episode's delivery files, encoded (media.encode) and tagged (media.tags), as assets.

Each step is cached in the store by content (see cache/): probing by the file's content id, encoding by the
master's content id and the processing profile, tagging by the encoded bytes and the tags. Editing show notes
therefore never re-encodes audio, and editing the tag writer re-tags without re-encoding. Sources are only read.

Every delivery file is verified (media.verify) after it is encoded and again after it is tagged: it decodes to the
end and lasts as long as the master (decoded, never from headers) plus its bumpers. The durations in the feed are
those decoded lengths. A master that changes while it is processed is processed once more, then refused.

An episode with `process: false` takes the other branch of this stage (media.published): its master is the delivery
file, byte for byte, checked (playable as it is, in every feed that carries it; decodes cleanly) and measured.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from mediafeed.cache.identity import hash_file
from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.artwork import embedded_artwork
from mediafeed.catalog.chapters import delivered
from mediafeed.config import AudioProfile
from mediafeed.content_types import content_type_for
from mediafeed.digest import content_key
from mediafeed.errors import MediaError
from mediafeed.media import published, verify
from mediafeed.media.encode import Profile, Rendition, encode, measure_master, watching
from mediafeed.media.ffmpeg import Loudness
from mediafeed.media.probe import Facts
from mediafeed.media.tags import EpisodeTags, TagChapter, tagged
from mediafeed.mediainfo import MediaInfo
from mediafeed.models import Asset, Episode, PreparedEpisode
from mediafeed.progress import Reporter, silent


@dataclass(frozen=True)
class TagContext:
    """What tags need beyond the episode: the show it is filed under and where its feed lives."""

    album: str
    feed_url: str
    artwork: Path


def prepare_episode(
    episode: Episode,
    facts: Facts,
    profile: Profile | None = None,
    context: TagContext | None = None,
    report: Reporter = silent,
    carried_by: tuple[tuple[str, str], ...] = (),
) -> PreparedEpisode:
    """Make (or reuse) the episode's delivery files and describe them as publishable assets (each ffmpeg run over
    the programme reported to `report`, named by the episode's slug). An episode with `process: false` is published
    as it is (media.published), checked against `carried_by`: (file, medium) of every feed that selects it."""
    profile = profile or Profile(AudioProfile())
    if episode.media.startswith("s3://"):
        raise MediaError(
            "this s3:// master was not downloaded before preparing",
            file=episode.file,
            field="media",
            hint="publish or build through mediafeed, which fetches s3:// masters into build/masters/",
        )
    source = Path(episode.media)
    context = context or TagContext(album=episode.title, feed_url="", artwork=episode.image or Path())
    try:
        return _prepare(episode, facts, profile, context, report, source, carried_by)
    except MasterChanged:
        pass  # the bytes read were neither version: once more, from what the master holds now
    try:
        return _prepare(episode, facts, profile, context, report, source, carried_by)
    except MasterChanged:
        raise MediaError(
            "the master changed while it was being processed, twice",
            file=str(source),
            hint="wait until the master is completely written (an export or a copy still running?), then build again",
        ) from None


class MasterChanged(MediaError):
    """The master's bytes changed while it was processed: nothing made from it may be kept."""


def master_guard(source: Path, facts: Facts) -> tuple[str, Callable[[], None]]:
    """The master's content id, and a check that raises MasterChanged when the master no longer holds it. The stat is
    taken before the id is found, so any change after it shows; a changed stat alone is not a change (a touch, a copy
    of the same bytes): then the bytes are hashed again."""
    before = _stat(source)
    source_id = facts.id(source)

    def check() -> None:
        try:
            now = _stat(source)
        except OSError:
            raise MasterChanged("the master disappeared while it was processed", file=str(source)) from None
        if now != before and f"sha256:{hash_file(source)[0]}" != source_id:
            raise MasterChanged("the master changed while it was processed", file=str(source))

    return source_id, check


def _stat(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _prepare(
    episode: Episode,
    facts: Facts,
    profile: Profile,
    context: TagContext,
    report: Reporter,
    source: Path,
    carried_by: tuple[tuple[str, str], ...],
) -> PreparedEpisode:
    source_id, guard = master_guard(source, facts)
    try:
        if not episode.process:
            return _as_published(episode, facts, profile, report, source, source_id, guard, carried_by)
        return _prepare_from(episode, facts, profile, context, report, source, source_id, guard)
    except MasterChanged:
        raise
    except MediaError:
        guard()  # a failure caused by a master rewritten under ffmpeg is that, not a broken master
        raise


def _prepare_from(
    episode: Episode,
    facts: Facts,
    profile: Profile,
    context: TagContext,
    report: Reporter,
    source: Path,
    source_id: str,
    guard: Callable[[], None],
) -> PreparedEpisode:
    info = facts.probe_master(source, source_id)
    ffmpeg_version = facts.tool("ffmpeg")
    measured: list[Loudness] = []

    def measure(path: Path) -> verify.Decoded:
        """The master decoded once, measured while it is (one ffmpeg per core): its length and its loudness."""
        found = measure_master(path, info, profile, report=report, name=episode.slug)
        measured.append(found.loudness)
        return verify.Decoded(found.seconds, found.errors)

    # A video master is decoded whole (every stream); an audio master by the loudness measure the encode needs.
    decoder = verify.decode if info.has_video else measure
    master_seconds = verify.master_seconds(source, source_id, facts.store, ffmpeg_version, guard, decoder)
    renditions = encode(source, info, source_id, profile, facts.store, ffmpeg_version, report=report, name=episode.slug,
                        master_seconds=master_seconds, guard=guard, measured=measured[0] if measured else None)  # fmt: skip

    def deliver(rendition: Rendition) -> tuple[Asset, MediaInfo]:
        # A passed-through master is its own rendition; a made one is a store file, named by its sha256.
        rendition_id = source_id if rendition.path == source else f"sha256:{rendition.path.stem}"
        encoded_info = facts.probe(rendition.path, rendition_id)
        seconds = rendition.seconds or master_seconds  # decoded, never a header's claim
        tags = episode_tags(episode, context, seconds, rendition.intro_seconds)
        tolerance = profile.tolerance(seconds)

        def checked(path: Path, sha: str) -> float:
            if verify.same_audio(path, rendition.path):  # only the tags differ: the rendition's decode stands for it
                path, sha = rendition.path, rendition_id
            return verify.check(path, sha, facts.store, ffmpeg_version, expected=seconds, tolerance=tolerance, subject=source)

        path, sha = tagged(rendition.path, rendition_id, tags, facts.store, ffmpeg_version, check=checked, guard=guard)
        delivered_seconds = checked(path, sha)  # remembered by content: free on a warm run
        # Tags change neither duration nor streams: describe the tagged copy without probing it again.
        info = replace(encoded_info, path=path, size=path.stat().st_size, duration=round(delivered_seconds, 3))
        asset = Asset(content_key(f"media/{episode.slug}", sha, path.suffix), path, info.size, sha, info.mime_type)
        return asset, info

    main_asset, main_info = deliver(renditions["main"])
    audio = deliver(renditions["audio"]) if "audio" in renditions else None
    image = sidecar_asset(episode.image, f"artwork/{episode.slug}", IMAGE_TYPES, facts) if episode.image else None
    guard()
    return PreparedEpisode(
        episode=episode,
        main=main_asset,
        main_info=main_info,
        audio=audio[0] if audio else None,
        audio_info=audio[1] if audio else None,
        image=image,
        loudness={name: r.loudness for name, r in renditions.items()},
        main_offset=renditions["main"].intro_seconds,
        audio_offset=renditions["audio"].intro_seconds if "audio" in renditions else 0.0,
    )


def _as_published(
    episode: Episode,
    facts: Facts,
    profile: Profile,
    report: Reporter,
    source: Path,
    source_id: str,
    guard: Callable[[], None],
    carried_by: tuple[tuple[str, str], ...],
) -> PreparedEpisode:
    """`process: false`: the master itself is the delivery (no gain, encode, bumpers or tags), once it is known to
    play in podcast apps and in every feed that carries it, to decode cleanly and to last at least MIN_SECONDS; its
    loudness is measured (remembered by content) and compared with the profile's target, for the report."""
    info = facts.probe_master(source, source_id)
    refused = published.refusal(info, carried_by)
    if refused is not None:
        raise MediaError(refused[0], field=published.FIELD, hint=refused[1])
    ffmpeg_version = facts.tool("ffmpeg")

    def measured() -> published.Measurement:
        with watching(report, "measure", episode.slug, info.duration) as watch:
            return published.measure(source, facts.store, ffmpeg_version=ffmpeg_version, info=info, content_id=source_id,
                                     watch=watch, guard=guard)  # fmt: skip

    loudness = measured()
    # A video is decoded whole (every stream); an audio file's decode is its loudness measure.
    decoder = verify.decode if info.has_video else lambda _: verify.Decoded(loudness.seconds, loudness.errors)
    found = verify.decoded(source, source_id, facts.store, ffmpeg_version, guard, decoder)
    if found.errors:
        raise MediaError(
            f"{source.name} does not decode cleanly ({found.errors}), and it would be published as it is",
            field=published.FIELD,
            hint=f"{published.FIX} from what decodes, or replace the file",
        )
    seconds = verify.master_seconds(source, source_id, facts.store, ffmpeg_version, guard, decoder)
    sha = source_id.removeprefix("sha256:")
    key = content_key(f"media/{episode.slug}", sha, published.delivered_suffix(info))
    asset = Asset(key, source, info.size, sha, content_type_for(key))
    described = replace(info, mime_type=asset.content_type, duration=round(seconds, 3))
    image = sidecar_asset(episode.image, f"artwork/{episode.slug}", IMAGE_TYPES, facts) if episode.image else None
    guard()
    return PreparedEpisode(
        episode=episode,
        main=asset,
        main_info=described,
        image=image,
        loudness={"main": loudness.describe(profile.audio)},
    )


def sidecar_asset(path: Path, key_stem: str, types: dict[str, str], facts: Facts) -> Asset:
    """A content-addressed asset: the key changes whenever the bytes do, because apps cache by URL."""
    sha = facts.sha256(path)
    suffix = path.suffix.lower().replace(".jpeg", ".jpg")
    return Asset(content_key(key_stem, sha, suffix), path, path.stat().st_size, sha, types[path.suffix.lower()])


def episode_tags(episode: Episode, context: TagContext, duration: float, intro_seconds: float) -> EpisodeTags:
    """Tags for one delivery file; chapters move by the intro's length and end where the next one starts."""
    shifted = delivered(episode.chapters, intro_seconds)
    ends = ([c.start for c in shifted[1:]] + [duration])[: len(shifted)]
    chapters = tuple(
        TagChapter(round(c.start * 1000), round(max(end, c.start) * 1000), c.title, c.url)
        for c, end in zip(shifted, ends, strict=True)
        if c.start < duration
    )
    hosts = [p.name for p in episode.persons if p.role in ("host", "co-host")]
    artwork_path = episode.image or context.artwork
    return EpisodeTags(
        title=episode.title,
        artist=", ".join(hosts),
        album=context.album,
        date=episode.published,
        # The summary, not the show notes: editing notes then rewrites feeds only, never re-uploads media.
        description=episode.summary or "",
        guid=episode.guid,
        feed_url=context.feed_url,
        article_url=episode.articles[0].url if episode.articles else None,
        keywords=episode.keywords,
        artwork=_embedded(artwork_path) if artwork_path and artwork_path.is_file() else None,
        chapters=chapters,
    )


def _embedded(path: Path) -> tuple[bytes, str]:
    """embedded_artwork, read once per run for a file that is unchanged: most episodes embed their feed's artwork."""
    stat = path.stat()
    return _embedded_by_stat(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@lru_cache(maxsize=64)
def _embedded_by_stat(path: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> tuple[bytes, str]:
    return embedded_artwork(Path(path))


def loudness_report(prepared: Iterable[PreparedEpisode]) -> list[dict[str, Any]]:
    """The measured loudness of every delivery published as it is, by slug (one per episode and target: feeds with
    their own `audio:` targets may judge one file differently), for `publish` and `status` to show."""
    found: dict[tuple[str, float, float], dict[str, Any]] = {}
    for delivery in prepared:
        main: dict[str, Any] = dict(delivery.loudness.get("main") or {})
        if not main.get("as_published"):
            continue
        entry: dict[str, Any] = {"slug": delivery.episode.slug, "file": delivery.episode.file, "key": delivery.main.key}
        entry.update({name: main[name] for name in REPORTED if name in main})
        found.setdefault((delivery.episode.slug, main["target_lufs"], main["ceiling_dbtp"]), entry)
    return [found[key] for key in sorted(found)]


REPORTED = ("integrated_lufs", "true_peak_dbtp", "lra_lu", "channels", "target_lufs", "ceiling_dbtp", "on_target")
