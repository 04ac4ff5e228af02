"""`mediafeed import --check`, the I/O edge: fetch the old feed the way `import` does (publish/importing.py), read our
published feed for the same show from the target (storage: a local folder or the S3 bucket), probe each of our
enclosures over HTTP (`GET` with `Range: bytes=0-0`, a few at a time) and hand it all to feeds/migration.py."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mediafeed.catalog.importer import IMPORTED_FROM
from mediafeed.config import Config, Target
from mediafeed.errors import MediafeedError, UsageError
from mediafeed.feeds.migration import EnclosureProbe, Feed, MigrationReport, compare, joined, parse_feed
from mediafeed.publish.importing import USER_AGENT, read_source
from mediafeed.publish.targets import open_storage

TIMEOUT = 15.0
CONCURRENCY = 8


def probe_enclosure(url: str) -> EnclosureProbe:
    """One enclosure, as an app would first touch it: GET with `Range: bytes=0-0` (at most one byte read)."""
    if not url.startswith(("http://", "https://")):
        return EnclosureProbe(url, 0, None, "not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status = response.status
            if status == 206:
                total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
            else:
                total = response.headers.get("Content-Length") or ""
            response.read(1)
    except urllib.error.HTTPError as exc:
        return EnclosureProbe(url, exc.code, None)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return EnclosureProbe(url, 0, None, f"cannot connect: {reason}")
    return EnclosureProbe(url, status, int(total) if total.strip().isdigit() else None)


def probe_all(urls: list[str]) -> dict[str, EnclosureProbe]:
    unique = list(dict.fromkeys(urls))
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        return dict(zip(unique, pool.map(probe_enclosure, unique), strict=True))


def choose_feed(config: Config, source: str, feed_id: str | None, podcast_guid: str | None) -> str:
    """The feed id to compare with: --feed, else the feed file `import` wrote from this source, else the one whose
    pinned guid: is the old channel's podcast:guid, else the project's only feed."""
    feeds = config.project / "feeds"
    known = project_feeds(config.project)
    if feed_id is not None:
        if feed_id not in known:
            raise UsageError(f"--feed: no feeds/{feed_id}.yaml", hint=f"use one of: {', '.join(known) or 'none'}")
        return feed_id
    by_source, by_guid = [], []
    for fid in known:
        text = (feeds / f"{fid}.yaml").read_text(encoding="utf-8", errors="replace")
        first = text.split("\n", 1)[0]
        if first.startswith(IMPORTED_FROM) and first.removeprefix(IMPORTED_FROM).rsplit(" by ", 1)[0] == source:
            by_source.append(fid)
        if podcast_guid and podcast_guid in text:
            by_guid.append(fid)
    for found in (by_source, by_guid, known):
        if len(found) == 1:
            return found[0]
    raise UsageError(
        "which feed is the imported show? more than one feed could be", hint=f"pass --feed ID (one of: {', '.join(known)})"
    )


MAX_PAGES = 1000


def our_feed(target: Target, feed_id: str) -> tuple[Feed, str, str]:
    """Our published feed (every page of a paged one, read from the target), where it was read, its public URL."""
    storage = open_storage(target)
    key = f"feeds/{feed_id}.xml"
    url = target.url_for(key)
    where = f"{target.path / key}" if target.path is not None else f"{target.name}: {key}"
    pages: list[Feed] = []
    next_key: str | None = key
    while next_key is not None and len(pages) < MAX_PAGES:
        data = storage.read(next_key)
        if data is None:
            raise MediafeedError(
                f"{where}: {'not published' if not pages else f'its page {next_key} is missing'} on target '{target.name}'",
                hint=f"publish first (`mediafeed publish --target {target.name}`), then run the check",
            )
        page = parse_feed(data, next_key)
        pages.append(page)
        following = page.next_url or ""
        next_key = following.removeprefix(target.public_url + "/") if following.startswith(target.public_url + "/") else None
    return joined(pages), f"{where} ({url})", url


def check_migration(
    config: Config, source: str, *, feed_id: str | None, target_name: str | None, allow_private: bool | None = None
) -> MigrationReport:
    old = parse_feed(read_source(source, allow_private=allow_private), source)
    target = config.target(target_name)
    fid = choose_feed(config, source, feed_id, old.podcast_guid)
    ours, where, url = our_feed(target, fid)
    probes = probe_all([item.enclosure_url for item in ours.items if item.enclosure_url])
    return compare(old, ours, probes, old_source=source, ours_source=where, our_url=url)


def project_feeds(project: Path) -> list[str]:
    folder = project / "feeds"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
