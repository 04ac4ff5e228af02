"""`make bench` (shards): media preparation split over runners with `mediafeed build --target s3 --shard K/N`.

A catalog of 40 speech-like masters (1 to 3 minutes each, durations varied deterministically; mono FLAC generated
with ffmpeg, kept in build/bench-shards/masters/ and reused) is a git repository whose s3 target is a bucket on one
moto server on 127.0.0.1. For N = 1, 2 and 4, each N into a fresh bucket (its own commit of the catalog naming it):
  - N concurrent `mediafeed build --target s3 --shard K/N`, each from its own fresh `git clone` (no build/) and each
    pinned to one core with `taskset -c (K-1) % cores` (a stand-in for separate runners: with N = 4 on a 2-core
    machine two shards share a core, which shows the overhead). Reported: wall time (launch of the first to end of
    the last), each shard's wall and CPU time (its process tree: mediafeed and the ffmpeg/ffprobe it waited for),
    encodes counted by an ffmpeg shim (per shard, the distinct masters each encoded: disjoint, and the total equal to
    the encode jobs of the catalog, i.e. nothing prepared twice), speed-up N=1 / N;
  - then `mediafeed publish --target s3` from another fresh clone: its time, encodes (target 0) and what it uploaded.
Targets (from the shared-cache issue): wall time with N = 2 ≤ 0.6 × N = 1; nothing encoded twice; 0 encodes in the
publish.

Also measured: the cost of a shared-tier round trip against moto (PUT and GET of a small value and of a 2 MB file,
boto3 as mediafeed uses it), a shard with nothing left to do (a fresh clone's `build --shard 1/1` after N = 1: the
per-runner fixed cost) and, unless --no-local, a cold local-only build of the same catalog (`build --target local`,
no shared tier, pinned to one core like the N = 1 shard: the difference is what the shared tier costs a runner).
Last, an on-paper estimate of the wall time of a large archive (default 500 hours on 20 runners) from those figures,
with its assumptions printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_storage import GITIGNORE, NOW, environment, free_port, git, point_at, settle

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "bench-shards"
MEDIAFEED = [sys.executable, "-m", "mediafeed"]
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
MASTERS = int(os.environ.get("BENCH_SHARD_MASTERS", "40"))  # fewer only to try the script out
LOG = "BENCH_SHARD_LOG"  # when set, the shims log every start (tool, then its arguments, tab-separated) to this file
ENCODER_OPTIONS = ("-c", "-codec", "-c:a", "-codec:a", "-acodec")
SPEECH = (  # pink noise shaped like speech: syllable-rate tremolo, pauses, telephone-ish band (as bench_media.py)
    "anoisesrc=color=pink:seed={seed}:amplitude=0.5:duration={seconds},tremolo=f=4:d=0.85,"
    "volume='if(lt(mod(t,4.3),3.4),1,0.03)':eval=frame,highpass=f=90,lowpass=f=7000,volume=-6dB"
)


def durations() -> list[int]:
    """Seconds of each master: 60 to 180, spread deterministically (37 is prime to the 121 values)."""
    return [60 + (i * 37) % 121 for i in range(MASTERS)]


def generate_masters() -> list[Path]:
    """The 40 masters, made once (two ffmpeg at a time) and reused by later runs."""
    folder = WORK / "masters"
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int, seconds: int) -> Path:
        path = folder / f"master-{i:02d}-{seconds}s.flac"
        if not path.exists():
            part = path.with_suffix(".part.flac")
            subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", SPEECH.format(seed=100 + i, seconds=seconds),
                            "-ac", "1", "-ar", "44100", "-sample_fmt", "s16", str(part)], check=True)  # fmt: skip
            part.rename(path)
        return path

    print(f"masters in {folder} (made once) ...", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(MASTERS), durations()))


def make_catalog(project: Path, masters: list[Path]) -> None:
    """The sample configuration, feeds and artwork, and one podcast episode per master (hard-linked), committed."""
    project.mkdir(parents=True)
    shutil.copy(REPO / "mediafeed.toml", project)
    shutil.copytree(REPO / "feeds", project / "feeds")
    shutil.copytree(REPO / "artwork", project / "artwork")
    for n, master in enumerate(masters):
        bundle = project / "episodes" / f"episode-{n:02d}"
        bundle.mkdir(parents=True)
        os.link(master, bundle / "audio.flac")
        (bundle / "index.md").write_text(
            "---\n"
            f"title: Shard benchmark episode {n}\n"
            f"guid: 00000000-0000-4000-8000-{n:012d}\n"
            "kind: podcast\n"
            "topics: [general-psychiatry]\n"
            f"published: 2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:{n % 60:02d}:00-05:00\n"
            "media: audio.flac\n"
            f"season: 1\nepisode: {n + 1}\n"
            "---\n"
            "Show notes.\n"
        )
    (project / ".gitignore").write_text(GITIGNORE)
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", "shard benchmark catalog")


def tool_shims(folder: Path) -> Path:
    """`ffmpeg` and `ffprobe` that log each start with its arguments when LOG is set (one write per call, so shards
    running at once can share a file), then exec the machine's tools. Every mediafeed run here goes through them."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("ffmpeg", "ffprobe"):
        real = shutil.which(tool, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        if real is None:
            sys.exit(f"{tool} not found")
        script = folder / tool
        script.write_text(
            "#!/bin/sh\n"
            f'if [ -n "${LOG}" ]; then\n'
            f"  line={tool}\n"
            '  for arg in "$@"; do line="$line\t$arg"; done\n'
            f'  printf "%s\\n" "$line" >> "${LOG}"\n'
            "fi\n"
            f'exec "{real}" "$@"\n'
        )
        script.chmod(0o755)
    return folder


def calls(log: Path) -> list[list[str]]:
    return [line.split("\t") for line in log.read_text().splitlines()] if log.is_file() else []


def encoded(log: Path) -> list[str]:
    """The episode (folder) of the master each encoding ffmpeg run read: a run that picks an audio codec other than
    a stream copy, its first input under episodes/."""
    found = []
    for call in calls(log):
        args = call[1:]
        if call[0] != "ffmpeg" or not any(a in ENCODER_OPTIONS and b != "copy" for a, b in itertools.pairwise(args)):
            continue
        inputs = [b for a, b in itertools.pairwise(args) if a == "-i" and "/episodes/" in b]
        found += [Path(inputs[0]).parent.name] if inputs else []
    return found


@dataclass
class Process:
    """One mediafeed run: its wall time, and the CPU time of its process tree (what wait4 reports: the process and
    the children it waited for, ffmpeg included)."""

    label: str
    wall: float = 0.0
    cpu: float = 0.0
    stdout: str = ""
    stderr: str = ""
    log: Path | None = None
    made: list[str] = field(default_factory=list)  # episodes whose master it encoded (one entry per encode)


def launch(project: Path, env: dict[str, str], args: list[str], core: int | None, log: Path, out: Path) -> subprocess.Popen:
    pin = ["taskset", "-c", str(core)] if core is not None else []
    command = [*pin, *MEDIAFEED, "--project", str(project), "--now", NOW, *args]
    with (out.with_suffix(".out")).open("w") as stdout, (out.with_suffix(".err")).open("w") as stderr:
        return subprocess.Popen(command, env={**env, LOG: str(log)}, stdout=stdout, stderr=stderr)


def finish(process: subprocess.Popen, started: float, result: Process, out: Path) -> None:
    _, status, usage = os.wait4(process.pid, 0)
    result.wall = time.perf_counter() - started
    result.cpu = usage.ru_utime + usage.ru_stime
    process.returncode = os.waitstatus_to_exitcode(status)
    result.stdout, result.stderr = out.with_suffix(".out").read_text(), out.with_suffix(".err").read_text()
    if process.returncode != 0:
        sys.exit(f"{result.label} failed ({process.returncode}):\n{result.stderr[-3000:]}")
    if result.log is not None:
        result.made = encoded(result.log)


def run_many(jobs: list[tuple[str, Path, list[str], int | None]], env: dict[str, str], logs: Path) -> tuple[float, list[Process]]:
    """Start every (label, project, args, core) at once; (wall time until the last ended, each one's figures)."""
    results, started_processes = [], []
    start = time.perf_counter()
    for label, project, args, core in jobs:
        log, out = logs / f"{label}.log", logs / label
        log.unlink(missing_ok=True)
        results.append(Process(label, log=log))
        started_processes.append(launch(project, env, args, core, log, out))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(lambda i: finish(started_processes[i], start, results[i], logs / results[i].label), range(len(jobs))))
    return time.perf_counter() - start, results


