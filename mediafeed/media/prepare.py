"""The prepare stage: an episode's delivery files, encoded (media.encode) and tagged (media.tags), as assets.

Each step is cached in the store by content (see cache/): probing by the file's content id, encoding by the
master's content id and the processing profile, tagging by the encoded bytes and the tags. Editing show notes
therefore never re-encodes audio, and editing the tag writer re-tags without re-encoding. Sources are only read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from mediafeed.catalog.artwork import CONTENT_TYPES as IMAGE_TYPES
from mediafeed.catalog.artwork import embedded_artwork
from mediafeed.catalog.chapters import delivered
from mediafeed.config import AudioProfile
from mediafeed.digest import content_key
from mediafeed.errors import MediaError
from mediafeed.media.encode import Profile, Rendition, encode
from mediafeed.media.probe import Facts
from mediafeed.media.tags import EpisodeTags, TagChapter, tagged
from mediafeed.models import Asset, Episode, MediaInfo, PreparedEpisode
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
) -> PreparedEpisode:
    """Make (or reuse) the episode's delivery files and describe them as publishable assets (each ffmpeg run over
    the programme reported to `report`, named by the episode's slug)."""
    profile = profile or Profile(AudioProfile())
    if episode.media.startswith("s3://"):
        raise MediaError(
            "this s3:// master was not downloaded before preparing",
            file=episode.file,
            field="media",
            hint="publish or build through mediafeed, which fetches s3:// masters into build/masters/",
        )
    source = Path(episode.media)
    source_id = facts.id(source)
    info = facts.probe_master(source, source_id)
    renditions = encode(source, info, source_id, profile, facts.store, facts.tool("ffmpeg"), report=report, name=episode.slug)
    context = context or TagContext(album=episode.title, feed_url="", artwork=episode.image or Path())

    def deliver(rendition: Rendition) -> tuple[Asset, MediaInfo]:
        # A passed-through master is its own rendition; a made one is a store file, named by its sha256.
        rendition_id = source_id if rendition.path == source else f"sha256:{rendition.path.stem}"
        encoded_info = facts.probe(rendition.path, rendition_id)
        tags = episode_tags(episode, context, encoded_info.duration, rendition.intro_seconds)
        path, sha = tagged(rendition.path, rendition_id, tags, facts.store, facts.tool("ffmpeg"))
        # Tags change neither duration nor streams: describe the tagged copy without probing it again.
        info = replace(encoded_info, path=path, size=path.stat().st_size)
        asset = Asset(content_key(f"media/{episode.slug}", sha, path.suffix), path, info.size, sha, info.mime_type)
        return asset, info

    main_asset, main_info = deliver(renditions["main"])
    audio = deliver(renditions["audio"]) if "audio" in renditions else None
    image = sidecar_asset(episode.image, f"artwork/{episode.slug}", IMAGE_TYPES, facts) if episode.image else None
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
