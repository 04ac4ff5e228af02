"""`mediafeed cache`: what the cache holds (status), what it may forget (prune), whether it is whole (verify).

Pure over what the two tiers list; the caller (pipeline.py) says which entries the current catalog uses.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediafeed.cache.remote import BLOBS, FILES, VALUES, Entry, Remote, unseal
from mediafeed.cache.store import Store, answered


@dataclass(frozen=True)
class TierStatus:
    where: str
    entries: dict[str, int]  # by area: a value kind ("values/probe"), "files", "blobs"
    bytes: dict[str, int]

    @property
    def total_entries(self) -> int:
        return sum(self.entries.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


@dataclass(frozen=True)
class LastRun:
    at: str
    counts: dict[tuple[str, str], int]

    def total(self, what: str) -> int:
        return answered(self.counts, what)

    @property
    def lookups(self) -> int:
        return self.total("local") + self.total("shared") + self.total("missed") + self.total("damaged")

    @property
    def hit_rate(self) -> float | None:
        """Lookups answered by either tier, of all lookups (None: the last run looked nothing up)."""
        return (self.total("local") + self.total("shared")) / self.lookups if self.lookups else None


def area(name: str) -> str:
    if name.startswith(VALUES):
        return "values/" + name[len(VALUES) :].split("/", 1)[0]
    if name.startswith(FILES):
        return "files"
    if name.startswith(BLOBS):
        return "blobs"
    return "other"


def tier_status(where: str, entries: list[Entry]) -> TierStatus:
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for entry in entries:
        counts[area(entry.name)] += 1
        sizes[area(entry.name)] += entry.size
    return TierStatus(where, dict(sorted(counts.items())), dict(sorted(sizes.items())))


def local_status(store: Store) -> TierStatus:
    """build/cache/: values by kind (from its database) and store files (from its folder)."""
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for kind, (number, size) in store.kinds().items():
        counts[f"values/{kind}"] += number
        sizes[f"values/{kind}"] += size
    if store.files is not None and store.files.is_dir():
        for path in store.files.glob("??/*"):
            if path.is_file():
                counts["files"] += 1
                sizes["files"] += path.stat().st_size
    where = str(store.folder) if store.folder is not None else "(none)"
    return TierStatus(where, dict(sorted(counts.items())), dict(sorted(sizes.items())))


def last_run(store: Store) -> LastRun | None:
    found = store.get("cache-stats", "last")
    if not isinstance(found, dict) or not isinstance(found.get("counts"), dict):
        return None
    return LastRun(str(found.get("at", "")), found["counts"])


@dataclass(frozen=True)
class Pruned:
    where: str
    cutoff: datetime
    removed: tuple[Entry, ...]
    kept_in_use: int  # older than the cutoff, but the current catalog uses them
    kept_recent: int
    packs: tuple[int, int] = (0, 0)  # blob packs before and after compaction

    @property
    def removed_bytes(self) -> int:
        return sum(e.size for e in self.removed)


def plan_prune(entries: list[Entry], in_use: set[str], cutoff: datetime) -> tuple[list[Entry], int, int]:
    """(entries to remove, kept because in use, kept because recent). Blob packs are compacted, never aged out."""
    remove, in_use_kept, recent = [], 0, 0
    for entry in entries:
        if entry.name.startswith(BLOBS):
            continue
        if entry.modified >= cutoff:
            recent += 1
        elif entry.name in in_use:
            in_use_kept += 1
        else:
            remove.append(entry)
    return remove, in_use_kept, recent


@dataclass(frozen=True)
class Verified:
    where: str
    checked: int
    damaged: tuple[str, ...]  # removed (a later run makes them again)
    of: int  # entries in the tier
    extra: dict[str, Any] = field(default_factory=dict)


def verify_sample(remote: Remote, entries: list[Entry], sample: int, seed: str) -> Verified:
    """Download `sample` entries (chosen by a seeded shuffle: the same choice for the same seed) and check each: a
    value against the sha256 in its header, a file or blob pack against its name. Damaged ones are removed."""
    candidates = [e for e in entries if e.name.startswith((VALUES, FILES, BLOBS))]
    chosen = sorted(candidates, key=lambda e: e.name)
    random.Random(seed).shuffle(chosen)
    chosen = chosen[:sample]
    damaged = []
    for entry in chosen:
        data = remote.read(entry.name)
        if data is None:
            continue  # gone meanwhile (a prune): nothing to check
        if not whole(entry.name, data):
            damaged.append(entry.name)
    if damaged:
        remote.delete(damaged)
    return Verified(remote.describe(), len(chosen), tuple(damaged), len(candidates))


def whole(name: str, data: bytes) -> bool:
    """Whether an entry's bytes are the ones its name promises."""
    if name.startswith(VALUES):
        return unseal(data) is not None
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    return hashlib.sha256(data).hexdigest() == stem
