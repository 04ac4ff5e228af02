"""A file's identity is its content: the git blob id where git vouches for it, else its sha256.

- **git**: in a git work tree, `git ls-files -s` lists every tracked file's blob id and `git diff-files` names the
  tracked files whose working copy differs from it (git checks by its own index, racy entries included). A tracked,
  unmodified regular file is identified by its blob id without being read: a CI checkout (new mtimes, inodes,
  ctimes; same bytes) therefore finds everything a previous run derived. Two git commands for the whole project,
  tens of milliseconds at 10,000 episodes.
- **sha256** for everything else (untracked or modified files, files outside the project, no git): remembered in a
  stat index (inode, size, mtime_ns, ctime_ns) as a shortcut, under one racy-file rule: an entry is trusted only if
  the file was last modified at least RACY_NS before the hash was taken, because a second edit within the same
  timestamp tick would leave the stat unchanged.

Both kinds are prefixed (`git:`, `sha256:`), so they never collide; a file that moves from one kind to the other
only costs a cache miss.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from mediafeed.cache.store import Store
from mediafeed.digest import sha256_file

RACY_NS = 2_000_000_000
STAT_KIND = "stat"

Stat = tuple[int, int, int, int]  # (inode, size, mtime_ns, ctime_ns)


def _stat(path: Path) -> tuple[Stat, os.stat_result]:
    s = os.stat(path)
    return (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns), s


class ContentIds:
    """Content ids and sha256 of files, for one run over one project."""

    def __init__(self, project: Path, store: Store) -> None:
        self.project = project.resolve()
        self.store = store
        self._git: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}  # path → sha256 learnt this run
        self._pending: list[tuple[str, tuple[Stat, str, int]]] = []
        self.git_used = False

    # --- git ------------------------------------------------------------------------------------------------------

    def _tracked(self) -> dict[str, str]:
        """Project-relative path → blob id, for tracked regular files whose working copy git says is unmodified."""
        if self._git is not None:
            return self._git
        self._git = {}
        if not (self.project / ".git").exists() and not _inside_work_tree(self.project):
            return self._git
        listed = _git(self.project, "ls-files", "--stage", "-z")
        modified = _git(self.project, "diff-files", "--name-only", "--relative", "-z")
        if listed is None or modified is None:
            return self._git
        dirty = set(modified.split("\0"))
        tracked = {}
        for entry in listed.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, blob, stage = meta.split(" ")
            if mode in ("100644", "100755") and stage == "0" and path not in dirty:
                tracked[path] = blob
        self._git = tracked
        return tracked

    # --- ids ------------------------------------------------------------------------------------------------------

    def id(self, path: Path) -> str:
        """The content id of a file (symlinks followed for files outside git's view)."""
        relative = self._relative(path)
        if relative is not None:
            blob = self._tracked().get(relative)
            if blob is not None:
                self.git_used = True
                return f"git:{blob}"
        return f"sha256:{self.sha256(path)}"

    def ids(self, paths: list[Path]) -> list[str | None]:
        """id() of each path; None for a path that is missing or unreadable."""
        out: list[str | None] = []
        for path in paths:
            try:
                out.append(self.id(path))
            except OSError:
                out.append(None)
        return out

    def sha256(self, path: Path) -> str:
        """The file's sha256, from the stat index when the file is unchanged since it was hashed."""
        name = self._name(path)
        now, _ = _stat(path)
        with self._lock:
            known = self._known.get(f"{name}\0{now}")
        if known is not None:
            return known
        entry = self.store.get(STAT_KIND, name)
        if isinstance(entry, tuple) and len(entry) == 3:
            stat, sha, recorded = entry
            if stat == now and now[2] < recorded - RACY_NS:
                with self._lock:
                    self._known[f"{name}\0{now}"] = sha
                return str(sha)
        started = time.time_ns()
        sha = sha256_file(path)
        after, _ = _stat(path)
        with self._lock:
            self._known[f"{name}\0{now}"] = sha
            if after == now and now[2] < started - RACY_NS:  # settled before we read it: safe to vouch by stat
                self._pending.append((name, (now, sha, started)))
        return sha

    def save(self) -> None:
        """Remember the hashes learnt this run (one transaction)."""
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            from mediafeed.cache.store import portable

            self.store.put_many(STAT_KIND, [(name, portable(entry, None)) for name, entry in pending])

    def _relative(self, path: Path) -> str | None:
        text = str(path)
        prefix = str(self.project) + os.sep
        if text.startswith(prefix):
            return text[len(prefix) :].replace(os.sep, "/")
        return None

    def _name(self, path: Path) -> str:
        """The stat index's name for a file: project-relative inside the project (so a moved project keeps it)."""
        relative = self._relative(path)
        return f"./{relative}" if relative is not None else str(path)


def _inside_work_tree(folder: Path) -> bool:
    return any((parent / ".git").exists() for parent in folder.parents)


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
