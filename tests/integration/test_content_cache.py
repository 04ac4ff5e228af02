"""The build cache is keyed by content: by the bytes of each input and the source of the code that makes each output.

So build/ stays valid wherever the same bytes turn up again (a fresh git clone on CI with build/ restored from a
cache, a copy that kept no file metadata, a project moved to another folder), and a code change re-derives exactly
what that code makes: an edit of the tag writer re-tags without encoding, a comment in the encoder re-encodes (to
the same bytes, so nothing is uploaded), and the CLI's help text makes nothing at all.

Every publish here runs the real CLI in a subprocess (`python -m mediafeed ... publish --json`) with ffmpeg and
ffprobe behind counting shims (MEDIAFEED_FFMPEG_DIR), and the package imported from a chosen folder (PYTHONPATH),
so a test can run an edited copy of the code.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from mutagen.id3 import ID3

import mediafeed
from mediafeed.media.ffmpeg import find_tool
from tests.conftest import LOCAL_BASE, REPO, feed_problems

NOW = "2026-12-31T00:00:00Z"  # the sample's scheduled episode (2027-01-15) stays held back
PACKAGE = Path(mediafeed.__file__).resolve().parent  # the package under test (the worktree's mediafeed/)
CATALOG = ("feeds", "episodes", "artwork")
NOTHING_DONE = {"ffmpeg": 0, "ffprobe": 0, "uploads": [], "written": 0, "bytes_written": 0}
LOG_VARIABLE = "MEDIAFEED_TEST_SHIM_LOG"
ENCODER_OPTIONS = ("-c", "-codec", "-c:a", "-c:v", "-codec:a", "-codec:v", "-acodec", "-vcodec")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Mediafeed Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "Mediafeed Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.org",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",  # neither the machine's nor the developer's git settings (signing, hooks, autocrlf)
    "GIT_CONFIG_GLOBAL": os.devnull,
}


# --- harness: counting shims, a CLI runner, code copies ---------------------------------------------------------------


def is_encode(args: list[str]) -> bool:
    """Whether an ffmpeg command line encodes (chooses an output codec other than stream copy) from a file. An audio
    encode is two ffmpegs: a feeder that reads the master (decode, gain, joins) and writes raw PCM, and the MP3
    encoder that reads it from a pipe; the feeder, which names the master, stands for the pair."""
    reads_pipe = any(option == "-i" and value.startswith("pipe:") for option, value in itertools.pairwise(args))
    return not reads_pipe and any(option in ENCODER_OPTIONS and value != "copy" for option, value in itertools.pairwise(args))


@dataclass
class Shim:
    """`ffmpeg` and `ffprobe` scripts that log each invocation (tool, then args, tab-separated) to `log`.

    The scripts are made once per session and are the machine's ffmpeg for every publish here, counted or not: a
    tool's identity (its bytes) is part of what the cache is keyed by, so a test must not swap the binary between
    the publish that fills build/ and the one it counts. Only a counted run sets the log file (LOG_VARIABLE).
    """

    folder: Path
    log: Path

    @classmethod
    def create(cls, folder: Path) -> Shim:
        folder.mkdir(parents=True)
        for tool in ("ffmpeg", "ffprobe"):
            real = find_tool(tool)  # resolved before MEDIAFEED_FFMPEG_DIR points anywhere (only children get it)
            assert Path(real).parent != folder
            script = folder / tool
            script.write_text(
                "#!/bin/sh\n"
                f'if [ -n "${LOG_VARIABLE}" ]; then\n'
                f"  line={tool}\n"
                '  for arg in "$@"; do line="$line\t$arg"; done\n'
                f'  printf "%s\\n" "$line" >> "${LOG_VARIABLE}"\n'  # one write per call: safe when calls overlap
                "fi\n"
                f'exec {shlex.quote(real)} "$@"\n'
            )
            script.chmod(0o755)
        return cls(folder, folder / "unused.log")

    def env(self) -> dict[str, str]:
        return {**os.environ, LOG_VARIABLE: str(self.log)}

    def calls(self) -> list[list[str]]:
        return [line.split("\t") for line in self.log.read_text().splitlines()] if self.log.is_file() else []

    def count(self, tool: str) -> int:
        return sum(1 for call in self.calls() if call[0] == tool)

    def counts(self) -> dict[str, int]:
        return {"ffmpeg": self.count("ffmpeg"), "ffprobe": self.count("ffprobe")}

    def encodes(self) -> list[list[str]]:
        return [call for call in self.calls() if call[0] == "ffmpeg" and is_encode(call[1:])]

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)

    def report(self) -> str:
        """Every logged call on one line each (printed by the tests; pytest shows it when one fails)."""
        calls = self.calls()
        lines = [f"{'ENCODE ' if is_encode(c[1:]) else ''}{' '.join(c)[:300]}" for c in calls]
        return f"{len(calls)} call(s) {self.counts()}:\n" + "\n".join(lines)


@dataclass
class Runner:
    """Runs `python -m mediafeed` with the package imported from `code` (a folder holding mediafeed/)."""

    cwd: Path  # an empty folder: `python -m` puts the working directory first on sys.path
    tools: Shim  # the machine's ffmpeg/ffprobe for every run

    def env(self, code: Path, shim: Shim | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("MEDIAFEED_FFMPEG_DIR", "PYTHONPATH", LOG_VARIABLE)}
        env["PYTHONPATH"] = str(code)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # an edited copy is never run from a stale .pyc, and stays as copied
        env["MEDIAFEED_FFMPEG_DIR"] = str(self.tools.folder)
        if shim is not None:
            env[LOG_VARIABLE] = str(shim.log)
        return env

    def imported_from(self, code: Path) -> Path:
        printed = subprocess.run(
            [sys.executable, "-c", "import mediafeed; print(mediafeed.__file__)"],
            cwd=self.cwd, env=self.env(code, None), capture_output=True, text=True, check=True,
        )  # fmt: skip
        return Path(printed.stdout.strip()).resolve()

    def output(self, *args: str, code: Path = PACKAGE.parent) -> str:
        """What `python -m mediafeed ARGS` prints (whitespace normalized: click wraps help text)."""
        result = subprocess.run([sys.executable, "-m", "mediafeed", *args], cwd=self.cwd, env=self.env(code, None),
                                capture_output=True, text=True, check=True)  # fmt: skip
        return " ".join(result.stdout.split())

    def publish(self, project: Path, *, code: Path = PACKAGE.parent, shim: Shim | None = None) -> dict[str, Any]:
        command = [sys.executable, "-m", "mediafeed", "--project", str(project), "--now", NOW, "-q", "publish", "--json"]
        result = subprocess.run(command, cwd=self.cwd, env=self.env(code, shim), capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        payload: dict[str, Any] = json.loads(result.stdout)
        return payload


def nothing_done(payload: dict[str, Any], shim: Shim) -> dict[str, Any]:
    """What a publish that should have found everything cached did, in the shape of NOTHING_DONE."""
    return {**shim.counts(), **{key: payload[key] for key in ("uploads", "written", "bytes_written")}}


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Shim:
    return Shim.create(tmp_path_factory.mktemp("machine") / "bin")


@pytest.fixture
def run(tmp_path: Path, tools: Shim) -> Runner:
    (tmp_path / "cwd").mkdir()
    runner = Runner(tmp_path / "cwd", tools)
    assert PACKAGE.parent == REPO, f"testing {PACKAGE}, not this checkout's package: run with PYTHONPATH={REPO}"
    assert runner.imported_from(PACKAGE.parent) == PACKAGE / "__init__.py"
    return runner


@pytest.fixture
def shim(tmp_path: Path, tools: Shim) -> Shim:
    """Counts this test's calls of the machine's tools (the runs given `shim=`)."""
    return Shim(tools.folder, tmp_path / "calls.log")


@pytest.fixture
def code(tmp_path: Path, run: Runner) -> Path:
    """tmp/code/mediafeed: a copy of the package under test, for a test to edit; children import this copy."""
    root = tmp_path / "code"
    shutil.copytree(PACKAGE, root / "mediafeed", ignore=shutil.ignore_patterns("__pycache__"))
    past = time.time() - 60  # sources as old as in any checkout: only the edit a test makes is recent
    for path in (root / "mediafeed").rglob("*"):
        os.utime(path, (past, past))
    assert run.imported_from(root) == root / "mediafeed" / "__init__.py"
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` (the test is wrong, not the code, when it is not found exactly once)."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


def point_local_target(project: Path, folder: Path) -> None:
    """Publish the project's local target into `folder` (an absolute path) instead of the project's public/."""
    edit(project / "mediafeed.toml", 'path = "public"', f"path = {json.dumps(str(folder))}")


def age(project: Path, seconds: int = 60) -> None:
    """Date the catalog's files back: no receipt vouches for files modified in the last seconds (see test_receipt)."""
    past = time.time() - seconds
    paths = [project / "mediafeed.toml", *(project / f for f in CATALOG)]
    paths += [path for folder in CATALOG for path in (project / folder).rglob("*")]
    for path in paths:
        os.utime(path, (past, past), follow_symlinks=False)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env={**os.environ, **GIT_IDENTITY},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout


