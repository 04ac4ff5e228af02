"""Loudness normalization benchmark: mediafeed vs ffmpeg-normalize vs a plain ffmpeg transcode (the floor).

Inputs are generated with ffmpeg: a 30-minute speech-like stereo programme at about −26 LUFS and a 5-minute hot
music-like track with peaks near 0 dBFS (and, unless --quick, a 2-hour mono webinar for the memory target).
For each method: wall time, × realtime, peak RSS of the whole process tree, and the output's integrated loudness
and true peak as ffmpeg's ebur128 (true-peak mode) measures them. Targets (issue 3): mediafeed ≥ 3× faster than
ffmpeg-normalize, ≤ 1.5× the plain transcode, within ±0.5 LU of −16 LUFS, true peak ≤ −1 dBTP; peak RSS < 250 MB
while preparing the 2-hour mono webinar.

ffmpeg-normalize is installed into its own virtualenv under build/bench/ (never into the project's).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "bench"
SPEECH_SECONDS = int(os.environ.get("BENCH_SPEECH_SECONDS", "1800"))
PYTHON = sys.executable
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


@dataclass
class Result:
    method: str
    seconds: float
    rss_mb: float
    integrated: float
    true_peak: float


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 1e6


def run_once(command: list[str], *, sample: bool) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of the process tree, sampled every 50 ms when `sample`)."""
    peak = 0.0
    # Measure the tool as installed tools run: with bytecode caches (this sandbox sets PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=watch, daemon=True)
    if sample:
        sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    if sample:
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{err.decode()[-2000:]}")
    return elapsed, peak


def run_measured(command: list[str], *, repeat: int = 2, before: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Best wall time of `repeat` unsampled runs (the /proc sampler would steal a core), then one sampled run for
    peak RSS. `before` resets state between runs (e.g. clears build/ so every run does the full work)."""
    times = []
    for _ in range(repeat):
        before()
        times.append(run_once(command, sample=False)[0])
    before()
    _, peak = run_once(command, sample=True)
    return min(times), peak


def ebur128(path: Path) -> tuple[float, float]:
    meter = "ebur128=peak=true:framelog=verbose"
    out = subprocess.run([FFMPEG, "-nostats", "-i", str(path), "-map", "0:a:0", "-af", meter, "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr.rsplit("Summary:", 1)[1]  # fmt: skip
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", out).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", out).group(1))  # type: ignore[union-attr]
    return integrated, peak


def generate_inputs(quick: bool) -> dict[str, Path]:
    """Inputs at the levels the issue names: each raw signal is measured, then scaled (and, for music, clipped)."""
    speech = SPEECH
    music = "anoisesrc=color=pink:seed=12:amplitude=0.9:duration={d},lowpass=f=12000"
    stereo = ["-ac", "2", "-ar", "48000"]
    plans = {
        "speech-30min-stereo": (".wav", speech.format(d=SPEECH_SECONDS), stereo, -26.0, "", stereo),
        "music-5min-hot": (".wav", music.format(d=300), stereo, -10.0,
                           ",alimiter=limit=0.995:attack=1:release=20:level=false", ["-ac", "2", "-ar", "44100"]),
    }  # fmt: skip
    if not quick:
        video = ["-f", "lavfi", "-i", "color=c=gray:size=64x36:rate=1:duration=7200"]
        encode = ["-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                  "-c:a", "aac", "-b:a", "64k", "-shortest"]  # fmt: skip
        plans["webinar-2h-mono"] = (".mp4", speech.format(d=7200), ["-ac", "1"], -30.0, "", [*video, *encode])
    return {name: generate(name, *plan) for name, plan in plans.items()}


SPEECH = (
    "anoisesrc=color=pink:seed=11:amplitude=0.5:duration={d},tremolo=f=4:d=0.85,"
    "volume='if(lt(mod(t,4.3),3.4),1,0.03)':eval=frame,highpass=f=90,lowpass=f=7000"
)


def generate(name: str, suffix: str, signal: str, layout: list[str], level: float, after: str, encode: list[str]) -> Path:
    """One input at `level` LUFS: the raw signal is measured, then scaled (and `after` applied); made once."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}{suffix}"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        raw = WORK / f"{name}-raw.wav"
        subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", signal, *layout, "-c:a", "pcm_f32le", str(raw)],
                       check=True)  # fmt: skip
        gain = level - ebur128(raw)[0]
        extra_inputs = encode[:4] if suffix == ".mp4" else []
        rest = encode[4:] if suffix == ".mp4" else encode
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(raw), *extra_inputs, "-af", f"volume={gain:.2f}dB{after}",
                        *rest, str(path)], check=True)  # fmt: skip
        raw.unlink()
    return path


