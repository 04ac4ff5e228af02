"""The build/ caches of an unchanged catalog: loaded episodes (load-cache.pickle), prepared deliveries
(prepare-cache.pickle) and rendered documents (rendered/).

Reused when nothing changed, invalidated by exactly what changed. Each edit is checked two ways: only the episodes
it affects are loaded again (a spy on the Markdown renderer), and the publish that used the caches wrote what a
cold run (caches deleted) would: the cold publish afterwards finds nothing to write.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mediafeed import pipeline
from mediafeed.cache.load import CACHE_NAME
from mediafeed.cache.prepare import CACHE_NAME as PREPARE_CACHE
from mediafeed.cache.render import FOLDER
from mediafeed.catalog import load as catalog_module
from mediafeed.catalog.load import load_catalog


@pytest.fixture
def notes_rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Markdown bodies rendered since the fixture started: one per episode loaded without the cache."""
    calls: list[str] = []
    real = catalog_module.render_notes

    def spy(body: str, *args: object, **kwargs: object) -> tuple[str, str]:
        calls.append(body)
        return real(body, *args, **kwargs)

    monkeypatch.setattr(catalog_module, "render_notes", spy)
    return calls


def publish_json(mediafeed: Callable[..., object], project: Path) -> dict:
    result = mediafeed(project, "-q", "publish", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_second_load_uses_the_cache(sample_project: Path, notes_rendered: list[str]) -> None:
    _, cold = load_catalog(sample_project)
    assert len(notes_rendered) == len(cold.episodes) and (sample_project / "build" / CACHE_NAME).is_file()
    notes_rendered.clear()
    _, warm = load_catalog(sample_project)
    assert notes_rendered == []  # no Markdown rendered, no nh3: every episode came from the cache
    assert warm == cold


def test_a_corrupt_cache_is_ignored(sample_project: Path) -> None:
    _, cold = load_catalog(sample_project)
    (sample_project / "build" / CACHE_NAME).write_bytes(b"not a pickle")
    _, again = load_catalog(sample_project)
    assert again == cold


def edit_notes(project: Path) -> None:
    index = project / "episodes" / "lithium-levels-in-practice" / "index.md"
    index.write_text(index.read_text() + "\nA line added to the show notes.\n")


def edit_media(project: Path) -> None:
    """Another (already prepared) master's bytes: the media key must change, nothing needs encoding."""
    shutil.copyfile(
        project / "episodes" / "delirium-or-dementia" / "audio.mp3",  # scheduled, but prepared by the build
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
    mediafeed: Callable[..., object],
    notes_rendered: list[str],
    edit: Callable[[Path], None],
    reloaded: int | None,
) -> None:
    publish_json(mediafeed, sample_project)  # warm: the cache now holds every episode
    episodes = len(notes_rendered)
    feeds_before = {p.name: p.read_bytes() for p in (sample_project / "public" / "feeds").glob("*.xml")}
    notes_rendered.clear()

    edit(sample_project)
    warm = publish_json(mediafeed, sample_project)
    assert len(notes_rendered) == (episodes if reloaded is None else reloaded)
    assert warm["written"] > 0  # the edit was seen
    feeds_after = {p.name: p.read_bytes() for p in (sample_project / "public" / "feeds").glob("*.xml")}
    assert feeds_after != feeds_before

    (sample_project / "build" / CACHE_NAME).unlink()
    (sample_project / "build" / PREPARE_CACHE).unlink()
    shutil.rmtree(sample_project / "build" / FOLDER)
    notes_rendered.clear()
    cold = publish_json(mediafeed, sample_project)
    assert len(notes_rendered) == episodes  # really cold
    assert cold["written"] == 0, cold["uploads"]  # the cached run published exactly what a cold run would


def test_unchanged_feeds_are_not_rendered_again(
    sample_project: Path, mediafeed: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_json(mediafeed, sample_project)
    rendered: list[str] = []
    real = pipeline.render_feed_pages

    def spy(feed: object, *args: object, **kwargs: object) -> object:
        rendered.append(feed.id)  # type: ignore[attr-defined]
        return real(feed, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "render_feed_pages", spy)
    assert publish_json(mediafeed, sample_project)["written"] == 0
    assert rendered == []
    edit_notes(sample_project)  # a podcast episode on general psychiatry: the podcast feed carries it
    assert publish_json(mediafeed, sample_project)["written"] > 0
    assert rendered == ["podcast"]


def test_unchanged_deliveries_are_not_prepared_again(
    sample_project: Path, mediafeed: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_json(mediafeed, sample_project)
    prepared: list[str] = []
    real = pipeline.prepare_episode

    def spy(episode: object, *args: object, **kwargs: object) -> object:
        prepared.append(episode.slug)  # type: ignore[attr-defined]
        return real(episode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "prepare_episode", spy)
    assert publish_json(mediafeed, sample_project)["written"] == 0
    assert prepared == []
    edit_media(sample_project)
    assert publish_json(mediafeed, sample_project)["written"] > 0
    assert prepared == ["lithium-levels-in-practice"]
