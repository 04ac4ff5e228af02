"""Identical media: byte-identical masters (a re-run, the same clip in two bundles) are encoded once and delivered as
two differently tagged files, and writers of the same cache key never share a temporary file (issue 13, part 4).

Every command here is the real CLI in a subprocess, with ffmpeg and ffprobe behind the counting shims of
test_content_cache (MEDIAFEED_TEST_SHIM_LOG).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from mutagen.id3 import ID3

from tests.conftest import LOCAL_BASE, feed_problems
from tests.integration.test_content_cache import PACKAGE, Runner, Shim

NOW = "2026-12-31T00:00:00Z"
EPISODES = {
    "first-airing": ("First Airing of the Clip", "0b8f6c1e-1d1a-4c55-9a64-5e2f3d7c9a01"),
    "second-airing": ("Second Airing of the Clip", "7d3a2e90-4b6c-4f1e-8d2a-1c9b0e6f5a02"),
}


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Shim:
    return Shim.create(tmp_path_factory.mktemp("identical-tools") / "bin")


@pytest.fixture
def run(tmp_path: Path, tools: Shim) -> Runner:
    (tmp_path / "cwd").mkdir()
    return Runner(tmp_path / "cwd", tools)


@pytest.fixture
def shim(tmp_path: Path, tools: Shim) -> Shim:
    return Shim(tools.folder, tmp_path / "calls.log")


def add_twins(project: Path, master: Path) -> dict[str, Path]:
    """Two podcast episodes (different slugs, titles, GUIDs) whose masters are byte-identical copies of `master`."""
    masters = {}
    for slug, (title, guid) in EPISODES.items():
        bundle = project / "episodes" / slug
        bundle.mkdir()
        shutil.copyfile(master, bundle / "audio.wav")
        masters[slug] = bundle / "audio.wav"
        (bundle / "index.md").write_text(
            "---\n"
            f"title: {title}\n"
            f"guid: {guid}\n"
            "kind: podcast\n"
            "topics: [general-psychiatry]\n"
            "published: 2026-11-30T09:00:00-05:00\n"
            "media: audio.wav\n"
            "---\n"
            f"Show notes of {title}.\n"
        )
    return masters


def cli(run: Runner, project: Path, *args: str, shim: Shim | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mediafeed", "--project", str(project), "--now", NOW, "-q", *args]
    return subprocess.run(command, cwd=run.cwd, env=run.env(PACKAGE.parent, shim), capture_output=True, text=True, timeout=600)


def test_two_episodes_with_identical_masters_encode_once_and_publish_two_tagged_files(
    sample_project: Path, make_tone, tmp_path: Path, run: Runner, shim: Shim
) -> None:
    master = make_tone(tmp_path / "clip.wav", seconds=3, channels=2)
    masters = add_twins(sample_project, master)
    assert masters["first-airing"].read_bytes() == masters["second-airing"].read_bytes()

    result = cli(run, sample_project, "publish", "--json", shim=shim)
    print(shim.report())
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert not payload["failures"], payload["failures"]

    # One encode for both: every encoding ffmpeg call read one master, and the same clip is never encoded twice.
    encodes = shim.encodes()
    read = {Path(arg).name for call in encodes for arg in call if arg in {str(p) for p in masters.values()}}
    inputs = {arg for call in encodes for arg in call if arg in {str(p) for p in masters.values()}}
    assert len(inputs) == 1, f"both masters were encoded: {read}"
    assert len(encodes) == 1, shim.report()

    public = sample_project / "public"
    delivered = {slug: sorted((public / "media").glob(f"{slug}-*.mp3")) for slug in EPISODES}
    assert all(len(files) == 1 for files in delivered.values()), delivered
    first, second = delivered["first-airing"][0], delivered["second-airing"][0]
    assert first.read_bytes() != second.read_bytes()  # the same audio, tagged for each episode
    for slug, path in delivered.items():
        tags = ID3(path[0])
        assert str(tags["TIT2"]) == EPISODES[slug][0]
        assert str(tags["TGID"]) == EPISODES[slug][1]

    assert feed_problems(public) == []
    podcast = etree.parse(str(public / "feeds" / "podcast.xml"))
    items = {item.findtext("guid"): item for item in podcast.iter("item")}
    for slug, (title, guid) in EPISODES.items():
        item = items[guid]
        assert item.findtext("title") == title
        enclosure = item.find("enclosure")
        assert enclosure is not None
        path = public / enclosure.get("url", "").removeprefix(LOCAL_BASE)
        assert path == delivered[slug][0] and int(enclosure.get("length", "0")) == path.stat().st_size
    assert not list((sample_project / "build" / "cache" / "files" / "tmp").glob("*")), "scratch files were left behind"


def test_two_concurrent_builds_share_build_and_both_succeed(
    sample_project: Path, make_tone, tmp_path: Path, run: Runner, shim: Shim
) -> None:
    master = make_tone(tmp_path / "clip.wav", seconds=3, channels=2)
    add_twins(sample_project, master)
    video = sample_project / "episodes" / "melatonin-for-children" / "video.mp4"
    twin = sample_project / "episodes" / "melatonin-twin"
    twin.mkdir()
    shutil.copyfile(video, twin / "video.mp4")
    text = (video.parent / "index.md").read_text()
    guid = next(line for line in text.splitlines() if line.startswith("guid:"))
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    twin_text = text.replace(guid, "guid: 4e0c9d7b-2a61-4f3e-b8d5-9c1a7e2f6b03").replace(title, "title: Melatonin, Again")
    (twin / "index.md").write_text(twin_text)

    command = [sys.executable, "-m", "mediafeed", "--project", str(sample_project), "--now", NOW, "-q", "build"]
    env = run.env(PACKAGE.parent, shim)
    processes = [
        subprocess.Popen(command, cwd=run.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    print(shim.report())
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"exit {process.returncode}\n{out}\n{err}"
        assert "Traceback" not in err
        assert "0 failed" in out
    # Each clip is encoded once between the two processes: the second waits for the first and reuses its file.
    masters = [str(sample_project / "episodes" / slug / "audio.wav") for slug in EPISODES]
    audio_encodes = [call for call in shim.encodes() if any(m in call for m in masters)]
    assert len(audio_encodes) == 1, shim.report()
    assert not list((sample_project / "build" / "cache" / "files" / "tmp").glob("*"))

    # The shared build/ is whole: a publish afterwards encodes nothing and publishes valid feeds.
    shim.reset()
    result = cli(run, sample_project, "publish", "--json", shim=shim)
    assert result.returncode == 0, result.stderr
    assert shim.encodes() == [], shim.report()
    public = sample_project / "public"
    assert feed_problems(public) == []
    guids = {item.findtext("guid") for item in etree.parse(str(public / "feeds" / "podcast.xml")).iter("item")}
    assert {guid for _, guid in EPISODES.values()} <= guids
