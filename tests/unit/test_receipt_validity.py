"""receipt.py on its own: what a receipt is valid for (files, release window, code and target), and when none is made."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediafeed.cache import receipt
from mediafeed.config import Target

T0 = datetime(2026, 11, 1, tzinfo=UTC)  # latest released episode
T1 = datetime(2027, 1, 15, 14, tzinfo=UTC)  # next scheduled one
OUTCOME = {"stands in for": "a PublishOutcome"}


def old_file(path: Path, text: str = "x") -> Path:
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


@pytest.fixture
def target(tmp_path: Path) -> Target:
    return Target("local", "local", "http://127.0.0.1:8000", path=tmp_path / "public")


def saved(tmp_path: Path, target: Target, *files: Path, gaps: tuple[str, ...] = ()) -> bool:
    inputs = receipt.Inputs()
    for file in files:
        inputs.stat(file)
    for gap in gaps:
        inputs.gap(gap)
    return receipt.save(tmp_path / "build", target, inputs, "v1", (T0, T1), OUTCOME)


def test_valid_inside_its_release_window_only(tmp_path: Path, target: Target) -> None:
    assert saved(tmp_path, target, old_file(tmp_path / "index.md"))
    found = receipt.load(tmp_path / "build", target, datetime(2026, 12, 1, tzinfo=UTC))
    assert found is not None and found.outcome == OUTCOME and found.manifest_version == "v1"
    assert receipt.load(tmp_path / "build", target, T0) is not None  # the window opens at the latest release ...
    assert receipt.load(tmp_path / "build", target, T1) is None  # ... and closes when the next one is due
    assert receipt.load(tmp_path / "build", target, datetime(2026, 10, 31, tzinfo=UTC)) is None  # before a release


@pytest.mark.parametrize("change", ["edit", "delete", "touch"])
def test_any_change_to_a_recorded_file_invalidates_it(tmp_path: Path, target: Target, change: str) -> None:
    index = old_file(tmp_path / "index.md")
    assert saved(tmp_path, target, index)
    if change == "edit":
        before = index.stat()
        index.write_text("y")
        os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime: the ctime still tells
    elif change == "delete":
        index.unlink()
    else:
        os.utime(index)
    assert receipt.load(tmp_path / "build", target, T0) is None


def test_another_target_or_project_does_not_share_it(tmp_path: Path, target: Target) -> None:
    assert saved(tmp_path, target, old_file(tmp_path / "index.md"))
    moved = Target("local", "local", "http://127.0.0.1:8001", path=target.path)
    assert receipt.load(tmp_path / "build", moved, T0) is None
    copy = tmp_path / "copy"
    copy.mkdir()
    (tmp_path / "build").rename(copy / "build")  # a copied project trusting stats of the original's files
    assert receipt.load(copy / "build", target, T0) is None


def test_no_receipt_for_racy_files_or_gaps(tmp_path: Path, target: Target) -> None:
    fresh = tmp_path / "fresh.md"
    fresh.write_text("just written")
    assert not saved(tmp_path, target, fresh)
    assert not saved(tmp_path, target, old_file(tmp_path / "index.md"), gaps=("an episode is not cached",))
    assert not saved(tmp_path, target, tmp_path / "missing.md")
    assert receipt.load(tmp_path / "build", target, T0) is None


def test_a_corrupt_receipt_is_ignored(tmp_path: Path, target: Target) -> None:
    assert saved(tmp_path, target, old_file(tmp_path / "index.md"))
    receipt.path_for(tmp_path / "build", target).write_bytes(b"not a pickle")
    assert receipt.load(tmp_path / "build", target, T0) is None