def clone(origin: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    git(folder.parent, "clone", "--quiet", str(origin), str(folder))
    assert not (folder / "build").exists()
    return folder


def listing(client: object, bucket: str, prefix: str = "") -> dict[str, int]:
    """Key → size of every object of `bucket` under `prefix`."""
    found: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):  # type: ignore[attr-defined]
        found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return found


def round_trips(client: object, bucket: str, repeat: int = 20) -> dict[str, float]:
    """Median milliseconds of a PUT and a GET of a small value (1 kB) and of a 2 MB file against the server."""
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    figures = {}
    for label, size in (("1 kB value", 1000), ("2 MB file", 2_000_000)):
        body = os.urandom(size)
        puts, gets = [], []
        for i in range(repeat):
            start = time.perf_counter()
            client.put_object(Bucket=bucket, Key=f"rt/{label}/{i}", Body=body)  # type: ignore[attr-defined]
            puts.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert len(client.get_object(Bucket=bucket, Key=f"rt/{label}/{i}")["Body"].read()) == size  # type: ignore[attr-defined]
            gets.append(time.perf_counter() - start)
        figures[f"PUT {label}"] = statistics.median(puts) * 1000
        figures[f"GET {label}"] = statistics.median(gets) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", default="1,2,4", help="the values of N, comma-separated (default 1,2,4)")
    parser.add_argument("--no-local", action="store_true", help="skip the cold local-only build (one more full encode)")
    parser.add_argument("--archive-hours", type=float, default=500.0, help="estimate: hours of audio (default 500)")
    parser.add_argument("--runners", type=int, default=20, help="estimate: runners (default 20)")
    parser.add_argument("--runner-cores", type=int, default=2, help="estimate: cores per runner (default 2)")
    parser.add_argument("--master-minutes", type=float, default=60.0, help="estimate: length of one master (default 60)")
    parser.add_argument("--upload-mbps", type=float, default=50.0, help="estimate: MB/s to and from the bucket (default 50)")
    options = parser.parse_args()
    counts = [int(n) for n in options.shards.split(",")]
    cores = len(os.sched_getaffinity(0))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    masters = generate_masters()
    audio_hours = sum(durations()) / 3600
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench-secret")  # fmt: skip
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "mediafeed")], check=True)  # as pip install does
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            env = environment(root)
            env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed tools run
            env["MEDIAFEED_FFMPEG_DIR"] = str(tool_shims(root / "tools"))
            logs = root / "logs"
            logs.mkdir()
            catalog = root / "catalog"
            make_catalog(catalog, masters)
            rt = round_trips(client, "bench-round-trips")

            walls: dict[int, float] = {}
            shards: dict[int, list[Process]] = {}
            publishes: dict[int, tuple[Process, dict]] = {}
            uploaded: dict[int, int] = {}
            idle: Process | None = None
            local: Process | None = None
            load_before = os.getloadavg()[0]
            for n in counts:
                bucket = f"bench-shards-{n}"
                client.create_bucket(Bucket=bucket)
                origin = clone(catalog, root / f"origin-{n}")
                point_at(origin, endpoint, bucket, public="bench-shards")  # one public URL: the same tags for every N
                git(origin, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-am", f"bucket {bucket}")
                runners = [clone(origin, root / f"n{n}-shard{k}") for k in range(1, n + 1)]
                settle()
                print(f"N = {n}: {n} shard build(s) at once ...", file=sys.stderr)
                jobs = [(f"n{n}-shard{k}", runners[k - 1], ["build", "--target", "s3", "--shard", f"{k}/{n}"], (k - 1) % cores)
                        for k in range(1, n + 1)]  # fmt: skip
                walls[n], shards[n] = run_many(jobs, env, logs)
                for runner in runners:
                    shutil.rmtree(runner)
                if n == 1:  # a shard with nothing left to do: what every runner pays whatever its part
                    again = clone(origin, root / "idle-shard")
                    settle()
                    _, (idle,) = run_many([("idle-shard", again, ["build", "--target", "s3", "--shard", "1/1"], 0)], env, logs)
                    shutil.rmtree(again)
                    if not options.no_local:  # right after N = 1, so that both see the same load on the machine
                        project = clone(catalog, root / "local-only")
                        settle()
                        print("cold local-only build (no shared tier) ...", file=sys.stderr)
                        _, (local,) = run_many([("local-only", project, ["build", "--target", "local"], 0)], env, logs)
                        shutil.rmtree(project)
                publisher = clone(origin, root / f"n{n}-publisher")
                settle()
                print(f"N = {n}: publish from another fresh clone ...", file=sys.stderr)
                _, (published,) = run_many(
                    [(f"n{n}-publish", publisher, ["publish", "--target", "s3", "--json"], None)], env, logs
                )
                publishes[n] = (published, json.loads(published.stdout))
                shutil.rmtree(publisher)
                uploaded[n] = sum(size for key, size in listing(client, bucket, "_mediafeed/cache/").items() if "/files/" in key)
            load_after = os.getloadavg()[0]
    finally:
        server.stop()

    verdict = {True: "MET", False: "MISSED"}
    print(f"shard benchmark: {MASTERS} masters, {audio_hours * 60:.0f} minutes of speech-like mono FLAC (1-3 min each), "
          f"moto on 127.0.0.1, {cores} cores (load average {load_before:.1f} before, {load_after:.1f} after)")  # fmt: skip
    expected = len(shards[counts[0]][0].made) if counts[0] == 1 else None
    print(f"  {'N':>3} {'wall':>8} {'speed-up':>9}  shards (wall / CPU s, encodes, distinct masters)")
    base = walls.get(1)
    for n in counts:
        parts = shards[n]
        made = [set(p.made) for p in parts]
        total = sum(len(p.made) for p in parts)
        disjoint = sum(len(m) for m in made) == len(set().union(*made))
        twice = sum(len(p.made) - len(set(p.made)) for p in parts)
        speed = f"{base / walls[n]:8.2f}x" if base else "        -"
        each = "; ".join(f"{p.wall:.1f}/{p.cpu:.1f} s, {len(p.made)} enc, {len(set(p.made))} masters" for p in parts)
        check = (
            f"total {total} encodes of {len(set().union(*made))} masters, disjoint: {'yes' if disjoint and not twice else 'NO'}"
        )
        if expected is not None:
            check += f", {'=' if total == expected else '!='} N=1's {expected}"
        cpu = sum(p.cpu for p in parts)
        check += f"; CPU of all shards {cpu:.1f} s" + (f" ({cpu / shards[1][0].cpu:.2f}x N=1's)" if 1 in shards else "")
        print(f"  {n:>3} {walls[n]:7.2f}s {speed}  {each}")
        print(f"      {check}")
    if base and 2 in walls:
        ratio = walls[2] / base
        print(f"  ratio wall N=2 / N=1: {ratio:.2f}   (target <= 0.6)  {verdict[ratio <= 0.6]}")
        # On a machine other work shares, a pinned shard gets only part of its core: the wall ratio then measures
        # the load as much as the split. The busiest shard's CPU time is what its wall time would be on a core of
        # its own (the shards are CPU-bound: ffmpeg).
        busiest = max(p.cpu for p in shards[2]) / shards[1][0].cpu
        share = ", ".join(f"{p.cpu / p.wall:.0%}" for n in counts for p in shards[n])
        print(f"  ratio busiest shard's CPU N=2 / N=1's CPU: {busiest:.2f}   (the wall ratio with a core per runner; "
              f"share of its core each shard got, N = {', '.join(map(str, counts))}: {share})")  # fmt: skip
    for n in counts:
        published, report = publishes[n]
        media = [u for u in report["uploads"] if u.get("stage") == "media"]
        print(f"  publish after N={n} (fresh clone): {published.wall:.2f} s wall, {published.cpu:.1f} s CPU, "
              f"{len(published.made)} encodes (target 0) {verdict[not published.made]}, "
              f"{sum(1 for c in calls(published.log) if c[0] == 'ffprobe')} ffprobe, {len(report['uploads'])} uploads "  # type: ignore[arg-type]
              f"({len(media)} media, {report.get('bytes_written', 0) / 1e6:.1f} MB)")  # fmt: skip
    print("  shared-tier round trips against moto (boto3, median of 20): "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in rt.items()))  # fmt: skip
    one = shards[1][0] if 1 in shards else None
    if idle is not None:
        print(f"  idle shard (fresh clone, everything already shared): {idle.wall:.2f} s wall, {idle.cpu:.1f} s CPU, "
              f"{len(idle.made)} encodes: the fixed cost of a runner")  # fmt: skip
    if local is not None and one is not None:
        print(f"  cold local-only build (no shared tier, 1 core): {local.wall:.2f} s wall, {local.cpu:.1f} s CPU; "
              f"shard 1/1 {one.wall:.2f} s: the shared tier costs {one.wall - local.wall:+.2f} s "
              f"({(one.wall - local.wall) / max(len(one.made), 1) * 1000:+.0f} ms per master)")  # fmt: skip
    if one is None or idle is None:
        return
    cpu_per_hour = one.cpu / audio_hours
    bytes_per_hour = uploaded[1] / audio_hours
    hours_each = options.archive_hours / options.runners + options.master_minutes / 60  # perfect balance, +1 master
    media_s = hours_each * cpu_per_hour / options.runner_cores
    up_s = hours_each * bytes_per_hour / (options.upload_mbps * 1e6)
    shard_s = idle.wall + media_s + up_s
    total_bytes = options.archive_hours * bytes_per_hour
    publish_s = idle.wall + 2 * total_bytes / (options.upload_mbps * 1e6)  # down from the shared tier, up to the target
    print(f"  estimate for {options.archive_hours:.0f} hours on {options.runners} runners: {(shard_s + publish_s) / 60:.1f} min "
          f"(shards {shard_s / 60:.1f} min, then the publish {publish_s / 60:.1f} min); on one such runner "
          f"{(idle.wall + options.archive_hours * cpu_per_hour / options.runner_cores) / 3600:.1f} h of media work")  # fmt: skip
    print(f"      measured: {cpu_per_hour:.0f} s CPU per hour of audio (N=1 shard's process tree, 1 core), "
          f"{bytes_per_hour / 1e6:.0f} MB of deliveries per hour of audio, "
          f"{idle.wall:.1f} s fixed cost per runner (idle shard)")  # fmt: skip
    print(f"      assumed: perfect balance +1 master of {options.master_minutes:.0f} min per runner "
          f"({hours_each:.1f} h of audio each), {options.runner_cores} cores per runner used in full, "
          f"{options.upload_mbps:.0f} MB/s to and from the bucket, a publish that downloads every delivery from the "
          "shared tier and uploads it (fixed cost as an idle shard), no queueing for runners")  # fmt: skip


if __name__ == "__main__":
    main()
