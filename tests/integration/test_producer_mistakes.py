"""Producer mistakes beyond the first corpus (test_bad_input_corpus.py), through the real CLI.

Each bad case: exit 3, a message naming the file and the field with a fix after the ";", no traceback, nothing
written to the target, the sources unchanged. Dates that do not exist are checked in every command, as a separate
program, because they used to crash all of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_bad_input_corpus import EPISODE, FEED, OTHER, edit, source_hashes

CONFIG = "mediafeed.toml"
DATE = "published: 2026-06-16T09:00:00-04:00"
S3_ENDPOINT = 'endpoint_url = ""'


def append(rel: str, text: str) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / rel
        path.write_text(path.read_text() + text)

    return apply


def front(line: str) -> Callable[[Path], None]:
    """Add a line at the top of the episode's front matter."""
    return edit(EPISODE, "---\n", f"---\n{line}\n")


def nested(project: Path) -> None:
    edit(EPISODE, "keywords: [", "keywords: [" + "[" * 5000 + "]" * 5000 + ", ")(project)


BAD: list[tuple[str, Callable[[Path], None], str, str]] = [
    # (case, mutation, file named, field named)
    # dates that do not exist (YAML used to build them and crash)
    ("date-day-31-november", edit(EPISODE, DATE, "published: 2026-11-31T09:00:00-05:00"), EPISODE, "published"),
    ("date-month-13", edit(EPISODE, DATE, "published: 2026-13-01T09:00:00-05:00"), EPISODE, "published"),
    ("date-hour-25", edit(EPISODE, DATE, "published: 2026-06-16T25:00:00-04:00"), EPISODE, "published"),
    ("date-february-29-2026", edit(EPISODE, DATE, "published: 2026-02-29T09:00:00-05:00"), EPISODE, "published"),
    ("date-offset-25-hours", edit(EPISODE, DATE, "published: 2026-06-16T09:00:00-25:00"), EPISODE, "published"),
    ("date-explicit-tag", edit(EPISODE, DATE, "published: !!timestamp 2026-02-30"), EPISODE, "published"),
    ("date-year-0", edit(EPISODE, DATE, "published: 0000-01-01T00:00:00+00:00"), EPISODE, "published"),
    ("date-null", edit(EPISODE, DATE, "published: null"), EPISODE, "published: missing"),
    ("withdrawn-impossible-date", front('withdrawn: {at: 2026-02-30T09:00:00Z, reason: "wrong dose"}'), EPISODE, "withdrawn.at"),
    ("withdrawn-no-reason", front("withdrawn: {at: 2026-11-30T09:00:00Z}"), EPISODE, "withdrawn.reason"),
    ("feed-dtstart-impossible", edit(FEED, 'label: Every other week}', 'label: Every other week, dtstart: 2026-02-30}'), FEED, "update_frequency.dtstart"),
    ("config-impossible-date", append(CONFIG, "\n[extra]\nwhen = 2026-02-30\n"), CONFIG, "TOML"),
    # misspelled keys (used to be ignored)
    ("typo-summary", edit(EPISODE, "summary:", "summray:"), EPISODE, "summray"),
    ("typo-chapters", edit(EPISODE, "chapters:", "chapter:"), EPISODE, "chapter"),
    ("typo-explicit", edit(EPISODE, "explicit: false", "explict: false"), EPISODE, "explict"),
    ("typo-person-name", edit(EPISODE, "{name: Dr. Maya Okafor", "{nmae: Dr. Maya Okafor"), EPISODE, "persons[0].nmae"),
    ("typo-article-title", edit(EPISODE, '{title: "Lithium and the kidney"', '{titel: "Lithium and the kidney"'), EPISODE, "articles[1].titel"),
    ("typo-chapter-url", edit(EPISODE, 'title: Timing the twelve-hour level, url:', 'title: Timing the twelve-hour level, link:'), EPISODE, "chapters[1].link: unknown field; remove it; the fields here are: start, title, url, img"),
    ("typo-draft", front("drfat: true"), EPISODE, "drfat"),
    ("typo-update-frequency", edit(FEED, "update_frequency:", "update_frequncy:"), FEED, "update_frequncy"),
    ("typo-owner-email", edit(FEED, "email: podcast@example.org", "emial: podcast@example.org"), FEED, "owner.emial"),
    ("typo-select-kinds", edit(FEED, "select: {kinds:", "select: {kind:"), FEED, "select.kind"),
    ("typo-endpoint-url", edit(CONFIG, S3_ENDPOINT, 'endpoint_ulr = ""'), CONFIG, "targets.s3.endpoint_ulr"),
    ("typo-site-title", edit(CONFIG, 'title = "Northfield Psychiatry Review"', 'titel = "Northfield Psychiatry Review"'), CONFIG, "site.titel"),
    ("typo-audio-setting", edit(CONFIG, "loudness_stereo = -16.0", "loudnes_stereo = -16.0"), CONFIG, "audio.loudnes_stereo"),
    ("typo-config-table", edit(CONFIG, "[catalog]", "[catalogue]"), CONFIG, "catalogue"),
    # YAML features a producer does not mean
    ("yaml-duplicate-key", front("title: Another title"), EPISODE, "line"),
    ("yaml-alias", edit(EPISODE, "keywords: [", "summary2: &s [x]\nkeywords: *s\nk2: ["), EPISODE, "line"),
    ("yaml-python-tag", front("cover: !!python/object/apply:os.system [echo]"), EPISODE, "line"),
    ("yaml-bad-binary", edit(EPISODE, 'summary: "', 'summary: !!binary "'), EPISODE, ""),
    ("yaml-bad-int-tag", edit(EPISODE, "season: 1", "season: !!int one"), EPISODE, ""),
    ("yaml-deep-nesting", nested, EPISODE, ""),
    # endpoints and targets
    ("endpoint-with-path", edit(CONFIG, S3_ENDPOINT, 'endpoint_url = "http://127.0.0.1:9000/example-media"'), CONFIG, "targets.s3.endpoint_url"),
    ("endpoint-with-query", edit(CONFIG, S3_ENDPOINT, 'endpoint_url = "http://127.0.0.1:9000?x=1"'), CONFIG, "targets.s3.endpoint_url"),
    ("endpoint-not-a-url", edit(CONFIG, S3_ENDPOINT, 'endpoint_url = "127.0.0.1:9000"'), CONFIG, "targets.s3.endpoint_url"),
    ("target-is-the-project", edit(CONFIG, 'path = "public"', 'path = "."'), CONFIG, "targets.local.path"),
    ("target-in-episodes", edit(CONFIG, 'path = "public"', 'path = "episodes"'), CONFIG, "targets.local.path"),
    ("target-under-feeds", edit(CONFIG, 'path = "public"', 'path = "feeds/out"'), CONFIG, "targets.local.path"),
    ("target-above-the-project", edit(CONFIG, 'path = "public"', 'path = ".."'), CONFIG, "targets.local.path"),
    ("target-unknown-type", edit(CONFIG, 'type = "s3"', 'type = "ftp"'), CONFIG, "targets.s3.type"),
    # empty, huge and invisible values
    ("empty-title", edit(EPISODE, "title: Lithium Levels in Practice", 'title: ""'), EPISODE, "title"),
    ("zero-width-title", edit(EPISODE, "title: Lithium Levels in Practice", 'title: "\\u200b\\u200d"'), EPISODE, "title"),
    ("empty-media", edit(EPISODE, "media: audio.mp3", 'media: ""'), EPISODE, "media"),
    ("empty-kind", edit(EPISODE, "kind: podcast", 'kind: ""'), EPISODE, "kind"),
    ("empty-guid", edit(EPISODE, "guid: 645bd2b2-427d-408b-8ecb-4672a54a5f1f", 'guid: ""'), EPISODE, "guid"),
    ("huge-summary", edit(EPISODE, 'summary: "', 'summary: "' + "word " * 400), EPISODE, "summary: too long (2"),
    ("huge-season", edit(EPISODE, "season: 1", "season: 99999999999999999999999"), EPISODE, "season"),
    ("infinite-page-size", edit(FEED, "type: episodic", "type: episodic\npage_size: .inf"), FEED, "page_size"),
    ("small-page-size", edit(FEED, "type: episodic", "type: episodic\npage_size: 5"), FEED, "page_size"),
    ("draft-yes-string", front('draft: "yes"'), EPISODE, "draft"),
    ("chapters-extra-key", edit(EPISODE, '{start: "00:00", title: Introduction}', '{start: "00:00", title: Introduction, colour: red}'), EPISODE, "chapters[0].colour: unknown field; remove it; the fields here are: start, title, url, img"),
    ("topics-number-list", edit(EPISODE, "topics: [general-psychiatry]", "topics: [[1, 2]]"), EPISODE, "topics"),
    ("owner-a-list", edit(FEED, "owner: {name: Northfield Psychiatry Review, email: podcast@example.org}", "owner: [Northfield]"), FEED, "owner"),
    ("second-file-also-wrong", edit(OTHER, "kind: podcast", "kind: podcats"), OTHER, "kind"),
]  # fmt: skip

