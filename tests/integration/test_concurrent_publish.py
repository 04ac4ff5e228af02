"""Two publishes at once on one target: each either wins, re-plans, or stops with a clear message, and the
manifest always describes exactly what the target holds (no update is silently lost)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from mediafeed.digest import sha256_file
from tests.conftest import NOW, feed_problems


def command(project: Path) -> list[str]:
    return [sys.executable, "-m", "mediafeed", "--project", str(project), "-q", "--now", NOW, "publish"]


def publisher(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(command(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def feeds_consistent(root: Path) -> None:
    """What subscribers rely on at every moment: each enclosure exists with the length its feed states."""
    assert feed_problems(root) == []


def manifest_matches_target(root: Path) -> None:
    manifest = json.loads((root / "_mediafeed" / "manifest.json").read_text())
    for key, record in manifest["objects"].items():
        path = root / key
        assert path.is_file(), key
        assert path.stat().st_size == record["size"] and sha256_file(path) == record["sha256"], key


def test_two_publishers_on_one_target(sample_project: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-public"
    toml = sample_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('path = "public"', f'path = "{shared}"'))
    other = tmp_path / "other"
    shutil.copytree(sample_project, other, symlinks=True)
    assert subprocess.run(command(sample_project), capture_output=True).returncode == 0  # a common start

    outcomes = []
    for round_number in range(4):
        webinar = sample_project / "episodes" / "autism-in-adolescent-girls" / "index.md"
        webinar.write_text(webinar.read_text() + f"\nWebinar update {round_number}.\n")
        podcast = other / "episodes" / "welcome-to-northfield-rounds" / "index.md"
        podcast.write_text(podcast.read_text() + f"\nPodcast update {round_number}.\n")
        # the two catalogs differ in different feeds; each run must not undo the other's feed
        a, b = publisher(sample_project), publisher(other)
        results = [(p.wait(), p.stdout.read(), p.stderr.read()) for p in (a, b)]  # type: ignore[union-attr]
        for code, _, err in results:
            assert code in (0, 4), err
            assert "Traceback" not in err
            if code == 4:
                assert "another publish updated" in err or "another publish holds" in err
        outcomes += [code for code, _, _ in results]
        feeds_consistent(shared)
        # Whoever stopped runs again, as its message says (with --verify when it had already written feeds: the
        # manifest may then describe the winner's feed while the loser's is on disk), and the target converges.
        for project, (code, _, err) in zip((sample_project, other), results, strict=True):
            if code == 4:
                verify = ["--verify"] if "--verify" in err else []
                rerun = subprocess.run([*command(project), *verify], capture_output=True, text=True)
                assert rerun.returncode == 0, rerun.stderr  # no race now: the catalog is published
        manifest_matches_target(shared)
        feeds_consistent(shared)
    print("race outcomes (exit codes):", outcomes)
    assert outcomes.count(0) >= 4  # at least one winner per round
