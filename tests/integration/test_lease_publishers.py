"""One publisher at a time, never backwards: the lease, the recorded commit, the manifest's checksum, on moto.

Two real git clones of one catalog publish at once as real processes: whoever exits 0 has its change live, the
other exits 3 ("pull first") or 4 (the lease is held) having written no feed, and the manifest matches the objects.
MEDIAFEED_LEASE_ROUNDS (make test-slow: 20) sets how many rounds; `make test` runs 3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mediafeed.publish.lease import LEASE_KEY, LeaseRecord, Owner
from mediafeed.publish.storage import MANIFEST_KEY
from tests.conftest import NOW, copy_build
from tests.integration.conftest import point_target

WEBINAR = "medications-for-alcohol-use-disorder"  # only in the webinars feed
PODCAST = "lithium-levels-in-practice"  # only in the podcast feed
ROUNDS = int(os.environ.get("MEDIAFEED_LEASE_ROUNDS", "3"))


def git(folder: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def cli(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mediafeed", "--project", str(project), "-q", "--now", NOW, *args]


def command(project: Path, *extra: str) -> list[str]:
    return cli(project, "publish", "--target", "s3", *extra)


def publish(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(project, *extra), capture_output=True, text=True, check=False)


def set_title(project: Path, slug: str, title: str) -> None:
    index = project / "episodes" / slug / "index.md"
    lines = [f"title: {title}" if line.startswith("title:") else line for line in index.read_text().splitlines()]
    index.write_text("\n".join(lines) + "\n")


def feed(s3: Any, bucket: str, feed_id: str) -> str:
    return s3.get_object(Bucket=bucket, Key=f"feeds/{feed_id}.xml")["Body"].read().decode()


def manifest(s3: Any, bucket: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())


def manifest_matches_objects(s3: Any, bucket: str) -> None:
    for key, record in manifest(s3, bucket)["objects"].items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == record["size"], key
        assert head["Metadata"].get("sha256") == record["sha256"], key


@pytest.fixture
def clones(sample_project: Path, moto_endpoint: str, bucket: str, tmp_path: Path) -> tuple[Path, Path]:
    """Two clones of one bare repository holding the sample catalog (pointed at the test bucket), each with a copy
    of the warm build/, after a first publish from the common commit."""
    point_target(sample_project, moto_endpoint, bucket)
    (sample_project / ".gitignore").write_text("/build/\n/public/\n")
    git(sample_project, "init", "-q", "-b", "main")
    git(sample_project, "add", "-A")
    git(sample_project, "commit", "-q", "-m", "catalog")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(sample_project), str(bare))
    made = []
    for name in ("a", "b"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(bare), str(clone))
        copy_build(sample_project / "build", clone)
        made.append(clone)
    first = publish(made[0])
    assert first.returncode == 0, first.stderr
    return made[0], made[1]


def test_two_clones_publishing_at_once(clones: tuple[Path, Path], s3: Any, bucket: str) -> None:
    a, b = clones
    outcomes = []
    for number in range(ROUNDS):
        titles = {a: f"Webinar title {number}", b: f"Podcast title {number}"}
        set_title(a, WEBINAR, titles[a])
        set_title(b, PODCAST, titles[b])
        for clone in (a, b):
            git(clone, "commit", "-q", "-am", f"round {number}")
        first, second = (a, b) if number % 2 == 0 else (b, a)
        started = subprocess.Popen(command(first), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if number % 3 == 2:
            time.sleep(0.5)  # staggered: the second starts while the first is under way
        other = subprocess.Popen(command(second), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = {first: started.communicate(), second: other.communicate()}
        codes = {first: started.returncode, second: other.returncode}
        outcomes.append(tuple(codes[c] for c in (a, b)))
        feeds = feed(s3, bucket, "webinars") + feed(s3, bucket, "podcast")
        for clone in (a, b):
            err = results[clone][1]
            assert "Traceback" not in err, err
            if codes[clone] == 0:
                assert titles[clone] in feeds, f"{clone.name} exited 0 but its change is not live"
            else:
                assert codes[clone] in (3, 4), err
                assert titles[clone] not in feeds, f"{clone.name} failed but wrote a feed: {err}"
                assert "pull first" in err or "another publish" in err, err
        assert 0 in codes.values() or all(c == 4 for c in codes.values()), results
        manifest_matches_objects(s3, bucket)
        # The one that stopped pulls the other's commit and publishes again: both changes are then live.
        winners = [c for c in (a, b) if codes[c] == 0] or [a]
        losers = [c for c in (a, b) if c not in winners]
        for winner in winners:
            git(winner, "push", "-q", "origin", "HEAD:main")
        for loser in losers:
            git(loser, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
            again = publish(loser)
            assert again.returncode == 0, again.stderr
            git(loser, "push", "-q", "origin", "HEAD:main")
        for winner in winners:
            git(winner, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
        feeds = feed(s3, bucket, "webinars") + feed(s3, bucket, "podcast")
        assert titles[a] in feeds and titles[b] in feeds
        manifest_matches_objects(s3, bucket)
        assert s3.list_objects_v2(Bucket=bucket, Prefix=LEASE_KEY).get("KeyCount", 0) == 0  # released
    print("lease race outcomes (a, b):", outcomes)


def test_never_backwards(clones: tuple[Path, Path], s3: Any, bucket: str, tmp_path: Path) -> None:
    a, b = clones
    set_title(a, WEBINAR, "A newer title")
    git(a, "commit", "-q", "-am", "newer")
    assert publish(a).returncode == 0
    recorded = manifest(s3, bucket)["source"]
    assert recorded == {"commit": git(a, "rev-parse", "HEAD"), "dirty": False}
    older = publish(b)  # b is still at the common commit: it lacks a's
    assert older.returncode == 3, older.stderr
    assert "pull first" in older.stderr and recorded["commit"][:12] in older.stderr
    assert "A newer title" in feed(s3, bucket, "webinars")
    forced = publish(b, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "A newer title" not in feed(s3, bucket, "webinars")  # --force means it
    # outside git: the protection is off, and a note says so
    plain = tmp_path / "plain"
    shutil.copytree(b, plain, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    set_title(plain, WEBINAR, "Outside git")
    done = subprocess.run([*cli(plain)[:5], "--now", NOW, "publish", "--target", "s3"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "not a git checkout" in done.stderr
    assert "source" not in manifest(s3, bucket)


def test_truncated_manifest_stops_everything_until_verify(clones: tuple[Path, Path], s3: Any, bucket: str) -> None:
    a, _ = clones
    whole = s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read()
    s3.put_object(Bucket=bucket, Key=MANIFEST_KEY, Body=whole[: len(whole) // 2])
    set_title(a, WEBINAR, "After the damage")
    git(a, "commit", "-q", "-am", "edit")
    for cmd in ("publish", "plan", "status", "gc"):
        args = cli(a, cmd, "--target", "s3")
        done = subprocess.run(args, capture_output=True, text=True)
        assert done.returncode == 4, (cmd, done.stderr)
        assert "publish --verify" in done.stderr, done.stderr
    assert "After the damage" not in feed(s3, bucket, "webinars")
    repaired = publish(a, "--verify")
    assert repaired.returncode == 0, repaired.stderr
    assert "After the damage" in feed(s3, bucket, "webinars")
    manifest_matches_objects(s3, bucket)
    assert manifest(s3, bucket)["checksum"]
    assert publish(a).returncode == 0


def put_lease(s3: Any, bucket: str, expires_in: float, owner: str = "elsewhere") -> None:
    now = time.time()
    record = LeaseRecord(Owner(owner, 4242, "f" * 32), "publish", now, now + expires_in)
    s3.put_object(Bucket=bucket, Key=LEASE_KEY, Body=record.encode())


def test_held_lease_stops_a_publish_and_wait_waits(clones: tuple[Path, Path], s3: Any, bucket: str) -> None:
    a, _ = clones
    set_title(a, WEBINAR, "Waited for")
    git(a, "commit", "-q", "-am", "edit")
    put_lease(s3, bucket, 600)
    held = publish(a)
    assert held.returncode == 4, held.stderr
    assert "another publish holds" in held.stderr and "elsewhere (pid 4242)" in held.stderr and "--wait" in held.stderr
    assert "Waited for" not in feed(s3, bucket, "webinars")
    gc = subprocess.run(cli(a, "gc", "--target", "s3", "--grace", "0s"), capture_output=True, text=True)
    assert gc.returncode == 4 and "another publish holds" in gc.stderr  # gc takes the same lease
    timed_out = publish(a, "--wait=1")
    assert timed_out.returncode == 4 and "waited" in timed_out.stderr
    waiting = subprocess.Popen(command(a, "--wait"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    assert waiting.poll() is None  # still waiting
    s3.delete_object(Bucket=bucket, Key=LEASE_KEY)  # the holder finishes
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "Waited for" in feed(s3, bucket, "webinars")


def test_expired_lease_is_taken_over(clones: tuple[Path, Path], s3: Any, bucket: str) -> None:
    a, _ = clones
    set_title(a, WEBINAR, "After a crash")
    git(a, "commit", "-q", "-am", "edit")
    put_lease(s3, bucket, -5, owner="crashed")
    done = publish(a)
    assert done.returncode == 0, done.stderr
    assert "After a crash" in feed(s3, bucket, "webinars")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=LEASE_KEY).get("KeyCount", 0) == 0
    put_lease(s3, bucket, -5, owner="crashed")
    gc = subprocess.run(cli(a, "gc", "--target", "s3"), capture_output=True, text=True)
    assert gc.returncode == 0, gc.stderr


def test_a_store_ignoring_conditional_writes_needs_external_locking(
    clones: tuple[Path, Path], s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, mediafeed: Any
) -> None:
    """A store that ignores If-Match / If-None-Match (stood in for by sending them nowhere) is refused by the probe,
    unless the target says locking = "external"."""
    from mediafeed.publish.s3 import S3Storage

    a, _ = clones
    original = S3Storage._conditional_put
    monkeypatch.setattr(S3Storage, "_conditional_put", lambda self, key, data, **_condition: original(self, key, data))
    shutil.rmtree(a / "build" / "cache", ignore_errors=True)  # forget the probe's answer for this target
    set_title(a, WEBINAR, "Ignored conditions")
    refused = mediafeed(a, "publish", "--target", "s3")
    assert refused.exit_code == 4, refused.output
    assert "does not honour conditional writes" in refused.stderr and 'locking = "external"' in refused.stderr
    assert "Ignored conditions" not in feed(s3, bucket, "webinars")
    toml = a / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('addressing_style = "path"\n', 'addressing_style = "path"\nlocking = "external"\n'))
    done = mediafeed(a, "publish", "--target", "s3")
    assert done.exit_code == 0, done.output
    assert "Ignored conditions" in feed(s3, bucket, "webinars")
    bookkeeping = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="_mediafeed/").get("Contents", [])]
    assert [k for k in bookkeeping if not k.startswith("_mediafeed/cache/")] == ["_mediafeed/manifest.json"]  # no lease


def test_lease_record_round_trip() -> None:
    from mediafeed.publish.lease import decode

    record = LeaseRecord(Owner("h", 1, "x"), "gc", 1_800_000_000.0, 1_800_000_300.0)
    assert decode(record.encode()) == record