def enclosures(public: Path, suffix: str) -> list[Path]:
    """The published files the feeds' enclosures point at, ending in `suffix`."""
    found = []
    for feed in sorted((public / "feeds").glob("*.xml")):
        for enclosure in etree.parse(str(feed)).iter("enclosure"):
            url = enclosure.get("url", "")
            if url.endswith(suffix):
                found.append(public / url.removeprefix(LOCAL_BASE))
    return sorted(set(found))


# --- the harness itself ---------------------------------------------------------------------------------------------


def test_the_shim_counts_calls_and_runs_the_real_tools(shim: Shim) -> None:
    out = subprocess.run(
        [str(shim.folder / "ffprobe"), "-version"], capture_output=True, text=True, check=True, env=shim.env()
    ).stdout
    assert out.startswith("ffprobe version")
    subprocess.run([str(shim.folder / "ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.1", "-c:a", "pcm_s16le",
                    "-f", "null", "-"], check=True, env=shim.env())  # fmt: skip
    assert shim.counts() == {"ffmpeg": 1, "ffprobe": 1}
    assert shim.calls()[0] == ["ffprobe", "-version"] and len(shim.encodes()) == 1
    assert not is_encode(["-i", "a.mp4", "-c", "copy", "b.mp4"]) and is_encode(["-i", "a.wav", "-c:a", "libmp3lame", "b.mp3"])


# --- build/ travels with the content ---------------------------------------------------------------------------------


def test_a_fresh_clone_with_build_restored_runs_no_tools_and_writes_nothing(
    sample_project: Path, tmp_path: Path, run: Runner, shim: Shim
) -> None:
    """CI: a fresh checkout (new mtimes, inodes and ctimes on every file), build/ restored from a cache."""
    published = tmp_path / "published"  # outside both projects: the clone publishes to where the original did
    point_local_target(sample_project, published)
    if not (sample_project / ".gitignore").is_file():
        shutil.copy(REPO / ".gitignore", sample_project / ".gitignore")  # /build/ and /public/ are not committed
    git(sample_project, "init", "-q")
    git(sample_project, "add", "-A")
    git(sample_project, "commit", "-q", "-m", "catalog")
    assert not any(line.startswith("build/") for line in git(sample_project, "ls-files").splitlines())
    assert run.publish(sample_project)["uploads"]

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-hardlinks", str(sample_project), str(clone))
    shutil.copytree(sample_project / "build", clone / "build")  # as actions/cache restores it (a tar: mtimes kept)
    master = Path("episodes") / "lithium-levels-in-practice" / "audio.mp3"
    original, cloned = (sample_project / master).stat(), (clone / master).stat()
    assert (cloned.st_ino, cloned.st_mtime_ns) != (original.st_ino, original.st_mtime_ns)

    payload = run.publish(clone, shim=shim)
    print(shim.report())
    assert nothing_done(payload, shim) == NOTHING_DONE


def test_a_copy_without_file_metadata_with_build_restored_runs_no_tools_and_writes_nothing(
    sample_project: Path, tmp_path: Path, run: Runner, shim: Shim
) -> None:
    """No git and no kept mtimes: only the contents can tell the files are the same (hashing them is fine)."""
    published = tmp_path / "published"
    point_local_target(sample_project, published)
    assert run.publish(sample_project)["uploads"]

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copyfile(sample_project / "mediafeed.toml", copy / "mediafeed.toml")
    for folder in CATALOG:
        shutil.copytree(sample_project / folder, copy / folder, copy_function=shutil.copyfile)
    shutil.copytree(sample_project / "build", copy / "build")
    assert not (copy / ".git").exists()

    payload = run.publish(copy, shim=shim)
    print(shim.report())
    assert nothing_done(payload, shim) == NOTHING_DONE


def test_a_moved_project_keeps_its_build_valid(sample_project: Path, tmp_path: Path, run: Runner, shim: Shim) -> None:
    """The whole project folder (build/ and its public/ too) moved elsewhere: nothing to redo, nothing to write."""
    assert run.publish(sample_project)["uploads"]
    moved = tmp_path / "elsewhere" / "renamed-project"
    moved.parent.mkdir()
    shutil.move(sample_project, moved)
    assert not sample_project.exists() and (moved / "public" / "_mediafeed" / "manifest.json").is_file()

    payload = run.publish(moved, shim=shim)
    print(shim.report())
    assert nothing_done(payload, shim) == NOTHING_DONE


# --- what a code change re-derives ----------------------------------------------------------------------------------


def publish_pristine(project: Path, code: Path, run: Runner, shim: Shim) -> None:
    """The first publish, with the unedited copy of the code: the warm build/ serves it without encoding."""
    first = run.publish(project, code=code, shim=shim)
    print("pristine copy:", shim.report())
    assert first["uploads"]
    assert shim.encodes() == [], "an identical copy of the code must find the warm build/ valid"
    shim.reset()


def test_editing_the_tag_writer_retags_without_encoding(sample_project: Path, code: Path, run: Runner, shim: Shim) -> None:
    publish_pristine(sample_project, code, run, shim)
    # The ID3 genre frame's writer, not the genre value (GENRE): the tags a file is made with stay the same, so only a
    # cache keyed by the code can see the change.
    tags = code / "mediafeed" / "media" / "tags.py"
    edit(tags, "TCON(encoding=3, text=[t.genre])", 'TCON(encoding=3, text=[t.genre + " Test"])')

    payload = run.publish(sample_project, code=code, shim=shim)
    print("after the edit:", shim.report())
    uploaded = {u["key"] for u in payload["uploads"]}
    print("uploaded:", sorted(uploaded))
    public = sample_project / "public"
    mp3s = enclosures(public, ".mp3")
    assert mp3s, "the sample's feeds have MP3 enclosures"
    genres = {path.relative_to(public).as_posix(): ID3(path).getall("TCON")[0].text for path in mp3s}
    assert genres == {key: ["Podcast Test"] for key in genres}, "every published MP3 carries the edited writer's genre"
    assert set(genres) <= uploaded
    assert feed_problems(public) == []
    assert shim.encodes() == [], "re-tagging never encodes"


def test_a_comment_in_the_encoding_code_reencodes_and_uploads_nothing(
    sample_project: Path, code: Path, run: Runner, shim: Shim
) -> None:
    publish_pristine(sample_project, code, run, shim)
    encoder = code / "mediafeed" / "media" / "encode.py"
    if not encoder.is_file():
        encoder = code / "mediafeed" / "media" / "prepare.py"  # before encode.py was split out of it
    encoder.write_text(encoder.read_text() + "# a comment\n")

    payload = run.publish(sample_project, code=code, shim=shim)
    print("after the comment:", shim.report())
    assert len(shim.encodes()) > 0, "encoding code changed: its outputs are made again"
    assert (payload["uploads"], payload["written"], payload["bytes_written"]) == ([], 0, 0), "the same bytes came out"


def test_editing_the_cli_help_text_rederives_nothing(sample_project: Path, code: Path, run: Runner, shim: Shim) -> None:
    age(sample_project)  # so the first publish can leave a receipt
    publish_pristine(sample_project, code, run, shim)
    assert run.publish(sample_project, code=code, shim=shim)["receipt"] is True, "the pristine copy takes the shortcut"
    shim.reset()
    edit(code / "mediafeed" / "cli.py", '"Show the plan without writing anything."', '"Show the plan; write nothing at all."')
    assert "Show the plan; write nothing at all." in run.output("publish", "--help", code=code)  # the edit is what runs

    payload = run.publish(sample_project, code=code, shim=shim)
    print("after the edit:", shim.report())
    assert {**nothing_done(payload, shim), "receipt": payload["receipt"]} == {**NOTHING_DONE, "receipt": True}
