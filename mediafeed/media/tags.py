"""Metadata inside the published files: one table from our fields to ID3v2.4 frames and MP4 atoms, and the writer.

Apps that never read the feed (car stereos, file managers, Apple Podcasts after a download) read these tags, so a
file carries its title, show, artwork, chapters and where it came from. Tags are written onto a copy in build/
(sources are never modified); the enclosure length in the feed is the size of that tagged file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    PCST,
    TALB,
    TCON,
    TDES,
    TDRC,
    TGID,
    TIT2,
    TKWD,
    TPE1,
    WFED,
    WXXX,
    CTOCFlags,
    ID3NoHeaderError,
)  # fmt: skip
from mutagen.id3._tags import save_frame
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

from mediafeed.cache.code import code_digest
from mediafeed.cache.store import Store, key_of
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg

GENRE = "Podcast"
FREEFORM = "----:org.mediafeed:"


@dataclass(frozen=True)
class TagChapter:
    start_ms: int
    end_ms: int
    title: str
    url: str | None = None


@dataclass(frozen=True)
class EpisodeTags:
    title: str
    artist: str  # hosts
    album: str  # the show (feed) title
    date: datetime
    description: str  # plain text
    guid: str
    feed_url: str
    article_url: str | None = None
    keywords: tuple[str, ...] = ()
    artwork: tuple[bytes, str] | None = None  # (image bytes, MIME type)
    chapters: tuple[TagChapter, ...] = ()
    genre: str = GENRE

    @property
    def timestamp(self) -> str:
        return self.date.strftime("%Y-%m-%dT%H:%M:%S")


# field → (ID3 frame, MP4 atom): the single place that says where each of our fields goes.
# Artwork and chapters need structure, so they have writers of their own below.
FIELD_MAP: dict[str, tuple[Callable[[EpisodeTags], Any] | None, str | None]] = {
    "title": (lambda t: TIT2(encoding=3, text=[t.title]), "\xa9nam"),
    "artist": (lambda t: TPE1(encoding=3, text=[t.artist]) if t.artist else None, "\xa9ART"),
    "album": (lambda t: TALB(encoding=3, text=[t.album]), "\xa9alb"),
    "date": (lambda t: TDRC(encoding=3, text=[t.timestamp]), "\xa9day"),
    "genre": (lambda t: TCON(encoding=3, text=[t.genre]), "\xa9gen"),
    "description": (lambda t: COMM(encoding=3, lang="eng", desc="", text=[t.description]) if t.description else None, "desc"),
    "podcast_description": (lambda t: TDES(encoding=3, text=[t.description]) if t.description else None, "ldes"),
    "keywords": (lambda t: TKWD(encoding=3, text=[",".join(t.keywords)]) if t.keywords else None, "keyw"),
    "article_url": (lambda t: WXXX(encoding=3, desc="", url=t.article_url) if t.article_url else None, "purl"),
    "feed_url": (lambda t: WFED(url=t.feed_url) if t.feed_url else None, None),  # MP4: a freeform atom, below
    "guid": (lambda t: TGID(encoding=3, text=[t.guid]), "egid"),
    "podcast": (lambda t: PCST(value=1), "pcst"),
}


def _mp4_value(field: str, tags: EpisodeTags) -> Any:
    values: dict[str, Any] = {
        "title": [tags.title], "artist": [tags.artist] if tags.artist else None, "album": [tags.album],
        "date": [tags.date.strftime("%Y-%m-%dT%H:%M:%SZ")], "genre": [tags.genre],
        "description": [tags.description] if tags.description else None,
        "podcast_description": [tags.description] if tags.description else None,
        "keywords": [",".join(tags.keywords)] if tags.keywords else None,
        "article_url": [tags.article_url] if tags.article_url else None, "guid": [tags.guid], "podcast": True,
    }  # fmt: skip
    return values.get(field)


def tagged(
    encoded: Path,
    encoded_id: str,
    tags: EpisodeTags,
    store: Store,
    ffmpeg_version: str,
    *,
    check: Callable[[Path, str], object] | None = None,
    guard: Callable[[], None] | None = None,
) -> tuple[Path, str]:
    """The tagged copy of an encoded file and its sha256, made only when the encoded bytes, the tags or the code that
    writes them (this module: a fix here re-tags without re-encoding) change.

    A copy just made is remembered only after `check(path, sha256)` (media.verify: it decodes, it lasts as long as
    it should) and `guard()` (the master did not change meanwhile) both pass; a copy that fails is removed."""
    described = {k: v for k, v in asdict(tags).items() if k != "artwork"}
    artwork = _bytes_sha256(tags.artwork[0]) if tags.artwork else ""
    suffix = encoded.suffix.lower()
    key = key_of("tag", encoded_id, suffix, described, artwork, code_digest(__name__), ffmpeg_version)
    known = store.get("tag", key)
    if isinstance(known, str) and (path := store.file(known, suffix)) is not None:
        return path, known
    with store.claim("tag", key):  # another writer of the same key (a second build of the project): wait for it
        known = store.get("tag", key)
        if isinstance(known, str) and (path := store.file(known, suffix)) is not None:
            return path, known
        scratch = store.scratch(suffix)
        try:
            write_tags(encoded, scratch, tags)
            path, sha = store.adopt(scratch, suffix)
        finally:
            scratch.unlink(missing_ok=True)
        try:
            if check is not None:
                check(path, sha)
            if guard is not None:
                guard()
        except MediaError:
            store.discard(sha, suffix)
            raise
        store.put("tag", key, sha)
    return path, sha


@lru_cache(maxsize=64)
def _bytes_sha256(data: bytes) -> str:
    """Most episodes embed their feed's artwork, the same bytes object each time (see prepare): hash it once."""
    return hashlib.sha256(data).hexdigest()


