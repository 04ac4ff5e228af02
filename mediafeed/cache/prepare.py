"""Prepared deliveries remembered in build/, so a no-op publish does not walk every episode's build files again.

`prepare_episode` on an already-prepared episode does no encoding, but it still stats, resolves, reads the encode
record, rebuilds the tags (artwork included) and hashes them, for every episode, through a thread pool: on a large
catalog that is the biggest cost of a publish that changes nothing. Its result depends only on

- the job (the episode as loaded, the processing profile and its digest, the show the files are tagged with), which
  is pickled without a memo and hashed with the mediafeed source digest;
- files, checked by stat like the load cache does: the master, the artwork embedded in the tags, and every file the
  result points at (the delivery files in build/, the episode image).

When all of them are unchanged, the remembered PreparedEpisode is returned without touching anything else. Entries
whose source files (outside build/) were modified in the last couple of seconds are not stored (see loadcache: racy
timestamps); delivery files in build/ are written by mediafeed alone, so a fresh one is fine. Only a cache:
deleting build/prepare-cache.pickle costs time, never correctness.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mediafeed.cache import files as cachefile
from mediafeed.cache.load import Stat, code_digest, stat_of, untrusted
from mediafeed.cache.render import pickled

if TYPE_CHECKING:
    from mediafeed.media.prepare import Profile, TagContext
    from mediafeed.models import Episode, PreparedEpisode

CACHE_NAME = "prepare-cache.pickle"
FORMAT = 2

JobKey = tuple[str, str]  # (episode guid, profile digest)


def job_digest(episode: Episode, profile: Profile, context: TagContext) -> str:
    """Everything a delivery is made from that is not a file: equal digests, equal jobs."""
    described = (episode, profile.audio, profile.intro, profile.outro, profile.digest, context)
    return hashlib.sha256(pickled(described)).hexdigest()


def files_of(prepared: PreparedEpisode, context: TagContext) -> list[str]:
    """The files a prepared delivery was made from or consists of."""
    episode = prepared.episode
    files = [episode.media, str(prepared.main.path)]
    if prepared.audio is not None:
        files.append(str(prepared.audio.path))
    if prepared.image is not None:
        files.append(str(prepared.image.path))
    files.append(str(episode.image or context.artwork))  # embedded in the tags
    return list(dict.fromkeys(files))


@dataclass
class PrepareCache:
    """Remembered deliveries by job key; `get` validates, `put` records, `save` writes what was used this run."""

    path: Path | None
    entries: dict[JobKey, tuple[str, tuple[tuple[str, Stat], ...], PreparedEpisode]] = field(default_factory=dict)
    used: set[JobKey] = field(default_factory=set)
    changed: bool = False

    @classmethod
    def open(cls, build_dir: Path | None) -> PrepareCache:
        cache = cls(build_dir / CACHE_NAME if build_dir else None)
        if cache.path is None:
            return cache
        try:
            with cache.path.open("rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, dict) and data.get("key") == (FORMAT, code_digest()):
                cache.entries = data["entries"]
        except FileNotFoundError:
            pass
        except Exception:  # corrupt or from other code: start over
            cache.changed = True
        return cache

    def get(self, key: JobKey, digest: str, episode: Episode) -> PreparedEpisode | None:
        """The remembered delivery of `episode` (whose job has this digest) when no file involved changed."""
        entry = self.entries.get(key)
        if entry is None or entry[0] != digest:
            return None
        for path, expected in entry[1]:
            if stat_of(path, True) != expected:
                return None
        self.used.add(key)
        return replace(entry[2], episode=episode)  # equal digests: the episode is the one it was prepared from

    def put(self, key: JobKey, digest: str, prepared: PreparedEpisode, context: TagContext) -> None:
        checks = tuple((path, stat_of(path, True)) for path in files_of(prepared, context))
        if untrusted(checks, trusted=str(self.path.parent) if self.path else None):  # build/: only we write there
            return
        # Stored without its episode (the load cache holds that already; `get` puts the current one back).
        self.entries[key] = (digest, checks, replace(prepared, episode=None))  # type: ignore[arg-type]
        self.used.add(key)
        self.changed = True

    def checks_of(self, key: JobKey) -> tuple[tuple[str, bool, Stat], ...] | None:
        """The stats the delivery for `key` was cached with (None when it is not cached, e.g. racy sources)."""
        entry = self.entries.get(key)
        return tuple((path, True, stat) for path, stat in entry[1]) if entry is not None else None

    def save(self) -> None:
        """Keep the entries this run used (a full build or publish), written atomically; failures are ignored."""
        if self.path is None or not (self.changed or self.entries.keys() - self.used):
            return
        kept = {key: self.entries[key] for key in self.used if key in self.entries}
        cachefile.store(self.path, {"key": (FORMAT, code_digest()), "entries": kept})
