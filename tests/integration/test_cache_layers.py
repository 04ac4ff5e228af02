"""The layers of build/cache/ over an unchanged catalog: loaded episodes ("episode"), prepared deliveries ("prepared")
and rendered feeds ("remembered"), all values of the one content-keyed store (mediafeed/cache/store.py).

Reused when nothing changed, made again for exactly what changed. Work is counted by spies (the Markdown renderer
for loads, the feed renderer, prepare_episode) and by what the store holds, never by timing. Each edit is checked
two ways: only what it affects is made again, and the publish that used the store wrote what a cold one would (the
layers forgotten): the cold publish afterwards finds nothing to write. A store that cannot be read or written is no
store at all: the publish is slower, never different.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mediafeed.cache.store import DATABASE, FOLDER, Store
from mediafeed.catalog import load as catalog_module
from mediafeed.feeds import site as site_module
from mediafeed.media import jobs as jobs_module
from mediafeed.pipeline import load_catalog
from tests.conftest import NOW, REPO, feed_problems

LAYERS = ("episode", "prepared", "remembered", "receipt")  # what this file tests; the per-file records below stay
SCHEDULED = "delirium-or-dementia"  # held back at NOW: published by no run here, prepared only by `build`


def database(project: Path) -> Path:
    return project / "build" / FOLDER / DATABASE


def held(project: Path, kind: str) -> int:
    """How many values of a kind the store holds (read behind its back)."""
    with contextlib.closing(sqlite3.connect(database(project))) as db:
        return int(db.execute("SELECT count(*) FROM entries WHERE kind = ?", (kind,)).fetchone()[0])


def forget(project: Path, *kinds: str) -> None:
    with contextlib.closing(sqlite3.connect(database(project))) as db, db:
        db.execute(f"DELETE FROM entries WHERE kind IN ({','.join('?' * len(kinds))})", kinds)


def forget_receipt(project: Path) -> None:
    """Past the no-op shortcut: the next publish runs every stage."""
    Store(project / "build", root=project).delete("receipt", "local")


def stored_files(project: Path) -> set[Path]:
    files = project / "build" / FOLDER / "files"
    return {p for p in files.rglob("*") if p.is_file() and p.parent.name != "tmp"}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def episode_count(project: Path) -> int:
    return len(list((project / "episodes").glob("*/index.md")))


def publish_json(mediafeed: Callable[..., Any], project: Path) -> dict[str, Any]:
    result = mediafeed(project, "-q", "publish", "--json")
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.output)
    return payload


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, record: Callable[..., str]) -> list[str]:
    """Replace module.name with a wrapper that notes record(*args) and calls the real function."""
    calls: list[str] = []
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(record(*args))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.fixture
def notes_rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Markdown bodies rendered since the fixture started: one per episode loaded without the store."""
    return spy(monkeypatch, catalog_module, "render_notes", lambda body, *_: body)


@pytest.fixture
def feeds_rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The feeds rendered in this process (a publish that uploads new media may render in a forked child)."""
    return spy(monkeypatch, site_module, "render_feed_pages", lambda feed, *_: feed.id)


@pytest.fixture
def deliveries_prepared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The episodes handed to prepare_episode (probe, encode, tag), one entry per job."""
    return spy(monkeypatch, jobs_module, "prepare_episode", lambda episode, *_: episode.slug)


# --- loading ---------------------------------------------------------------------------------------------------------


def test_second_load_uses_the_store(sample_project: Path, notes_rendered: list[str]) -> None:
    shutil.rmtree(sample_project / "build")  # the session's build loaded every episode already
    cold = load_catalog(sample_project)
    assert len(notes_rendered) == len(cold.episodes) == episode_count(sample_project)
    assert held(sample_project, "episode") == len(cold.episodes)
    notes_rendered.clear()
    warm = load_catalog(sample_project)
    assert notes_rendered == []  # no Markdown rendered, no nh3: every episode came from the store
    assert warm == cold


def damage(project: Path, how: str) -> None:
    """Break build/cache/ the way a crash, a bad cache restore or a stray command might."""
    path = database(project)
    if how == "garbage-database":
        path.write_bytes(b"not an SQLite database\n" * 100)
    elif how == "directory-for-database":
        path.unlink()
        path.mkdir()
    elif how == "corrupt-values":
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("UPDATE entries SET value = ?", (b"\x80\x05not a pickle",))
    elif how == "cache-folder-is-a-file":
        shutil.rmtree(path.parent)
        path.parent.write_text("not a folder\n")
    elif how.startswith("read-only-"):
        if how == "read-only-empty-build":  # a first run where build/ cannot be written: everything to make
            shutil.rmtree(project / "build")
            (project / "build").mkdir()
        for folder, _, files in os.walk(project / "build"):
            for name in files:
                os.chmod(os.path.join(folder, name), 0o444)
            os.chmod(folder, 0o555)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["garbage-database", "directory-for-database", "corrupt-values"])