GOOD: list[tuple[str, Callable[[Path], None], str]] = [
    # (case, mutation, what the podcast feed then contains)
    ("date-like-title", edit(EPISODE, "title: Lithium Levels in Practice", "title: 2026-02-30"), "<title>2026-02-30</title>"),
    ("date-like-keyword", edit(EPISODE, "keywords: [", "keywords: [2026-02-30, "), "Lithium Levels in Practice"),
    ("date-with-spaces", edit(EPISODE, DATE, "published: 2026-06-16 09:00:00 -04:00"), "Lithium Levels in Practice"),
    ("date-zulu", edit(EPISODE, DATE, "published: 2026-06-16T13:00:00Z"), "Lithium Levels in Practice"),
    ("number-title", edit(EPISODE, "title: Lithium Levels in Practice", "title: 1984"), "<title>1984</title>"),
    ("draft-left-out", front("draft: true"), "Your Buprenorphine Questions"),
]


@pytest.mark.parametrize(("case", "mutate", "file", "field"), BAD, ids=[c[0] for c in BAD])
def test_producer_mistake_is_refused_clearly(sample_project: Path, mediafeed, case: str, mutate, file: str, field: str) -> None:
    mutate(sample_project)
    sources = source_hashes(sample_project)
    config = (sample_project / CONFIG).read_bytes()
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 3, (case, result.output)
    assert "Traceback" not in result.output and "This is a bug" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(file + ":")]
    assert lines, (case, result.stderr)
    assert any(f": {field}" in line for line in lines), (case, lines)
    assert all(";" in line and line.split(";")[-1].strip() for line in lines), (case, lines)  # each names a fix
    assert not (sample_project / "public").exists(), "an invalid catalog touches nothing"
    assert source_hashes(sample_project) == sources
    assert (sample_project / CONFIG).read_bytes() == config


