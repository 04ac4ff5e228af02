"""Publish receipts (one per target in build/cache/): a publish with nothing to do loads nothing, and anything that
matters undoes that.

Every test checks both sides: the shortcut is taken when nothing changed (`"receipt": true`, and with S3 a single
HEAD of the manifest goes to the store), and a change of each kind the publish depends on (an edit, a new episode
folder, a feed definition, mediafeed.toml, a release time reached, another publisher's manifest, --verify) takes
the full path and publishes what a cold run would. A receipt holds by content, not by stat: one is written right
after an edit (no waiting for files to age), a touch keeps it, and an edit that keeps size and mtime undoes it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediafeed.cache.store import FOLDER, Store
from tests.integration.conftest import FaultProxy, point_target

SCHEDULED_AT = "2027-01-15T14:00:00Z"  # delirium-or-dementia, the sample's scheduled episode
INDEX = Path("episodes") / "lithium-levels-in-practice" / "index.md"


def catalog_files(project: Path) -> list[Path]:
    files = [project / "mediafeed.toml"]
    for folder in ("feeds", "episodes", "artwork"):
        files += [path for path in (project / folder).rglob("*") if path.is_file()]
    return files


def forget_receipt(project: Path, target: str = "local") -> None:
    Store(project / "build", root=project).delete("receipt", target)


def publish(mediafeed: Callable[..., Any], project: Path, *args: str, now: str | None = None) -> dict[str, Any]:
    extra = {"now": now} if now else {}
    result = mediafeed(project, "-q", "publish", "--json", *args, **extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def comparable(payload: dict[str, Any]) -> dict[str, Any]:
    """What the publish reports, less how it found out (the receipt, and how many files it had to read)."""
    return {k: v for k, v in payload.items() if k not in ("receipt", "files_read")}


@pytest.fixture
def published(sample_project: Path, mediafeed: Callable[..., Any]) -> Path:
    """The sample published to its local target (a fresh copy: mediafeed.toml was written just now)."""
    first = publish(mediafeed, sample_project)
    assert first["uploads"] and first["receipt"] is False
    return sample_project


@pytest.mark.parametrize("gone", ["receipt-forgotten", "cache-deleted"])
def test_a_publish_with_nothing_to_do_reports_what_a_full_one_would(
    published: Path, mediafeed: Callable[..., Any], gone: str
) -> None:
    reused = publish(mediafeed, published)
    assert reused["receipt"] is True
    assert reused["uploads"] == [] and reused["bytes_written"] == 0 and reused["written"] == 0
    if gone == "receipt-forgotten":
        forget_receipt(published)
    else:
        shutil.rmtree(published / "build" / FOLDER)  # every layer, down to the encoded media
    full = publish(mediafeed, published)
    assert full["receipt"] is False
    assert comparable(full) == comparable(reused)  # unchanged count, held-back episodes, stale keys, feed URLs
    text = mediafeed(published, "publish").output
    assert "up to date; wrote nothing" in text and "nothing changed since the last publish" in text
    dry = mediafeed(published, "plan").output
    assert "would write nothing" in dry


def test_editing_an_episode_takes_the_full_path_and_leaves_a_receipt_at_once(
    published: Path, mediafeed: Callable[..., Any]
) -> None:
    index = published / INDEX
    index.write_text(index.read_text() + "\nA new paragraph of show notes.\n")
    changed = publish(mediafeed, published)  # the file is seconds old: content ids have no racy window
    assert changed["receipt"] is False
    assert {u["key"] for u in changed["uploads"]} >= {"feeds/podcast.xml"}
    assert publish(mediafeed, published)["receipt"] is True


def edit_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Other bytes of the same length, the mtime put back: size, mtime and inode as before (only ctime tells)."""
    before = path.stat()
    text = path.read_text()
    assert text.count(old) == 1 and len(old) == len(new) and old != new
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_a_receipt_is_written_right_after_files_were_edited(sample_project: Path, mediafeed: Callable[..., Any]) -> None:
    for path in catalog_files(sample_project):
        os.utime(path)  # as if every catalog file had just been written
    index = sample_project / INDEX
    index.write_text(index.read_text().replace("coarse tremor", "a coarse tremor"))
    assert publish(mediafeed, sample_project)["uploads"]
    assert publish(mediafeed, sample_project)["receipt"] is True  # no waiting for the files to age
    # Within the racy window of that edit, another one that a stat could not tell: the receipt holds content ids.
    edit_keeping_size_and_mtime(index, "a coarse tremor", "A COARSE TREMOR")
    again = publish(mediafeed, sample_project)
    assert again["receipt"] is False and "feeds/podcast.xml" in {u["key"] for u in again["uploads"]}
    assert publish(mediafeed, sample_project)["receipt"] is True


