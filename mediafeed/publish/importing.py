"""`mediafeed import`, the I/O edge: fetch the feed (a file, or HTTP with redirects, a timeout and a size limit),
write the catalog files catalog/importer.py maps it to (atomically; an episode the producer edited is kept), and
download enclosures and artwork into the bundles with bounded concurrency, resumable over HTTP Range on a `.part`
file, checked against the enclosure's declared length. Bytes are kept exactly as published."""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediafeed.atomic import write_atomically
from mediafeed.catalog.importer import MAX_FEED_BYTES, ImportedFeed, ImportError_, Note, import_feed, recorded_guid

TIMEOUT = 30.0
CONCURRENCY = 4
USER_AGENT = "mediafeed-import/1"


@dataclass
class ImportReport:
    feed_id: str
    feed_file: str
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited by the producer: not overwritten
    downloaded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed_id,
            "feed_file": self.feed_file,
            "dry_run": self.dry_run,
            "written": self.written,
            "unchanged": self.unchanged,
            "kept": self.kept,
            "downloaded": self.downloaded,
            "failed": self.failed,
            "not_carried": [n.as_dict() for n in self.notes],
        }


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(source: str, limit: int = MAX_FEED_BYTES) -> bytes:
    if not is_url(source):
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise ImportError_(f"{source}: cannot read ({exc.strerror})", hint="pass a feed file or an http(s) URL") from exc
    else:
        request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                data = response.read(limit + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise ImportError_(f"{source}: cannot fetch ({exc})", hint="check the URL and the network") from exc
    if len(data) > limit:
        raise ImportError_(f"{source}: larger than {limit >> 20} MB; is this a podcast feed?")
    return data


def _write_if(project: Path, rel: str, text: str, report: ImportReport, *, producer_file: bool) -> None:
    path = project / rel
    data = text.encode("utf-8")
    if path.is_file():
        if path.read_bytes() == data:
            report.unchanged.append(rel)
            return
        if producer_file:
            report.kept.append(rel)
            return
    report.written.append(rel)
    if not report.dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)


def _total_size(headers: Any, resumed: bool) -> int | None:
    """The whole file's size the host announces: Content-Range's total for a 206, else Content-Length."""
    text = (headers.get("Content-Range") or "").rpartition("/")[2] if resumed else (headers.get("Content-Length") or "")
    return int(text) if text.strip().isdigit() else None


def download(url: str, dest: Path, length: int | None) -> str | None:
    """Fetch url into dest (resuming dest.part with Range). Returns None when done, else why it failed."""
    if dest.is_file():  # only ever renamed into place once whole (a length mismatch was reported then)
        return None
    if not is_url(url):
        return f"{url!r} is not an http(s) URL; not fetched"
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            resumed = bool(have) and response.status == 206
            total = _total_size(response.headers, resumed)
            with part.open("ab" if resumed else "wb") as out:
                while chunk := response.read(1 << 20):  # read(n) returns b"" when the host hangs up early
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        whole = (exc.headers.get("Content-Range") or "").rpartition("/")[2]
        if not (exc.code == 416 and have and whole == str(have)):  # else the .part was whole already
            return f"HTTP {exc.code} from {url}"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        return f"cannot download {url} ({exc!r}); run the import again to resume"
    else:
        size = part.stat().st_size
        if total is not None and size < total:
            return f"cut off after {size} of {total} bytes from {url}; run the import again to resume"
    size = part.stat().st_size
    os.replace(part, dest)  # the host sent all it has (a cut-off transfer raised above and keeps its .part)
    if length is not None and size != length:
        return f"mismatch:the feed says {length} bytes, the host sent {size}; kept what the host sent"
    return None


def run_import(project: Path, source: str, *, feed_id: str | None, kind: str, dry_run: bool) -> ImportReport:
    data = read_source(source)
    existing: dict[str, str | None] = {}
    episodes_dir = project / "episodes"
    if episodes_dir.is_dir():
        for index in sorted(episodes_dir.glob("*/index.md")):
            try:
                existing[index.parent.name] = recorded_guid(index.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                existing[index.parent.name] = None
    imported: ImportedFeed = import_feed(data, source, feed_id=feed_id, kind=kind, existing=existing)
    feed_rel = f"feeds/{imported.feed_id}.yaml"
    report = ImportReport(imported.feed_id, feed_rel, notes=list(imported.notes), dry_run=dry_run)
    _write_if(project, feed_rel, imported.feed_text, report, producer_file=True)
    for episode in imported.episodes:
        _write_if(project, f"episodes/{episode.slug}/index.md", episode.index_text, report, producer_file=True)
    if dry_run:
        return report

    jobs: list[tuple[str, str, Path, int | None]] = []
    if imported.image_url and imported.image_file:
        jobs.append(("channel", imported.image_url, project / imported.image_file, None))
    for episode in imported.episodes:
        if episode.enclosure is not None:
            dest = project / "episodes" / episode.slug / episode.enclosure.file_name
            jobs.append((episode.slug, episode.enclosure.url, dest, episode.enclosure.length))

    def one(job: tuple[str, str, Path, int | None]) -> tuple[str, Path, str | None]:
        where, url, dest, length = job
        dest.parent.mkdir(parents=True, exist_ok=True)
        existed = dest.is_file()
        why = download(url, dest, length)
        return where, dest, ("existed" if existed and why is None else why)

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for where, dest, why in pool.map(one, jobs):
            rel = dest.relative_to(project).as_posix()
            if why is None:
                report.downloaded.append(rel)
            elif why == "existed":
                report.unchanged.append(rel)
            elif why.startswith("mismatch:"):
                report.downloaded.append(rel)
                report.notes.append(Note(where, "enclosure length", why.removeprefix("mismatch:")))
            else:
                report.failed.append(rel)
                report.notes.append(Note(where, "enclosure", f"{why}; the episode has no media"))
    return report
