"""`mediafeed import`, the I/O edge: fetch the feed (a file, or HTTP with redirects, a timeout and a size limit),
write the catalog files catalog/importer.py maps it to (atomically, item by item as the mapping streams them; an
episode the producer edited is kept), and download every file the episodes list (enclosure, artwork, chapters,
transcript) into the bundles with bounded concurrency, resumable over HTTP Range on a `.part` file, checked against
the declared length, with progress reported per file. Bytes are kept exactly as published.

Every fetch (the feed, each file, each redirect target) is refused when its host resolves to a private, loopback,
link-local, multicast or reserved address, unless the producer allows it (`--allow-private`: importing from their
own network, and the tests' 127.0.0.1 server). The name is checked before each request and redirect, and the
address actually connected to once connected (a name that resolves differently the second time: DNS rebinding),
except through a proxy (whose address is the peer then)."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mediafeed.atomic import write_atomically
from mediafeed.catalog.importer import MAX_FEED_BYTES, Download, ImportError_, Note, open_feed, recorded_guid
from mediafeed.progress import Advanced, Finished, Reporter, Started, Task, silent

TIMEOUT = 30.0
CONCURRENCY = 4
CHUNK = 1 << 20
USER_AGENT = "mediafeed-import/1"
PRIVATE_HINT = "if that host is on your own network, run the import again with --allow-private"
ALLOW_PRIVATE_ENV = "MEDIAFEED_IMPORT_ALLOW_PRIVATE"  # set to 1: what --allow-private does (tests on 127.0.0.1)


def allow_private_default() -> bool:
    """Whether private addresses are allowed when the caller does not say: the environment's MEDIAFEED_IMPORT_ALLOW_PRIVATE
    (1, true or yes), so `import --check` and test servers on 127.0.0.1 can use it too; else refused."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


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
    loudness: list[dict[str, Any]] = field(default_factory=list)  # each imported enclosure as measured

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
            "loudness": self.loudness,
        }


class RefusedAddress(OSError):
    """A fetch (or a redirect) to a private, loopback, link-local, multicast or reserved address."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def private_address(url: str) -> str | None:
    """Why `url` must not be fetched from an import (its host is, or resolves to, a non-public address), or None.
    A name that does not resolve is left to the fetch itself to report."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    for info in infos:
        if why := _non_public(str(info[4][0])):
            return f"{url} resolves to {why}; refused"
    return None


