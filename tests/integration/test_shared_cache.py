"""The cache's shared tier, the way CI runners use it: real git clones that start with no build/, real processes
(`python -m mediafeed`), ffmpeg and ffprobe behind counting shims, one moto server standing in for the bucket.

- a fresh clone publishing an unchanged catalog starts no ffmpeg/ffprobe, downloads no media, writes nothing;
- shards built by concurrent processes encode each master once in all, and a publish from another fresh clone
  then only uploads; a shard killed mid-encode loses nothing but its unfinished work, which the publish does;
- a truncated or altered entry is detected and made again, never published;
- the shared tier in a separate bucket, and in a folder (for a local target).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mediafeed.publish.storage import MANIFEST_KEY
from tests.conftest import NOW, copy_build, copy_catalog, ffmpeg_generate
from tests.integration.conftest import point_target
from tests.integration.test_content_cache import GIT_IDENTITY, LOG_VARIABLE, Shim

CACHE = "_mediafeed/cache/"


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY}, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Runners:
    """Fresh clones of one origin, and `python -m mediafeed` run in them through the counting shims."""

    def __init__(self, tmp_path: Path, origin: Path, shim: Shim) -> None:
        self.tmp, self.origin, self.shim = tmp_path, origin, shim
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir(exist_ok=True)

    def clone(self, name: str) -> Path:
        folder = self.tmp / name
        git(self.tmp, "clone", "-q", str(self.origin), str(folder))
        assert not (folder / "build").exists()
        return folder

    def command(self, project: Path, *args: str) -> list[str]:
        return [sys.executable, "-m", "mediafeed", "--project", str(project), "--now", NOW, *args]

    def env(self, log: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (LOG_VARIABLE, "PYTHONPATH")}
        env["MEDIAFEED_FFMPEG_DIR"] = str(self.shim.folder)
        if log is not None:
            env[LOG_VARIABLE] = str(log)
        return env

    def run(self, project: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(project, *args), cwd=self.cwd, env=self.env(log), capture_output=True,
                              text=True, timeout=600, check=False)  # fmt: skip

    def start(self, project: Path, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(project, *args), cwd=self.cwd, env=self.env(log), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def calls(log: Path) -> list[list[str]]:
    return [line.split("\t") for line in log.read_text().splitlines()] if log.is_file() else []


def encodes(log: Path) -> list[str]:
    """The master each encoding ffmpeg run read (its first -i that is a file of the catalog)."""
    from tests.integration.test_content_cache import is_encode

    found = []
    for call in calls(log):
        if call[0] == "ffmpeg" and is_encode(call[1:]):
            inputs = [call[i + 1] for i, a in enumerate(call[:-1]) if a == "-i" and "/episodes/" in call[i + 1]]
            found += inputs[:1]
    return found


def objects(s3: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """Key → ETag of every object under `prefix`."""
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
    return found


def masters(project: Path) -> set[str]:
    """The episodes (folders) with a master."""
    suffixes = (".wav", ".flac", ".mp3", ".m4a", ".mp4")
    return {p.parent.name for p in (project / "episodes").glob("*/*") if p.suffix in suffixes}


@pytest.fixture
def shim(tmp_path: Path) -> Shim:
    return Shim.create(tmp_path / "tools")


@pytest.fixture
def runners(tmp_path: Path, moto_endpoint: str, bucket: str, shim: Shim) -> Runners:
    """An origin repository of the sample catalog pointed at the test bucket (no build/ anywhere)."""
    work = copy_catalog(tmp_path / "work")
    point_target(work, moto_endpoint, bucket)
    (work / ".gitignore").write_text("/build/\n/public/\n")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "catalog")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(origin))
    return Runners(tmp_path, origin, shim)


def test_a_fresh_clone_publishing_an_unchanged_catalog_does_no_media_work(runners: Runners, s3: Any, bucket: str) -> None:
    first = runners.run(runners.clone("a"), "-q", "publish", "--target", "s3")
    assert first.returncode == 0, first.stderr
    shared = objects(s3, bucket, CACHE)
    assert any("/values/prepared/" in k for k in shared) and any("/files/" in k for k in shared)
    assert any("/values/receipt-at/" in k for k in shared) and any("/blobs/" in k for k in shared)
    before = objects(s3, bucket)

    fresh, log = runners.clone("b"), runners.tmp / "b.log"
    again = runners.run(fresh, "publish", "--target", "s3", "--json", log=log)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["receipt"] is True and report["uploads"] == [] and report["written"] == 0
    # Git and the shared blob packs vouch for the tracked files; read are the tools, and the few files a checkout
    # wrote in the clock tick it wrote its index in (git's racy window: git cannot vouch for them either).
    assert report["files_read"] < 2 + len(masters(fresh))
    assert calls(log) == []  # no ffmpeg, no ffprobe
    assert objects(s3, bucket) == before  # nothing written anywhere, the shared tier included
    assert not list((fresh / "build" / "cache").glob("files/??/*"))  # no media downloaded

    # A new episode on a third fresh clone: only its master is encoded; nothing else is fetched or made again.
    third, log = runners.clone("c"), runners.tmp / "c.log"
    source = third / "episodes" / "buprenorphine-listener-questions"
    copy = third / "episodes" / "buprenorphine-encore"
    copy.mkdir()
    lines = [line for line in (source / "index.md").read_text().splitlines() if not line.startswith("guid:")]
    lines = ['title: "Buprenorphine, an encore"' if line.startswith("title:") else line for line in lines]
    (copy / "index.md").write_text("\n".join(lines) + "\n")
    ffmpeg_generate(copy / "audio.flac", "-f", "lavfi", "-i", "sine=frequency=523:duration=4")  # a master of its own
    runners.run(third, "-q", "check", "--fix", "--target", "s3", log=log)  # its own GUID; check prepares media too
    assert "guid:" in (copy / "index.md").read_text()
    published = runners.run(third, "publish", "--target", "s3", "--json", log=log)
    assert published.returncode == 0, published.stderr
    assert [Path(m).parent.name for m in encodes(log)] == ["buprenorphine-encore"], published.stdout[-3000:] + published.stderr
    assert [u["key"].split("/")[1].rsplit("-", 1)[0] for u in json.loads(published.stdout)["uploads"]
            if u["stage"] == "media"] == ["buprenorphine-encore"]  # fmt: skip


def test_shards_on_three_runners_encode_each_master_once_then_a_publish_only_uploads(
    runners: Runners, s3: Any, bucket: str
) -> None:
    logs = [runners.tmp / f"shard{k}.log" for k in (1, 2, 3)]
    clones = [runners.clone(f"shard{k}") for k in (1, 2, 3)]
    started = [runners.start(c, "build", "--target", "s3", "--shard", f"{k}/3", log=log)
               for k, (c, log) in enumerate(zip(clones, logs, strict=True), start=1)]  # fmt: skip
    outputs = [p.communicate(timeout=600) for p in started]
    for process, (_, err) in zip(started, outputs, strict=True):
        assert process.returncode == 0, err
    made = [{Path(m).parent.name for m in encodes(log)} for log in logs]  # the episodes each shard encoded
    assert all(made), made  # every shard had work ...
    assert sum(len(part) for part in made) == len(set().union(*made))  # ... and no master was encoded by two
    assert "shard 2/3: prepared" in outputs[1][0]

    publisher, log = runners.clone("publisher"), runners.tmp / "publish.log"
    result = runners.run(publisher, "publish", "--target", "s3", "--json", log=log)
    assert result.returncode == 0, result.stderr
    assert encodes(log) == [] and not any(c[0] == "ffprobe" for c in calls(log))  # the shards left nothing to do
    report = json.loads(result.stdout)
    assert any(u["stage"] == "media" for u in report["uploads"])
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    for key, record in manifest["objects"].items():  # what was published is what the shards made, whole
        if key.startswith("media/"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == record["sha256"]


def test_a_shard_killed_mid_encode_loses_only_its_unfinished_work(runners: Runners, s3: Any, bucket: str) -> None:
    shard, log = runners.clone("killed"), runners.tmp / "killed.log"
    process = runners.start(shard, "build", "--target", "s3", "--shard", "1/1", log=log)
    deadline = time.monotonic() + 300

    def finished() -> set[str]:
        return {k for k in objects(s3, bucket, CACHE) if "/values/prepared/" in k}

    while len(finished()) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # as a runner dies: no clean-up of any kind
    process.communicate()
    assert 2 <= len(finished()) < len(masters(shard))  # finished work was shared at once, before the kill

    publisher, log = runners.clone("after"), runners.tmp / "after.log"
    result = runners.run(publisher, "publish", "--target", "s3", "--json", log=log)
    assert result.returncode == 0, result.stderr
    redone = {Path(m).parent.name for m in encodes(log)}
    assert 0 < len(redone) <= len(masters(publisher)) - 2  # only what the killed shard had not finished
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    assert len([k for k in manifest["objects"] if k.startswith("media/")]) >= len(masters(publisher))


def test_a_truncated_or_altered_entry_is_made_again_never_published(runners: Runners, s3: Any, bucket: str) -> None:
    built = runners.run(runners.clone("builder"), "-q", "build", "--target", "s3")
    assert built.returncode == 0, built.stderr
    shared = objects(s3, bucket, CACHE)
    files = sorted(k for k in shared if "/files/" in k and k.endswith(".mp3"))
    # Damage entries the publish will read: the prepared values of two published episodes (not the scheduled one,
    # which `build` prepares and `publish` leaves alone; its keys sort anywhere), one altered and the other's
    # delivery file truncated. Picking by key order alone sometimes chose entries no publish reads.
    values = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in sorted(shared) if "/values/prepared/" in k}
    published = [k for k, v in values.items() if b"delirium-or-dementia" not in v]  # the sample's scheduled episode
    altered, intact = published[0], published[1]
    truncated = next(f for f in files if f.rsplit("/", 1)[-1].removesuffix(".mp3").encode() in values[intact])
    body = s3.get_object(Bucket=bucket, Key=truncated)["Body"].read()
    s3.put_object(Bucket=bucket, Key=truncated, Body=body[: len(body) // 2])
    value = bytearray(values[altered])
    value[-5] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=altered, Body=bytes(value))

    publisher, log = runners.clone("publisher"), runners.tmp / "publish.log"
    result = runners.run(publisher, "publish", "--target", "s3", log=log)
    assert result.returncode == 0, result.stderr
    assert "damaged (ignored, made again)" in result.stderr
    # Made again from what is intact (a re-tag when only a tagged file was damaged): at most those two episodes.
    assert len({Path(m).parent.name for m in encodes(log)}) <= 2
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    for key, record in manifest["objects"].items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == record["sha256"], key


def test_a_shared_tier_in_a_separate_bucket(runners: Runners, s3: Any, bucket: str, moto_endpoint: str) -> None:
    s3.create_bucket(Bucket=f"{bucket}-cache")
    first = runners.clone("a")
    with (first / "mediafeed.toml").open("a") as config:
        config.write(f'\n[cache]\nurl = "s3://{bucket}-cache/runners/"\nendpoint_url = "{moto_endpoint}"\n')
    git(first, "commit", "-q", "-am", "a separate cache bucket")
    git(first, "push", "-q", "origin", "main")
    assert runners.run(first, "-q", "publish", "--target", "s3").returncode == 0
    assert objects(s3, bucket, CACHE) == {}
    assert any(k.startswith("runners/v1/values/prepared/") for k in objects(s3, f"{bucket}-cache"))
    log = runners.tmp / "b.log"
    again = runners.run(runners.clone("b"), "publish", "--target", "s3", "--json", log=log)
    assert again.returncode == 0 and json.loads(again.stdout)["receipt"] is True and calls(log) == []


def test_a_local_target_with_a_shared_folder(runners: Runners, tmp_path: Path) -> None:
    first = runners.clone("a")
    shared = tmp_path / "shared-cache"
    with (first / "mediafeed.toml").open("a") as config:
        config.write(f'\n[cache]\nurl = "{shared}"\n')
    git(first, "commit", "-q", "-am", "a shared cache folder")
    git(first, "push", "-q", "origin", "main")
    assert runners.run(first, "-q", "publish", "--target", "local").returncode == 0
    assert list(shared.glob("v1/values/prepared/*/*")) and list(shared.glob("v1/files/*/*"))
    second, log = runners.clone("b"), runners.tmp / "b.log"
    result = runners.run(second, "publish", "--target", "local", "--json", log=log)
    assert result.returncode == 0, result.stderr
    assert calls(log) == [] and json.loads(result.stdout)["uploads"]  # its own public/: uploads, but no media work
    assert encodes(log) == []


def test_a_runner_with_build_restored_shares_what_it_knew(runners: Runners, s3: Any, bucket: str, sample_build: Path) -> None:
    """A runner whose build/ was made before the shared tier existed (restored from a CI cache) pushes what a fresh
    runner needs: prepared deliveries, tool versions, the git blob pairs, the receipt."""
    warm = runners.clone("warm")
    copy_build(sample_build, warm)
    first = runners.run(warm, "-q", "publish", "--target", "s3")
    assert first.returncode == 0, first.stderr
    shared = objects(s3, bucket, CACHE)
    assert any("/values/tool/" in k for k in shared) and any("/blobs/" in k for k in shared)
    before = objects(s3, bucket)
    fresh, log = runners.clone("fresh"), runners.tmp / "fresh.log"
    again = runners.run(fresh, "publish", "--target", "s3", "--json", log=log)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["receipt"] is True and calls(log) == [] and objects(s3, bucket) == before
    assert report["files_read"] < 2 + len(masters(fresh))