def write_tags(source: Path, output: Path, tags: EpisodeTags) -> None:
    """Copy `source` to `output` with our tags (atomically: a half-tagged file never appears under its name)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{output.stem}-", suffix=output.suffix, dir=output.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        if output.suffix == ".mp4":
            _remux_with_chapters(source, temp, tags.chapters)
            _write_mp4(temp, tags)
        else:
            _copy(source, temp)
            _write_id3(temp, tags)
        os.replace(temp, output)
    except MutagenError as exc:
        raise MediaError(f"could not write tags: {exc}", file=str(source)) from None
    finally:
        temp.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(1 << 20):
            writer.write(chunk)


def _write_id3(path: Path, tags: EpisodeTags) -> None:
    try:
        id3 = _ChaptersInTimeOrder(path)
        id3.clear()  # a passed-through MP3 may carry a producer's tags: ours replace them
    except ID3NoHeaderError:
        id3 = _ChaptersInTimeOrder()
    for build, _ in FIELD_MAP.values():
        frame = build(tags) if build else None
        if frame is not None:
            id3.add(frame)
    if tags.artwork:
        data, mime = tags.artwork
        id3.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=data))
    if tags.chapters:
        chapters = in_time_order(tags.chapters)
        ids = [f"chp{i}" for i in range(len(chapters))]
        id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                     sub_frames=[TIT2(encoding=3, text=["Chapters"])]))  # fmt: skip
        for element_id, chapter in zip(ids, chapters, strict=True):
            sub_frames: list[Any] = [TIT2(encoding=3, text=[chapter.title])]
            if chapter.url:
                sub_frames.append(WXXX(encoding=3, desc="chapter url", url=chapter.url))
            id3.add(CHAP(element_id=element_id, start_time=chapter.start_ms, end_time=chapter.end_ms,
                         start_offset=0xFFFFFFFF, end_offset=0xFFFFFFFF, sub_frames=sub_frames))  # fmt: skip
    id3.save(path, v2_version=4, v1=0)


def in_time_order(chapters: tuple[TagChapter, ...]) -> tuple[TagChapter, ...]:
    return tuple(sorted(chapters, key=lambda c: (c.start_ms, c.end_ms)))


class _ChaptersInTimeOrder(ID3):
    """ID3 that writes its CHAP frames last and by start time. mutagen orders frames by size, and FFmpeg-based
    players list chapters in the order of their frames, whatever CTOC says."""

    def _write(self, config: Any) -> bytearray:
        chapters = sorted(self.getall("CHAP"), key=lambda frame: (frame.start_time, frame.end_time, frame.element_id))
        self.delall("CHAP")
        try:
            data = super()._write(config)
        finally:
            for frame in chapters:
                self.add(frame)
        return data + bytearray().join(save_frame(frame, config=config) for frame in chapters)


def _write_mp4(path: Path, tags: EpisodeTags) -> None:
    mp4 = MP4(path)
    if mp4.tags is None:
        mp4.add_tags()
    assert mp4.tags is not None
    mp4.tags.clear()
    for field, (_, atom) in FIELD_MAP.items():
        value = _mp4_value(field, tags)
        if atom and value is not None:
            mp4.tags[atom] = value
    mp4.tags[FREEFORM + "feed_url"] = [MP4FreeForm(tags.feed_url.encode())]
    if tags.artwork:
        data, mime = tags.artwork
        kind = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        mp4.tags["covr"] = [MP4Cover(data, imageformat=kind)]
    mp4.save()


def _remux_with_chapters(source: Path, output: Path, chapters: tuple[TagChapter, ...]) -> None:
    """MP4 chapters are a track of their own, which mutagen cannot write: ffmpeg remuxes (no re-encoding)."""
    if not chapters:
        _copy(source, output)
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as meta:
        meta.write(ffmetadata_chapters(chapters))
    try:
        ffmpeg.run("ffmpeg", ["-y", "-v", "error", "-i", str(source), "-f", "ffmetadata", "-i", meta.name,
                              "-map", "0", "-map_chapters", "1", "-c", "copy", "-movflags", "+faststart",
                              "-f", "mp4", str(output)], subject=source)  # fmt: skip
    finally:
        Path(meta.name).unlink(missing_ok=True)


def ffmetadata_chapters(chapters: tuple[TagChapter, ...]) -> str:
    def escape(text: str) -> str:
        return "".join("\\" + c if c in "=;#\\\n" else c for c in text)

    blocks = [";FFMETADATA1"]
    for chapter in in_time_order(chapters):
        blocks.append(
            f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={chapter.start_ms}\nEND={chapter.end_ms}\ntitle={escape(chapter.title)}"
        )
    return "\n".join(blocks) + "\n"
