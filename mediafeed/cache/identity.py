"""A file's identity is its content: its sha256, found without reading the file whenever that can be trusted.

Three ways to a file's sha256, cheapest first:
- **git**: in a git work tree, `git ls-files --stage --debug` lists every tracked file's blob id with the stat git
  recorded when it last wrote or checked the file (inode, size, mtime and ctime to the nanosecond). A file whose
  stat is still exactly that, and that was not modified in the same instant git wrote its index (git's own racy
  rule), holds that blob; the store remembers, for every blob id it has seen, the sha256 of those bytes. Such a file
  is identified without being read: a CI checkout (new mtimes, inodes, ctimes; same bytes) finds everything a
  previous run derived. One git command for the whole project, tens of milliseconds at 10,000 episodes. (Not
  `git diff-files`: git built without USE_NSEC compares stat times to the second.)
- **stat index** (inode, size, mtime_ns, ctime_ns), for untracked or modified files and files outside the project,
  under one racy-file rule: an entry is trusted only if the file was last modified at least RACY_NS before it was
  hashed, because a second edit within the same timestamp tick would leave the stat unchanged.
- **reading the file**, which also yields its git blob id (computed, not taken from git's index, so a file edited
  while we run can never be remembered under the wrong blob).

The content id is `sha256:<hex>` however it was found, so a git checkout, a copy without git and a moved project
all share one cache. With a shared tier (cache/remote.py), the blob → sha256 pairs any runner learnt are shared too,
as immutable packs: a fresh clone on a new runner identifies every tracked file without reading one.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mediafeed.cache.store import Store, portable

if TYPE_CHECKING:
    from mediafeed.cache.remote import Remote

RACY_NS = 2_000_000_000
STAT_KIND = "stat"  # stat-index name → ((inode, size, mtime_ns, ctime_ns), sha256, hashed at ns)
BLOB_KIND = "blob"  # git blob id → sha256 of the same bytes (stored as the ASCII hex, not pickled: 20,000 per run)
PACK_KIND = "blob-pack"  # shared blob packs already merged into this store's blob map
SHARED_BLOB_KIND = "blob-shared"  # blob ids whose pairs are in the shared packs (merged from them, or written there)
FEW = 64  # up to this many stat-index lookups are single queries; beyond, the whole index is read at once
CHUNK = 1 << 20

Stat = tuple[int, int, int, int]  # (inode, size, mtime_ns, ctime_ns)
# One entry of `git ls-files --stage --debug -z`: "mode blob stage\tpath\0" and the stat git recorded.
_DEBUG_ENTRY = re.compile(
    r"(\d+) ([0-9a-f]+) (\d)\t([^\0]*)\0"
    r"\s*ctime: (\d+):(\d+)\n\s*mtime: (\d+):(\d+)\n\s*dev: \d+\tino: (\d+)\n\s*uid: \d+\tgid: \d+\n"
    r"\s*size: (\d+)\tflags: [0-9a-f]+\n"
)


def _stat(path: str | Path) -> Stat:
    s = os.stat(path)
    return (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def hash_file(path: str | Path) -> tuple[str, str]:
    """(sha256, git blob id) of a file, in one read."""
    size = os.stat(path).st_size
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


class ContentIds:
    """Content ids and sha256 of files, for one run over one project."""

    def __init__(self, project: Path, store: Store) -> None:
        self.project = project.resolve()
        self.store = store
        self._lock = threading.Lock()
        self._git: dict[str, tuple[str, Stat]] | None = None  # project-relative path → (blob id, stat git recorded)
        self._blobs: dict[str, str] | None = None  # blob id → sha256
        self._stats: dict[str, tuple[Stat, str, int]] | None = None
        self._lookups = 0
        self._known: dict[tuple[str, Stat], str] = {}  # learnt this run
        self._pending_stats: dict[str, tuple[Stat, str, int]] = {}
        self._pending_blobs: dict[str, str] = {}
        self._listed: set[str] = set()  # every blob id git's index lists (racily clean entries included)
        self._shared_blobs: set[str] | None = None  # blob ids the shared tier's packs hold (when one is attached)
        self.read = 0  # files read to hash them this run (a CI-shaped no-op reads none)

    def id(self, path: str | Path) -> str:
        """The content id of a file (symlinks followed)."""
        return f"sha256:{self.sha256(path)}"

    def sha256(self, path: str | Path) -> str:
        relative = self._relative(path)
        now = _stat(path)
        blob = None
        if relative is not None:
            tracked = (self._git if self._git is not None else self._tracked()).get(relative)
            if tracked is not None and tracked[1] == now:  # exactly as git recorded it, to the nanosecond
                blob = tracked[0]
                blobs = self._blobs if self._blobs is not None else self._blob_map()
                known = blobs.get(blob)
                if known is not None:
                    return known
        name = f"./{relative}" if relative is not None else str(path)
        with self._lock:
            known = self._known.get((name, now))
        if known is None:
            entry = self._stat_entry(name)
            if entry is not None and entry[0] == now and now[2] < entry[2] - RACY_NS:
                known = entry[1]
        if known is not None:
            if blob is not None:  # git holds these very bytes under `blob`: remember it, the next checkout needs it
                with self._lock:
                    self._pending_blobs[blob] = known
            return known
        started = time.time_ns()
        sha, blob = hash_file(path)
        after = _stat(path)
        with self._lock:
            self.read += 1
            self._known[(name, now)] = sha
            self._pending_blobs[blob] = sha  # exact: computed from the bytes just read
            if after == now and now[2] < started - RACY_NS:  # settled before we read it: safe to vouch for by stat
                self._pending_stats[name] = (now, sha, started)
        return sha

    def save(self) -> None:
        """Remember what was learnt this run (one transaction per kind)."""
        with self._lock:
            stats, self._pending_stats = self._pending_stats, {}
            blobs, self._pending_blobs = self._pending_blobs, {}
        self.store.put_many(STAT_KIND, [(name, portable(entry, None)) for name, entry in stats.items()])
        self.store.put_many(BLOB_KIND, [(blob, sha.encode("ascii")) for blob, sha in blobs.items()])
        remote = self.store.remote
        tracked = self._listed  # only tracked files' pairs help another checkout (where git may vouch for them)
        if remote is None or not self.store.shares or not tracked:
            return
        known = {**self._blob_map(), **blobs}
        with self._lock:
            if self._shared_blobs is None:
                self._shared_blobs = self._merge_packs(known)
            shared = self._shared_blobs
        # Every pair of a tracked file the shared packs lack: learnt this run, or known here from before the shared
        # tier was attached (a runner whose build/ was restored).
        new = {blob: known[blob] for blob in tracked if blob in known and blob not in shared}
        if new:
            name = _write_pack(remote, new)
            if name is not None:
                self.store.put_many(_per_tier(PACK_KIND, remote), [(name, b"1")])
                self.store.put_many(_per_tier(SHARED_BLOB_KIND, remote), [(blob, b"1") for blob in new])
                shared |= set(new)

    # --- what the store and git know, read once per run -------------------------------------------------------------

    def _blob_map(self) -> dict[str, str]:
        with self._lock:
            if self._blobs is None:
                found = self.store.get_all(BLOB_KIND, raw=True)
                self._blobs = {k: v.decode("ascii") for k, v in found.items() if isinstance(v, bytes) and len(v) == 64}
                if self.store.remote is not None:
                    self._shared_blobs = self._merge_packs(self._blobs)
            return self._blobs

    def _merge_packs(self, blobs: dict[str, str]) -> set[str]:
        """Merge the shared tier's blob packs this store has not seen into `blobs` (and into the store); returns the
        blob ids the shared tier holds pairs for, as far as this store knows."""
        from concurrent.futures import ThreadPoolExecutor

        from mediafeed.cache.remote import BLOBS

        remote = self.store.remote
        assert remote is not None
        try:
            names = [entry.name for entry in remote.listing(BLOBS)]
        except Exception:  # unreachable: identify files the slow way, correctly (and add no pack: it may be there)
            return set(blobs)
        seen = set(self.store.get_all(_per_tier(PACK_KIND, remote), raw=True))
        new = [name for name in names if name not in seen]
        learnt: dict[str, str] = {}
        merged = []
        with ThreadPoolExecutor(max_workers=16) as pool:
            for name, data in zip(new, pool.map(remote.read, new), strict=True):
                if data is not None and name.endswith(f"/{hashlib.sha256(data).hexdigest()}.txt"):  # whole, as named
                    learnt.update(_parse_pack(data))
                    merged.append(name)
        if learnt:
            blobs.update(learnt)
            self.store.put_many(BLOB_KIND, [(blob, sha.encode("ascii")) for blob, sha in learnt.items()])
            self.store.put_many(_per_tier(SHARED_BLOB_KIND, remote), [(blob, b"1") for blob in learnt])
        self.store.put_many(_per_tier(PACK_KIND, remote), [(name, b"1") for name in merged])
        return set(self.store.get_all(_per_tier(SHARED_BLOB_KIND, remote), raw=True)) | set(learnt)

    def _stat_entry(self, name: str) -> tuple[Stat, str, int] | None:
        """The stat index's entry for a file: single lookups for the first few (a run that needs only the tools' and
        a few untracked files'), then the whole index in one read."""
        with self._lock:
            if self._stats is None and self._lookups < FEW:
                self._lookups += 1
                entry = self.store.get(STAT_KIND, name)
                return entry if isinstance(entry, tuple) and len(entry) == 3 else None
            if self._stats is None:
                entries = self.store.get_all(STAT_KIND)
                self._stats = {k: v for k, v in entries.items() if isinstance(v, tuple) and len(v) == 3}
            return self._stats.get(name)

    def _tracked(self) -> dict[str, tuple[str, Stat]]:
        """Project-relative path → (blob id, the stat git recorded), for tracked regular files that git's index does
        not consider racily clean (modified in the instant the index was written)."""
        with self._lock:
            if self._git is not None:
                return self._git
            self._git = {}
            if not any((folder / ".git").exists() for folder in (self.project, *self.project.parents)):
                return self._git
            listed = _git(self.project, "ls-files", "--stage", "--debug", "-z")
            index_path = _git(self.project, "rev-parse", "--git-path", "index")
            if listed is None or index_path is None:
                return self._git
            try:
                written = os.stat(self.project / index_path.strip()).st_mtime_ns
            except OSError:
                return self._git
            for m in _DEBUG_ENTRY.finditer(listed):
                mode, blob, stage, path, c_s, c_ns, m_s, m_ns, ino, size = m.groups()
                mtime = int(m_s) * 1_000_000_000 + int(m_ns)
                if mode in ("100644", "100755") and stage == "0":
                    self._listed.add(blob)  # racy or not: a pair learnt for it helps another checkout
                if mode in ("100644", "100755") and stage == "0" and mtime < written:
                    self._git[path] = (blob, (int(ino), int(size), mtime, int(c_s) * 1_000_000_000 + int(c_ns)))
            return self._git

    def _relative(self, path: str | Path) -> str | None:
        text = str(path)
        prefix = str(self.project) + os.sep
        if text.startswith(prefix):
            return text[len(prefix) :].replace(os.sep, "/")
        return None


