"""A thin runner over ffmpeg/ffprobe with pure parsers for what they print."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mediafeed.errors import EnvironmentProblem, MediaError
from mediafeed.media import gating
from mediafeed.mediainfo import MEDIA_TYPES, MediaInfo
from mediafeed.progress import parse_ffmpeg_progress

_T = TypeVar("_T")
Watch = Callable[[float], None]  # told the seconds of output written so far, while ffmpeg runs

INSTALL_HINT = "run `make setup` (installs ffmpeg), install your system's ffmpeg package, or set MEDIAFEED_FFMPEG_DIR"


def find_tool(name: str) -> str:
    """ffmpeg/ffprobe from MEDIAFEED_FFMPEG_DIR, the running virtualenv, then PATH."""
    candidates = []
    if override := os.environ.get("MEDIAFEED_FFMPEG_DIR"):
        candidates.append(Path(override) / name)
    candidates.append(Path(sys.executable).parent / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EnvironmentProblem(f"{name} not found", hint=INSTALL_HINT)
    return found


def run(tool: str, args: list[str], *, subject: Path, watch: Watch | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg or ffprobe; a failure becomes a MediaError naming the file and what the tool said.

    `watch` (ffmpeg only) is told how many seconds of output are done, from ffmpeg's `-progress` report."""
    with progress_pipe(watch if tool == "ffmpeg" else None) as (extra, fds, started):
        command = [find_tool(tool), "-hide_banner", "-nostdin", *extra, *args] if tool == "ffmpeg" else [find_tool(tool), *args]
        result = subprocess.run(command, capture_output=True, check=False, pass_fds=fds)
        started()
    if result.returncode != 0:
        raise MediaError(
            f"{tool} failed: {meaningful_error(result.stderr.decode('utf-8', 'replace').replace(str(subject), subject.name))}",
            file=str(subject),
            hint="check that the file is a complete, playable audio or video file",
        )
    return result


_CONTEXT_PREFIX = re.compile(r"\[[\w:.-]+ @ 0x[0-9a-f]+\]\s*")


def meaningful_error(stderr: str) -> str:
    """The last few informative lines of ffmpeg's stderr, without progress noise and path prefixes."""
    lines = [_CONTEXT_PREFIX.sub("", line).strip() for line in stderr.splitlines() if line.strip()]
    noise = ("Conversion failed", "Exiting normally", "frame=", "size=", "Press [q]")
    useful = [line for line in lines if not line.startswith(noise)]
    return " / ".join(useful[-3:]) if useful else "no error message"


MIME_BY_EXTENSION = MEDIA_TYPES