def test_a_damaged_store_is_ignored_by_the_load(sample_project: Path, notes_rendered: list[str], how: str) -> None:
    before = load_catalog(sample_project)
    assert notes_rendered == []  # the session's build left every episode in the store
    damage(sample_project, how)
    again = load_catalog(sample_project)
    assert again == before
    assert len(notes_rendered) == len(before.episodes)  # nothing came from the damaged store
    if how == "corrupt-values":  # the database itself is sound: the load put every episode back
        notes_rendered.clear()
        assert load_catalog(sample_project) == before and notes_rendered == []


def use_chapters_file(project: Path) -> Path:
    """lithium-levels-in-practice with its chapters in a JSON file beside index.md: a file only the load reads."""
    folder = project / "episodes" / "lithium-levels-in-practice"
    chapters = folder / "chapters.json"
    listed = [{"startTime": 0, "title": "Introduction"}, {"startTime": 9, "title": "Timing"}]
    chapters.write_text(json.dumps({"version": "1.2.0", "chapters": listed}))
    index = folder / "index.md"
    text = index.read_text()
    index.write_text(text[: text.index("chapters:\n")] + "chapters: chapters.json\n" + text[text.index("transcript:") :])
    return chapters


def lithium(catalog: Any) -> Any:
    return next(e for e in catalog.episodes if e.slug == "lithium-levels-in-practice")


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_a_relocated_project_loads_from_its_store_and_checks_its_own_files(
    sample_project: Path, tmp_path: Path, notes_rendered: list[str], how: str
) -> None:
    """build/ travels with the project: every remembered episode still holds where the project is now, and what it
    was read from is checked there (not where the project was: a copy's edits are its own)."""
    chapters = use_chapters_file(sample_project)
    before = load_catalog(sample_project)
    assert [c.title for c in lithium(before).chapters] == ["Introduction", "Timing"]
    relocated = tmp_path / "elsewhere" / "renamed"
    relocated.parent.mkdir()
    if how == "moved":
        shutil.move(sample_project, relocated)
    else:
        shutil.copytree(sample_project, relocated, symlinks=True)
    notes_rendered.clear()
    after = load_catalog(relocated)
    assert notes_rendered == []  # every episode from the store
    assert lithium(after).media == str(relocated / "episodes" / "lithium-levels-in-practice" / "audio.mp3")

    moved_chapters = relocated / chapters.relative_to(sample_project)
    moved_chapters.write_text(moved_chapters.read_text().replace('"Timing"', '"Timing the level"'))
    edited = load_catalog(relocated)
    assert [c.title for c in lithium(edited).chapters] == ["Introduction", "Timing the level"]
    assert len(notes_rendered) == 1  # that episode alone was loaded again


# --- what an edit makes again --------------------------------------------------------------------------------------


def edit_notes(project: Path) -> None:
    index = project / "episodes" / "lithium-levels-in-practice" / "index.md"
    index.write_text(index.read_text() + "\nA line added to the show notes.\n")


def edit_media(project: Path) -> None:
    """Another (already prepared) master's bytes: the media key must change, nothing needs encoding."""
    shutil.copyfile(
        project / "episodes" / SCHEDULED / "audio.mp3",  # scheduled, but prepared by the build
        project / "episodes" / "lithium-levels-in-practice" / "audio.mp3",
    )


def edit_feed(project: Path) -> None:
    feed = project / "feeds" / "podcast.yaml"
    feed.write_text(feed.read_text().replace("title: ", "title: Renamed ", 1))


def edit_config(project: Path) -> None:
    toml = project / "mediafeed.toml"
    text = toml.read_text()
    start = text.index('url = "', text.index("[site]")) + len('url = "')
    toml.write_text(text[:start] + "https://www.example.net" + text[text.index('"', start) :])


@pytest.mark.parametrize(
    ("edit", "reloaded"),
    [(edit_notes, 1), (edit_media, 1), (edit_feed, 0), (edit_config, None)],  # None: every episode
    ids=["notes", "media", "feed-yaml", "mediafeed-toml"],
)
def test_an_edit_invalidates_exactly_what_it_affects(
    sample_project: Path,
    mediafeed: Callable[..., Any],
    notes_rendered: list[str],
    edit: Callable[[Path], None],
    reloaded: int | None,
) -> None:
    publish_json(mediafeed, sample_project)  # every layer filled
    episodes = episode_count(sample_project)
    feeds_before = tree(sample_project / "public" / "feeds")
    notes_rendered.clear()

    edit(sample_project)
    warm = publish_json(mediafeed, sample_project)
    assert warm["receipt"] is False
    assert len(notes_rendered) == (episodes if reloaded is None else reloaded)
    assert warm["written"] > 0  # the edit was seen
    assert tree(sample_project / "public" / "feeds") != feeds_before

    forget(sample_project, *LAYERS)
    notes_rendered.clear()
    cold = publish_json(mediafeed, sample_project)
    assert len(notes_rendered) == episodes  # really cold
    assert cold["written"] == 0, cold["uploads"]  # the warm run published exactly what a cold run would


