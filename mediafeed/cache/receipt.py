"""The no-op receipt: what the last publish to a target left it holding, so a run with nothing to do does nothing.

A scheduled CI job publishes every few minutes and almost always finds nothing to do. Whether a publish has
anything to do depends only on

- the content of every file the publish read (mediafeed.toml, feed definitions, episodes and every file they name)
  and which feed definitions and episode folders exist;
- the code that publishes (the digest of everything `mediafeed.pipeline` runs) and the ffmpeg/ffprobe versions;
- the target's settings and its manifest, whose version (ETag on S3, hash locally) one request reads;
- which episodes are released at `now`: only a release time crossing changes that.

So after a publish that leaves the target exactly as the catalog wants it, a receipt records all of them with the
(no-op) outcome such a publish reports. The next publish checks it first: same key, same listing, same content ids,
`now` inside the release window and the same manifest version → the outcome is the receipt's and nothing else
runs. Content ids, not stats: a CI checkout of the same commit with build/ restored takes the shortcut.

A receipt is also kept in the shared tier (cache/remote.py) under its key and the manifest version it leaves, so
a runner that starts with no build/ at all takes the same shortcut: the receipt for the version the target holds
now, checked against this checkout exactly like a local one (content ids from git and the shared blob packs: no
file is read that git vouches for).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mediafeed.cache.identity import ContentIds
from mediafeed.cache.memo import Read, Reads, still_valid
from mediafeed.cache.store import Store, key_of

KIND = "receipt"
SHARED_KIND = "receipt-at"  # by (key, manifest version): immutable, so it can be shared

Listing = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Receipt:
    key: str  # code, tools and target settings
    listing: Listing  # feed definitions and episode folders
    reads: Reads
    manifest_version: str
    since: datetime | None  # the latest release time among released episodes (the window opens there) ...
    until: datetime | None  # ... and the earliest among held-back ones (it closes there)
    outcome: Any  # what a publish that found nothing to do reported (publish.apply.PublishOutcome)


def load(store: Store, target: str, key: str, now: datetime, listing: Listing, ids: ContentIds) -> Receipt | None:
    """The target's receipt when it still describes this project at `now` (the manifest version is the caller's
    to compare: it costs a request)."""
    return _valid(store.get(KIND, target), store, key, now, listing, ids)


def load_shared(store: Store, key: str, version: str, now: datetime, listing: Listing, ids: ContentIds) -> Receipt | None:
    """The receipt some runner left for the manifest version the target holds now (`version`), when it describes
    this project at `now`."""
    receipt = store.get(SHARED_KIND, key_of(SHARED_KIND, key, version))
    if not isinstance(receipt, Receipt) or receipt.manifest_version != version:
        return None
    return _valid(receipt, store, key, now, listing, ids)


def _valid(receipt: object, store: Store, key: str, now: datetime, listing: Listing, ids: ContentIds) -> Receipt | None:
    if not isinstance(receipt, Receipt) or receipt.key != key or receipt.listing != listing:
        return None
    if (receipt.since is not None and now < receipt.since) or (receipt.until is not None and now >= receipt.until):
        return None
    reads = _expand(receipt.reads, store.root)
    return replace(receipt, reads=reads) if still_valid(reads, ids) else None


def save(store: Store, target: str, receipt: Receipt) -> None:
    """Keep the receipt for the target, here and (by key and manifest version) in the shared tier."""
    compact = replace(receipt, reads=_compact(receipt.reads, store.root))
    store.put(KIND, target, compact)
    if store.remote is not None:
        store.put(SHARED_KIND, key_of(SHARED_KIND, receipt.key, receipt.manifest_version), compact)


def share(store: Store, receipt: Receipt) -> None:
    """A receipt this store holds, into the shared tier if it is not there yet (left before the tier was attached)."""
    compact = replace(receipt, reads=_compact(receipt.reads, store.root))
    store.share_known(SHARED_KIND, [(key_of(SHARED_KIND, receipt.key, receipt.manifest_version), compact, [])])


# A receipt holds every file a publish read (20,000 at 10,000 episodes) and is read by every no-op run: its reads
# are stored as plain tuples of strings, relative to the project where they are inside it, which pickle and
# unpickle at C speed (a NamedTuple of paths costs three Python calls each through the portable pickler).


def _compact(reads: Reads, root: Path | None) -> Any:
    prefix = f"{root}{os.sep}" if root is not None else None

    def relative(path: str) -> str:
        return path[len(prefix) :] if prefix and path.startswith(prefix) else path

    return tuple((relative(r.written), relative(r.resolved), r.content) for r in reads)


def _expand(stored: Any, root: Path | None) -> Reads:
    def absolute(path: str) -> str:
        return path if path.startswith(os.sep) or root is None else f"{root}{os.sep}{path}"

    return tuple(Read(absolute(written), absolute(resolved), content) for written, resolved, content in stored)


def forget(store: Store, target: str) -> None:
    store.delete(KIND, target)
