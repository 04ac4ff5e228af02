"""Loaded episodes remembered in build/, so an unchanged catalog is not parsed and rendered again on every run.

Loading an episode (YAML, Markdown → sanitized HTML, artwork checks, transcript and chapters parsing, resolving
every file it names) is what a no-op publish of a large catalog spends most of its time on, yet its result depends
only on files we can stat. An entry is reused when every one of these is unchanged:

- the whole cache: the format, the mediafeed source code (a digest of the package's files, so an edited checkout
  or a new version never trusts an old cache), the Python version, mediafeed.toml's bytes and the loaded Config;
- one episode: the bundle folder and its index.md, and each file the episode was built from, both as written
  (every path component from the bundle on, with lstat, so a swapped symlink shows) and as resolved (with stat).

A stat is (inode, size, mtime_ns, ctime_ns, mode). Like git's index, an entry whose files were modified in the last
couple of seconds is not stored ("racy"): a second edit in the same timestamp tick could otherwise go unseen.
Episodes with problems are never stored, so every run reports them afresh. The file is only a cache: a missing,
corrupt or foreign one costs time, never correctness. It is a pickle: whoever can write build/ can already change
what is published.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from mediafeed.cache import files as cachefile

if TYPE_CHECKING:
    from mediafeed.catalog.load import FileUse
    from mediafeed.config import Config
    from mediafeed.models import Episode

CACHE_NAME = "load-cache.pickle"
FORMAT = 1
RACY_NS = 2_000_000_000  # files touched this recently are not cached (same-tick edits would be invisible)

Stat = tuple[int, int, int, int, int] | None  # (inode, size, mtime_ns, ctime_ns, mode); None = missing
Check = tuple[str, bool, Stat]  # (path, follow symlinks, expected stat)


def stat_of(path: str, follow: bool) -> Stat:
    try:
        s = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    return (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_mode)


def untrusted(stats: Iterable[tuple[str, Stat]], trusted: str | None = None) -> bool:
    """Whether some of these (path, stat) pairs cannot vouch for their file: missing, or modified so recently that
    a second edit in the same timestamp tick would go unseen. Files under `trusted` (a build/ folder, which only
    mediafeed writes) are exempt from the second rule."""
    recent = time.time_ns() - RACY_NS
    prefix = trusted + os.sep if trusted else None
    return any(s is None or (s[2] >= recent and not (prefix and path.startswith(prefix))) for path, s in stats)


@cache
def code_digest() -> str:
    """A digest of this package's source files and of the installed libraries' versions: a cache written by other
    code is never trusted (an upgraded nh3 or feedgen may render the same catalog differently)."""
    digest = hashlib.sha256(sys.version.encode())
    package = Path(__file__).parent
    for path in sorted(package.parent.rglob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for folder in sys.path:  # "<name>-<version>.dist-info" folders: a listing, not importlib.metadata (30 ms)
        if folder.endswith("site-packages") and os.path.isdir(folder):
            installed = sorted(name for name in os.listdir(folder) if name.endswith(".dist-info"))
            digest.update("\0".join(installed).encode())
    return digest.hexdigest()


def config_digest(config: Config) -> str:
    """mediafeed.toml's bytes and what was loaded from it (paths resolved), which every episode depends on."""
    from mediafeed.config import CONFIG_FILE

    try:
        toml = (config.project / CONFIG_FILE).read_bytes()
    except OSError:
        toml = b""
    described = f"{config.project.resolve()}\0{config!r}".encode()
    return hashlib.sha256(toml + b"\0" + described).hexdigest()


def paths_to_check(files: list[FileUse]) -> list[tuple[str, bool]]:
    """What to stat for files read through a FileUse: each path component as written (lstat, so a swapped
    symlink shows), and the file it resolved to (stat)."""
    paths: list[tuple[str, bool]] = []
    for use in files:
        written = use.base
        paths.append((str(written), False))
        for part in Path(use.written).parts:
            written = written / part
            paths.append((str(written), False))
        paths.append((str(use.resolved), True))
    return paths


@dataclass
class LoadCache:
    """Episode entries by project-relative index.md path; `get` validates by stat, `put` records, `save` writes."""

    path: Path | None
    key: tuple[int, str, str]
    entries: dict[str, tuple[tuple[Check, ...], Episode]] = field(default_factory=dict)
    changed: bool = False
    hits: int = 0
    seen: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, config: Config) -> LoadCache:
        path = config.project / "build" / CACHE_NAME
        key = (FORMAT, code_digest(), config_digest(config))
        cache = cls(path, key)
        try:
            with path.open("rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("entries"), dict):
                cache.entries = data["entries"]
        except FileNotFoundError:
            pass
        except Exception:  # corrupt or written by something else: start over
            cache.entries, cache.changed = {}, True
        return cache

    def get(self, rel: str, index: Path) -> Episode | None:
        """The remembered episode when none of the files it was built from changed since, else None."""
        self.seen.add(rel)
        entry = self.entries.get(rel)
        if entry is None:
            return None
        checks, episode = entry
        for path, follow, expected in checks:
            if stat_of(path, follow) != expected:
                del self.entries[rel]
                self.changed = True
                return None
        self.hits += 1
        return episode

    def put(self, rel: str, index: Path, episode: Episode, files: list[FileUse]) -> None:
        """Remember a freshly loaded episode, unless one of its files changed too recently to trust a stat."""
        self.seen.add(rel)
        checks = [(str(index.parent), False), (str(index), True), *paths_to_check(files)]
        stamped = tuple((path, follow, stat_of(path, follow)) for path, follow in dict.fromkeys(checks))
        if untrusted((path, s) for path, _, s in stamped):
            self.entries.pop(rel, None)
            return
        self.entries[rel] = (stamped, episode)
        self.changed = True

    def checks_of(self, rel: str) -> tuple[Check, ...] | None:
        """The stats the episode at `rel` was cached with (None when it is not cached: new, racy or invalid)."""
        entry = self.entries.get(rel)
        return entry[0] if entry is not None else None

    def save(self) -> None:
        """Write atomically, dropping entries for episodes that are gone; failing to cache never fails a run."""
        gone = self.entries.keys() - self.seen
        for rel in gone:
            del self.entries[rel]
        if not (self.changed or gone) or self.path is None:
            return
        if cachefile.store(self.path, {"key": self.key, "entries": self.entries}):
            self.changed = False