def probe(path: Path) -> MediaInfo:
    result = run("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)], subject=path)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise MediaError("ffprobe printed no readable description", file=str(path)) from None
    return parse_probe(data, path, path.stat().st_size)


def parse_probe(data: dict[str, Any], path: Path, size: int) -> MediaInfo:
    """Turn ffprobe's JSON into MediaInfo; refuse what a podcast app could not play."""
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    if audio is None:
        raise MediaError("no audio stream", file=str(path), hint="podcast episodes need sound; check the export settings")
    duration = _number(fmt.get("duration")) or _number(audio.get("duration"))
    if not duration or duration <= 0:
        raise MediaError("zero or unknown duration", file=str(path), hint="the file may be truncated; export it again")
    mime = MIME_BY_EXTENSION.get(path.suffix.lower())
    if mime is None:
        raise MediaError(
            f"unsupported file type {path.suffix or '(none)'}", file=str(path), hint=f"use one of: {', '.join(MIME_BY_EXTENSION)}"
        )
    if video is not None and mime.startswith("audio/") and path.suffix.lower() != ".m4a":
        video = None  # cover art in an audio file is not a video
    if video is None and path.suffix.lower() in (".mp4", ".m4v", ".mov"):
        mime = "audio/x-m4a"
    return MediaInfo(
        path=path,
        size=size,
        duration=round(duration, 3),
        mime_type=mime if video is None or mime.startswith("video/") else "video/mp4",
        format_name=str(fmt.get("format_name", "")),
        audio_codec=audio.get("codec_name"),
        channels=_int(audio.get("channels")),
        sample_rate=_int(audio.get("sample_rate")),
        bit_rate=_int(fmt.get("bit_rate")),
        video_codec=video.get("codec_name") if video else None,
        width=_int(video.get("width")) if video else None,
        height=_int(video.get("height")) if video else None,
        video_profile=video.get("profile") if video else None,
        video_level=_int(video.get("level")) if video else None,
        audio_profile=audio.get("profile"),
    )


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


# --- loudness (ITU-R BS.1770 / EBU R128) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Loudness:
    """What ffmpeg's ebur128 filter reports for a whole programme."""

    integrated: float  # LUFS
    lra: float  # LU
    peak: float  # dBFS (dBTP when true_peak)
    true_peak: bool


_SUMMARY_NUMBER = r"\s*(-?(?:\d+(?:\.\d+)?|inf))"


def parse_ebur128(stderr: str) -> Loudness | None:
    """Read the Summary block ebur128 prints when it ends; None when there is none (no audio decoded)."""
    summary = stderr.rsplit("Summary:", 1)
    if len(summary) != 2:
        return None
    text = summary[1]
    integrated = re.search(r"Integrated loudness:\s*I:" + _SUMMARY_NUMBER, text)
    lra = re.search(r"Loudness range:\s*LRA:" + _SUMMARY_NUMBER, text)
    peak = re.search(r"(True|Sample) peak:\s*Peak:" + _SUMMARY_NUMBER, text)
    if integrated is None or lra is None:
        return None
    return Loudness(
        integrated=float(integrated.group(1)),
        lra=float(lra.group(1)),
        peak=float(peak.group(2)) if peak else float("-inf"),
        true_peak=bool(peak and peak.group(1) == "True"),
    )


def ebur128_filter(true_peak: bool) -> str:
    # framelog=verbose keeps the per-frame lines out of the info-level log; the Summary stays.
    return f"ebur128=peak={'true' if true_peak else 'sample'}:framelog=verbose"


def measure_loudness(
    path: Path, *, true_peak: bool, prefilter: str = "", input_format: str | None = None, watch: Watch | None = None
) -> Loudness:
    """Measure the first audio stream of a file (or of stdin when path is '-')."""
    chain = ",".join(part for part in (prefilter, ebur128_filter(true_peak)) if part)
    source = ["-f", input_format] if input_format else []
    args = ["-nostats", "-v", "info", *source, "-i", str(path), "-map", "0:a:0", "-af", chain, "-f", "null", "-"]
    result = run("ffmpeg", args, subject=path, watch=watch)
    return _loudness_or_error(result.stderr.decode("utf-8", "replace"), path)


def _loudness_or_error(stderr: str, path: Path) -> Loudness:
    loudness = parse_ebur128(stderr)
    if loudness is None:
        raise MediaError("could not measure loudness", file=str(path), hint=f"ffmpeg said: {meaningful_error(stderr)}")
    return loudness


# --- loudness in segments, one ffmpeg per core (see media.gating) --------------------------------------------------

BLOCK_RATE = 48000  # ebur128 measures at 48 kHz (it resamples to it); 100 ms blocks are then 4800 samples
_METADATA = re.compile(r"lavfi\.r128\.(M|S|sample_peak|true_peak)=(\S+)")


def cores() -> int:
    """The processors this process may run on (the benchmark and CI pin with taskset), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_blocks(stdout: str, *, true_peak: bool, seconds: float) -> gating.Blocks:
    """ebur128's per-frame metadata (ametadata print, one 100 ms frame each) as one segment's blocks."""
    momentary: list[float] = []
    short_term: list[float] = []
    peak = 0.0
    wanted = "true_peak" if true_peak else "sample_peak"
    for key, value in _METADATA.findall(stdout):
        number = float(value)
        if key == "M":
            momentary.append(number)
        elif key == "S":
            short_term.append(number)
        elif key == wanted:
            peak = max(peak, number)
    return gating.Blocks(momentary, short_term, peak, seconds)


def segment_args(segment: gating.Segment) -> list[str]:
    """Input options that read one segment of a file (seeking is sample-exact for PCM, frame-trimmed otherwise)."""
    start = ["-ss", f"{segment.start:.1f}"] if segment.start_tenths else []
    length = ["-t", f"{segment.length:.1f}"] if segment.length is not None else []
    return [*start, *length]


def in_parallel(job: Callable[[int, gating.Segment], _T], segments: Sequence[gating.Segment]) -> list[_T]:
    """job(index, segment) for each segment, each on a thread of its own (each waits on an ffmpeg), results in order;
    the first failure is raised."""
    if len(segments) == 1:
        return [job(0, segments[0])]
    with ThreadPoolExecutor(max_workers=len(segments), thread_name_prefix="mediafeed-segment") as pool:
        futures = [pool.submit(job, index, segment) for index, segment in enumerate(segments)]
        return [future.result() for future in futures]


@dataclass(frozen=True)
class Measured:
    """A whole programme measured in segments: its loudness, decoded length, and ffmpeg's errors ('' when none)."""

    loudness: Loudness
    seconds: float
    errors: str


def measure_segmented(
    path: Path,
    *,
    true_peak: bool,
    duration: float,
    prefilter: str = "",
    parts: int | None = None,
    watch: Watch | None = None,
) -> Measured:
    """Measure the first audio stream of `path` (about `duration` s long, a header's claim) and decode it to the end,
    in up to `parts` (default: one per core) ffmpeg runs side by side, combined exactly (media.gating)."""
    segments = gating.plan(duration, parts or cores())
    chain = (prefilter + "," if prefilter else "") + (
        f"aresample={BLOCK_RATE},asetnsamples=n={BLOCK_RATE // 10}:p=0,"
        f"ebur128=metadata=1:peak={'true' if true_peak else 'sample'},ametadata=mode=print:file=pipe\\\\:1"
    )
    done = [0.0] * len(segments)
    lock = threading.Lock()

    def measure(index: int, segment: gating.Segment) -> tuple[gating.Blocks, str]:
        def seen(seconds: float) -> None:
            with lock:
                done[index] = seconds
                total = sum(done)
            if watch is not None:
                watch(total)

        args = ["-nostats", "-v", "error", *segment_args(segment), "-i", str(path), "-map", "0:a:0", "-af", chain,
                "-f", "null", "-"]  # fmt: skip
        result = run("ffmpeg", args, subject=path, watch=seen)
        stderr = result.stderr.decode("utf-8", "replace")
        blocks = parse_blocks(result.stdout.decode("ascii", "replace"), true_peak=true_peak, seconds=done[index])
        return blocks, meaningful_error(stderr) if stderr.strip() else ""

    found = in_parallel(measure, segments)
    combined = gating.combine(segments, [blocks for blocks, _ in found])
    errors = " / ".join(error for _, error in found if error)
    loudness = Loudness(
        integrated=round(combined.integrated, 2) if combined.integrated != float("-inf") else combined.integrated,
        lra=round(combined.lra, 2),
        peak=round(combined.peak, 2) if combined.peak != float("-inf") else combined.peak,
        true_peak=true_peak,
    )
    return Measured(loudness, round(combined.seconds, 3), errors)


METER_STREAMS = {"mp3": ("mp3", "mp3"), "mp4": ("adts", "aac")}  # output format → (copy muxer, meter demuxer)


def encode_and_measure(
    args: list[str],
    output: Path,
    fmt: str,
    *,
    subject: Path,
    true_peak: bool,
    watch: Watch | None = None,
    feed: list[str] | None = None,
) -> Loudness:
    """Encode once, and measure the encoded audio at the same time on another core.

    ffmpeg's tee muxer writes the file and a copy of the encoded audio to stdout; a second ffmpeg decodes that copy
    and measures it. The published bytes are what gets measured, at little more than the cost of the encode.
    `watch` is told how many seconds of output are encoded, as the encoder reports them (`-progress`).

    With `feed` (the arguments of an ffmpeg that writes the programme as raw PCM to stdout: decoding, resampling,
    gain, joins), that work runs in a process of its own and the encoder's input is its stdout (`args` read
    `pipe:0`): the MP3 encoder, which is single-threaded, then has a core to itself and the feeder shares the other
    with the meter. The encoded bytes are the same as from one ffmpeg doing it all.
    """
    muxer, demuxer = METER_STREAMS[fmt]
    options = ":onfail=abort" + (":movflags=+faststart" if fmt == "mp4" else "")  # a file it cannot open fails the encode
    tee = f"[f={fmt}{options}]{tee_escape(output)}|[f={muxer}:select=a]pipe:1"
    meter = [find_tool("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", "-v", "info", "-f", demuxer, "-i", "pipe:0",
             "-af", ebur128_filter(true_peak), "-f", "null", "-"]  # fmt: skip
    with contextlib.ExitStack() as stack:
        feeder: subprocess.Popen[bytes] | None = None
        feeder_err = stack.enter_context(tempfile.TemporaryFile())  # a file: a master that spews errors cannot block
        if feed is not None:
            command = [find_tool("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", "-v", "error", *feed]
            feeder = stack.enter_context(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=feeder_err))
        with progress_pipe(watch) as (extra, fds, started):
            encoder = [find_tool("ffmpeg"), "-hide_banner", "-nostdin", *extra, "-v", "error", "-y", *args, "-f", "tee", tee]
            stdin = feeder.stdout if feeder is not None else subprocess.DEVNULL
            with subprocess.Popen(encoder, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=fds) as encoding:
                started()  # only the encoder holds the progress pipe's write end now
                if feeder is not None and feeder.stdout is not None:
                    feeder.stdout.close()  # the encoder owns it now; the feeder sees EPIPE if the encoder dies
                assert encoding.stdout is not None and encoding.stderr is not None
                metering = subprocess.Popen(meter, stdin=encoding.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                with metering:
                    encoding.stdout.close()  # the meter owns the pipe now; the encoder sees EPIPE if the meter dies
                    meter_err = metering.communicate()[1]
                encoder_err = encoding.stderr.read()  # small: errors only (-v error); progress has its own pipe
                encoding.wait()
        if feeder is not None:
            feeder.wait()
            feeder_err.seek(0)
            if feeder.returncode != 0 and encoding.returncode == 0:  # the encoder saw its input end early
                encoder_err, encoding.returncode = feeder_err.read(1 << 16), feeder.returncode
    if encoding.returncode != 0:  # when both failed, the encoder's reason (the feeder's is then a broken pipe)
        raise MediaError(
            f"ffmpeg failed: {meaningful_error(encoder_err.decode('utf-8', 'replace'))}",
            file=str(subject),
            hint="check that the file is a complete, playable audio or video file",
        )
    return _loudness_or_error(meter_err.decode("utf-8", "replace"), output)


@contextmanager
def progress_pipe(watch: Watch | None) -> Iterator[tuple[list[str], tuple[int, ...], Callable[[], None]]]:
    """ffmpeg arguments that send its `-progress` report down a pipe of its own, read by a thread that tells `watch`.

    Yields (arguments, file descriptors to pass to the process, a function to call once it is started). The report
    never shares a pipe with stderr, which is read only at the end: the reader drains it as ffmpeg writes, so
    neither side can block the other, and a `watch` that fails is ignored (the encode matters more than its bar).
    Without `watch`: no arguments, no pipe, no thread."""
    if watch is None:
        yield [], (), lambda: None
        return
    read, write = os.pipe()
    reader = threading.Thread(target=_read_progress, args=(read, watch), name="mediafeed-ffmpeg-progress", daemon=True)
    reader.start()
    owned = [write]

    def started() -> None:  # the child has its copy: close ours, so the reader sees EOF when ffmpeg exits
        if owned:
            os.close(owned.pop())

    try:
        yield ["-progress", f"pipe:{write}"], (write,), started
    finally:
        started()
        reader.join()


def _read_progress(fd: int, watch: Watch) -> None:
    last = -1.0
    with os.fdopen(fd, "r", encoding="ascii", errors="replace") as report:
        for line in report:
            seconds = parse_ffmpeg_progress(line)
            if seconds is None or seconds == last:
                continue  # out_time_us, out_time_ms and out_time repeat one value
            last = seconds
            with contextlib.suppress(Exception):  # keep draining the pipe whatever the display does
                watch(seconds)


def tee_escape(path: Path) -> str:
    """A file name as one slave of ffmpeg's tee muxer: the slave list is split with av_get_token, which ends a slave
    at `|`, reads `'...'` as quoting and `\\` as an escape, so each of those (and `[ ] :`, which the slave options
    use) gets a backslash. Every other character (spaces, commas, `%`, Unicode) passes as it is."""
    return re.sub(r"([\\|\[\]:'])", r"\\\1", str(path))


def placeholder_tone(output: Path, seconds: float = 3.0) -> None:
    """A short, quiet 440 Hz mono MP3: the master of the example episode `mediafeed init` writes (replace it)."""
    run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                   "-af", "volume=0.25", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k",
                   "-map_metadata", "-1", str(output)], subject=output)  # fmt: skip