def mediafeed_project(source: Path) -> Path:
    """A one-episode project around the source (hard-linked, so nothing is copied)."""
    project = WORK / f"project-{source.stem}"
    shutil.rmtree(project, ignore_errors=True)
    (project / "feeds").mkdir(parents=True)
    (project / "episodes" / "bench").mkdir(parents=True)
    shutil.copy(REPO / "mediafeed.toml", project)
    shutil.copytree(REPO / "artwork", project / "artwork")
    medium = "video" if source.suffix == ".mp4" else "audio"
    (project / "feeds" / "bench.yaml").write_text(
        "title: Bench\ndescription: Benchmark feed\nlink: https://www.example.org/\nlanguage: en\nauthor: Bench\n"
        "owner: {name: Bench, email: bench@example.org}\nimage: artwork/podcast.png\ncategory: Science\n"
        f"explicit: false\nmedium: {medium}\n"
    )
    os.link(source, project / "episodes" / "bench" / source.name)
    (project / "episodes" / "bench" / "index.md").write_text(
        "---\ntitle: Bench\nguid: 00000000-0000-4000-8000-000000000001\nkind: podcast\n"
        f"published: 2026-01-01T00:00:00Z\nmedia: {source.name}\n---\nNotes.\n"
    )
    return project


def bench_mediafeed(source: Path, repeat: int = 2) -> Result:
    project = mediafeed_project(source)
    seconds, rss = run_measured(
        [PYTHON, "-m", "mediafeed", "--project", str(project), "-q", "build"],
        repeat=repeat,
        before=lambda: shutil.rmtree(project / "build", ignore_errors=True),
    )
    # Measured on the published file: publish (from the store, nothing encoded again) into the project's public/.
    subprocess.run([PYTHON, "-m", "mediafeed", "--project", str(project), "-q", "--now", "2026-12-31T00:00:00Z", "publish"],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    outputs = sorted((project / "public" / "media").glob("*.mp3"))
    integrated, peak = ebur128(outputs[0])
    return Result("mediafeed", seconds, rss, integrated, peak)


def bench_ffmpeg_normalize(source: Path) -> Result:
    venv = WORK / "ffmpeg-normalize-venv"
    if not (venv / "bin" / "ffmpeg-normalize").exists():
        subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
        subprocess.run([venv / "bin" / "pip", "install", "-q", "ffmpeg-normalize==1.43.0"], check=True)
    output = WORK / f"{source.stem}-ffmpeg-normalize.mp3"
    command = [str(venv / "bin" / "ffmpeg-normalize"), str(source), "-o", str(output), "-f", "-t", "-16", "-tp", "-1",
               "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100", "-vn"]  # fmt: skip
    seconds, rss = run_measured(command, repeat=1)
    integrated, peak = ebur128(output)
    return Result("ffmpeg-normalize", seconds, rss, integrated, peak)


def bench_plain(source: Path) -> Result:
    output = WORK / f"{source.stem}-plain.mp3"
    seconds, rss = run_measured([FFMPEG, "-v", "error", "-y", "-i", str(source), "-map", "0:a:0", "-c:a", "libmp3lame",
                                 "-b:a", "128k", "-ar", "44100", str(output)])  # fmt: skip
    integrated, peak = ebur128(output)
    return Result("plain transcode", seconds, rss, integrated, peak)


# --- one long master, all the cores (issue 15, item 5) ----------------------------------------------------------------

SINGLE_MINUTES = tuple(int(m) for m in os.environ.get("BENCH_SINGLE_MINUTES", "10,30").split(","))
SINGLE_ROUNDS = 3


def prepare_once(source: Path) -> None:
    """Run in a process of its own (`--prepare-once PATH`): prepare one episode of `source` with a cold cache through
    the prepare path (probe, measure, encode, verify, tag, verify), timed around that call only (the interpreter's
    start and imports are the CLI figure's business); prints the seconds and the published file."""
    import json
    from datetime import UTC, datetime

    from mediafeed.cache.identity import ContentIds
    from mediafeed.cache.store import Store
    from mediafeed.media.prepare import TagContext, prepare_episode
    from mediafeed.media.probe import Facts
    from mediafeed.models import Episode

    build = WORK / f"prepare-{source.stem}" / "build"
    shutil.rmtree(build.parent, ignore_errors=True)
    build.mkdir(parents=True)
    store = Store(build, root=build.parent)
    episode = Episode(
        slug="bench", file="episodes/bench/index.md", title="Bench", guid="00000000-0000-4000-8000-000000000001",
        kind="podcast", topics=(), published=datetime(2026, 1, 1, tzinfo=UTC), media=str(source),
        description_html="<p>Notes.</p>", content_html="<p>Notes.</p>",
    )  # fmt: skip
    feed_url = "https://media.example.org/feeds/bench.xml"
    context = TagContext(album="Bench", feed_url=feed_url, artwork=REPO / "artwork" / "podcast.png")
    start = time.perf_counter()
    prepared = prepare_episode(episode, Facts(store, ContentIds(build.parent, store)), context=context)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "path": str(prepared.main.path)}))