def _per_tier(kind: str, remote: Remote) -> str:
    """A kind of bookkeeping about one shared tier: a build/ restored on a runner of another tier (another bucket)
    knows nothing about what that one holds."""
    return f"{kind}:{hashlib.sha256(remote.describe().encode()).hexdigest()[:16]}"


def compact_packs(remote: Remote) -> tuple[int, int]:
    """One pack of every pair the shared packs hold, then the others removed (`mediafeed cache prune`; the merged
    pack is written first, so a runner reading meanwhile finds every pair in one or the other). (packs before, after)"""
    from mediafeed.cache.remote import BLOBS

    names = [entry.name for entry in remote.listing(BLOBS)]
    if len(names) <= 1:
        return len(names), len(names)
    pairs: dict[str, str] = {}
    for name in names:
        data = remote.read(name)
        if data is not None and name.endswith(f"/{hashlib.sha256(data).hexdigest()}.txt"):
            pairs.update(_parse_pack(data))
    whole = _write_pack(remote, pairs)
    if whole is None:
        return len(names), len(names)
    remote.delete([name for name in names if name != whole])
    return len(names), 1


def _write_pack(remote: Remote, pairs: dict[str, str]) -> str | None:
    """One immutable pack of blob → sha256 pairs, named by its content; its name, or None when it could not be written."""
    from mediafeed.cache.remote import BLOBS

    data = _pack(pairs)
    name = f"{BLOBS}{hashlib.sha256(data).hexdigest()}.txt"
    remote.write(name, data)
    return name if remote.exists(name) else None


def _pack(pairs: dict[str, str]) -> bytes:
    return "".join(f"{blob} {sha}\n" for blob, sha in sorted(pairs.items())).encode("ascii")


_PACK_LINE = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{64})$")


def _parse_pack(data: bytes | None) -> dict[str, str]:
    """A pack's pairs; lines that are not one (a truncated pack) are ignored: a blob not found is simply hashed."""
    if data is None:
        return {}
    pairs = {}
    for line in data.decode("ascii", "replace").splitlines():
        m = _PACK_LINE.match(line)
        if m:
            pairs[m.group(1)] = m.group(2)
    return pairs


def _git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "surrogateescape")
