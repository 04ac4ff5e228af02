"""Shared fixtures: a copy of the sample catalog, real media generated with ffmpeg, and a CLI runner."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from mediafeed.cli import cli
from mediafeed.media.ffmpeg import find_tool

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-25T00:00:00Z"  # after every sample episode but the scheduled one


def copy_catalog(project: Path) -> Path:
    project.mkdir(parents=True)
    shutil.copy(REPO / "mediafeed.toml", project)
    for folder in ("feeds", "episodes", "artwork"):
        shutil.copytree(REPO / folder, project / folder, copy_function=shutil.copy2)
    return project


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/ of the sample catalog, made once per test session (encoding is what takes time)."""
    project = copy_catalog(tmp_path_factory.mktemp("pristine") / "project")
    result = CliRunner().invoke(cli, ["--project", str(project), "-q", "build"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return project / "build"


@pytest.fixture
def sample_project(tmp_path: Path, sample_build: Path) -> Path:
    """A private copy of the sample catalog (tests may break it freely), with a warm build cache.

    The cache is keyed by content, so a copied build/ is valid for the copy; what a test changes is rebuilt.
    """
    project = copy_catalog(tmp_path / "project")
    copy_build(sample_build, project)
    return project


def copy_build(build: Path, project: Path) -> None:
    """Copy a prepared build/ into another copy of the catalog: the cache is keyed by content and stores paths
    relative to its project, so the copy is valid as it is (and no test probes or encodes the sample again)."""
    shutil.copytree(build, project / "build")


Invoke = Callable[..., Result]


@pytest.fixture
def mediafeed() -> Invoke:
    """Run the real CLI in-process: mediafeed(project, "publish", "--dry-run") → click Result."""

    def invoke(project: Path, *args: str, now: str = NOW) -> Result:
        return CliRunner().invoke(cli, ["--project", str(project), "--now", now, *args], catch_exceptions=False)

    return invoke


def ffmpeg_generate(output: Path, *args: str) -> Path:
    """Run ffmpeg to make a test input (lavfi sources: tones, noise, test patterns)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([find_tool("ffmpeg"), "-v", "error", "-y", *args, str(output)], check=True)
    return output


@pytest.fixture
def make_tone() -> Callable[..., Path]:
    def make(output: Path, seconds: float = 3.0, channels: int = 1) -> Path:
        layout = "mono" if channels == 1 else "stereo"
        return ffmpeg_generate(
            output, "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-af", f"aformat=channel_layouts={layout}"
        )

    return make


@pytest.fixture
def make_video() -> Callable[..., Path]:
    def make(output: Path, seconds: float = 2.0, codec: str = "libx264") -> Path:
        return ffmpeg_generate(
            output,
            "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=10:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
            "-c:v", codec, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        )  # fmt: skip

    return make


LOCAL_BASE = "http://127.0.0.1:8000/"  # public_url of the sample's local target


def feed_problems(root: Path) -> list[str]:
    """Problems a podcast app would hit right now: enclosures missing or of another length than the feed says."""
    problems = []
    for feed in sorted((root / "feeds").glob("*.xml")) if (root / "feeds").is_dir() else []:
        try:
            tree = etree.parse(str(feed))
        except (OSError, etree.XMLSyntaxError) as exc:  # a torn feed would show up here
            problems.append(f"{feed.name}: unreadable ({exc})")
            continue
        for enclosure in tree.iter("enclosure"):
            url, length = enclosure.get("url", ""), int(enclosure.get("length", "-1"))
            path = root / url.removeprefix(LOCAL_BASE)
            if not path.is_file():
                problems.append(f"{feed.name}: {url} missing")
            elif path.stat().st_size != length:
                problems.append(f"{feed.name}: {url} is {path.stat().st_size} bytes, feed says {length}")
    return problems
