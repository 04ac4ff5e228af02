"""Never backwards: the manifest records the git commit a catalog was published from, and a publish from a checkout
that does not contain that commit is refused ("pull first"), unless --force.

What is recorded: `git rev-parse HEAD` always, with `dirty: true` when the work tree had changes (uncommitted edits
are published too; they cannot be compared, so only the commit's ancestry is). A checkout whose HEAD descends from
the recorded commit (`git merge-base --is-ancestor`) may publish; one that lacks it (a sibling commit, an older
checkout, or a commit unknown locally: fetch it) is refused. Outside git the protection is off (a note says so).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediafeed.errors import MediafeedError


class BehindTarget(MediafeedError):
    """The target was last published from a commit this checkout does not contain (exit 3: nothing written)."""


@dataclass(frozen=True)
class Source:
    commit: str
    dirty: bool

    def as_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "dirty": self.dirty}


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, "-C", str(project), *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_source(project: Path) -> Source | None:
    """The commit the project's checkout is at and whether its work tree differs; None outside git."""
    head = _git(project, "rev-parse", "--verify", "-q", "HEAD")
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return None
    status = _git(project, "status", "--porcelain", "--", ".")
    dirty = status is None or status.returncode != 0 or bool(status.stdout.strip())
    return Source(head.stdout.strip(), dirty)


def contains(project: Path, commit: str) -> bool:
    """Whether HEAD descends from (or is) `commit`; False when the commit is unknown here."""
    found = _git(project, "merge-base", "--is-ancestor", commit, "HEAD")
    return found is not None and found.returncode == 0


def recorded(manifest: dict[str, Any]) -> str | None:
    source = manifest.get("source")
    commit = source.get("commit") if isinstance(source, dict) else None
    return commit if isinstance(commit, str) and commit else None


def refusal(recorded_commit: str | None, here: Source | None, is_ancestor: bool) -> str | None:
    """Why this checkout must not publish over the target (pure), or None."""
    if recorded_commit is None or here is None or here.commit == recorded_commit or is_ancestor:
        return None
    return (
        f"the target was last published from commit {recorded_commit[:12]}, which this checkout "
        f"(at {here.commit[:12]}) does not contain: publishing would undo whatever that commit changed"
    )


def check(project: Path, manifest: dict[str, Any], here: Source | None) -> None:
    """BehindTarget when the manifest's commit is not in this checkout's history."""
    commit = recorded(manifest)
    if commit is None or here is None or here.commit == commit:
        return
    reason = refusal(commit, here, contains(project, commit))
    if reason is not None:
        raise BehindTarget(
            f"{reason}; nothing was written",
            hint="pull first (git pull, which fetches that commit and merges it), then publish again; "
            "--force publishes this checkout anyway",
        )