def test_typos_suggest_the_key_meant(sample_project: Path, mediafeed) -> None:
    edit(EPISODE, "summary:", "summray:")(sample_project)
    edit(CONFIG, S3_ENDPOINT, 'endpoint_ulr = ""')(sample_project)
    result = mediafeed(sample_project, "check", "--no-media")
    assert "targets.s3.endpoint_ulr: unknown field; did you mean `endpoint_url`?" in result.stderr + result.output
    edit(CONFIG, 'endpoint_ulr = ""', S3_ENDPOINT)(sample_project)
    result = mediafeed(sample_project, "check", "--no-media")
    assert "summray: unknown field; did you mean `summary`?" in result.output


def test_endpoint_with_a_path_names_the_fix(sample_project: Path, mediafeed) -> None:
    edit(CONFIG, S3_ENDPOINT, 'endpoint_url = "http://127.0.0.1:9000/example-media"')(sample_project)
    result = mediafeed(sample_project, "publish", "--target", "s3")
    assert result.exit_code == 3
    assert 'write endpoint_url = "http://127.0.0.1:9000" and bucket = "example-media"' in result.stderr


@pytest.mark.parametrize(("case", "mutate", "expected"), GOOD, ids=[c[0] for c in GOOD])
def test_awkward_but_valid_values_publish(sample_project: Path, mediafeed, case: str, mutate, expected: str) -> None:
    mutate(sample_project)
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, (case, result.output)
    assert expected in (sample_project / "public/feeds/podcast.xml").read_text()


def test_a_draft_is_in_no_feed_and_check_says_so(sample_project: Path, mediafeed) -> None:
    front("draft: true")(sample_project)
    result = mediafeed(sample_project, "check", "--no-media")
    assert result.exit_code == 0, result.output
    assert f"warning: {EPISODE}: draft: a draft: in no feed" in result.output
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    assert all("Lithium Levels in Practice" not in p.read_text() for p in public.rglob("*.xml"))
    assert "lithium-levels-in-practice" not in (public / "related.json").read_text()


