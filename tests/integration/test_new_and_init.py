"""`mediafeed new` checks its options before writing anything, and `mediafeed init` makes a project that passes
`check` (issue 13, parts 6 and 9). Every command is the real CLI in a subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from mediafeed.catalog.artwork import artwork_problems
from mediafeed.catalog.load import split_front_matter
from mediafeed.digest import sha256_file

NOW = "2026-11-25T00:00:00Z"
TOPIC_FIX = "use topics listed in mediafeed.toml [catalog]: general-psychiatry, child-adolescent-psychiatry"


def tree_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under `folder` (build/ included) with its content and mode."""
    state = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        state[relative] = (sha256_file(path) if path.is_file() else "dir", path.stat().st_mode)
    return state


def mediafeed(*args: str, cwd: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    def set_umask() -> None:
        os.umask(umask)

    return subprocess.run([sys.executable, "-m", "mediafeed", "--now", NOW, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, preexec_fn=set_umask)  # fmt: skip


def front_matter(index: Path) -> dict:
    parts = split_front_matter(index.read_text())
    assert parts is not None
    return yaml.safe_load(parts[0])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def new(project: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return mediafeed("--project", str(project), "new", *args, cwd=project.parent, umask=umask)


# --- mediafeed new ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640)])
def test_new_writes_a_draft_with_ordinary_permissions(
    sample_project: Path, make_tone, tmp_path: Path, umask: int, expected: int
) -> None:
    master = make_tone(tmp_path / "outside" / "take 1.wav", seconds=2)
    master.chmod(0o600)  # a private export: the copy in the catalog is still readable by the web server
    result = new(sample_project, "Shift Work", "--kind", "podcast", "--media", str(master), "--topic", "addiction",
                 umask=umask)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "created episodes/shift-work/index.md" in result.stdout
    bundle = sample_project / "episodes" / "shift-work"
    data = front_matter(bundle / "index.md")
    assert data["draft"] is True and data["topics"] == ["addiction"] and data["media"] == "take 1.wav"
    assert "Write the show notes here" in (bundle / "index.md").read_text()
    assert (bundle / "take 1.wav").read_bytes() == master.read_bytes()
    assert mode(bundle / "index.md") == expected and mode(bundle / "take 1.wav") == expected
    assert not list(bundle.glob(".mediafeed-*"))
    check = mediafeed("--project", str(sample_project), "check", "--no-lint", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("master", "options", "expected"),
    [
        ("empty.wav", (), "--media: {master}: empty file (0 bytes); export or copy the master again"),
        ("notes.mp3", (), "--media: {master}: ffprobe failed"),
        ("missing.wav", (), "--media: no such file: {master}; pass the path of the episode's master"),
        ("tone.wav", ("--topic", "adicction"), "--topic: unknown topic 'adicction'; " + TOPIC_FIX),
        ("tone.wav", ("--topic", "Bad Topic"), "--topic: 'Bad Topic' is not a topic slug; use lowercase letters"),
        ("tone.wav", ("--slug", "../escape"), "--slug: '../escape' is not a folder name; use lowercase letters"),
    ],
)
def test_new_refuses_a_bad_option_and_writes_nothing(
    sample_project: Path, make_tone, tmp_path: Path, master: str, options: tuple[str, ...], expected: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "empty.wav").write_bytes(b"")
    (outside / "notes.mp3").write_text("these are my notes, not audio\n" * 20)
    make_tone(outside / "tone.wav", seconds=1)
    path = outside / master
    before = tree_state(sample_project)
    result = new(sample_project, "Shift Work", "--kind", "podcast", "--media", str(path), *options)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {expected.format(master=path)}" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_state(sample_project) == before  # no bundle, and nothing in build/ either


def test_new_reports_every_bad_option_at_once(sample_project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    before = tree_state(sample_project)
    result = new(sample_project, "Shift Work", "--kind", "podcast", "--media", str(empty), "--topic", "nope")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(":")[1].strip() for line in errors] == ["--media", "--topic"], result.stderr
    assert tree_state(sample_project) == before


def test_new_refuses_an_existing_bundle(sample_project: Path, make_tone, tmp_path: Path) -> None:
    master = make_tone(tmp_path / "tone.wav", seconds=1)
    before = tree_state(sample_project)
    result = new(sample_project, "Delirium or Dementia", "--kind", "podcast", "--media", str(master))
    assert result.returncode == 2
    assert "error: episodes/delirium-or-dementia already exists; choose another title or pass --slug" in result.stderr
    assert tree_state(sample_project) == before


# --- mediafeed init -----------------------------------------------------------------------------------------------


def test_init_makes_a_project_that_passes_check_and_publishes(tmp_path: Path) -> None:
    project = tmp_path / "shows" / "night-rounds"
    result = mediafeed("init", str(project), "--title", "Night Rounds", "--site-url", "https://www.example.net",
                       cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("mediafeed.toml", "feeds/podcast.yaml", "artwork/podcast.png", "episodes/welcome/index.md"):
        assert f"  {name}" in result.stdout
        assert mode(project / name) == 0o644
    assert "mediafeed --project" in result.stdout and " check" in result.stdout and " publish" in result.stdout

    config = (project / "mediafeed.toml").read_text()
    assert 'title = "Night Rounds"' in config and 'url = "https://www.example.net"' in config
    for key in ("target", "public_url", "roots", "loudness_stereo", "true_peak", "mp3_bitrate_mono", "aac_bitrate_mono",
                "topics", "websub_hubs", "podping_url", "endpoint_url", "addressing_style"):  # fmt: skip
        line = next(line for line in config.splitlines() if key in line)
        assert "#" in line or key in ("mp3_bitrate_mono", "aac_bitrate_mono"), f"{key} is not explained: {line}"
    with Image.open(project / "artwork" / "podcast.png") as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (1400, 1400))
    assert artwork_problems(project / "artwork" / "podcast.png") == []
    episode = front_matter(project / "episodes" / "welcome" / "index.md")
    assert episode["draft"] is True and len(str(episode["guid"])) == 36

    check = mediafeed("--project", str(project), "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok: 1 feeds, 1 episodes" in check.stdout
    publish = mediafeed("--project", str(project), "publish", cwd=tmp_path)
    assert publish.returncode == 0, publish.stdout + publish.stderr
    assert (project / "public" / "feeds" / "podcast.xml").is_file()


def test_init_defaults_the_title_from_the_folder(tmp_path: Path) -> None:
    result = mediafeed("init", "evening-clinic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'title = "Evening Clinic"' in (tmp_path / "evening-clinic" / "mediafeed.toml").read_text()


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ({"mediafeed.toml": "[site]\n"}, "mediafeed.toml: a project is already there"),
        ({"episodes/old/index.md": "---\n"}, "episodes: already holds files; init an empty or new folder"),
        ({"feeds/podcast.yaml": "title: x\n"}, "feeds: already holds files; init an empty or new folder"),
    ],
)
def test_init_refuses_an_existing_project_and_writes_nothing(tmp_path: Path, existing: dict[str, str], expected: str) -> None:
    project = tmp_path / "project"
    for relative, text in existing.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    (project / "notes.txt").write_text("mine\n")
    before = tree_state(project)
    result = mediafeed("init", str(project), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {project}/{expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_state(project) == before


def test_init_into_an_empty_folder_and_a_bad_site_url(tmp_path: Path) -> None:
    project = tmp_path / "empty"
    (project / "episodes").mkdir(parents=True)  # empty folders are fine
    bad = mediafeed("init", str(project), "--site-url", "www.example.org", cwd=tmp_path)
    assert bad.returncode == 2
    assert "error: --site-url: not an absolute http(s) URL ('www.example.org'); e.g. --site-url https://" in bad.stderr
    assert sorted(p.name for p in project.iterdir()) == ["episodes"]
    good = mediafeed("init", str(project), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert (project / "episodes" / "welcome" / "index.md").is_file()