def _non_public(text: str) -> str | None:
    """'<address> (<kind> address)' for a private, loopback, link-local, multicast, unspecified or reserved one."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):  # most telling first
        if getattr(address, f"is_{kind}"):
            return f"{address} ({kind.replace('_', '-')} address)"
    return None


def _check_peer(connection: http.client.HTTPConnection) -> None:
    """After connecting: the address actually connected to must be public too (a name may resolve differently the
    second time: DNS rebinding)."""
    peer = connection.sock.getpeername()[0] if connection.sock is not None else None
    if peer and (why := _non_public(str(peer))):
        connection.close()
        raise RefusedAddress(f"{connection.host} connected to {why}; refused")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        options: dict[str, Any] = {"context": getattr(self, "_context", None)}
        if hasattr(self, "_check_hostname"):  # Python 3.11
            options["check_hostname"] = self._check_hostname
        return self.do_open(_PublicHTTPSConnection, req, **options)


class _Guard(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s) URLs, and (unless allowed) only to public addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not is_url(newurl):
            raise RefusedAddress(f"{req.full_url} redirects to {newurl}, not an http(s) URL; refused")
        if not self.allow_private and (why := private_address(newurl)):
            raise RefusedAddress(f"{req.full_url} redirects to {why}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str, headers: dict[str, str], allow_private: bool) -> Any:
    if not allow_private and (why := private_address(url)):
        raise RefusedAddress(why)
    handlers: list[Any] = [_Guard(allow_private)]
    if not allow_private and not urllib.request.getproxies():  # through a proxy, the peer is the proxy
        handlers += [_PublicHTTPHandler(), _PublicHTTPSHandler()]
    opener = urllib.request.build_opener(*handlers)
    try:
        return opener.open(urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers}), timeout=TIMEOUT)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, RefusedAddress):  # raised while connecting, wrapped by urllib
            raise exc.reason from None
        raise


def _read_up_to(stream: Any, limit: int) -> bytes:
    """At most limit + 1 bytes, read a chunk at a time (read(n) would allocate n bytes up front)."""
    chunks, size = [], 0
    while size <= limit and (chunk := stream.read(min(CHUNK, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_source(source: str, limit: int = MAX_FEED_BYTES, *, allow_private: bool | None = None) -> bytes:
    if allow_private is None:
        allow_private = allow_private_default()
    if not is_url(source):
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = _read_up_to(handle, limit)
        except OSError as exc:
            raise ImportError_(f"{source}: cannot read ({exc.strerror})", hint="pass a feed file or an http(s) URL") from exc
    else:
        try:
            with _open(source, {}, allow_private) as response:
                data = _read_up_to(response, limit)
        except RefusedAddress as exc:
            raise ImportError_(str(exc), hint=PRIVATE_HINT) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise ImportError_(f"{source}: cannot fetch ({exc})", hint="check the URL and the network") from exc
    if len(data) > limit:
        raise ImportError_(f"{source}: larger than {limit >> 20} MB; is this a podcast feed?")
    return data


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state_file(project: Path, feed_id: str) -> Path:
    """What import last wrote for a feed (file → SHA-256), to tell a file the producer edited from one only the old
    feed changed since. In build/ (not committed): without it, every file that differs counts as edited (kept)."""
    return project / "build" / "import" / f"{feed_id}.json"


def _load_state(path: Path) -> dict[str, str]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def _write_if(project: Path, rel: str, text: str, report: ImportReport, state: dict[str, str]) -> None:
    """Write a catalog file unless it is already so, or the producer edited it since import wrote it (kept). A file
    import wrote and nobody touched since is updated when the old feed changed."""
    path = project / rel
    data = text.encode("utf-8")
    if path.is_file():
        current = path.read_bytes()
        if current == data:
            report.unchanged.append(rel)
            state[rel] = _digest(data)
            return
        if state.get(rel) != _digest(current):
            report.kept.append(rel)
            return
    report.written.append(rel)
    if not report.dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        state[rel] = _digest(data)


def _total_size(headers: Any, resumed: bool) -> int | None:
    """The whole file's size the host announces: Content-Range's total for a 206, else Content-Length."""
    text = (headers.get("Content-Range") or "").rpartition("/")[2] if resumed else (headers.get("Content-Length") or "")
    return int(text) if text.strip().isdigit() else None


MISMATCH = "mismatch:"
REFUSED = "refused:"


def download(
    url: str,
    dest: Path,
    length: int | None,
    *,
    allow_private: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> str | None:
    """Fetch url into dest (resuming dest.part with Range). Returns None when done, else why it failed (a reason
    starting with MISMATCH: the file is in place but not the declared size; REFUSED: a private address).
    `progress(bytes so far, total or None)` is called as chunks arrive."""
    if dest.is_file():  # only ever renamed into place once whole (a length mismatch was reported then)
        return None
    if not is_url(url):
        return f"{url!r} is not an http(s) URL; not fetched"
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    try:
        with _open(url, {"Range": f"bytes={have}-"} if have else {}, allow_private) as response:
            resumed = bool(have) and response.status == 206
            total = _total_size(response.headers, resumed)
            done = have if resumed else 0
            with part.open("ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK):  # read(n) returns b"" when the host hangs up early
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except RefusedAddress as exc:
        return f"{REFUSED}{exc}"
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
        host = urlparse(url).hostname
        return f"{MISMATCH}the feed says {length} bytes, {host} sent {size} (the old feed is wrong); kept what it sent"
    return None


def _existing(project: Path) -> dict[str, str | None]:
    existing: dict[str, str | None] = {}
    episodes_dir = project / "episodes"
    if episodes_dir.is_dir():
        for index in sorted(episodes_dir.glob("*/index.md")):
            try:
                existing[index.parent.name] = recorded_guid(index.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                existing[index.parent.name] = None
    return existing


def _check_downloaded(what: str, path: Path, project: Path) -> str | None:
    """Why a downloaded chapters file or transcript is unusable (check would refuse it), or None. Artwork that is
    not compliant (too small, CMYK, ...) gets the fixed copy `mediafeed artwork --fix` would make, in build/ (the
    download itself is kept byte for byte); one that cannot be fixed is reported."""
    if what in ("artwork", "image"):
        from mediafeed.catalog.artwork import ArtworkError, artwork_problems, fix_artwork, fixable

        problems = artwork_problems(path)
        if not problems:
            return None
        if fixable(path):
            try:
                fix_artwork(path, project / "build")
            except (ArtworkError, OSError) as exc:
                return f"{problems[0][0]}; no compliant copy could be made ({exc})"
            return None
        return problems[0][0]
    if what == "chapters":
        from mediafeed.catalog.chapters import parse_json_chapters

        parsed, why = parse_json_chapters(path)
        return None if parsed or not why else why
    if what == "transcript":
        from mediafeed.catalog.transcripts import TranscriptError, parse_cues

        try:
            parse_cues(path.read_text(encoding="utf-8-sig"))
        except (TranscriptError, UnicodeDecodeError, ValueError) as exc:
            return str(exc)
    return None


def _fetch_all(
    project: Path, jobs: list[tuple[str, Download]], report: ImportReport, *, allow_private: bool, progress: Reporter
) -> None:
    overall = Task("import", report.feed_id, "items")
    progress(Started(overall, len(jobs)))
    finished = 0

    def one(job: tuple[str, Download]) -> tuple[str, Download, str | None]:
        where, wanted = job
        dest = project / wanted.dest
        if dest.is_file():
            return where, wanted, "existed"
        dest.parent.mkdir(parents=True, exist_ok=True)
        task = Task("download", wanted.dest, "bytes")
        progress(Started(task, wanted.length))
        why = download(
            wanted.url,
            dest,
            wanted.length,
            allow_private=allow_private,
            progress=lambda done, _total: progress(Advanced(task, done)),
        )
        ok = why is None or why.startswith(MISMATCH)
        progress(Finished(task, "done" if ok else "failed", "" if ok else why or ""))
        return where, wanted, why

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for where, wanted, why in pool.map(one, jobs):
            finished += 1
            progress(Advanced(overall, finished))
            rel = wanted.dest
            if why == "existed":
                report.unchanged.append(rel)
                continue
            if why is None or why.startswith(MISMATCH):
                report.downloaded.append(rel)
                if why is not None:
                    report.notes.append(Note(where, f"{wanted.what} length", why.removeprefix(MISMATCH)))
                if unusable := _check_downloaded(wanted.what, project / rel, project):
                    report.notes.append(
                        Note(where, wanted.what, f"{rel}: {unusable}", f"fix or delete {rel} and its line in index.md")
                    )
                continue
            report.failed.append(rel)
            if why.startswith(REFUSED):
                report.notes.append(Note(where, wanted.what, why.removeprefix(REFUSED) + "; not downloaded", PRIVATE_HINT))
            else:
                report.notes.append(
                    Note(where, wanted.what, f"{why}; not downloaded", "run the import again: it fetches what is missing")
                )
    summary = f"{len(report.downloaded)} downloaded, {len(report.failed)} failed, {len(jobs)} files"
    progress(Finished(overall, "failed" if report.failed else "done", summary))


def run_import(
    project: Path,
    source: str,
    *,
    feed_id: str | None,
    kind: str,
    dry_run: bool,
    allow_private: bool | None = None,
    progress: Reporter = silent,
    process: bool = False,
) -> ImportReport:
    if allow_private is None:
        allow_private = allow_private_default()
    data = read_source(source, allow_private=allow_private)
    header, items = open_feed(data, source, feed_id=feed_id, kind=kind, existing=_existing(project), process=process)
    del data  # the mapping holds what it still needs
    feed_rel = f"feeds/{header.feed_id}.yaml"
    report = ImportReport(header.feed_id, feed_rel, notes=list(header.notes), dry_run=dry_run)
    report.notes += _other_feeds_selecting(project, header.feed_id, kind)
    state_file = _state_file(project, header.feed_id)
    state = _load_state(state_file)
    _write_if(project, feed_rel, header.feed_text, report, state)
    jobs: list[tuple[str, Download]] = [("channel", d) for d in header.downloads]
    for entry in items:  # one item at a time: written as it is mapped
        if isinstance(entry, Note):
            report.notes.append(entry)
            continue
        report.notes += entry.notes
        _write_if(project, f"episodes/{entry.slug}/index.md", entry.index_text, report, state)
        jobs += [(entry.slug, d) for d in entry.downloads]
    if not dry_run:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(state_file, json.dumps(state, indent=0, sort_keys=True).encode("utf-8"))
        _fetch_all(project, jobs, report, allow_private=allow_private, progress=progress)
        enclosures = [(slug, d.dest) for slug, d in jobs if d.what == "enclosure" and d.dest not in report.failed]
        report.loudness = _measured(project, enclosures, progress)
    return report


def _other_feeds_selecting(project: Path, feed_id: str, kind: str) -> list[Note]:
    """The project's other feeds that would carry the imported episodes too (a fresh project's `podcast` feed takes
    every podcast episode): said before anything is published, with the way out."""
    import yaml

    found = []
    for path in sorted((project / "feeds").glob("*.yaml")):
        if path.stem == feed_id:
            continue
        try:
            select = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("select") or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
            continue
        kinds, topics = select.get("kinds") or [], select.get("topics") or []
        if isinstance(kinds, list) and isinstance(topics, list) and not topics and (not kinds or kind in kinds):
            found.append(
                Note(
                    "channel",
                    "select",
                    f"feeds/{path.name} selects every {kind} episode too: the imported episodes will be published in "
                    "that feed as well",
                    "import with --kind set to a kind that feed does not take, or narrow its select:, or delete it",
                )
            )
    return found


def _header(path: Path) -> Any:
    """What measuring needs to know of a file (length, channels), read from its header by mutagen in this process
    instead of an ffprobe run per file; None (ffprobe then) when mutagen cannot tell."""
    import mutagen

    from mediafeed.mediainfo import MediaInfo

    try:
        found = mutagen.File(path)
    except Exception:
        return None
    length, channels = getattr(getattr(found, "info", None), "length", 0), getattr(getattr(found, "info", None), "channels", 0)
    if not length or not channels:
        return None
    return MediaInfo(path, path.stat().st_size, float(length), "", "", None, int(channels), None, None)


def _measured(project: Path, enclosures: list[tuple[str, str]], progress: Reporter) -> list[dict[str, Any]]:
    """Each imported enclosure's loudness against the project's [audio] targets, measured side by side and
    remembered in build/ under the key publish uses (so publish does not measure it again)."""
    import threading

    from mediafeed.cache.store import Store
    from mediafeed.config_file import load_config
    from mediafeed.errors import MediaError
    from mediafeed.media.published import measure

    present = [(slug, rel) for slug, rel in enclosures if (project / rel).is_file()]
    if not present:
        return []
    profile = load_config(project).audio
    store = Store(project / "build", root=project)
    task = Task("measure", "imported media", "files")
    progress(Started(task, len(present)))
    done, lock = [0], threading.Lock()

    def one(job: tuple[str, str]) -> dict[str, Any]:
        slug, rel = job
        try:
            found: dict[str, Any] = measure(project / rel, store, info=_header(project / rel)).describe(profile)
        except MediaError as exc:
            found = {"error": str(exc)}
        with lock:
            done[0] += 1
            progress(Advanced(task, done[0]))
        return {"slug": slug, "file": rel, **found}

    try:
        with ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1))) as pool:
            results = list(pool.map(one, present))
    finally:
        store.close()
    off = sum(1 for r in results if r.get("on_target") is False)
    progress(Finished(task, "done", f"{len(results)} measured, {off} off target"))
    return results
