"""Catalog loading: good front matter becomes normalized Episode/Feed fields; bad input becomes located problems.

Every bad-input row asserts the exact list of (file, field) pairs reported, so a row also fails when loading
reports something extra or stops early, and that each problem carries a hint a producer can act on.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from catalog_project import DELETE, GOOD_GUID, OTHER_GUID, SITE_URL, Project, Raw, png_bytes
from PIL import Image

from mediafeed.catalog.load import find_missing_guids, insert_guid, load_catalog, unselected_episodes
from mediafeed.errors import CatalogError, Problem
from mediafeed.models import Chapter, Person

EPISODE = "episodes/should-you-test-mthfr/index.md"
FEED = "feeds/podcast.yaml"
INTRO = {"start": "00:00", "title": "Introduction"}


def located(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.file, p.field) for p in problems]


def assert_hints(problems: list[Problem]) -> None:
    for problem in problems:
        assert problem.hint.strip(), f"no hint for {problem}"
        assert problem.message.strip(), f"no message for {problem}"


# --- good front matter -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "attribute", "expected"),
    [
        pytest.param(
            {"title": "  Should   You\tTest\n MTHFR?  "}, "title", "Should You Test MTHFR?", id="title-trimmed-collapsed"
        ),
        pytest.param({"title": "Control\x07 chars"}, "title", "Control chars", id="title-control-char-dropped"),
        pytest.param({"guid": GOOD_GUID.upper()}, "guid", GOOD_GUID.upper(), id="guid-as-written"),
        pytest.param({"guid": "  Buzzsprout-9876543 "}, "guid", "Buzzsprout-9876543", id="guid-imported-text-stripped"),
        pytest.param({"guid": "https://old.example/?p=12"}, "guid", "https://old.example/?p=12", id="guid-a-permalink"),
        pytest.param({"guid_permalink": True}, "guid_permalink", True, id="guid-permalink"),
        pytest.param({}, "guid_permalink", False, id="guid-permalink-default"),
        pytest.param(
            {"published": Raw("2026-11-20T09:00:00-05:00")},
            "published",
            datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            id="published-yaml-timestamp-offset-to-utc",
        ),
        pytest.param(
            {"published": "2026-11-20T09:00:00-05:00"},
            "published",
            datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            id="published-quoted-offset-to-utc",
        ),
        pytest.param(
            {"published": "2026-11-20T19:30:00+05:30"},
            "published",
            datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            id="published-half-hour-offset",
        ),
        pytest.param(
            {"published": "2026-11-20T14:00:00Z"},
            "published",
            datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            id="published-zulu",
        ),
        pytest.param(
            {"chapters": [INTRO, {"start": "04:10", "title": "What the gene does"}]},
            "chapters",
            (Chapter(0.0, "Introduction"), Chapter(250.0, "What the gene does")),
            id="chapter-mm-ss",
        ),
        pytest.param(
            {"chapters": [INTRO, {"start": "1:02:03", "title": "Late"}]},
            "chapters",
            (Chapter(0.0, "Introduction"), Chapter(3723.0, "Late")),
            id="chapter-h-mm-ss",
        ),
        pytest.param(
            # Unquoted, YAML 1.1 reads 1:02:03 as a base-60 integer; the result must be the same.
            {"chapters": Raw('[{start: "00:00", title: Intro}, {start: 1:02:03, title: Late}]')},
            "chapters",
            (Chapter(0.0, "Intro"), Chapter(3723.0, "Late")),
            id="chapter-unquoted-sexagesimal",
        ),
        pytest.param(
            {"chapters": [{"start": 0, "title": "Intro"}, {"start": 90.5, "title": "Seconds", "url": f"{SITE_URL}/a"}]},
            "chapters",
            (Chapter(0.0, "Intro"), Chapter(90.5, "Seconds", f"{SITE_URL}/a")),
            id="chapter-seconds-and-url",
        ),
        pytest.param(
            {"articles": [{"title": "MTHFR", "url": "/articles/x"}]},
            "articles",
            None,  # checked below: the URL made absolute against site.url
            id="article-relative-url",
        ),
        pytest.param(
            {"topics": ["general-psychiatry", "addiction"]},
            "topics",
            ("general-psychiatry", "addiction"),
            id="topics",
        ),
        pytest.param({"topics": "addiction"}, "topics", ("addiction",), id="topic-single-word"),
        pytest.param(
            {"persons": [{"name": "  Jane   Doe ", "role": "Guest"}, {"name": "Sam Roe"}]},
            "persons",
            (Person("Jane Doe", "guest"), Person("Sam Roe", "host")),
            id="persons-role-lowercased-default-host",
        ),
        pytest.param({"season": 3, "episode": 12}, "season", 3, id="season"),
        pytest.param({"season": 3, "episode": 12}, "episode", 12, id="episode-number"),
        pytest.param({}, "season", None, id="season-absent"),
        pytest.param({"explicit": True}, "explicit", True, id="explicit-true"),
        pytest.param({}, "explicit", False, id="explicit-default"),
        pytest.param({"episode_type": "bonus"}, "episode_type", "bonus", id="episode-type"),
        pytest.param({}, "episode_type", "full", id="episode-type-default"),
        pytest.param({"kind": "webinar"}, "kind", "webinar", id="kind"),
        pytest.param({"keywords": ["genetics", "folate"]}, "keywords", ("genetics", "folate"), id="keywords"),
        pytest.param({"media": "s3://example-media/masters/x.wav"}, "media", "s3://example-media/masters/x.wav", id="media-s3"),
        pytest.param({}, "process", True, id="process-default"),
        pytest.param({"process": False}, "process", False, id="process-false-as-published"),
    ],
)
def test_good_front_matter(project: Project, overrides: dict[str, Any], attribute: str, expected: Any) -> None:
    project.write_episode(**overrides)
    config, catalog = project.load()
    (episode,) = catalog.episodes
    if attribute == "articles":
        (article,) = episode.articles
        assert article.title == "MTHFR"
        assert article.url == config.site_url + "/articles/x"
        assert article.url.startswith(SITE_URL + "/")
        assert "//articles" not in article.url
        return
    assert getattr(episode, attribute) == expected


def test_good_episode_identity_fields(project: Project) -> None:
    project.write_episode()
    _, catalog = project.load()
    (episode,) = catalog.episodes
    assert episode.slug == "should-you-test-mthfr"
    assert episode.file == EPISODE
    assert Path(episode.media) == (project.root / "episodes/should-you-test-mthfr/audio.mp3").resolve()
    assert episode.published.tzinfo is not None and episode.published.utcoffset().total_seconds() == 0
    assert "<strong>Markdown</strong>" in episode.content_html


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode(), id="utf8-bom"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), id="bom-and-crlf"),
    ],
)
def test_file_encodings_that_load(project: Project, encode: Callable[[str], bytes]) -> None:
    path = project.write_episode()
    path.write_bytes(encode(path.read_text(encoding="utf-8")))
    _, catalog = project.load()
    (episode,) = catalog.episodes
    assert episode.title == "Should You Test MTHFR?"
    assert episode.guid == GOOD_GUID


def test_media_under_a_configured_root_is_allowed(project: Project, tmp_path: Path) -> None:
    masters = tmp_path / "masters"
    masters.mkdir()
    (masters / "master.wav").write_bytes(b"RIFF")
    project.write_config(f'[media]\nroots = ["{masters.as_posix()}"]\n')
    project.write_episode(media_bytes=None, media=str(masters / "master.wav"))
    _, catalog = project.load()
    assert Path(catalog.episodes[0].media) == (masters / "master.wav").resolve()


def test_symlink_inside_the_project_is_allowed(project: Project) -> None:
    target = project.write_bytes("shared/audio-master.mp3", b"ID3")
    project.write_episode(media_bytes=None, media="linked.mp3")
    (project.root / "episodes/should-you-test-mthfr/linked.mp3").symlink_to(target)
    _, catalog = project.load()
    assert Path(catalog.episodes[0].media) == target.resolve()


def test_episodes_sorted_newest_first(project: Project) -> None:
    project.write_episode("older", published="2026-01-01T00:00:00+00:00")
    project.write_episode("newer", guid=OTHER_GUID, published="2026-02-01T00:00:00+00:00")
    _, catalog = project.load()
    assert [e.slug for e in catalog.episodes] == ["newer", "older"]


# --- bad front matter ----------------------------------------------------------------------------------------------


def _outside_file(project: Project) -> None:
    (project.root.parent / "outside.mp3").write_bytes(b"ID3")


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        pytest.param({"title": DELETE}, ["title"], id="title-missing"),
        pytest.param({"title": "   "}, ["title"], id="title-blank"),
        pytest.param({"title": ["a", "list"]}, ["title"], id="title-a-list"),
        pytest.param({"guid": DELETE}, ["guid"], id="guid-missing"),
        pytest.param({"guid": Raw("null")}, ["guid"], id="guid-null"),
        pytest.param({"guid": ""}, ["guid"], id="guid-empty"),
        pytest.param({"guid": "   "}, ["guid"], id="guid-blank"),
        pytest.param({"guid": "abc\x07def"}, ["guid"], id="guid-control-character"),
        pytest.param({"guid": "x" * 1001}, ["guid"], id="guid-too-long"),
        pytest.param({"guid": 12345}, ["guid"], id="guid-a-number"),
        pytest.param({"guid_permalink": "sometimes"}, ["guid_permalink"], id="guid-permalink-not-a-flag"),
        pytest.param({"kind": "podcasts"}, ["kind"], id="kind-unknown"),
        pytest.param({"kind": DELETE}, ["kind"], id="kind-missing"),
        pytest.param({"published": Raw("2026-05-01 09:00:00")}, ["published"], id="date-naive-yaml"),
        pytest.param({"published": "2026-05-01T09:00:00"}, ["published"], id="date-naive-string"),
        pytest.param({"published": Raw("2026-05-01")}, ["published"], id="date-only-yaml"),
        pytest.param({"published": "2026-05-01"}, ["published"], id="date-only-string"),
        pytest.param({"published": "May 1st"}, ["published"], id="date-unparseable"),
        pytest.param({"published": 20260501}, ["published"], id="date-a-number"),
        pytest.param({"published": DELETE}, ["published"], id="date-missing"),
        pytest.param({"media": "missing.mp3"}, ["media"], id="media-missing-file"),
        pytest.param({"media": DELETE}, ["media"], id="media-field-missing"),
        pytest.param({"media": "../../../outside.mp3"}, ["media"], id="media-dotdot-escape"),
        pytest.param({"media": "/etc/passwd"}, ["media"], id="media-absolute-etc-passwd"),
        pytest.param({"media": "."}, ["media"], id="media-a-folder"),
        pytest.param({"media": "s3://Bad_Bucket/x.wav"}, ["media"], id="media-bad-s3-uri"),
        pytest.param({"season": 0}, ["season"], id="season-zero"),
        pytest.param({"season": "three"}, ["season"], id="season-text"),
        pytest.param({"season": -1}, ["season"], id="season-negative"),
        pytest.param({"season": True}, ["season"], id="season-bool"),
        pytest.param({"season": 1.5}, ["season"], id="season-fraction"),
        pytest.param({"episode": 0}, ["episode"], id="episode-zero"),
        pytest.param({"explicit": "yes"}, ["explicit"], id="explicit-string-yes"),
        pytest.param({"explicit": 1}, ["explicit"], id="explicit-number"),
        pytest.param({"episode_type": "full-length"}, ["episode_type"], id="episode-type-unknown"),
        pytest.param(
            {"chapters": [INTRO, {"start": "10:00", "title": "B"}, {"start": "04:10", "title": "A"}]},
            ["chapters"],
            id="chapters-out-of-order",
        ),
        pytest.param(
            {"chapters": [INTRO, {"start": "04:10", "title": "A"}, {"start": "04:10", "title": "B"}]},
            ["chapters"],
            id="chapters-same-start",
        ),
        pytest.param(
            {"chapters": [{"start": "00:05", "title": "Late start"}]}, ["chapters[0].start"], id="chapter-first-not-zero"
        ),
        pytest.param({"chapters": [INTRO, {"start": "abc", "title": "A"}]}, ["chapters[1].start"], id="chapter-start-abc"),
        pytest.param(
            {"chapters": [INTRO, {"start": "4:70", "title": "A"}]}, ["chapters[1].start"], id="chapter-start-70-seconds"
        ),
        pytest.param({"chapters": [INTRO, {"start": -5, "title": "A"}]}, ["chapters[1].start"], id="chapter-start-negative"),
        pytest.param({"chapters": [INTRO, {"start": "01:00"}]}, ["chapters[1].title"], id="chapter-no-title"),
        pytest.param(
            {"chapters": [{"start": "abc", "title": "A"}, {"start": "04:10", "title": "B"}]},
            ["chapters[0].start"],
            id="bad-first-chapter-reported-once",
        ),
        pytest.param(
            {"chapters": [{"start": "00:05", "title": "A"}, {"start": "abc", "title": "B"}]},
            ["chapters[1].start"],  # chapter order is checked once every start reads
            id="late-first-chapter-and-bad-second",
        ),
        pytest.param(
            {"chapters": [INTRO, {"start": "01:00", "title": "A", "url": "javascript:alert(1)"}]},
            ["chapters[1].url"],
            id="chapter-url-javascript",
        ),
        pytest.param({"chapters": "00:00 Intro"}, ["chapters"], id="chapters-not-a-list"),
        pytest.param({"articles": [{"title": "X", "url": "articles/x"}]}, ["articles[0].url"], id="article-url-no-leading-slash"),
        pytest.param(
            {"articles": [{"title": "X", "url": "javascript:alert(1)"}]}, ["articles[0].url"], id="article-url-javascript"
        ),
        pytest.param({"articles": [{"title": "X", "url": "data:text/html,hi"}]}, ["articles[0].url"], id="article-url-data"),
        pytest.param({"articles": [{"title": "X"}]}, ["articles[0].url"], id="article-url-missing"),
        pytest.param({"articles": [{"url": f"{SITE_URL}/a"}]}, ["articles[0].title"], id="article-title-missing"),
        pytest.param({"articles": ["https://www.example.org/a"]}, ["articles[0]"], id="article-not-a-mapping"),
        pytest.param({"persons": [{"name": "Jane Doe", "role": "villain"}]}, ["persons[0].role"], id="person-unknown-role"),
        pytest.param({"persons": [{"role": "host"}]}, ["persons[0].name"], id="person-no-name"),
        pytest.param({"persons": [{"name": "Jane", "href": "jane.html"}]}, ["persons[0].href"], id="person-href-relative"),
        pytest.param({"persons": "Jane Doe"}, ["persons"], id="persons-not-a-list"),
        pytest.param({"topics": ["General Psychiatry"]}, ["topics"], id="topic-not-a-slug"),
        pytest.param({"topics": {"a": 1}}, ["topics"], id="topics-a-mapping"),
        pytest.param({"transcript": "missing.vtt"}, ["transcript"], id="transcript-missing"),
        pytest.param({"transcript": "audio.mp3"}, ["transcript"], id="transcript-wrong-type"),
        pytest.param({"image": "missing.png"}, ["image"], id="image-missing"),
        pytest.param({"process": "maybe"}, ["process"], id="process-not-a-flag"),
        pytest.param({"process": Raw("null")}, ["process"], id="process-null"),
    ],
)
def test_bad_front_matter(project: Project, overrides: dict[str, Any], fields: list[str]) -> None:
    _outside_file(project)
    project.write_episode(**overrides)
    problems = project.problems()
    assert located(problems) == [(EPISODE, field) for field in fields]
    assert_hints(problems)


def test_missing_guid_hint_names_the_fix(project: Project) -> None:
    project.write_episode(guid=DELETE)
    (problem,) = project.problems()
    assert "mediafeed check --fix" in problem.hint


def test_unparseable_date_message_quotes_the_value(project: Project) -> None:
    project.write_episode(published="May 1st")
    (problem,) = project.problems()
    assert "May 1st" in problem.message
    assert "-05:00" in problem.hint or "+00:00" in problem.hint or "Z" in problem.hint


def test_media_dotdot_to_an_existing_file_is_refused(project: Project) -> None:
    """The escape is refused because of where it points, not because the file happens to be missing."""
    _outside_file(project)
    assert (project.root / "episodes/should-you-test-mthfr/../../../outside.mp3").resolve().is_file()
    project.write_episode(media="../../../outside.mp3")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (EPISODE, "media")
    assert "outside" in problem.message


def test_media_symlink_out_of_the_project_is_refused(project: Project) -> None:
    _outside_file(project)
    project.write_episode(media_bytes=None)
    (project.root / "episodes/should-you-test-mthfr/audio.mp3").symlink_to(project.root.parent / "outside.mp3")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (EPISODE, "media")
    assert "outside" in problem.message
    assert problem.hint


def test_symlinked_episode_folder_out_of_the_project_is_refused(project: Project) -> None:
    """A whole bundle linked in from elsewhere must not smuggle its media past the check."""
    elsewhere = project.root.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "audio.mp3").write_bytes(b"ID3")
    project.write_episode()
    (project.root / "episodes/linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "index.md").write_bytes((project.root / EPISODE).read_bytes().replace(GOOD_GUID.encode(), OTHER_GUID.encode()))
    problems = project.problems()
    assert ("episodes/linked/index.md", "media") in located(problems)


def test_media_absolute_path_inside_the_project_is_allowed(project: Project) -> None:
    media = project.root / "episodes/should-you-test-mthfr/audio.mp3"
    project.write_episode(media=str(media))
    _, catalog = project.load()
    assert Path(catalog.episodes[0].media) == media.resolve()


def test_yaml_syntax_error_names_the_line(project: Project) -> None:
    path = project.write_episode(kind=Raw("podcast: extra"))
    lines = path.read_text().splitlines()
    line_number = next(i for i, line in enumerate(lines, start=1) if line.startswith("kind:"))
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (EPISODE, f"line {line_number}")
    assert "YAML" in problem.message
    assert problem.hint


def test_yaml_syntax_error_line_counts_a_bom_file_the_same(project: Project) -> None:
    path = project.write_episode(kind=Raw("podcast: extra"))
    text = path.read_text()
    line_number = next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith("kind:"))
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    (problem,) = project.problems()
    assert problem.field == f"line {line_number}"


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        pytest.param(b"---\ntitle: Caf\xe9\n---\n", "UTF-8", id="latin-1"),
        pytest.param("\ufefftitle: no fences\n\nbody\n".encode(), "front matter", id="bom-no-front-matter"),
        pytest.param(b"# Just markdown\n", "front matter", id="no-front-matter"),
        pytest.param(b"---\ntitle: never closed\n", "front matter", id="unclosed-front-matter"),
        pytest.param(b"", "front matter", id="empty-file"),
        pytest.param(b"---\n- a\n- list\n---\nbody\n", "YAML fields", id="front-matter-a-list"),
        pytest.param(b"---\n---\nbody\n", "YAML fields", id="front-matter-empty"),
    ],
)
def test_unreadable_episode_file(project: Project, content: bytes, message_part: str) -> None:
    project.write_episode()
    (project.root / EPISODE).write_bytes(content)
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (EPISODE, "")
    assert message_part in problem.message
    assert problem.hint


def test_duplicate_guid_names_the_second_file(project: Project) -> None:
    project.write_episode("a-first")
    project.write_episode("b-copy", title="A copy")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == ("episodes/b-copy/index.md", "guid")
    assert "episodes/a-first/index.md" in problem.message
    assert "mediafeed check --fix" in problem.hint


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(GOOD_GUID.upper(), id="upper-case"),
        pytest.param(GOOD_GUID.replace("-", ""), id="no-hyphens"),
        pytest.param("{" + GOOD_GUID + "}", id="braces"),
        pytest.param("urn:uuid:" + GOOD_GUID, id="urn"),
    ],
)
def test_duplicate_guid_in_another_spelling(project: Project, spelling: str) -> None:
    """The same UUID written differently is still a copied episode."""
    project.write_episode("a-first")
    project.write_episode("b-copy", guid=spelling)
    (problem,) = project.problems()
    assert (problem.file, problem.field) == ("episodes/b-copy/index.md", "guid")


def test_duplicate_imported_guid_in_another_case(project: Project) -> None:
    project.write_episode("a-first", guid="Buzzsprout-123")
    project.write_episode("b-copy", guid="buzzsprout-123")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == ("episodes/b-copy/index.md", "guid")


@pytest.mark.parametrize("published", [GOOD_GUID, "{" + GOOD_GUID.upper() + "}", "Libsyn-ABC"])
def test_a_published_guid_respelled_is_refused(project: Project, published: str) -> None:
    """Apps compare GUIDs as text: the same UUID in other letters would reach subscribers as a new episode."""
    respelled = published.swapcase() if published != GOOD_GUID else GOOD_GUID.upper()
    project.write_episode("a-first", guid=respelled)
    with pytest.raises(CatalogError) as info:
        load_catalog(project.root, published={published: "a-first"})
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("episodes/a-first/index.md", "guid")
    assert published in problem.hint
    project.write_episode("a-first", guid=published)
    _, catalog = load_catalog(project.root, published={published: "a-first"})
    assert catalog.episodes[0].guid == published


@pytest.mark.parametrize(
    ("topics", "fields"),
    [
        pytest.param(["general-psychiatry"], [], id="known-topic"),
        pytest.param(["gerontology"], ["topics"], id="unknown-topic"),
        pytest.param(["general-psychiatry", "gerontology", "astrology"], ["topics", "topics"], id="two-unknown"),
    ],
)
def test_topics_checked_against_config(project: Project, topics: list[str], fields: list[str]) -> None:
    project.write_config('[catalog]\ntopics = ["general-psychiatry", "addiction"]\n')
    project.write_episode(topics=topics)
    if not fields:
        project.load()
        return
    problems = project.problems()
    assert located(problems) == [(EPISODE, f) for f in fields]
    assert all("general-psychiatry" in p.hint for p in problems)


def test_folder_name_not_a_slug(project: Project) -> None:
    project.write_episode("Bad Folder")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == ("episodes/Bad Folder/index.md", "")
    assert "bad-folder" in problem.hint


def test_every_problem_in_one_file_is_reported(project: Project) -> None:
    project.write_episode(
        title=DELETE,
        guid="",
        kind="podcasts",
        published="2026-05-01T09:00:00",
        media="missing.mp3",
        season=0,
        explicit="yes",
        chapters=[{"start": "00:05", "title": "Late"}],
        articles=[{"title": "X", "url": "javascript:alert(1)"}],
        persons=[{"name": "Jane", "role": "villain"}],
    )
    problems = project.problems()
    expected = {
        "title",
        "guid",
        "kind",
        "published",
        "media",
        "season",
        "explicit",
        "chapters[0].start",
        "articles[0].url",
        "persons[0].role",
    }
    assert {p.field for p in problems} == expected
    assert len(problems) == len(expected)
    assert {p.file for p in problems} == {EPISODE}
    assert_hints(problems)


def test_problems_in_several_files_are_all_reported(project: Project) -> None:
    project.write_feed(language="english")
    project.write_episode("one", title=DELETE)
    project.write_episode("two", guid=OTHER_GUID, season="three")
    problems = project.problems()
    assert located(problems) == [
        ("episodes/one/index.md", "title"),
        ("episodes/two/index.md", "season"),
        (FEED, "language"),
    ]


# --- feed definitions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "attribute", "expected"),
    [
        pytest.param({}, "category", "Health & Fitness", id="category"),
        pytest.param({}, "subcategory", "Mental Health", id="subcategory"),
        pytest.param({"category": "Technology"}, "subcategory", None, id="category-without-sub"),
        pytest.param({"category": "  Health & Fitness  >  Medicine "}, "subcategory", "Medicine", id="category-spaces"),
        pytest.param({"language": "EN-US"}, "language", "en-us", id="language-lowercased"),
        pytest.param({"language": "de"}, "language", "de", id="language-two-letters"),
        pytest.param({"type": DELETE}, "type", "episodic", id="type-default"),
        pytest.param({"type": "serial"}, "type", "serial", id="type-serial"),
        pytest.param({"medium": "video"}, "medium", "video", id="medium-video"),
        pytest.param({"select": {"kinds": ["podcast", "webinar"], "topics": []}}, "kinds", ("podcast", "webinar"), id="kinds"),
        pytest.param({"select": DELETE}, "kinds", (), id="select-absent-selects-all"),
        pytest.param({"locked": True}, "locked", True, id="locked"),
        pytest.param({}, "locked", False, id="locked-default"),
        pytest.param({"guid": OTHER_GUID}, "guid", OTHER_GUID, id="pinned-guid"),
        pytest.param({}, "guid", None, id="guid-computed-later"),
        pytest.param({"title": "  Example   Podcast "}, "title", "Example Podcast", id="title-collapsed"),
    ],
)
def test_good_feed_definition(project: Project, overrides: dict[str, Any], attribute: str, expected: Any) -> None:
    project.write_feed(**overrides)
    _, catalog = project.load()
    (feed,) = catalog.feeds
    assert feed.id == "podcast" and feed.file == FEED
    assert getattr(feed, attribute) == expected


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        pytest.param({"category": "Health"}, ["category"], id="category-not-apple"),
        pytest.param({"category": "Health & Fitness > Psychiatry"}, ["category"], id="subcategory-not-apple"),
        pytest.param({"category": "Technology > Gadgets"}, ["category"], id="subcategory-of-category-without-subs"),
        pytest.param({"category": "Health & Fitness > Medicine > Psychiatry"}, ["category"], id="category-three-levels"),
        pytest.param({"category": DELETE}, ["category"], id="category-missing"),
        pytest.param({"owner": {"name": "Example Publishing"}}, ["owner.email"], id="owner-email-missing"),
        pytest.param({"owner": {"name": "Example", "email": "not an email"}}, ["owner.email"], id="owner-email-invalid"),
        pytest.param({"owner": {"email": "podcast@example.org"}}, ["owner.name"], id="owner-name-missing"),
        pytest.param({"owner": DELETE}, ["owner"], id="owner-missing"),
        pytest.param({"language": "english"}, ["language"], id="language-bad"),
        pytest.param({"language": "en_US"}, ["language"], id="language-underscore"),
        pytest.param({"language": DELETE}, ["language"], id="language-missing"),
        pytest.param({"explicit": DELETE}, ["explicit"], id="explicit-missing"),
        pytest.param({"explicit": "no"}, ["explicit"], id="explicit-string"),
        pytest.param({"medium": "podcast"}, ["medium"], id="medium-unknown"),
        pytest.param({"medium": DELETE}, ["medium"], id="medium-missing"),
        pytest.param({"type": "weekly"}, ["type"], id="type-unknown"),
        pytest.param({"select": {"kinds": ["podcasts"]}}, ["select.kinds[0]"], id="select-kind-unknown"),
        pytest.param({"select": {"topics": ["Child Psychiatry"]}}, ["select.topics"], id="select-topic-not-slug"),
        pytest.param({"select": "podcast"}, ["select"], id="select-not-mapping"),
        pytest.param({"link": "www.example.org/podcast"}, ["link"], id="link-no-scheme"),
        pytest.param({"link": DELETE}, ["link"], id="link-missing"),
        pytest.param({"title": DELETE}, ["title"], id="title-missing"),
        pytest.param({"description": DELETE}, ["description"], id="description-missing"),
        pytest.param({"author": DELETE}, ["author"], id="author-missing"),
        pytest.param({"image": DELETE}, ["image"], id="image-missing"),
        pytest.param({"image": "../outside.png"}, ["image"], id="image-outside-project"),
        pytest.param({"guid": "podcast-1"}, ["guid"], id="guid-not-uuid"),
        pytest.param({"locked": "yes"}, ["locked"], id="locked-string"),
    ],
)
def test_bad_feed_definition(project: Project, overrides: dict[str, Any], fields: list[str]) -> None:
    (project.root.parent / "outside.png").write_bytes(project.artwork)
    project.write_feed(**overrides)
    problems = project.problems()
    assert located(problems) == [(FEED, field) for field in fields]
    assert_hints(problems)


def test_select_topics_checked_against_config(project: Project) -> None:
    project.write_config('[catalog]\ntopics = ["general-psychiatry"]\n')
    project.write_feed(select={"kinds": [], "topics": ["astrology"]})
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (FEED, "select.topics")


def test_feed_id_not_a_slug(project: Project) -> None:
    (project.root / FEED).rename(project.root / "feeds/My Podcast.yaml")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == ("feeds/My Podcast.yaml", "")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"title: Podcast\ndescription: Notes\nlanguage: en: us\nauthor: Me\n", "line 3", id="yaml-error"),
        pytest.param(b"title: Caf\xe9\n", "", id="not-utf8"),
        pytest.param(b"", "", id="empty"),
        pytest.param(b"- a list\n", "", id="not-a-mapping"),
    ],
)
def test_unreadable_feed_file(project: Project, content: bytes, field: str) -> None:
    (project.root / FEED).write_bytes(content)
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (FEED, field)
    assert problem.hint


def test_no_feed_definitions(project: Project) -> None:
    (project.root / FEED).unlink()
    (problem,) = project.problems()
    assert problem.file == "feeds/"
    assert problem.hint


def jpeg_bytes(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "message_parts"),
    [
        pytest.param("art.png", lambda: png_bytes((1400, 1500)), ["not square"], id="not-square"),
        pytest.param("art.png", lambda: png_bytes((1000, 1000)), ["1000×1000"], id="too-small"),
        pytest.param("art.png", lambda: png_bytes((3001, 3001)), ["3001×3001"], id="too-big"),
        pytest.param("art.png", lambda: png_bytes((1400, 1400), "RGBA"), ["RGBA"], id="rgba-png"),
        pytest.param("art.jpg", lambda: png_bytes((1400, 1400)), ["PNG image named .jpg"], id="png-named-jpg"),
        pytest.param("art.png", lambda: b"not an image at all", ["not a readable image"], id="not-an-image"),
        pytest.param("art.png", lambda: png_bytes((1000, 1200)), ["not square", "1000×1200"], id="small-and-not-square"),
    ],
)
def test_bad_feed_artwork(project: Project, name: str, make: Callable[[], bytes], message_parts: list[str]) -> None:
    project.write_bytes(f"artwork/{name}", make())
    project.write_feed(image=f"artwork/{name}")
    problems = project.problems()
    assert located(problems) == [(FEED, "image")] * len(message_parts)
    for part in message_parts:
        assert any(part in p.message for p in problems), (part, problems)
    assert_hints(problems)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        pytest.param("art.png", lambda: png_bytes((1400, 1400)), id="png-1400"),
        pytest.param("art.jpg", lambda: jpeg_bytes((1400, 1400)), id="jpeg-1400"),
        pytest.param("art.jpeg", lambda: jpeg_bytes((3000, 3000)), id="jpeg-3000"),
    ],
)
def test_good_feed_artwork(project: Project, name: str, make: Callable[[], bytes]) -> None:
    project.write_bytes(f"artwork/{name}", make())
    project.write_feed(image=f"artwork/{name}")
    _, catalog = project.load()
    assert catalog.feeds[0].image == (project.root / "artwork" / name).resolve()


def test_bad_episode_artwork(project: Project) -> None:
    project.write_bytes("episodes/should-you-test-mthfr/cover.png", png_bytes((1400, 1400), "RGBA"))
    project.write_episode(image="cover.png")
    (problem,) = project.problems()
    assert (problem.file, problem.field) == (EPISODE, "image")


def test_loading_is_deterministic(project: Project) -> None:
    project.write_episode("one")
    project.write_episode("two", guid=OTHER_GUID)
    assert project.load() == project.load()


def test_relative_project_path(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mediafeed --project .` passes a relative path; containment checks must still work."""
    project.write_episode()
    monkeypatch.chdir(project.root.parent)
    _, catalog = load_catalog(Path(os.path.relpath(project.root)))
    assert catalog.episodes[0].slug == "should-you-test-mthfr"