def test_unchanged_feeds_are_not_rendered_again(
    sample_project: Path, mediafeed: Callable[..., Any], feeds_rendered: list[str]
) -> None:
    publish_json(mediafeed, sample_project)
    feeds = len(list((sample_project / "feeds").glob("*.yaml")))
    public = sample_project / "public"
    pages = len(list(public.rglob("*.html")))
    thumbnails = len(list((public / "artwork" / "thumbs").iterdir()))
    # one slot per feed, related.json, each web page and each page thumbnail
    assert held(sample_project, "remembered") == feeds + 1 + pages + thumbnails
    feeds_rendered.clear()
    forget_receipt(sample_project)
    assert publish_json(mediafeed, sample_project)["written"] == 0
    assert feeds_rendered == []
    edit_notes(sample_project)  # a podcast episode on general psychiatry: the podcast feed carries it
    assert publish_json(mediafeed, sample_project)["written"] > 0
    assert feeds_rendered == ["podcast"]
    assert held(sample_project, "remembered") == feeds + 1 + pages + thumbnails  # the slots were replaced, not added to


def test_unchanged_deliveries_are_not_prepared_again(
    sample_project: Path, mediafeed: Callable[..., Any], deliveries_prepared: list[str]
) -> None:
    publish_json(mediafeed, sample_project)
    prepared = held(sample_project, "prepared")
    forget_receipt(sample_project)
    assert publish_json(mediafeed, sample_project)["written"] == 0
    assert deliveries_prepared == []
    edit_media(sample_project)
    assert publish_json(mediafeed, sample_project)["written"] > 0
    assert deliveries_prepared == ["lithium-levels-in-practice"]
    assert held(sample_project, "prepared") == prepared + 1


def test_store_files_deleted_under_the_database_are_made_again(
    sample_project: Path, mediafeed: Callable[..., Any], deliveries_prepared: list[str]
) -> None:
    publish_json(mediafeed, sample_project)
    before = stored_files(sample_project)
    files = sample_project / "build" / FOLDER / "files"
    for child in files.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    assert database(sample_project).is_file() and held(sample_project, "prepared") > 0
    forget_receipt(sample_project)

    again = publish_json(mediafeed, sample_project)
    released = {p.parent.name for p in (sample_project / "episodes").glob("*/index.md")} - {SCHEDULED}
    assert set(deliveries_prepared) == released  # each remembered delivery named files that are gone
    assert again["written"] == 0, again["uploads"]  # made again, to the same bytes
    remade = stored_files(sample_project)
    assert remade and remade <= before
    assert feed_problems(sample_project / "public") == []
    deliveries_prepared.clear()
    forget_receipt(sample_project)
    assert publish_json(mediafeed, sample_project)["written"] == 0
    assert deliveries_prepared == []  # and remembered whole again


# --- a store it cannot use -----------------------------------------------------------------------------------------


def unprivileged() -> list[str]:
    """A command prefix under which file permissions hold (root ignores them): none needed for another user; as root,
    a user namespace that maps the caller to an ordinary uid. Skips the test when neither is possible."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is not None:
        prefix = [unshare, "--user", "--map-user=1000", "--map-group=1000"]
        if subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode == 0:
            return prefix
    pytest.skip("running as root, which writes into read-only folders, and no user namespace to run as another user")


@contextlib.contextmanager
def writable_again(project: Path) -> Iterator[None]:
    try:
        yield
    finally:
        for folder, _, _ in os.walk(project / "build"):
            os.chmod(folder, 0o755)


def publish_unprivileged(project: Path, prefix: list[str]) -> dict[str, Any]:
    command = [*prefix, sys.executable, "-m", "mediafeed", "--project", str(project), "--now", NOW, "-q", "publish", "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.mark.parametrize(
    "how",
    [
        "garbage-database",
        "directory-for-database",
        "corrupt-values",
        "read-only-build",  # everything remembered: read, never written
        "read-only-empty-build",  # everything to make, and nowhere in build/ to make it
        "cache-folder-is-a-file",
    ],
)
def test_an_unusable_store_degrades_to_no_cache(sample_project: Path, mediafeed: Callable[..., Any], how: str) -> None:
    """The publish through a store it cannot use writes exactly what the publish through a sound one wrote.

    Media that must be made is encoded somewhere else then: an encoder that needs build/cache/files/ to write into
    would fail every episode (Store.scratch), and a publish that drops every episode is no degraded publish."""
    reference = publish_json(mediafeed, sample_project)
    published = tree(sample_project / "public")
    shutil.rmtree(sample_project / "public")  # the next publish writes everything again, through the broken store

    if how.startswith("read-only-"):
        prefix = unprivileged()
        damage(sample_project, how)
        with writable_again(sample_project):
            degraded = publish_unprivileged(sample_project, prefix)
    else:
        damage(sample_project, how)
        degraded = publish_json(mediafeed, sample_project)
    assert degraded["receipt"] is False
    assert [u["key"] for u in degraded["uploads"]] == [u["key"] for u in reference["uploads"]]
    assert tree(sample_project / "public") == published  # slower, never different
    if how == "corrupt-values":  # a sound database with unreadable values: the publish wrote them all again
        assert publish_json(mediafeed, sample_project)["receipt"] is True
