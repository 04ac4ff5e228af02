"""The file system and the environment refusing things, through the real CLI (issue 14).

Every case: the documented exit code, a message naming the file with a fix after the ";", no traceback and no
"This is a bug". Permission cases run as an ordinary user: as root (CI) the CLI runs in a subprocess that drops to
the user `tester` (root reads everything, so chmod 000 would prove nothing); they are skipped, saying why, when
that is impossible.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from mediafeed.media.ffmpeg import find_tool
from tests.conftest import NOW, copy_catalog, feed_problems
from tests.integration.conftest import point_target
from tests.integration.test_bad_input_corpus import EPISODE, edit

REPO = Path(__file__).resolve().parents[2]
BUNDLE = "episodes/lithium-levels-in-practice"
USER = "tester"


def no_crash(output: str) -> None:
    assert "Traceback" not in output and "This is a bug" not in output, output


# --- running as an ordinary user ---------------------------------------------------------------------------------------


def _user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        return None


def _python_for_user() -> list[str]:
    """A Python the user can execute that imports this checkout with this virtualenv's packages (the virtualenv's
    own interpreter may live under /root, which only root can enter)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    paths = [str(REPO), *site.getsitepackages()]
    boot = f"import sys; sys.path[:0] = {paths!r}; sys.argv[0] = 'mediafeed'; from mediafeed.cli import main; main()"
    return [next((c for c in candidates if _usable(c)), sys.executable), "-c", boot]


def _usable(python: str) -> bool:
    user = _user()
    if user is None or not Path(python).is_file():
        return False
    probe = f"import sys; sys.path[:0] = {[str(REPO), *site.getsitepackages()]!r}; import mediafeed.cli, pydantic, lxml"
    try:
        result = subprocess.run([python, "-c", probe], capture_output=True, timeout=60, preexec_fn=_drop(user), cwd="/")
    except OSError:
        return False
    return result.returncode == 0


def _drop(user: pwd.struct_passwd) -> Callable[[], None]:
    def drop() -> None:
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop


