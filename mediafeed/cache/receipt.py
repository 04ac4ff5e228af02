"""What the last publish to a target left it holding, remembered in build/, so a run that has nothing to do does nothing.

A scheduled CI job publishes every few minutes and almost always finds nothing to do. The load, prepare and render
caches make that cheaper, but each still unpickles, re-checks or re-hashes work item by item, and the plan parses
and re-encodes the whole manifest: seconds on a 10,000-episode catalog. Yet whether a publish has anything to do
depends only on

- every file the publish read (mediafeed.toml, the feed definitions and the files they name, the episode folders
  and every file each episode was built from, the prepared deliveries in build/), which can be stat-ed;
- the target's manifest, whose version (ETag on S3, hash locally) one request reads;
- which episodes are released at `now`: only a release time crossing changes that;
- the code (the mediafeed source digest) and the target's settings.

So after a publish that leaves the target exactly as the catalog wants it, a receipt records all four, together
with the (no-op) outcome such a publish reports. The next publish checks the receipt first: when every recorded
file stats the same, `now` falls in the same release window and the manifest version is unchanged, the outcome is
the receipt's and nothing else runs. Anything else (an edit, a new folder, a release time reached, another
publisher's manifest, --verify) takes the full path, which writes a new receipt.

No receipt is written when something could not be vouched for by a stat: a file modified in the last couple of
seconds (see loadcache: racy timestamps), an episode or delivery not in its cache, s3:// masters, failed episodes,
refusals, or notifications still pending. Like every build/ file it is only a cache: deleting build/receipts costs
one full publish, never correctness.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediafeed.cache import files as cachefile
from mediafeed.cache.load import Check, Stat, code_digest, stat_of, untrusted

if TYPE_CHECKING:
    from mediafeed.config import Target
    from mediafeed.publish.apply import PublishOptions, PublishOutcome
    from mediafeed.publish.storage import Storage

FOLDER = "receipts"
FORMAT = 1


@dataclass
class Inputs:
    """The files a publish read, each with the stat it had when read; `gaps` say why they cannot vouch for it."""

    checks: dict[tuple[str, bool], Stat] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)

    def stat(self, path: Path | str, *, follow: bool = True) -> None:
        """Record `path` as it is now (lstat when not following: a folder's entries, a swapped symlink)."""
        self.checks.setdefault((str(path), follow), stat_of(str(path), follow))

    def add(self, checks: tuple[Check, ...] | None, what: str) -> None:
        """Record the checks a cache holds for `what`; None (not cached) is a gap."""
        if checks is None:
            self.gaps.append(f"{what} is not cached")
            return
        for path, follow, expected in checks:
            self.checks.setdefault((path, follow), expected)

    def gap(self, why: str) -> None:
        self.gaps.append(why)


@dataclass(frozen=True)
class Receipt:
    key: tuple[Any, ...]
    checks: tuple[Check, ...]
    manifest_version: str
    since: datetime | None  # the latest release time among released episodes (the window opens there) ...
    until: datetime | None  # ... and the earliest among held-back ones (it closes there)
    outcome: PublishOutcome  # what a publish that found nothing to do reported


def path_for(build_dir: Path, target: Target) -> Path:
    return build_dir / FOLDER / f"{target.name}.pickle"


def key_for(build_dir: Path, target: Target) -> tuple[Any, ...]:
    """What a receipt is only valid for besides its files: the code, the project (a copied project, build/ and all,
    must not trust stats of the original's files) and every setting of the target."""
    return (FORMAT, code_digest(), str(build_dir.resolve()), repr(target))


def load(build_dir: Path, target: Target, now: datetime) -> Receipt | None:
    """The target's receipt when none of its recorded files changed and `now` is in its release window."""
    try:
        with path_for(build_dir, target).open("rb") as handle:
            receipt = pickle.load(handle)
    except Exception:  # missing, corrupt or from other code: the full publish decides
        return None
    if not isinstance(receipt, Receipt) or receipt.key != key_for(build_dir, target):
        return None
    if (receipt.since is not None and now < receipt.since) or (receipt.until is not None and now >= receipt.until):
        return None
    for path, follow, expected in receipt.checks:
        if stat_of(path, follow) != expected:
            return None
    return receipt


def save(
    build_dir: Path,
    target: Target,
    inputs: Inputs,
    manifest_version: str,
    window: tuple[datetime | None, datetime | None],
    outcome: Any,
) -> bool:
    """Write the receipt atomically, unless some input cannot be vouched for; returns whether it was written."""
    path = path_for(build_dir, target)
    if inputs.gaps or untrusted(((p, s) for (p, _), s in inputs.checks.items()), trusted=str(build_dir)):
        return False
    checks = tuple((p, follow, s) for (p, follow), s in inputs.checks.items())
    receipt = Receipt(key_for(build_dir, target), checks, manifest_version, window[0], window[1], outcome)
    return cachefile.store(path, receipt)


def reuse(
    project: Path, target_name: str | None, now: datetime, options: PublishOptions
) -> tuple[PublishOutcome | None, Storage]:
    """The outcome of a publish at `now`, from the target's receipt when it still holds; else None (and the opened
    target, for the full publish to use). Imports only what this needs: the catalog, media and feed code is not
    even loaded when nothing changed. The one request made (the manifest version) is also the first one a full
    publish makes, so missing credentials or an unknown bucket are reported (exit 4) the same way."""
    from dataclasses import replace

    from mediafeed.config import load_config
    from mediafeed.publish.apply import PublishResult
    from mediafeed.publish.storage import open_storage

    config = load_config(project)
    target = config.target(target_name)
    storage = open_storage(target)
    if options.verify:
        return None, storage
    receipt = load(config.project / "build", target, now)
    if receipt is None or storage.manifest_version() != receipt.manifest_version:
        return None, storage
    result = None if options.dry_run else PublishResult((), 0, False)
    return replace(receipt.outcome, target=target, result=result, reused=True), storage