@pytest.mark.parametrize("how", ["touch-everything", "rewrite-same-bytes"])
def test_new_timestamps_on_the_same_bytes_keep_the_shortcut(published: Path, mediafeed: Callable[..., Any], how: str) -> None:
    files = catalog_files(published)
    if how == "touch-everything":
        for path in files:
            os.utime(path)  # new mtimes, and new ctimes with them
    else:
        for path in files:
            path.write_bytes(path.read_bytes())  # the stat index cannot vouch for any of them: each is read again
    assert publish(mediafeed, published)["receipt"] is True


def test_an_edit_that_keeps_size_and_mtime_takes_the_full_path(published: Path, mediafeed: Callable[..., Any]) -> None:
    assert publish(mediafeed, published)["receipt"] is True  # the stat index has seen every (settled) file by now
    edit_keeping_size_and_mtime(published / INDEX, "coarse tremor", "COARSE TREMOR")
    changed = publish(mediafeed, published)
    assert changed["receipt"] is False
    assert "feeds/podcast.xml" in {u["key"] for u in changed["uploads"]}


@pytest.mark.parametrize("how", ["moved", "copied-and-edited"])
def test_a_relocated_project_checks_its_receipt_against_its_own_files(
    published: Path, tmp_path: Path, mediafeed: Callable[..., Any], how: str
) -> None:
    relocated = tmp_path / "elsewhere" / "renamed"  # build/ and the local target's public/ go along
    relocated.parent.mkdir()
    if how == "moved":
        shutil.move(published, relocated)
        assert publish(mediafeed, relocated)["receipt"] is True  # the receipt holds wherever the project is
        return
    shutil.copytree(published, relocated, symlinks=True)
    index = relocated / INDEX
    index.write_text(index.read_text() + "\nEdited in the copy only.\n")
    copied = publish(mediafeed, relocated)
    assert copied["receipt"] is False, "the copy's receipt was checked against the original's files"
    assert "feeds/podcast.xml" in {u["key"] for u in copied["uploads"]}
    assert "Edited in the copy only." in (relocated / "public" / "feeds" / "podcast.xml").read_text()


@pytest.mark.parametrize("change", ["new-episode", "index-in-empty-folder", "new-feed", "config", "artwork"])
def test_a_change_anywhere_the_catalog_reads_takes_the_full_path(
    published: Path, mediafeed: Callable[..., Any], change: str
) -> None:
    assert publish(mediafeed, published)["receipt"] is True
    episodes = published / "episodes"
    if change == "new-episode":
        shutil.copytree(episodes / "lithium-levels-in-practice", episodes / "lithium-again")
        index = episodes / "lithium-again" / "index.md"
        text = index.read_text()
        guid = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("guid:"))
        index.write_text(text.replace(guid, "0b9d6a3e-3f6e-4b5e-9a58-3c0d3b1f2a11"))
    elif change == "index-in-empty-folder":
        (episodes / "drafts").mkdir()
        assert publish(mediafeed, published)["receipt"] is True  # a folder without index.md is no episode: nothing read
        shutil.copy(episodes / "lithium-levels-in-practice" / "index.md", episodes / "drafts" / "index.md")
    elif change == "new-feed":
        (published / "feeds" / "lithium.yaml").write_text(
            (published / "feeds" / "podcast.yaml").read_text().replace("guid:", "#guid:")
        )
    elif change == "config":
        toml = published / "mediafeed.toml"
        toml.write_text(toml.read_text().replace("http://127.0.0.1:8000", "http://127.0.0.1:8001"))
    elif change == "artwork":
        image = sorted((published / "artwork").glob("*.png"))[0]
        with Image.open(image) as original:
            edited = original.convert("RGB")
        edited.putpixel((0, 0), tuple(255 - c for c in edited.getpixel((0, 0))))  # one pixel: new bytes
        edited.save(image)
    result = mediafeed(published, "-q", "publish", "--json")
    if change == "index-in-empty-folder":
        assert result.exit_code == 3 and "episodes/drafts/index.md" in result.output  # a duplicate GUID: caught
        return
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["receipt"] is False
    if change in ("new-episode", "new-feed", "config"):
        assert payload["uploads"], change
    if change == "artwork":  # artwork keys are content-addressed: the new bytes go up under a new key
        assert any(u["key"].startswith("artwork/") for u in payload["uploads"]), payload["uploads"]


