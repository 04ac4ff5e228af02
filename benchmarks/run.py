"""`make bench`: how long the foundation's stages take on a large synthetic catalog.

Figures printed: catalog load + validation (`check --no-media`), a first publish (probe, hash, render, write
everything), and a no-op publish (nothing changed), for N episodes across 3 feeds. No reference tool is named for
the foundation; the ratio printed is no-op publish / first publish (lower is better: what a scheduled CI run pays
when nothing is due). Media-processing benchmarks against ffmpeg-normalize arrive with the media issue.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEDIAFEED = [sys.executable, "-m", "mediafeed"]


def make_catalog(root: Path, count: int) -> None:
    shutil.copy(REPO / "mediafeed.toml", root)
    shutil.copytree(REPO / "feeds", root / "feeds")
    shutil.copytree(REPO / "artwork", root / "artwork")
    tiny = root / "tiny.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-ac", "1", "-b:a", "32k", str(tiny)], check=True
    )
    for n in range(count):
        bundle = root / "episodes" / f"episode-{n:05d}"
        bundle.mkdir(parents=True)
        (bundle / "audio.mp3").write_bytes(tiny.read_bytes() + n.to_bytes(4, "big"))  # distinct content per episode
        kind = ("podcast", "webinar", "video")[n % 3]
        (bundle / "index.md").write_text(
            "---\n"
            f"title: Benchmark episode {n} & friends\n"
            f"guid: 00000000-0000-4000-8000-{n:012d}\n"
            f"kind: {kind}\n"
            "topics: [general-psychiatry]\n"
            f"published: 2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:{n % 60:02d}:00-05:00\n"
            "media: audio.mp3\n"
            f"season: {1 + n // 100}\nepisode: {1 + n % 100}\n"
            "persons: [{name: Dr. Bench Mark, role: host}]\n"
            f"articles: [{{title: Article {n}, url: 'https://www.example.org/articles/{n}'}}]\n"
            "---\n"
            "Some **show notes** with a [link](/articles/x) and a list:\n\n- one\n- two\n"
        )


def timed(*args: str, project: Path) -> float:
    start = time.perf_counter()
    subprocess.run([*MEDIAFEED, "--project", str(project), "-q", "--now", "2026-12-31T00:00:00Z", *args],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        make_catalog(project, options.episodes)
        check = timed("check", "--no-media", project=project)
        first = timed("publish", project=project)
        noop = timed("publish", project=project)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    n = options.episodes
    print(f"catalog of {n} episodes, 3 feeds (+1 topic feed)")
    print(f"  check --no-media   {check:7.2f} s   ({check / n * 1000:.2f} ms/episode)")
    print(f"  first publish      {first:7.2f} s   ({first / n * 1000:.2f} ms/episode)")
    print(f"  no-op publish      {noop:7.2f} s   ({noop / n * 1000:.2f} ms/episode)")
    print(f"  ratio no-op / first publish: {noop / first:.2f}")
    print(f"  peak RSS of the largest child process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
