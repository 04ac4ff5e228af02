"""Issue 14's silent wrong results in the catalog, through the real CLI: each is now an error naming the file and
the field (exit 3, nothing written), a warning in `check`, or right."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_bad_input_corpus import EPISODE, FEED, edit, source_hashes

CONFIG = "mediafeed.toml"
LOCAL_URL = 'public_url = "http://127.0.0.1:8000"'


def copy_feed_as_yml(project: Path) -> None:
    shutil.copy(project / FEED, project / "feeds/podcast.yml")


def feed_named_like_a_page(project: Path) -> None:
    shutil.copy(project / FEED, project / "feeds/podcast-page-2.yaml")


BAD: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("article-url-line-break", edit(EPISODE, 'url: "https://www.example.org/articles/lithium-and-the-kidney"', 'url: "https://www.example.org/articles/lithium-and-the\\nkidney"'), EPISODE, "articles[1].url: has a space or line break inside"),
    ("chapter-url-space", edit(EPISODE, 'url: "https://www.example.org/articles/lithium-monitoring#timing"', 'url: "https://www.example.org/articles/lithium monitoring"'), EPISODE, "chapters[1].url: has a space or line break inside"),
    ("binary-title", edit(EPISODE, "title: Lithium Levels in Practice", "title: !!binary TGl0aGl1bQ=="), EPISODE, "title: must be text, not bytes"),
    ("yml-and-yaml", copy_feed_as_yml, "feeds/podcast.yml", "same feed id as feeds/podcast.yaml"),
    ("feed-id-of-a-page", feed_named_like_a_page, "feeds/podcast-page-2.yaml", "looks like a page of a paged feed"),
    ("public-url-query", edit(CONFIG, LOCAL_URL, 'public_url = "http://127.0.0.1:8000/?utm=x"'), CONFIG, "targets.local.public_url: has a query or fragment"),
    ("public-url-fragment", edit(CONFIG, LOCAL_URL, 'public_url = "http://127.0.0.1:8000#top"'), CONFIG, "targets.local.public_url: has a query or fragment"),
    ("s3-prefix-escape", edit(CONFIG, 'prefix = ""', 'prefix = "../other"'), CONFIG, "targets.s3.prefix: not a folder path inside the bucket"),
    ("local-target-at-root", edit(CONFIG, 'path = "public"', 'path = "/"'), CONFIG, "targets.local.path"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mutate", "file", "message"), BAD, ids=[c[0] for c in BAD])
def test_a_silent_wrong_result_is_now_an_error(
    sample_project: Path, mediafeed, case: str, mutate, file: str, message: str
) -> None:
    mutate(sample_project)
    sources = source_hashes(sample_project)
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 3, (case, result.output)
    assert "Traceback" not in result.output
    assert any(line.startswith(f"{file}: ") and message in line for line in result.stderr.splitlines()), result.stderr
    assert not (sample_project / "public").exists()
    assert source_hashes(sample_project) == sources


def test_a_leading_zero_is_a_decimal_number(sample_project: Path, mediafeed) -> None:
    edit(EPISODE, "episode: 1\n", "episode: 010\n")(sample_project)
    assert mediafeed(sample_project, "publish").exit_code == 0
    feed = (sample_project / "public/feeds/podcast.xml").read_text()
    assert "<itunes:episode>10</itunes:episode>" in feed and "<itunes:episode>8</itunes:episode>" not in feed


def test_a_trailing_space_in_public_url_is_trimmed_everywhere(sample_project: Path, mediafeed) -> None:
    edit(CONFIG, LOCAL_URL, 'public_url = "http://127.0.0.1:8000/ "')(sample_project)
    assert mediafeed(sample_project, "check", "--no-media").exit_code == 0
    assert mediafeed(sample_project, "publish").exit_code == 0
    feed = (sample_project / "public/feeds/podcast.xml").read_text()
    assert "http://127.0.0.1:8000/media/" in feed and "8000/ /" not in feed and "8000//" not in feed


def test_check_warns_of_a_folder_without_index_and_a_feed_that_selects_nothing(sample_project: Path, mediafeed) -> None:
    stray = sample_project / "episodes/lithium-levels-in-practice"
    (stray / "index.md").rename(stray / "Index.md")
    edit(
        "feeds/webinars.yaml",
        "select: {kinds: [webinar], topics: []}",
        "select: {kinds: [webinar], topics: [geriatric-psychiatry]}",
    )(sample_project)
    result = mediafeed(sample_project, "check", "--no-media")
    assert result.exit_code == 0, result.output
    assert (
        "warning: episodes/lithium-levels-in-practice/: no index.md (found Index.md): the folder is not an episode"
        in result.output
    )
    assert "warning: feeds/webinars.yaml: select: selects no episode" in result.output
