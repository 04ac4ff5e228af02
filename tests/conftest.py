"""Shared fixtures: a copy of the sample catalog, real media generated with ffmpeg, and a CLI runner."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mediafeed.cli import cli
from mediafeed.ffmpeg import find_tool

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-25T00:00:00Z"  # after every sample episode but the scheduled one


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A private copy of the repository's sample catalog (tests may break it freely)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "mediafeed.toml", project)
    for folder in ("feeds", "episodes", "artwork"):
        shutil.copytree(REPO / folder, project / folder)
    return project


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