@pytest.fixture
def as_user(sample_project: Path) -> Iterator[tuple[Path, Callable[..., subprocess.CompletedProcess[str]]]]:
    """(a copy of the sample project the user owns, run(*args) → the CLI run as that user)."""
    if os.geteuid() != 0:
        project = sample_project
        command = [sys.executable, "-m", "mediafeed"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        preexec = None
        folder = None
    else:
        user = _user()
        if user is None:
            pytest.skip(f"running as root and there is no user {USER!r} to drop to (permissions cannot be tested as root)")
        command = _python_for_user()
        if not _usable(command[0]):
            pytest.skip(f"running as root and user {USER!r} cannot run a Python that imports mediafeed")
        folder = Path(tempfile.mkdtemp(prefix="mediafeed-fsgate-", dir="/tmp"))
        folder.chmod(0o755)
        project = folder / "project"
        shutil.copytree(sample_project, project, symlinks=True)
        for path in [project, *project.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": user.pw_dir, "LANG": "C.UTF-8"}
        preexec = _drop(user)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--project", str(project), "--now", NOW, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            preexec_fn=preexec,
            cwd="/",
        )

    try:
        yield project, run
    finally:
        if folder is not None:
            for path in [folder, *folder.rglob("*")]:
                with contextlib.suppress(OSError):
                    path.chmod(0o755 if path.is_dir() and not path.is_symlink() else 0o644)
            shutil.rmtree(folder, ignore_errors=True)


UNREADABLE = [
    # (case, path made unreadable, the line the error starts with)
    ("index-md", EPISODE, f"{EPISODE}: permission denied;"),
    ("feed-yaml", "feeds/podcast.yaml", "feeds/podcast.yaml: permission denied;"),
    ("mediafeed-toml", "mediafeed.toml", "mediafeed.toml: permission denied;"),
    ("transcript", f"{BUNDLE}/transcript.vtt", f"{EPISODE}: transcript: transcript.vtt: permission denied;"),
    ("feed-artwork", "artwork/podcast.png", "feeds/podcast.yaml: image: podcast.png: permission denied;"),
    ("episodes-folder", "episodes", "episodes/: permission denied;"),
    ("episode-folder", BUNDLE, "episodes/lithium-levels-in-practice/: permission denied;"),
    ("feeds-folder", "feeds", "feeds/: permission denied;"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "rel", "expected"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_an_unreadable_catalog_file_is_exit_3_naming_it(as_user, case: str, rel: str, expected: str) -> None:
    project, run = as_user
    (project / rel).chmod(0)
    result = run("publish")
    no_crash(result.stdout + result.stderr)
    assert result.returncode == 3, (case, result.stderr)
    assert any(line.startswith(expected) for line in result.stderr.splitlines()), (case, result.stderr)
    assert not (project / "public").exists(), "an unreadable catalog is never an empty one: nothing is published"


def test_check_fix_in_a_read_only_folder_says_so(as_user) -> None:
    project, run = as_user
    index = project / EPISODE
    before = "".join(line for line in index.read_text().splitlines(keepends=True) if not line.startswith("guid:"))
    index.write_text(before)
    index.parent.chmod(0o555)
    result = run("check", "--fix", "--no-media")
    no_crash(result.stdout + result.stderr)
    assert result.returncode == 4, result.stderr
    assert f"error: {EPISODE}: permission denied; let the user running mediafeed write there" in result.stderr
    assert index.read_text() == before


def test_withdraw_in_a_read_only_folder_says_so(as_user) -> None:
    project, run = as_user
    index = project / EPISODE
    before = index.read_bytes()
    index.parent.chmod(0o555)
    result = run("withdraw", "lithium-levels-in-practice", "--reason", "guest withdrew consent")
    no_crash(result.stdout + result.stderr)
    assert result.returncode == 4, result.stderr
    assert f"error: {EPISODE}: permission denied" in result.stderr
    assert index.read_bytes() == before


# --- no special rights needed ------------------------------------------------------------------------------------------


def test_a_symlink_loop_as_media_is_exit_3(sample_project: Path, mediafeed) -> None:
    bundle = sample_project / BUNDLE
    (bundle / "loop-a.mp3").symlink_to("loop-b.mp3")
    (bundle / "loop-b.mp3").symlink_to("loop-a.mp3")
    edit(EPISODE, "media: audio.mp3", "media: loop-a.mp3")(sample_project)
    result = mediafeed(sample_project, "publish")
    no_crash(result.output)
    assert result.exit_code == 3, result.output
    assert f"{EPISODE}: media: 'loop-a.mp3': a symlink loop" in result.stderr
    assert not (sample_project / "public").exists()


def test_an_episodes_path_that_is_a_file_is_exit_3(sample_project: Path, mediafeed) -> None:
    shutil.rmtree(sample_project / "episodes")
    (sample_project / "episodes").write_text("not a folder")
    result = mediafeed(sample_project, "publish")
    no_crash(result.output)
    assert result.exit_code == 3, result.output
    assert "episodes/: a part of the path is not a folder" in result.stderr
    assert not (sample_project / "public").exists()


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
@pytest.mark.parametrize("command", ["check", "plan", "status", "lint", "publish"])
def test_dates_at_the_ends_of_the_calendar(sample_project: Path, mediafeed, now: str, command: str) -> None:
    edit(EPISODE, "published: 2026-06-16T09:00:00-04:00", "published: 0001-01-01T00:00:00Z")(sample_project)
    result = mediafeed(sample_project, command, now=now)
    no_crash(result.output)
    # Year 1: every published episode is now in the future, so a guard may refuse dropping them (exit 3).
    assert result.exit_code in ((0,) if now.startswith("9999") else (0, 3)), result.output


def test_now_out_of_range_in_utc_is_a_usage_error(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "check", now="0001-01-01T00:00:00+01:00")
    no_crash(result.output)
    assert result.exit_code == 2
    assert "out of range in UTC" in result.output


def test_a_year_9999_episode_near_the_end_of_time_in_utc_is_exit_3(sample_project: Path, mediafeed) -> None:
    edit(EPISODE, "published: 2026-06-16T09:00:00-04:00", "published: 9999-12-31T23:00:00-05:00")(sample_project)
    result = mediafeed(sample_project, "check", "--no-media")
    no_crash(result.output)
    assert result.exit_code == 3
    assert f"{EPISODE}: published: out of range" in result.output


# --- S3 settings from the environment -------------------------------------------------------------------------------


def test_a_malformed_endpoint_is_a_clear_error(sample_project: Path, mediafeed, aws_env: None) -> None:
    edit("mediafeed.toml", 'endpoint_url = ""', 'endpoint_url = "http://[::1"')(sample_project)
    result = mediafeed(sample_project, "publish", "--target", "s3")
    no_crash(result.output)
    assert result.exit_code in (3, 4)
    assert "endpoint_url" in result.stderr and "Invalid IPv6 URL" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AWS_MAX_ATTEMPTS", "0"), ("AWS_MAX_ATTEMPTS", "many"), ("AWS_ENDPOINT_URL", "http://[::1")],
)
def test_bad_aws_environment_values_name_the_variable(
    sample_project: Path, mediafeed, aws_env: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    if variable != "AWS_ENDPOINT_URL":
        point_target(sample_project, "http://127.0.0.1:9", "example-media")  # never reached: the client is refused first
    monkeypatch.setenv(variable, value)
    result = mediafeed(sample_project, "plan", "--target", "s3")
    no_crash(result.output)
    assert result.exit_code == 4, result.output
    assert f"{variable}={value!r}" in result.stderr and f"fix or unset {variable}" in result.stderr


# --- a full disk on the target -------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs (root only; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_full_target_disk_is_exit_4_and_leaves_the_target_as_it_was(sample_project: Path, mediafeed, small_disk: Path) -> None:
    target = small_disk / "public"
    edit("mediafeed.toml", 'path = "public"', f'path = "{target}"')(sample_project)
    assert mediafeed(sample_project, "publish").exit_code == 0
    before = _tree(target)
    with open(small_disk / "filler", "wb") as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
    edit(EPISODE, "title: Lithium Levels in Practice", "title: Lithium Levels in Practice, Revised")(sample_project)
    result = mediafeed(sample_project, "publish")
    no_crash(result.output)
    assert result.exit_code == 4, result.output
    assert "no space left on the device" in result.stderr
    assert _tree(target) == before, "feeds and manifest as they were; no partial or temporary file left"


# --- file names ffmpeg must not misread ---------------------------------------------------------------------------------


def test_a_project_folder_with_quotes_brackets_and_percent_publishes(tmp_path: Path, mediafeed) -> None:
    project = copy_catalog(tmp_path / "Dr O'Brien's Show [draft], 50% — ü")  # no warm cache: every encode runs
    result = mediafeed(project, "publish")
    no_crash(result.output)
    assert result.exit_code == 0, result.output
    public = project / "public"
    assert feed_problems(public) == []
    media = sorted((public / "media").iterdir())
    assert media
    for path in media:
        probe = subprocess.run([find_tool("ffprobe"), "-v", "error", "-show_format", "-of", "json", str(path)],
                               capture_output=True, text=True, check=True)  # fmt: skip
        assert float(json.loads(probe.stdout)["format"]["duration"]) > 1, path.name


# --- numbering in a feed that mixes shows ------------------------------------------------------------------------------


def test_a_mixed_feed_with_clashing_numbers_carries_none_and_lint_says_so(sample_project: Path, mediafeed) -> None:
    # The sample's topic feed child-psychiatry gathers a podcast, a webinar and a video: the podcast's S1 E2 and
    # the video's S1 E2 are different episodes.
    assert mediafeed(sample_project, "publish").exit_code == 0
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    mixed = etree.parse(str(sample_project / "public/feeds/child-psychiatry.xml"))
    assert mixed.findall(f".//item/{itunes}episode") == [] and mixed.findall(f".//item/{itunes}season") == []
    assert mixed.findall(".//item/{https://podcastindex.org/namespace/1.0}episode") == []
    podcast = etree.parse(str(sample_project / "public/feeds/podcast.xml"))
    assert podcast.findall(f".//item/{itunes}episode"), "a feed whose numbers are unique keeps them"
    result = mediafeed(sample_project, "lint")
    no_crash(result.output)
    assert "mediafeed-duplicate-numbers" not in result.output  # the feed as written has no clash left
    lines = [line for line in result.output.splitlines() if "mediafeed-numbers-left-out" in line]
    assert len(lines) == 1 and lines[0].startswith("feeds/child-psychiatry.xml: INFO"), result.output
    assert "season 1 episode 2 is on 2 episodes" in lines[0] and "episodes/melatonin-for-children/index.md" in lines[0]


def test_an_os_error_no_stage_translated_is_exit_4_without_a_traceback(sample_project: Path, mediafeed) -> None:
    """The CLI's last resort: an OSError is the machine's answer, not a bug (exit 70 stays for real bugs)."""
    (sample_project / "a-file").write_text("")
    result = mediafeed(sample_project, "schema", str(sample_project / "a-file" / "schemas"))
    no_crash(result.output)
    assert result.exit_code == 4
    assert f"error: {sample_project / 'a-file' / 'schemas'}: a part of the path is not a folder; " in result.stderr
