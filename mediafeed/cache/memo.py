"""Remembering what was built from files, by the content of those files (the load stage's cache, the receipt's inputs).

A `Reads` is the list of files something was built from, each as written (the folder and the name a catalog gave)
and as resolved, with its content id. It still holds when every written name resolves to the same file and every
file has the same content: a swapped symlink, an edited file or a removed one all show. No stat is trusted here;
content ids come from cache.identity (git, or sha256 behind its racy-safe stat index).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from mediafeed.cache.identity import ContentIds
from mediafeed.cache.store import Store, key_of

T = TypeVar("T")


class Read(NamedTuple):
    written: str  # base / name as written (not resolved)
    resolved: str
    content: str | None  # None: missing or unreadable


Reads = tuple[Read, ...]


def record(uses: Iterable[Any], ids: ContentIds) -> Reads:
    """Reads from (base, written, resolved) triples (catalog.load.FileUse), deduplicated, in order."""
    seen: dict[tuple[str, str], None] = {}
    for use in uses:
        seen.setdefault((os.path.join(use.base, use.written), str(use.resolved)), None)
    return tuple(Read(written, resolved, _id(ids, resolved)) for written, resolved in seen)


def still_valid(reads: Reads, ids: ContentIds) -> bool:
    """Whether every file still resolves the same way and has the same content."""
    for written, resolved, content in reads:
        if written != resolved and os.path.realpath(written) != resolved:
            return False
        if _id(ids, resolved) != content:
            return False
    return True


def _id(ids: ContentIds, path: str | Path) -> str | None:
    try:
        return ids.id(path)
    except OSError:  # missing, unreadable, or a folder
        return None


def remembered(store: Store, slot: str, inputs: object, code: str, compute: Callable[[], T]) -> T:
    """compute(), or what it returned last time for equal `inputs` (anything picklable that determines the result)
    and the same `code` digest. One slot keeps only its latest result: a feed re-rendered after every edit would
    otherwise pile up copies of itself."""
    try:
        key = key_of(inputs, code, root=store.root)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return compute()
    stored = store.get("remembered", slot)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key:
        return stored[1]
    result = compute()
    store.put("remembered", slot, (key, result))
    return result
