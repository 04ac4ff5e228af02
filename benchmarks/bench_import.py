"""`make bench`: `mediafeed import` of a 1,000-item podcast feed with its 1,000 media files.

A local HTTP server on 127.0.0.1 (a random port) serves the feed and the media: one tiny MP3 made once with ffmpeg,
copied under N paths with a few distinct bytes appended to each, so the import downloads N distinct files. Each
import runs as its own process (`python -m mediafeed import URL`) under a small wrapper that reads the import's peak
memory (ru_maxrss of RUSAGE_CHILDREN, which then holds only that process). Figures printed: the first import (feed
parsed, N index.md written, N media files downloaded), its peak RSS, and the re-import (nothing to write or fetch),
with per-item rates. No reference tool is named for imports; the ratio printed is re-import / first import.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

MEDIAFEED = [sys.executable, "-m", "mediafeed"]
# Runs argv[1:] and prints its wall seconds and ru_maxrss (KB on Linux) as JSON: the wrapper's only child is the import.
MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "run = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)\n"
    "wall = time.perf_counter() - start\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'code': run.returncode, 'wall': wall, 'maxrss_kb': peak, 'report': run.stdout}))\n"
)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_host(root: Path, count: int, base: str) -> tuple[int, int]:
    """feed.xml and media/episode-NNNNN.mp3 under root; returns the feed's size and the media bytes in total."""
    media = root / "media"
    media.mkdir(parents=True)
    tiny = root / "tiny.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-ac", "1", "-b:a", "32k", str(tiny)], check=True
    )
    data = tiny.read_bytes()
    total = 0
    items = []
    for n in range(count):
        body = data + n.to_bytes(4, "big")  # distinct bytes per file
        (media / f"episode-{n:05d}.mp3").write_bytes(body)
        total += len(body)
        day = 1 + n % 28
        items.append(
            "<item>"
            f"<title>Benchmark episode {n} &amp; friends</title>"
            f'<guid isPermaLink="false">00000000-0000-4000-8000-{n:012d}</guid>'
            f"<pubDate>Mon, {day:02d} Jan {2000 + n // 336} 09:{n % 60:02d}:00 -0500</pubDate>"
            f'<description><![CDATA[<p>Notes for episode {n}, with a <a href="https://bench.example.net/{n}">link</a>.'
            "</p><ul><li>one</li><li>two</li></ul>]]></description>"
            f'<enclosure url="{base}/media/episode-{n:05d}.mp3" length="{len(body)}" type="audio/mpeg"/>'
            f"<itunes:season>{1 + n // 100}</itunes:season><itunes:episode>{1 + n % 100}</itunes:episode>"
            "<itunes:episodeType>full</itunes:episodeType><itunes:explicit>false</itunes:explicit>"
            "</item>"
        )
    (root / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
        "<title>Benchmark Show</title><description>A show with many episodes.</description>"
        "<link>https://bench.example.net/</link><language>en</language>"
        "<itunes:author>Bench</itunes:author>"
        "<itunes:owner><itunes:name>Bench</itunes:name><itunes:email>bench@example.net</itunes:email></itunes:owner>"
        '<itunes:category text="Technology"/><itunes:explicit>false</itunes:explicit>'
        "<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>" + "".join(items) + "</channel></rss>\n",
        encoding="utf-8",
    )
    return (root / "feed.xml").stat().st_size, total


def measured(project: Path, url: str) -> tuple[float, float, dict[str, list[str]]]:
    """The import's wall seconds, its peak RSS in MB and its JSON report."""
    command = [*MEDIAFEED, "--project", str(project), "-q", "import", url, "--feed", "bench", "--json"]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    if result["code"] != 0:
        raise SystemExit(f"the import exited {result['code']}: {' '.join(command)}")
    return float(result["wall"]), result["maxrss_kb"] / 1024, json.loads(result["report"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000, help="items (and media files) in the feed (default 1000)")
    parser.add_argument("--keep", type=Path, help="build the host and the project in this folder and keep them")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-")) if options.keep is None else options.keep
    folder.mkdir(parents=True, exist_ok=True)
    www, project = folder / "www", folder / "show"
    for old in (www, project):
        shutil.rmtree(old, ignore_errors=True)
    www.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        feed_bytes, media_bytes = make_host(www, options.items, base)
        subprocess.run([*MEDIAFEED, "init", str(project), "--title", "Bench"], check=True, stdout=subprocess.DEVNULL)
        first, first_peak, first_report = measured(project, f"{base}/feed.xml")
        on_disk = sum(1 for _ in (project / "episodes").glob("*/episode-*.mp3"))
        again, again_peak, again_report = measured(project, f"{base}/feed.xml")
    finally:
        server.shutdown()
        server.server_close()
        if options.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    n = options.items
    fetched = [rel for rel in first_report["downloaded"] if rel.endswith(".mp3")]
    if len(fetched) != n or on_disk != n:
        raise SystemExit(f"the first import downloaded {len(fetched)} media files ({on_disk} on disk), not {n}")
    if again_report["written"] or again_report["downloaded"]:
        raise SystemExit("the re-import wrote or downloaded something: it should be a no-op")
    print(
        f"import of a {n}-item feed ({feed_bytes / 1e3:.0f} KB) with {n} media files ({media_bytes / 1e6:.1f} MB), from 127.0.0.1"
    )
    print(
        f"  first import  {first:7.2f} s  ({first / n * 1000:.2f} ms/item, {n / first:.0f} items/s)  peak RSS {first_peak:.0f} MB"
    )
    print(f"  re-import     {again:7.2f} s  ({again / n * 1000:.2f} ms/item, a no-op)  peak RSS {again_peak:.0f} MB")
    print(f"  ratio re-import / first import: {again / first:.2f}")


if __name__ == "__main__":
    main()
