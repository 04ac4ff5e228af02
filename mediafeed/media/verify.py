"""Verification of delivery files: a file is published only when it decodes to the end and lasts as long as it should.

Headers lie (a truncated encode, an MP3 whose Xing frame claims hours, a tee muxer that dropped its file output and
exited 0), so durations that reach a feed come from **decoding**: ffmpeg decodes every stream of the file to a null
output, and the file is refused when ffmpeg reports any error or the decoded length is not the master's (plus its
bumpers) within the profile's tolerance. What a decode found is remembered in the store by the file's content
(its sha256, this module's code digest and ffmpeg's version), so a warm run decodes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mediafeed.cache.code import code_digest
from mediafeed.cache.store import Store, key_of
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg, gating
from mediafeed.progress import parse_ffmpeg_progress

KIND = "decoded"
MIN_SECONDS = 1.0  # shorter media is a mistake (an empty export, a click): podcast apps would list nonsense


@dataclass(frozen=True)
class Decoded:
    """What decoding a whole file found: how long it lasts, and the first errors ffmpeg printed ('' when none)."""

    seconds: float
    errors: str = ""


def decode(path: Path, expected: float | None = None) -> Decoded:
    """Decode every stream of `path` to nothing; the length decoded (from ffmpeg's -progress report) and any error.

    An MP3 expected to last `expected` seconds (a delivery file: audio only, plus tags' artwork) is decoded in
    segments side by side, one ffmpeg per core: the first decodes every stream from the start, each later one the
    audio from its cut (sample-exact: ffmpeg decodes from before the cut and drops what precedes it), the last to
    the real end. A segment that ends early ends the file there (media.gating.decoded_seconds)."""
    if expected is None or path.suffix.lower() != ".mp3":
        return _decode_part(path, [], [])
    segments = gating.plan(expected, ffmpeg.cores(), lead=0)
    found = ffmpeg.in_parallel(
        lambda _, s: _decode_part(path, ffmpeg.segment_args(s), ["-map", "0:a"] if s.start_tenths else []), segments
    )
    blocks = [gating.Blocks((), (), 0.0, part.seconds) for part in found]
    errors = " / ".join(part.errors for part in found if part.errors)
    return Decoded(round(gating.decoded_seconds(segments, blocks), 3), errors)


def _decode_part(path: Path, before: list[str], maps: list[str]) -> Decoded:
    args = ["-nostats", "-v", "error", "-progress", "pipe:1", *before, "-i", str(path), *maps, "-f", "null", "-"]
    result = ffmpeg.run("ffmpeg", args, subject=path)
    seconds = 0.0
    for line in result.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("out_time_us="):
            value = parse_ffmpeg_progress(line)
            seconds = value if value is not None else seconds
    errors = ffmpeg.meaningful_error(result.stderr.decode("utf-8", "replace")) if result.stderr.strip() else ""
    return Decoded(round(seconds, 3), errors)


def decoded(
    path: Path,
    content_id: str,
    store: Store,
    ffmpeg_version: str,
    guard: Callable[[], None] | None = None,
    decoder: Callable[[Path], Decoded] = decode,
) -> Decoded:
    """decode(path), remembered by the file's content id (`sha256:<hex>` or a bare sha256); `guard` (raising when
    the file is no longer that content) is called before what was found is remembered. `decoder` may decode it
    otherwise (a master's is decoded by its segmented loudness measure, which reads it whole anyway)."""
    sha = content_id.removeprefix("sha256:")
    key = key_of(KIND, sha, code_digest(__name__), ffmpeg_version)
    known = store.get(KIND, key)
    if isinstance(known, Decoded):
        return known
    found = decoder(path)
    if guard is not None:
        guard()
    store.put(KIND, key, found)
    return found


def check(
    path: Path, content_id: str, store: Store, ffmpeg_version: str, *, expected: float, tolerance: float, subject: Path
) -> float:
    """The decoded length of a delivery file that decodes cleanly and lasts `expected` seconds within `tolerance`;
    a MediaError naming the master (`subject`) otherwise. Its size is checked against what was written, too."""
    size = path.stat().st_size
    found = decoded(path, content_id, store, ffmpeg_version, decoder=lambda file: decode(file, expected))
    if found.errors:
        raise MediaError(
            f"the delivery file made from it does not decode cleanly ({found.errors})",
            file=str(subject),
            hint="build again; if it persists, check free space in build/ and that the master plays to the end",
        )
    if abs(found.seconds - expected) > tolerance:
        raise MediaError(
            f"the delivery file made from it lasts {found.seconds:.2f} s, the master {expected:.2f} s",
            file=str(subject),
            hint="build again; if it persists, check free space in build/ and that the master plays to the end",
        )
    if os.stat(path).st_size != size:
        raise MediaError(
            "the delivery file changed while it was checked", file=str(subject), hint="build again, one build at a time"
        )
    return found.seconds


def _mp3_audio_span(path: Path) -> tuple[int, int] | None:
    """(start, end) of an MP3's audio frames: the file without its ID3v2 header and ID3v1 trailer; None if not MP3."""
    if path.suffix.lower() != ".mp3":
        return None
    with path.open("rb") as handle:
        head = handle.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            start = 10 + size + (10 if head[5] & 0x10 else 0)
        end = handle.seek(0, os.SEEK_END)
        if end - start >= 128:
            handle.seek(end - 128)
            if handle.read(3) == b"TAG":
                end -= 128
    return (start, end) if start <= end else None


def same_audio(tagged: Path, source: Path) -> bool:
    """Whether a tagged MP3 carries exactly the audio frames of the file it was tagged from (tags are all that
    changed): then the source's decode stands for it, and the tagged copy need not be decoded again."""
    spans = _mp3_audio_span(tagged), _mp3_audio_span(source)
    if spans[0] is None or spans[1] is None or spans[0][1] - spans[0][0] != spans[1][1] - spans[1][0]:
        return False
    with tagged.open("rb") as a, source.open("rb") as b:
        a.seek(spans[0][0])
        b.seek(spans[1][0])
        left = spans[0][1] - spans[0][0]
        while left > 0:
            size = min(left, 1 << 20)
            if a.read(size) != b.read(size):
                return False
            left -= size
    return True


def master_seconds(
    path: Path,
    content_id: str,
    store: Store,
    ffmpeg_version: str,
    guard: Callable[[], None] | None = None,
    decoder: Callable[[Path], Decoded] = decode,
) -> float:
    """The decoded length of a master, refusing one that is shorter than MIN_SECONDS (its header may say otherwise)."""
    found = decoded(path, content_id, store, ffmpeg_version, guard, decoder)
    if found.seconds < MIN_SECONDS:
        raise MediaError(
            f"only {found.seconds:.2f} s of media decodes from it (at least {MIN_SECONDS:.0f} s is needed)",
            file=str(path),
            hint="export the complete programme again",
        )
    return found.seconds
