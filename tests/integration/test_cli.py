"""The CLI's contract: messages that name file, field and fix; exit codes; nothing written on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mediafeed.catalog.load import split_front_matter
from mediafeed.digest import sha256_file


def tree_state(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def front_matter(index: Path) -> dict:
    parts = split_front_matter(index.read_text())
    assert parts is not None
    return yaml.safe_load(parts[0])


def test_check_passes_on_the_sample_catalog(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 0, result.output
    assert "ok: 4 feeds, 9 episodes (1 scheduled)" in result.stdout


def test_check_reports_every_problem_with_file_field_and_fix(sample_project: Path, mediafeed) -> None:
    lithium = sample_project / "episodes" / "lithium-levels-in-practice" / "index.md"
    lithium.write_text(lithium.read_text().replace("published: 2026-06-16T09:00:00-04:00", "published: May 1st"))
    feed = sample_project / "feeds" / "podcast.yaml"
    feed.write_text(feed.read_text().replace("Health & Fitness > Mental Health", "Health > Brains"))
    before = tree_state(sample_project)
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert "episodes/lithium-levels-in-practice/index.md: published: not a date ('May 1st'); use ISO 8601" in result.stdout
    assert any(
        line.startswith("feeds/podcast.yaml: category: 'Health > Brains' is not in Apple's category list;") for line in lines
    )
    assert "Traceback" not in result.output
    assert tree_state(sample_project) == before


def test_check_json_lists_problems(sample_project: Path, mediafeed) -> None:
    index = sample_project / "episodes" / "melatonin-for-children" / "index.md"
    index.write_text(index.read_text().replace("kind: video", "kind: vlog"))
    result = mediafeed(sample_project, "check", "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {"file": "episodes/melatonin-for-children/index.md", "field": "kind"}.items() <= report["problems"][0].items()


def test_publish_refuses_an_invalid_catalog_and_writes_nothing(sample_project: Path, mediafeed) -> None:
    index = sample_project / "episodes" / "melatonin-for-children" / "index.md"
    index.write_text(index.read_text().replace("media: video.mp4", "media: ../../../etc/passwd"))
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 3
    assert "episodes/melatonin-for-children/index.md: media: '../../../etc/passwd' is outside the project" in result.stderr
    assert not (sample_project / "public").exists()


def test_check_fix_assigns_missing_guids_and_changes_nothing_else(sample_project: Path, mediafeed) -> None:
    index = sample_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    original = index.read_text()
    guid_line = next(line for line in original.splitlines() if line.startswith("guid:"))
    index.write_text(original.replace(guid_line + "\n", ""))
    assert mediafeed(sample_project, "check").exit_code == 3
    result = mediafeed(sample_project, "check", "--fix")
    assert result.exit_code == 0, result.output
    assert "fixed: episodes/welcome-to-northfield-rounds/index.md: guid" in result.stdout
    fixed = index.read_text()
    new_guid = front_matter(index)["guid"]
    assert new_guid and new_guid != guid_line.split()[1]
    assert fixed.replace(f"guid: {new_guid}\n", "") == original.replace(guid_line + "\n", "")
    assert mediafeed(sample_project, "check", "--fix").stdout.count("fixed:") == 0  # only ever once


def test_new_scaffolds_a_valid_bundle(sample_project: Path, mediafeed, make_tone, tmp_path: Path) -> None:
    master = make_tone(tmp_path / "outside" / "take 1.wav", seconds=2)
    result = mediafeed(sample_project, "new", "Sleep & Shift Work: What Helps?", "--kind", "podcast", "--media", str(master),
                       "--topic", "general-psychiatry")  # fmt: skip
    assert result.exit_code == 0, result.output
    bundle = sample_project / "episodes" / "sleep-shift-work-what-helps"
    data = front_matter(bundle / "index.md")
    assert data["title"] == "Sleep & Shift Work: What Helps?"
    assert len(str(data["guid"])) == 36 and data["kind"] == "podcast"
    assert (bundle / "take 1.wav").read_bytes() == master.read_bytes()
    assert mediafeed(sample_project, "check").exit_code == 0
    again = mediafeed(sample_project, "new", "Sleep & Shift Work: What Helps?", "--kind", "podcast", "--media", str(master))
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_dry_run_and_plan_write_nothing(sample_project: Path, mediafeed) -> None:
    for args in (("publish", "--dry-run"), ("plan",), ("plan", "--json")):
        result = mediafeed(sample_project, *args)
        assert result.exit_code == 0, result.output
        assert not (sample_project / "public").exists()
    report = json.loads(mediafeed(sample_project, "plan", "--json").stdout)
    assert report["dry_run"] is True
    assert {"feeds/podcast.xml", "feeds.opml", "related.json"} <= {u["key"] for u in report["uploads"]}
    assert [h["slug"] for h in report["held_back"]] == ["delirium-or-dementia"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file (0 bytes)"),
        (b"this is a text file, not audio\n" * 50, "ffprobe failed"),
    ],
)
def test_broken_media_fails_that_episode_only(sample_project: Path, mediafeed, content: bytes, expected: str) -> None:
    media = sample_project / "episodes" / "lithium-levels-in-practice" / "audio.mp3"
    media.write_bytes(content)
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 1
    assert "episodes/lithium-levels-in-practice/index.md: media:" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.output
    podcast = (sample_project / "public" / "feeds" / "podcast.xml").read_text()
    assert "Lithium Levels in Practice" not in podcast
    assert "Your Buprenorphine Questions" in podcast  # the others were published
    assert media.read_bytes() == content  # the source is never touched


def test_truncated_media_is_reported(sample_project: Path, mediafeed) -> None:
    media = sample_project / "episodes" / "melatonin-for-children" / "video.mp4"
    media.write_bytes(media.read_bytes()[:3000])
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 1
    assert "episodes/melatonin-for-children/index.md: media: video.mp4:" in result.stdout


def test_unknown_target_is_a_usage_error(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "publish", "--target", "nowhere")
    assert result.exit_code == 2
    assert "unknown target 'nowhere'" in result.stderr and "local" in result.stderr


def test_bad_now_is_a_usage_error(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "publish", now="tomorrow")
    assert result.exit_code == 2
    assert "not an ISO 8601 date" in result.output


def test_missing_ffmpeg_is_an_environment_error(sample_project: Path, mediafeed, monkeypatch, tmp_path: Path) -> None:
    import sys

    if (Path(sys.executable).parent / "ffprobe").exists():
        pytest.skip("ffprobe lives in the virtualenv; cannot hide it from this process")
    import shutil

    shutil.rmtree(sample_project / "build")  # nothing prepared yet: the publish must run ffprobe
    monkeypatch.delenv("MEDIAFEED_FFMPEG_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 4
    # Both tools' versions are part of every cache key, so whichever is looked up first is the one reported.
    assert ("ffprobe not found" in result.stderr or "ffmpeg not found" in result.stderr) and "make setup" in result.stderr
    assert not (sample_project / "public" / "feeds").exists()


def test_no_project_is_a_clear_error(tmp_path: Path, mediafeed) -> None:
    result = mediafeed(tmp_path, "check")
    assert result.exit_code == 3
    assert "mediafeed.toml: not found" in result.stdout + result.stderr


def test_help_explains_every_command() -> None:
    from click.testing import CliRunner

    from mediafeed.cli import cli

    for command in ("check", "new", "build", "plan", "publish", "serve"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert len(result.output.splitlines()) > 4, command