def test_placeholder_notes_are_a_warning_in_check_and_not_released_by_publish(sample_project: Path, mediafeed) -> None:
    index = sample_project / EPISODE
    head, _, _ = index.read_text().partition("\n---\n")
    index.write_text(head + "\n---\nWrite the show notes here, in Markdown.\n")
    result = mediafeed(sample_project, "check", "--no-media")
    assert result.exit_code == 0, result.output
    assert f"warning: {EPISODE}: notes: still the placeholder show notes" in result.output
    published = mediafeed(sample_project, "publish")
    assert published.exit_code == 1, published.output
    assert f"{EPISODE}: notes: still the placeholder show notes" in published.stderr
    assert "Lithium Levels in Practice" not in (sample_project / "public/feeds/podcast.xml").read_text()


COMMANDS = [("check",), ("plan",), ("publish",), ("status",), ("lint",), ("build",)]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_an_impossible_date_is_a_message_in_every_command(sample_project: Path, command: tuple[str, ...]) -> None:
    edit(EPISODE, DATE, "published: 2026-11-31T09:00:00-05:00")(sample_project)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-m", "mediafeed", "--project", str(sample_project), "--now", "2026-11-30T12:00:00Z", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "Traceback" not in output and "This is a bug" not in output
    assert f"{EPISODE}: published: not a date ('2026-11-31T09:00:00-05:00': day is out of range for month)" in output
    assert not (sample_project / "public").exists()


def test_a_copied_published_folder_leaves_the_published_guid_alone(sample_project: Path, mediafeed) -> None:
    """The old advice (delete the guid of the file the error named, then check --fix) re-assigned a published GUID."""
    import shutil

    assert mediafeed(sample_project, "publish").exit_code == 0
    original = sample_project / EPISODE
    guid_line = next(line for line in original.read_text().splitlines() if line.startswith("guid:"))
    copy = sample_project / "episodes/aaa-lithium-copy/index.md"  # sorts before the original: the old rule blamed it
    shutil.copytree(original.parent, copy.parent)
    result = mediafeed(sample_project, "check", "--no-media")
    assert result.exit_code == 3
    assert "episodes/aaa-lithium-copy/index.md: guid: same GUID as episodes/lithium-levels-in-practice/index.md (published" in (
        result.output
    )
    assert f"{EPISODE}: guid" not in result.output
    # Following the advice on the file named fixes it, and the published episode keeps its GUID.
    copy.write_text(copy.read_text().replace(guid_line + "\n", ""))
    assert mediafeed(sample_project, "check", "--fix", "--no-media").exit_code == 0
    assert guid_line in original.read_text() and guid_line not in copy.read_text()
    # Deleting the published file's guid instead: --fix puts the published GUID back, never a new one.
    original.write_text(original.read_text().replace(guid_line + "\n", ""))
    result = mediafeed(sample_project, "check", "--fix", "--no-media")
    assert guid_line in original.read_text(), result.output


def test_a_published_guid_moved_to_a_copy_is_refused(sample_project: Path, mediafeed) -> None:
    """A copy that keeps the published GUID while the original gets a new one: apps would show the episode twice."""
    import shutil

    assert mediafeed(sample_project, "publish").exit_code == 0
    original = sample_project / EPISODE
    guid_line = next(line for line in original.read_text().splitlines() if line.startswith("guid:"))
    shutil.copytree(original.parent, sample_project / "episodes/lithium-copy")
    original.write_text(original.read_text().replace(guid_line, "guid: 0b7d7a4e-7f55-4c41-9d53-6a3f9e1d2c10"))
    result = mediafeed(sample_project, "publish")
    assert result.exit_code != 0, result.output
    assert "changed to 0b7d7a4e-7f55-4c41-9d53-6a3f9e1d2c10" in result.output + result.stderr


def test_a_copy_of_an_episode_published_to_a_bucket_is_named_by_check_offline(s3_project: Path, mediafeed) -> None:
    """`check` reads no bucket: it knows what a bucket published from the last run that read its manifest."""
    import shutil

    assert mediafeed(s3_project, "publish", "--target", "s3").exit_code == 0
    (s3_project / CONFIG).write_text(
        (s3_project / CONFIG).read_text().replace("http://127.0.0.1", "http://127.0.0.9")  # the bucket is now out of reach
    )
    shutil.copytree((s3_project / EPISODE).parent, s3_project / "episodes/aaa-copy")
    result = mediafeed(s3_project, "check", "--no-media")
    assert result.exit_code == 3
    assert "episodes/aaa-copy/index.md: guid: same GUID as episodes/lithium-levels-in-practice/index.md (published" in (
        result.output
    )