# --- check --fix and feed selection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guid_line", "missing"),
    [
        pytest.param(DELETE, True, id="no-guid-line"),
        pytest.param(Raw("null"), True, id="guid-null"),
        pytest.param(Raw("~"), True, id="guid-tilde"),
        pytest.param(GOOD_GUID, False, id="has-guid"),
        pytest.param("not-a-uuid", False, id="bad-guid-is-not-fixed-silently"),
    ],
)
def test_check_fix_round_trip(project: Project, guid_line: object, missing: bool) -> None:
    """find_missing_guids picks the files `check --fix` may touch; insert_guid makes them load."""
    path = project.write_episode(guid=guid_line)
    found = find_missing_guids(project.root)
    assert found == ([path] if missing else [])
    if missing:
        path.write_bytes(insert_guid(path.read_bytes().decode("utf-8"), OTHER_GUID).encode("utf-8"))
        _, catalog = project.load()
        assert catalog.episodes[0].guid == OTHER_GUID
        assert find_missing_guids(project.root) == []


@pytest.mark.parametrize(
    ("kinds", "topics", "selected"),
    [
        pytest.param((), (), True, id="empty-selector-selects-all"),
        pytest.param(("podcast",), (), True, id="kind-matches"),
        pytest.param(("webinar",), (), False, id="kind-differs"),
        pytest.param((), ("addiction", "general-psychiatry"), True, id="one-topic-matches"),
        pytest.param((), ("addiction",), False, id="no-topic-matches"),
        pytest.param(("podcast",), ("addiction",), False, id="kind-matches-topic-not"),
    ],
)
def test_feed_selects(project: Project, kinds: tuple[str, ...], topics: tuple[str, ...], selected: bool) -> None:
    project.write_episode(topics=["general-psychiatry"])
    _, catalog = project.load()
    feed = replace(catalog.feeds[0], kinds=kinds, topics=topics)
    assert feed.selects(catalog.episodes[0]) is selected
    narrowed = replace(catalog, feeds=(feed,))
    assert unselected_episodes(narrowed) == ([] if selected else [catalog.episodes[0]])
    assert narrowed.episodes_for(feed) == ((catalog.episodes[0],) if selected else ())
