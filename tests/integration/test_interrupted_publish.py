"""kill -9 a publish at random moments, then run it again: the target converges to what an uninterrupted
publish produces, and a reader polling the target meanwhile never sees a feed that points at a missing file or
states a wrong length. A few trials run by default; `make test-slow` runs 20 (MEDIAFEED_KILL_TRIALS)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mediafeed.digest import sha256_file
from mediafeed.publish.storage import LocalStorage
from tests.conftest import NOW, feed_problems

TRIALS = int(os.environ.get("MEDIAFEED_KILL_TRIALS", "3"))


def publish_command(project: Path) -> list[str]:
    return [sys.executable, "-m", "mediafeed", "--project", str(project), "-q", "--now", NOW, "publish"]


def visible_state(root: Path) -> dict[str, str]:
    """What a web server would serve: every published key and its content hash (temporary files excluded)."""
    return {stat.key: sha256_file(root / stat.key) for stat in LocalStorage(root).list()}


def test_killed_publishes_converge_and_readers_never_see_a_broken_feed(sample_project: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(sample_project, reference, symlinks=True)
    subprocess.run(publish_command(reference), check=True, capture_output=True)
    expected = visible_state(reference / "public")

    rng = random.Random(20261125)  # deterministic trial moments
    root = sample_project / "public"
    seen: list[str] = []
    stop = threading.Event()
    reading = threading.Lock()  # held while the reader looks, so the test's own rmtree never races it

    def reader() -> None:
        while not stop.is_set():
            with reading:
                seen.extend(feed_problems(root))
            time.sleep(0.005)

    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    try:
        for _ in range(TRIALS):
            if rng.random() < 0.3:  # sometimes from scratch
                with reading:
                    shutil.rmtree(root, ignore_errors=True)
            process = subprocess.Popen(publish_command(sample_project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.15, 0.9))
            process.send_signal(signal.SIGKILL)
            process.wait()
            finished = subprocess.run(publish_command(sample_project), capture_output=True, text=True)
            assert finished.returncode == 0, finished.stderr
            assert visible_state(root) == expected
    finally:
        stop.set()
        watcher.join()
    assert seen == []
