"""`make bench` (storage): publishing a large synthetic catalog to an S3-compatible server, against `aws s3 sync`.

A catalog of N episodes (tiny distinct MP3s, default 10,000) is published to a moto server on 127.0.0.1:
  - first publish (everything uploads), no-op republish (time and bytes), one-episode-changed republish;
and, in the same run against the same server, `aws s3 sync` of the same files (what the first publish put in the
bucket, laid out in a folder by publishing the same catalog to a local target) into a second bucket:
  - first sync, no-op sync.
First publish and first sync are timed --repeat times each (alternating which goes first, each into an emptied
bucket) and the best of each is compared: on a small shared VM single runs vary by about 10%.
Targets (from the storage issue): no-op republish ≤ 0.5 × the no-op sync, with 0 bytes sent; first publish no
slower than the first sync.

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
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import make_catalog

REPO = Path(__file__).resolve().parent.parent
MEDIAFEED = [sys.executable, "-m", "mediafeed"]
NOW = "2026-12-31T00:00:00Z"
AWSCLI_VENV = REPO / "build" / "bench-awscli"
PUBLISH_CACHES = ("rendered", "receipts")  # what a publish (not `build`) leaves in build/


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


def point_at(project: Path, endpoint: str, bucket: str) -> None:
    toml = project / "mediafeed.toml"
    text = toml.read_text()
    start, end = text.index("[targets.s3]"), text.index("[media]")
    section = (
        f'[targets.s3]\ntype = "s3"\nbucket = "{bucket}"\nregion = "us-east-1"\nendpoint_url = "{endpoint}"\n'
        f'addressing_style = "path"\npublic_url = "{endpoint}/{bucket}"\n\n'
    )
    toml.write_text(text[:start] + section + text[end:])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000, help="catalog size (default 10000)")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep the catalog and its prepared media here and reuse them on the next run (media preparation of "
        "10,000 episodes takes tens of minutes); publish caches are cleared before the timed runs",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=3,
        help="first publish and first sync are each timed this many times, alternating which goes first, each into "
        "an emptied bucket; the best of each is compared (default 3: single runs vary by about 10%% here)",
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
            env = environment(root)
            project = root / "project"
            ready = root / "prepared"
            if not ready.exists():
                shutil.rmtree(project, ignore_errors=True)
                project.mkdir(parents=True)
                print(f"making a catalog of {n} episodes ...", file=sys.stderr)
                make_catalog(project, n)
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="bench", aws_secret_access_key="bench-secret")  # fmt: skip
            for bucket in ("bench-mediafeed", "bench-sync"):
                client.create_bucket(Bucket=bucket)
            point_at(project, endpoint, "bench-mediafeed")

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
            sync = [str(aws), "s3", "sync", str(public), "s3://bench-sync/", "--endpoint-url", endpoint, "--only-show-errors"]

            def first_publish() -> tuple[float, dict]:
                empty(client, "bench-mediafeed")
                for cache in PUBLISH_CACHES:  # as after a fresh `mediafeed build`: nothing rendered for a target yet
                    path = project / "build" / cache
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
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
            index = project / "episodes" / "episode-00007" / "index.md"
            original = index.read_text()
            index.write_text(original + "\nAn added line of show notes.\n")
            try:
                one_s, one = mediafeed(project, env, "publish", "--target", "s3", "--json")
            finally:
                index.write_text(original)
            objects = len(first["uploads"]) + 1  # + the manifest
            sync_noop_s, _ = timed(sync, env)
    finally:
        server.stop()

    print(f"storage benchmark: {n} episodes ({objects} objects, {first['upload_bytes'] / 1e6:.1f} MB) to moto on 127.0.0.1")
    print(f"  prepare media (mediafeed build, cold)  {build_s:8.2f} s   (when the catalog was made; not in the figures below)")
    print(f"  catalog load (check --no-media)        {load_s:8.2f} s")
    first_s, sync_first_s = min(firsts), min(syncs)
    print(f"  mediafeed first publish (best of {len(firsts)})   {first_s:8.2f} s   {first['bytes_written']:>10} bytes sent"
          f"   (all: {', '.join(f'{t:.1f}' for t in firsts)})")  # fmt: skip
    print(f"  mediafeed no-op republish              {noop_s:8.2f} s   {noop['bytes_written']:>10} bytes sent, "
          f"{len(noop['uploads'])} writes")  # fmt: skip
    print(f"  mediafeed one episode changed          {one_s:8.2f} s   {one['bytes_written']:>10} bytes sent, "
          f"{len(one['uploads'])} writes ({', '.join(u['key'] for u in one['uploads'])})")  # fmt: skip
    print(f"  aws s3 sync first (best of {len(syncs)}, {synced} files) {sync_first_s:8.2f} s"
          f"   (all: {', '.join(f'{t:.1f}' for t in syncs)})")  # fmt: skip
    print(f"  aws s3 sync no-op                      {sync_noop_s:8.2f} s")
    noop_ratio, first_ratio = noop_s / sync_noop_s, first_s / sync_first_s  # best against best
    verdict = {True: "ok", False: "MISSED"}
    print(f"  ratio no-op publish / no-op sync:      {noop_ratio:8.2f}   (target <= 0.5)  {verdict[noop_ratio <= 0.5]}")
    print(f"  ratio first publish / first sync:      {first_ratio:8.2f}   (target <= 1.0)  {verdict[first_ratio <= 1.0]}")
    print(f"    (mean against mean: {statistics.mean(firsts) / statistics.mean(syncs):.2f})")
    print(f"  no-op bytes sent: {noop['bytes_written']}  (target 0)  {verdict[noop['bytes_written'] == 0]}")


if __name__ == "__main__":
    main()