def test_a_release_time_reached_takes_the_full_path(published: Path, mediafeed: Callable[..., Any]) -> None:
    before = publish(mediafeed, published, now="2027-01-15T13:59:59Z")
    assert before["receipt"] is True and [h["slug"] for h in before["held_back"]] == ["delirium-or-dementia"]
    released = publish(mediafeed, published, now=SCHEDULED_AT)
    assert released["receipt"] is False and released["held_back"] == []
    assert any(u["key"].startswith("media/delirium-or-dementia-") for u in released["uploads"])
    # and a run dated before a release the receipt has seen does not trust it: the full plan refuses to drop it
    assert publish(mediafeed, published, now=SCHEDULED_AT)["receipt"] is True
    earlier = mediafeed(published, "-q", "plan", now="2026-11-25T00:00:00Z")
    assert earlier.exit_code == 3 and "refused" in earlier.output and "delirium-or-dementia" in earlier.output


def test_verify_never_takes_the_shortcut(published: Path, mediafeed: Callable[..., Any]) -> None:
    (published / "public" / "feeds" / "podcast.xml").unlink()  # lost behind the manifest's back
    assert publish(mediafeed, published)["receipt"] is True  # the manifest cannot know: --verify is for this
    repaired = publish(mediafeed, published, "--verify")
    assert repaired["receipt"] is False and [u["key"] for u in repaired["uploads"]] == ["feeds/podcast.xml"]


def test_another_publishers_manifest_takes_the_full_path(
    s3_project: Path, mediafeed: Callable[..., Any], s3: Any, bucket: str
) -> None:
    assert publish(mediafeed, s3_project, "--target", "s3")["uploads"]
    assert publish(mediafeed, s3_project, "--target", "s3")["receipt"] is True
    # another machine publishes a changed catalog to the same bucket: its manifest differs from ours
    other = s3_project.parent / "other"
    shutil.copytree(s3_project, other, symlinks=True)
    index = other / "episodes" / "lithium-levels-in-practice" / "index.md"
    index.write_text(index.read_text() + "\nEdited elsewhere.\n")
    assert publish(mediafeed, other, "--target", "s3")["uploads"]
    ours = publish(mediafeed, s3_project, "--target", "s3")
    assert ours["receipt"] is False
    assert "feeds/podcast.xml" in {u["key"] for u in ours["uploads"]}  # our catalog's version goes back up


def test_the_shortcut_costs_one_request_to_the_store(
    s3_project: Path, mediafeed: Callable[..., Any], bucket: str, fault_proxy: FaultProxy, moto_endpoint: str
) -> None:
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)  # mediafeed.toml: just written
    assert publish(mediafeed, s3_project, "--target", "s3")["uploads"]
    fault_proxy.requests.clear()
    assert publish(mediafeed, s3_project, "--target", "s3")["receipt"] is True
    assert [(method, status) for method, _, status in fault_proxy.requests] == [("HEAD", 200)]
