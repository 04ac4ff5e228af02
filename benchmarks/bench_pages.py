"""`make bench` (web pages, issue 16): what each page type weighs in Chromium before media, from each kind of host.

The sample catalog is published three ways and every page type opened in Debian's Chromium (Playwright,
executable_path) in a fresh context, summing Resource Timing over the page and everything it loaded except audio
and video:
  - `mediafeed serve` (the local target; gzips text in transit, as a CDN does);
  - a bare S3 bucket (moto on 127.0.0.1, no CDN) with the target's default `precompress = true`: pages and their
    assets stored gzipped;
  - the same bucket with `precompress = false`: everything stored plain (what the previous version published).
Printed per page: bytes on the wire (transferSize) from each host, the decoded size, and the ratio precompressed /
plain. The target (issue 16): every page <= 150 KB before media; a miss is printed as FAIL (exit status 0 unless
something crashed). The sample's build/ (encoded media) is taken from the repository's build/ when there is one.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_storage import environment, free_port, point_at

REPO = Path(__file__).resolve().parent.parent
MEDIAFEED = [sys.executable, "-m", "mediafeed"]
NOW = "2026-11-25T00:00:00Z"
BUDGET = 150 * 1024
PAGES = {
    "home": "index.html",
    "show": "shows/podcast.html",
    "episode (audio)": "episodes/adhd-in-teens-school-sleep-screens.html",
    "episode (video)": "episodes/autism-in-adolescent-girls.html",
    "embed": "embed/adhd-in-teens-school-sleep-screens.html",
    "styled feed": "feeds/podcast.xml",
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
WEIGH = """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
    .filter(e => !['audio', 'video'].includes(e.initiatorType) && !e.name.includes('/media/'))
    .reduce((t, e) => [t[0] + e.transferSize, t[1] + e.decodedBodySize], [0, 0])"""


def run(project: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run([*MEDIAFEED, "--project", str(project), "-q", "--now", NOW, *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def weigh(browser: Any, base: str) -> dict[str, tuple[int, int]]:
    """page → (bytes on the wire, decoded bytes) of the page at base/key and what it loaded, media left out."""
    sizes = {}
    for name, key in PAGES.items():
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/{key}", wait_until="load")
        page.locator("h1").first.wait_for()
        page.wait_for_timeout(1500)  # the player's script, its icons and the thumbnail
        wire, decoded = page.evaluate(WEIGH)
        sizes[name] = (int(wire), int(decoded))
        context.close()
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chromium", default=os.environ.get("MEDIAFEED_CHROMIUM") or shutil.which("chromium") or "")
    options = parser.parse_args()
    if not options.chromium:
        sys.exit("bench_pages: no Chromium (install Debian's chromium, or set MEDIAFEED_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        shutil.copy(REPO / "mediafeed.toml", project)
        for folder in ("feeds", "episodes", "artwork"):
            shutil.copytree(REPO / folder, project / folder)
        if (REPO / "build").is_dir():
            shutil.copytree(REPO / "build", project / "build", ignore=shutil.ignore_patterns("bench-*"))
        env = environment(Path(tmp))
        serve_port, moto_port = free_port(), free_port()
        toml = project / "mediafeed.toml"
        toml.write_text(toml.read_text().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{serve_port}"))
        endpoint = f"http://127.0.0.1:{moto_port}"
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        server.start()
        serving = None
        try:
            run(project, "publish", env=env)
            serving = subprocess.Popen([*MEDIAFEED, "--project", str(project), "serve", "--port", str(serve_port)],
                                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", serve_port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            hosts: dict[str, str] = {"serve": f"http://127.0.0.1:{serve_port}"}
            for bucket, precompress in (("bench-pages-gzip", True), ("bench-pages-plain", False)):
                point_at(project, endpoint, bucket)
                if not precompress:
                    toml.write_text(toml.read_text().replace('addressing_style = "path"\n',
                                                              'addressing_style = "path"\nprecompress = false\n'))  # fmt: skip
                import boto3

                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                             aws_secret_access_key="bench-secret").create_bucket(Bucket=bucket)  # fmt: skip
                run(project, "target", "setup", "s3", env=env)
                run(project, "publish", "--target", "s3", env=env)
                hosts[bucket] = f"{endpoint}/{bucket}"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=options.chromium, args=FLAGS, headless=True)
                weights = {host: weigh(browser, base) for host, base in hosts.items()}
                browser.close()
        finally:
            if serving is not None:
                serving.terminate()
                serving.wait(timeout=10)
            server.stop()

    print("Web pages: KB before media in Chromium (Resource Timing: page + everything it loaded but audio/video), "
          f"sample catalog, {time.strftime('%Y-%m-%d')}; budget {BUDGET // 1024} KB on the wire")  # fmt: skip
    header = f"{'page':<17} {'serve (gzip)':>13} {'bucket, stored gzip':>20} {'bucket, plain':>14} {'decoded':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name in PAGES:
        served = weights["serve"][name][0]
        stored, decoded = weights["bench-pages-gzip"][name]
        plain = weights["bench-pages-plain"][name][0]
        verdict = "ok" if max(served, stored) <= BUDGET else "FAIL"
        print(f"{name:<17} {served / 1024:>10.1f} KB {stored / 1024:>17.1f} KB {plain / 1024:>11.1f} KB "
              f"{decoded / 1024:>6.1f} KB {stored / plain:>6.2f}  {verdict}")  # fmt: skip
    print("ratio: bucket with stored gzip / bucket plain (lower is lighter); ok/FAIL: serve and stored gzip within budget")


if __name__ == "__main__":
    main()