def bench_single_master(minutes: int) -> None:
    """mediafeed preparing one speech master vs a plain transcode of it, alternating, best of SINGLE_ROUNDS each."""
    import json

    source = generate(f"speech-{minutes}min-stereo", ".wav", SPEECH.format(d=minutes * 60), ["-ac", "2", "-ar", "48000"],
                      -26.0, "", ["-ac", "2", "-ar", "48000"])  # fmt: skip
    plain_out = WORK / f"{source.stem}-plain.mp3"
    plain = [FFMPEG, "-v", "error", "-y", "-i", str(source), "-c:a", "libmp3lame", "-b:a", "128k", str(plain_out)]
    project = mediafeed_project(source)
    build = [PYTHON, "-m", "mediafeed", "--project", str(project), "-q", "build"]
    times: dict[str, list[float]] = {"plain": [], "prepare": [], "build": []}
    published = Path()
    for _ in range(SINGLE_ROUNDS):
        times["plain"].append(run_once(plain, sample=False)[0])
        done = subprocess.run([PYTHON, __file__, "--prepare-once", str(source)], capture_output=True, text=True, check=True)
        outcome = json.loads(done.stdout.splitlines()[-1])
        times["prepare"].append(outcome["seconds"])
        published = Path(outcome["path"])
        shutil.rmtree(project / "build", ignore_errors=True)
        times["build"].append(run_once(build, sample=False)[0])
    best = {name: min(values) for name, values in times.items()}
    integrated, peak = ebur128(published)
    cores = len(os.sched_getaffinity(0))
    print(f"\none {minutes}-minute speech master (stereo 48 kHz, {ebur128(source)[0]:.1f} LUFS), {cores} cores, "
          f"best of {SINGLE_ROUNDS}:")  # fmt: skip

    def line(label: str, name: str, target: str = "") -> str:
        every = ", ".join(f"{t:.2f}" for t in times[name])
        ratio = f"ratio {best[name] / best['plain']:.2f}{target}" if name != "plain" else ""
        return f"  {label:<52} {best[name]:6.2f} s  {ratio:<26} (all: {every})"

    print(line("plain transcode (ffmpeg -c:a libmp3lame -b:a 128k)", "plain"))
    print(line("mediafeed prepare path, cold cache", "prepare", " (target <= 1.2)"))
    print(line("mediafeed build (CLI: start-up, catalog, prepare)", "build"))
    on_target = abs(integrated + 16) <= 0.5 and peak <= -1.0
    print(f"  published file: {integrated:.1f} LUFS, {peak:.1f} dBTP (target -16 +/- 0.5 LUFS, <= -1 dBTP): "
          f"{'on target' if on_target else 'OFF TARGET'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 2-hour webinar")
    parser.add_argument("--single", action="store_true", help="only the one-long-master comparison")
    parser.add_argument("--prepare-once", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare_once:
        prepare_once(options.prepare_once)
        return
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "mediafeed")], check=True)  # as pip install does
    for minutes in SINGLE_MINUTES:
        bench_single_master(minutes)
    if options.single:
        return
    for name, source in generate_inputs(options.quick).items():
        probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(source)]
        duration = float(subprocess.run(probe,
                                        capture_output=True, text=True, check=True).stdout)  # fmt: skip
        source_i, source_tp = ebur128(source)
        print(f"\n{name}: {duration / 60:.0f} min, source {source_i:.1f} LUFS, {source_tp:.1f} dBTP")
        if name.startswith("webinar"):
            result = bench_mediafeed(source, repeat=1)
            print(f"  mediafeed (MP4 with copied video + normalized AAC, and the MP3 rendition): {result.seconds:.1f} s, "
                  f"{duration / result.seconds:.0f}x realtime, peak RSS of the process tree {result.rss_mb:.0f} MB "
                  f"(target < 250 MB); MP3 rendition {result.integrated:.1f} LUFS, {result.true_peak:.1f} dBTP")  # fmt: skip
            continue
        results = [bench_mediafeed(source), bench_ffmpeg_normalize(source), bench_plain(source)]
        for r in results:
            print(f"  {r.method:<17} {r.seconds:7.1f} s  {duration / r.seconds:6.0f}x realtime  peak RSS {r.rss_mb:6.0f} MB"
                  f"  output {r.integrated:6.1f} LUFS  {r.true_peak:5.1f} dBTP")  # fmt: skip
        ours, normalize, plain = results
        print(
            f"  ratio mediafeed / ffmpeg-normalize: {ours.seconds / normalize.seconds:.2f} "
            f"({normalize.seconds / ours.seconds:.1f}x faster; target >= 3x)"
        )
        print(f"  ratio mediafeed / plain transcode:  {ours.seconds / plain.seconds:.2f} (target <= 1.5)")
        on_target = abs(ours.integrated + 16) <= 0.5 and ours.true_peak <= -1.0
        print(f"  mediafeed output on target (-16 +/- 0.5 LUFS, <= -1 dBTP): {'yes' if on_target else 'NO'}")


if __name__ == "__main__":
    main()
