"""`make bench` (storage): publishing a large synthetic catalog to an S3-compatible server, against `aws s3 sync`.

A catalog of N episodes (tiny distinct MP3s, default 10,000) is published to a moto server on 127.0.0.1:
  - first publish (everything uploads), warm no-op republish (time and bytes), one-episode-changed republish;
  - CI-shaped no-op: what a scheduled CI job pays when nothing changed. The catalog is a git repository; each run
    publishes from a fresh `git clone` in another folder (every file has a new inode, mtime and ctime; the path
    differs too: build/ is meant to be relocatable) into which the project's build/ was copied with its metadata
    (as actions/cache restores a tar). Reported: time (min/median/max of --repeat runs, each the first in its own
    fresh clone), ffmpeg and ffprobe processes started (counted by a shim that MEDIAFEED_FFMPEG_DIR points at),
    bytes sent, writes, and whether the no-op receipt was used;
  - the same for a copy made without metadata and without git (shutil.copyfile, build/ included), where file
    contents have to be hashed: informational, no target;
  - fresh-runner no-op: a `git clone` with NO build/ at all (nothing restored) publishing the unchanged catalog to a
    bucket of its own (bench-fresh) that an earlier publish from another clone (build/ restored) filled, with the
    cache's shared tier on (the default for an S3 target: the bucket's `_mediafeed/cache/`, with its blob packs and
    the receipt of the manifest version the bucket holds). Reported as above, plus the objects changed in the whole
    bucket listing (keys and ETags before and after, `_mediafeed/cache/` included) and the files in the clone's
    build/cache/files afterwards (what was downloaded from the shared tier);
and, in the same run against the same server, `aws s3 sync` of the same files (what the first publish put in the
bucket, laid out in a folder by publishing the same catalog to a local target) into a second bucket:
  - first sync, no-op sync.
First publish and first sync are timed --repeat times each (alternating which goes first, each into an emptied
bucket, each publish starting from the build/ that media preparation left) and the best of each is compared: on a
small shared VM single runs vary by about 10%.
The no-op sync is timed --repeat times too; the no-op ratios are against its median.
Targets (from the storage issue): warm no-op republish ≤ 0.5 × the no-op sync, with 0 bytes sent; CI-shaped no-op
≤ 0.5 × the no-op sync (median), with 0 ffmpeg/ffprobe processes, 0 bytes sent and 0 writes; first publish no
slower than the first sync. From the shared-cache issue: fresh-runner no-op ≤ 0.5 × the no-op sync (median), with 0
ffmpeg/ffprobe processes, 0 bytes downloaded (no file in the clone's build/cache/files), 0 objects changed in the
bucket and the receipt used.

Media preparation (loudness, encoding and tagging of each master, once) is done before the timed runs with
`mediafeed build --target s3` (as a CI job would: the tags name the target's feed URL) and reported separately:
`aws s3 sync` has no equivalent. awscli is installed into its own
throwaway virtualenv (build/bench-awscli), never into the project's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import make_catalog

REPO = Path(__file__).resolve().parent.parent
MEDIAFEED = [sys.executable, "-m", "mediafeed"]
NOW = "2026-12-31T00:00:00Z"
AWSCLI_VENV = REPO / "build" / "bench-awscli"
GIT_ENV = {  # fixed author, committer and dates; no system or user git configuration (signing, hooks, templates)
    "GIT_AUTHOR_NAME": "mediafeed bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "mediafeed bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}
GITIGNORE = "/build/\n/public/\n"  # as in a real catalog repository: the cache and the local target are not committed
TOOL_LOG = "BENCH_TOOL_LOG"  # when set, the ffmpeg/ffprobe shims log every start to this file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def awscli() -> Path:
    aws = AWSCLI_VENV / "bin" / "aws"
    if not aws.exists():
        print(f"installing awscli into {AWSCLI_VENV} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        subprocess.run([str(AWSCLI_VENV / "bin" / "pip"), "install", "-q", "awscli"], check=True)
    return aws


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(folder / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "no-aws-credentials"),
    )
    return env


def point_at(project: Path, endpoint: str, bucket: str, public: str | None = None) -> None:
    """The s3 target of `project` is `bucket` on `endpoint`; its public URL that of `public` (default: `bucket`)."""
    toml = project / "mediafeed.toml"
    text = toml.read_text()
    start, end = text.index("[targets.s3]"), text.index("[media]")
    section = (
        f'[targets.s3]\ntype = "s3"\nbucket = "{bucket}"\nregion = "us-east-1"\nendpoint_url = "{endpoint}"\n'
        f'addressing_style = "path"\npublic_url = "{endpoint}/{public or bucket}"\n\n'
    )
    new = text[:start] + section + text[end:]
    if new != text:  # rewriting the same bytes would still give the file a new mtime
        toml.write_text(new)


def empty(client: object, bucket: str) -> None:
    """Delete every object of `bucket` (a first publish or first sync again, on the same server)."""
    while True:
        listed = client.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
        keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if not keys:
            return
        client.delete_objects(Bucket=bucket, Delete={"Objects": keys})  # type: ignore[attr-defined]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def mediafeed(project: Path, env: dict[str, str], *args: str) -> tuple[float, dict]:
    seconds, out = timed([*MEDIAFEED, "--project", str(project), "-q", "--now", NOW, *args], env)
    return seconds, json.loads(out) if "--json" in args else {}


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


def commit_catalog(project: Path) -> None:
    """Make the catalog a git repository with everything but build/ and public/ committed, as a CI job checks it
    out. A reused workdir whose repository has a commit and a clean tree is left as it is."""
    ignore = project / ".gitignore"
    if not ignore.exists() or ignore.read_text() != GITIGNORE:
        ignore.write_text(GITIGNORE)
    if not (project / ".git").is_dir():
        git(project, "init", "--quiet", "--initial-branch=main")
    elif not git(project, "status", "--porcelain"):  # clean: the files are those of the last commit
        return
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", "benchmark catalog")


def replace_tree(source: Path, destination: Path) -> None:
    """`destination` becomes a copy of `source`, contents and metadata (mtimes kept; inodes and ctimes are new)."""
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination, symlinks=True)


def settle() -> None:
    """Flush what a copy left dirty, so its write-back does not land in a timed run. (No waiting: the cache trusts
    contents, not timestamps, so a checkout made a moment ago is as good as an old one.)"""
    os.sync()


def tool_shim(folder: Path) -> Path:
    """Executable `ffmpeg` and `ffprobe` in `folder` that log their start when TOOL_LOG is set, then exec the tools
    mediafeed would use without them (MEDIAFEED_FFMPEG_DIR, this Python's bin folder, PATH: the same order).

    Every mediafeed command of the benchmark runs through them, counted or not: a tool's identity (the bytes of the
    binary mediafeed runs) is part of every cache key, so the runs that fill build/ and the ones counted must use the
    same binaries, as one CI runner image does."""
    folder.mkdir(parents=True, exist_ok=True)
    search = [os.environ.get("MEDIAFEED_FFMPEG_DIR", ""), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    for tool in ("ffmpeg", "ffprobe"):
        real = shutil.which(tool, path=os.pathsep.join(part for part in search if part and part != str(folder)))
        if real is None:
            sys.exit(f"{tool} not found")
        script = folder / tool
        text = f'#!/bin/sh\n[ -n "${TOOL_LOG}" ] && echo {tool} >> "${TOOL_LOG}"\nexec {shlex.quote(real)} "$@"\n'
        if not script.is_file() or script.read_text() != text:
            script.write_text(text)
            script.chmod(0o755)
    return folder


CACHE_PREFIX = "_mediafeed/cache/"


def listing(client: object, bucket: str, prefix: str = "") -> dict[str, str]:
    """Key → ETag of every object of `bucket` under `prefix`."""
    found: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):  # type: ignore[attr-defined]
        found.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
    return found


def fill_fresh(root: Path, project: Path, env: dict[str, str], endpoint: str) -> float:
    """The catalog committed in a repository of its own (fresh-origin) whose s3 target is the bucket bench-fresh
    (the public URL, hence every tag, stays that of bench-mediafeed: nothing is re-tagged), then published into it from
    another clone with the project's build/ restored, the shared tier on (the default for an S3 target): the earlier
    run whose results a fresh runner finds. Returns the seconds that publish took."""
    origin, publisher = root / "fresh-origin", root / "fresh-publisher"
    for folder in (origin, publisher):
        shutil.rmtree(folder, ignore_errors=True)
    git(root, "clone", "--quiet", str(project), str(origin))
    point_at(origin, endpoint, "bench-fresh", public="bench-mediafeed")
    git(origin, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-am", "the bench-fresh bucket")
    git(root, "clone", "--quiet", str(origin), str(publisher))
    shutil.copytree(project / "build", publisher / "build", symlinks=True)
    settle()
    print("filling bench-fresh: a publish from another clone, build/ restored ...", file=sys.stderr)
    seconds, _ = mediafeed(publisher, env, "publish", "--target", "s3", "--json")
    shutil.rmtree(publisher, ignore_errors=True)
    return seconds


def profile_fresh(folder: Path, make: Callable[[Path], None], clone: Path, env: dict[str, str]) -> None:
    """A fresh-runner no-op under cProfile, another under -X importtime (each from its own fresh clone): where the
    time goes. Writes fresh.prof, fresh-profile.txt (top 40 by cumulative time) and fresh-importtime.txt."""
    import pstats

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    args = ["--project", str(clone), "-q", "--now", NOW, "publish", "--target", "s3", "--json"]
    profiled = [sys.executable, "-m", "cProfile", "-o", str(folder / "fresh.prof"), "-m", "mediafeed", *args]
    imports = [sys.executable, "-X", "importtime", "-m", "mediafeed", *args]
    for command in (profiled, imports):
        shutil.rmtree(clone, ignore_errors=True)
        make(clone)
        settle()
        print(f"fresh-runner no-op: {' '.join(command[1:4])} ...", file=sys.stderr)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if command is imports:
            (folder / "fresh-importtime.txt").write_text(done.stderr)
            continue
        with (folder / "fresh-profile.txt").open("w") as out:
            out.write(f"fresh-runner no-op under cProfile: {seconds:.2f} s\n")
            pstats.Stats(str(folder / "fresh.prof"), stream=out).sort_stats("cumulative").print_stats(40)
    shutil.rmtree(clone, ignore_errors=True)


class Repeated:
    """A no-op publish timed --repeat times, each the first publish in its own fresh folder, with the processes
    it started and what it reported."""

    def __init__(self, listing: Callable[[], dict[str, str]] | None = None) -> None:
        self.seconds: list[float] = []
        self.ffmpeg: list[int] = []
        self.ffprobe: list[int] = []
        self.reports: list[dict] = []
        self.listing = listing  # key → ETag of every object of the bucket (not timed), when writes are to be counted
        self.changed: list[int] = []  # objects added, removed or replaced in the bucket by each run
        self.downloaded: list[int] = []  # files in the project's build/cache/files after each run

    def measure(self, make: Callable[[Path], None], folder: Path, env: dict[str, str], log: Path, repeat: int) -> None:
        """`make(folder)` lays out a fresh project in `folder` (not timed); then one timed publish from it."""
        for run in range(repeat):
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            settle()
            log.unlink(missing_ok=True)
            before = self.listing() if self.listing else {}
            seconds, report = mediafeed(folder, env, "publish", "--target", "s3", "--json")
            started = log.read_text().split() if log.exists() else []
            if self.listing:
                after = self.listing()
                changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
                self.changed.append(len(changed))
                if changed:
                    print(f"  run {run + 1}: objects changed: {', '.join(changed[:10])}", file=sys.stderr)
            files = folder / "build" / "cache" / "files"
            self.downloaded.append(sum(1 for p in files.rglob("*") if p.is_file()) if files.is_dir() else 0)
            self.seconds.append(seconds)
            self.ffmpeg.append(started.count("ffmpeg"))
            self.ffprobe.append(started.count("ffprobe"))
            self.reports.append(report)
            print(f"  run {run + 1} of {repeat}: {seconds:.2f} s, {started.count('ffprobe')} ffprobe", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)

    def values(self, name: str) -> list[int]:
        return [len(r["uploads"]) if name == "uploads" else r.get(name, 0) for r in self.reports]

    def none_started_or_written(self) -> bool:
        return not any(
            self.ffmpeg + self.ffprobe + self.values("bytes_written") + self.values("written") + self.values("uploads")
        )

    def untouched(self) -> bool:
        """Nothing started or written, no object of the bucket changed, nothing downloaded, the receipt used."""
        return (
            self.none_started_or_written() and not any(self.changed + self.downloaded) and all(r["receipt"] for r in self.reports)
        )

    def lines(self, label: str, note: str) -> list[str]:
        def each(values: list) -> str:  # one figure when every run gave the same, else each run's
            return str(values[0]) if len(set(values)) == 1 else "/".join(str(v) for v in values)

        receipts = {True: "used", False: "not used"}
        low, middle, high = min(self.seconds), statistics.median(self.seconds), max(self.seconds)
        lines = [
            f"  {label:<39}{middle:8.2f} s   median of {len(self.seconds)} (min {low:.2f}, max {high:.2f}); {note}",
            f"      {each(self.ffmpeg)} ffmpeg + {each(self.ffprobe)} ffprobe processes, "
            f"{each(self.values('bytes_written'))} bytes sent, {each(self.values('written'))} writes "
            f"({each(self.values('uploads'))} uploads planned), receipt {each([receipts[r['receipt']] for r in self.reports])}",
        ]
        if self.listing:
            lines.append(
                f"      {each(self.changed)} objects of the bucket changed (_mediafeed/cache/ included), "
                f"{each(self.downloaded)} files in build/cache/files afterwards (downloaded from the shared tier)"
            )
        return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000, help="catalog size (default 10000)")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep the catalog and its prepared media here and reuse them on the next run (media preparation of "
        "10,000 episodes takes tens of minutes); build/ is reset to the copy kept after media preparation "
        "(build-before-publish/) before the timed runs",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=3,
        help="first publish and first sync are each timed this many times, alternating which goes first, each into "
        "an emptied bucket; the best of each is compared (default 3: single runs vary by about 10%%); the CI-shaped "
        "no-ops are also run this many times, each from a fresh folder",
    )  # fmt: skip
    parser.add_argument(
        "--skip-ci", action="store_true",
        help="skip the CI-shaped no-op publishes (fresh git clone, and copy without metadata, build/ restored in each)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-fresh", action="store_true",
        help="skip the fresh-runner no-op (a fresh git clone with no build/, the shared tier of another bucket filled "
        "by an earlier publish from another clone)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="after the fresh-runner no-ops, one more (not counted) under cProfile and one under -X importtime, from "
        "fresh clones; the stats, the import times and the top of the profile are written into this folder",
    )  # fmt: skip
    options = parser.parse_args()
    n = options.episodes
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    aws = awscli()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) if options.workdir is None else options.workdir.resolve() / f"episodes-{n}"
            env = {**environment(root), "MEDIAFEED_FFMPEG_DIR": str(tool_shim(root / "tools"))}
            project = root / "project"
            ready = root / "prepared"
            # build/ as media preparation leaves it, before any publish to the s3 target: every first publish starts
            # from a copy of it (whatever files the caches in build/ are made of)
            baseline = root / "build-before-publish"
            if not ready.exists():
                shutil.rmtree(project, ignore_errors=True)
                shutil.rmtree(baseline, ignore_errors=True)
                project.mkdir(parents=True)
                print(f"making a catalog of {n} episodes ...", file=sys.stderr)
                make_catalog(project, n)
            elif baseline.exists():  # a reused workdir: drop what the last run's publishes left in build/
                replace_tree(baseline, project / "build")
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="bench", aws_secret_access_key="bench-secret")  # fmt: skip
            for bucket in ("bench-mediafeed", "bench-sync", "bench-fresh"):
                client.create_bucket(Bucket=bucket)
            point_at(project, endpoint, "bench-mediafeed")
            if not (options.skip_ci and options.skip_fresh):
                commit_catalog(project)  # now, so that no timed run follows a change of the catalog's files

            print("preparing media (mediafeed build) ...", file=sys.stderr)
            build_s, _ = mediafeed(project, env, "build", "--target", "s3")  # tags name the feeds of the target
            if not ready.exists():
                ready.write_text(f"{build_s}\n")
            build_s = float(ready.read_text())  # the first (cold) preparation, when the workdir is reused
            # the same files in a folder (a local publish of the same catalog), for aws s3 sync; made before the
            # timed runs so that its disk writes are not in them
            shutil.rmtree(project / "public", ignore_errors=True)
            mediafeed(project, env, "publish", "--target", "local")
            public = project / "public"
            synced = sum(1 for p in public.rglob("*") if p.is_file())
            mediafeed(project, env, "build", "--target", "s3")  # back to the s3 deliveries in the prepare cache
            load_s, _ = mediafeed(project, env, "check", "--no-media")
            replace_tree(project / "build", baseline)
            sync = [str(aws), "s3", "sync", str(public), "s3://bench-sync/", "--endpoint-url", endpoint, "--only-show-errors"]

            def first_publish() -> tuple[float, dict]:
                empty(client, "bench-mediafeed")
                # as after a fresh `mediafeed build`: build/ as it was before any s3 publish (so nothing rendered
                # for the target, no receipt), and a build run on that copy so that the caches in it know its files
                # (the copy's inodes and ctimes are new)
                replace_tree(baseline, project / "build")
                mediafeed(project, env, "build", "--target", "s3")
                settle()
                return mediafeed(project, env, "publish", "--target", "s3", "--json")

            def first_sync() -> float:
                empty(client, "bench-sync")
                return timed(sync, env)[0]

            firsts: list[float] = []
            syncs: list[float] = []
            for trial in range(options.repeat):  # alternating which tool goes first, each into an empty bucket
                print(f"first publish and first sync, trial {trial + 1} of {options.repeat} ...", file=sys.stderr)
                if trial % 2:
                    syncs.append(first_sync())
                first_s, first = first_publish()
                firsts.append(first_s)
                if not trial % 2:
                    syncs.append(first_sync())
            noop_s, noop = mediafeed(project, env, "publish", "--target", "s3", "--json")

            ci, copied = Repeated(), Repeated()
            if not options.skip_ci:
                # the next scheduled CI run: nothing changed since the publish above, whose build/ it restores
                with tempfile.TemporaryDirectory() as logs:
                    log = Path(logs) / "started.log"
                    ci_env = {**env, TOOL_LOG: str(log)}

                    def checkout(clone: Path) -> None:  # a fresh clone, build/ restored with its metadata
                        git(root, "clone", "--quiet", str(project), str(clone))
                        shutil.copytree(project / "build", clone / "build", symlinks=True)
                        if (clone / "mediafeed.toml").read_bytes() != (project / "mediafeed.toml").read_bytes():
                            point_at(clone, endpoint, "bench-mediafeed")  # the same bucket (it is in the commit)

                    def plain_copy(copy: Path) -> None:  # no git, no metadata: every file's bytes, build/ included
                        top = {".git", "public"}
                        shutil.copytree(project, copy, symlinks=True, copy_function=shutil.copyfile,
                                        ignore=lambda at, names: top & set(names) if Path(at) == project else set())  # fmt: skip

                    print(f"CI-shaped no-op publish from a fresh clone, {options.repeat} times ...", file=sys.stderr)
                    ci.measure(checkout, root / "ci-checkout", ci_env, log, options.repeat)
                    print(f"no-op publish from a copy without metadata, {options.repeat} times ...", file=sys.stderr)
                    copied.measure(plain_copy, root / "ci-copy", ci_env, log, options.repeat)

            fresh = Repeated(listing=lambda: listing(client, "bench-fresh"))
            if not options.skip_fresh:
                fresh_fill_s = fill_fresh(root, project, env, endpoint)
                shared = listing(client, "bench-fresh", CACHE_PREFIX)
                parts = ("tool", "probe", "prepared", "receipt-at", "blobs", "files")
                shared_kinds = ", ".join(f"{sum(1 for key in shared if f'/{kind}/' in key)} {kind}" for kind in parts)
                shared_kinds = f"{len(shared)} objects: {shared_kinds}"
                with tempfile.TemporaryDirectory() as logs:
                    log = Path(logs) / "started.log"

                    def bare_clone(clone: Path) -> None:  # what a new runner has: the commit, no build/
                        git(root, "clone", "--quiet", str(root / "fresh-origin"), str(clone))

                    print(f"fresh-runner no-op publish (clone, no build/), {options.repeat} times ...", file=sys.stderr)
                    fresh.measure(bare_clone, root / "fresh-checkout", {**env, TOOL_LOG: str(log)}, log, options.repeat)
                    if options.profile is not None:
                        profile_fresh(options.profile, bare_clone, root / "fresh-checkout", env)

            index = project / "episodes" / "episode-00007" / "index.md"
            original = index.read_text()
            index.write_text(original + "\nAn added line of show notes.\n")
            try:
                one_s, one = mediafeed(project, env, "publish", "--target", "s3", "--json")
            finally:
                index.write_text(original)
            objects = len(first["uploads"]) + 1  # + the manifest
            sync_noops = [timed(sync, env)[0] for _ in range(options.repeat)]
            sync_noop_s = statistics.median(sync_noops)
    finally:
        server.stop()

    print(f"storage benchmark: {n} episodes ({objects} objects, {first['upload_bytes'] / 1e6:.1f} MB) to moto on 127.0.0.1")
    print(f"  prepare media (mediafeed build, cold)  {build_s:8.2f} s   (when the catalog was made; not in the figures below)")
    print(f"  catalog load (check --no-media)        {load_s:8.2f} s")
    first_s, sync_first_s = min(firsts), min(syncs)
    print(f"  mediafeed first publish (best of {len(firsts)})   {first_s:8.2f} s   {first['bytes_written']:>10} bytes sent"
          f"   (all: {', '.join(f'{t:.1f}' for t in firsts)})")  # fmt: skip
    print(f"  mediafeed no-op republish (warm)       {noop_s:8.2f} s   {noop['bytes_written']:>10} bytes sent, "
          f"{len(noop['uploads'])} writes")  # fmt: skip
    if not options.skip_ci:
        print("\n".join(ci.lines("mediafeed CI-shaped no-op", "fresh git clone, build/ restored")))
        print("\n".join(copied.lines("mediafeed copied no-op (informational)", "copy without metadata or .git")))
    if not options.skip_fresh:
        print(f"  filling publish to bench-fresh         {fresh_fill_s:8.2f} s   (another clone, build/ restored); "
              f"shared tier then {shared_kinds}")  # fmt: skip
        print("\n".join(fresh.lines("mediafeed fresh-runner no-op", "fresh git clone, NO build/, shared tier")))
    print(f"  mediafeed one episode changed          {one_s:8.2f} s   {one['bytes_written']:>10} bytes sent, "
          f"{len(one['uploads'])} writes ({', '.join(u['key'] for u in one['uploads'])})")  # fmt: skip
    print(f"  aws s3 sync first (best of {len(syncs)}, {synced} files) {sync_first_s:8.2f} s"
          f"   (all: {', '.join(f'{t:.1f}' for t in syncs)})")  # fmt: skip
    print(f"  aws s3 sync no-op                      {sync_noop_s:8.2f} s   median of {len(sync_noops)} "
          f"(all: {', '.join(f'{t:.2f}' for t in sync_noops)})")  # fmt: skip
    noop_ratio, first_ratio = noop_s / sync_noop_s, first_s / sync_first_s  # best against best
    verdict = {True: "MET", False: "MISSED"}
    print(f"  ratio no-op publish / no-op sync:      {noop_ratio:8.2f}   (target <= 0.5)  {verdict[noop_ratio <= 0.5]}")
    if not options.skip_ci:
        ci_ratio = statistics.median(ci.seconds) / sync_noop_s
        met = ci_ratio <= 0.5 and ci.none_started_or_written()
        print(f"  ratio CI-shaped no-op / no-op sync:    {ci_ratio:8.2f}   (median; target <= 0.5 and 0 processes, 0 bytes, "
              f"0 writes)  {verdict[met]}")  # fmt: skip
        print(f"  ratio copied no-op / no-op sync:       {statistics.median(copied.seconds) / sync_noop_s:8.2f}   "
              "(median; informational)")  # fmt: skip
    if not options.skip_fresh:
        fresh_ratio = statistics.median(fresh.seconds) / sync_noop_s
        met = fresh_ratio <= 0.5 and fresh.untouched()
        print(f"  ratio fresh-runner no-op / no-op sync: {fresh_ratio:8.2f}   (median; target <= 0.5 and 0 processes, 0 bytes "
              f"downloaded, 0 objects changed, receipt used)  {verdict[met]}")  # fmt: skip
    print(f"  ratio first publish / first sync:      {first_ratio:8.2f}   (target <= 1.0)  {verdict[first_ratio <= 1.0]}")
    print(f"    (mean against mean: {statistics.mean(firsts) / statistics.mean(syncs):.2f})")
    print(f"  no-op bytes sent: {noop['bytes_written']}  (target 0)  {verdict[noop['bytes_written'] == 0]}")


if __name__ == "__main__":
    main()
