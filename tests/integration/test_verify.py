"""Nothing is published that is not what it claims: delivery files are decoded and measured before they can be.

Through the real CLI (fixed --now), with ffmpeg shims (MEDIAFEED_FFMPEG_DIR) that break things the way the world
does: an encode whose file output is cut short while ffmpeg exits 0, a master rewritten while ffmpeg reads it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lxml import etree

from mediafeed.cache.store import FOLDER
from mediafeed.media.ffmpeg import find_tool
from mediafeed.media.verify import decode
from tests.conftest import LOCAL_BASE, ffmpeg_generate

EPISODE = "lithium-levels-in-practice"
TITLE = "Lithium Levels in Practice"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"


# --- helpers ---------------------------------------------------------------------------------------------------------


def published_enclosures(project: Path) -> list[tuple[str, Path, int]]:
    """(feed file, enclosure file, itunes:duration) for every item of every published feed."""
    found = []
    for feed in sorted((project / "public" / "feeds").glob("*.xml")):
        for item in etree.parse(str(feed)).iter("item"):
            enclosure = item.find("enclosure")
            duration = item.find(f"{ITUNES}duration")
            assert enclosure is not None and duration is not None, f"{feed.name}: an item without enclosure or duration"
            path = project / "public" / enclosure.get("url", "").removeprefix(LOCAL_BASE)
            found.append((feed.name, path, int(duration.text or "0")))
    return found


def master_of(project: Path, enclosure: Path) -> Path:
    """The master an enclosure was made from: media/<slug>-<sha8>.<ext> → episodes/<slug>/<media:>."""
    slug = enclosure.stem.rsplit("-", 1)[0]
    front = (project / "episodes" / slug / "index.md").read_text().split("---")[1]
    return project / "episodes" / slug / yaml.safe_load(front)["media"]


def assert_published_media_is_true(project: Path) -> None:
    """The invariant: every published enclosure decodes cleanly, for as long as the feed says and the master lasts."""
    enclosures = published_enclosures(project)
    assert enclosures, "nothing was published"
    for feed, path, duration in enclosures:
        assert path.is_file(), f"{feed}: {path.name} missing"
        decoded = decode(path)
        assert decoded.errors == "", f"{feed}: {path.name} does not decode cleanly: {decoded.errors}"
        assert abs(decoded.seconds - duration) <= 1, f"{feed}: {path.name} lasts {decoded.seconds} s, feed says {duration}"
        master = decode(master_of(project, path))
        assert abs(decoded.seconds - master.seconds) <= 0.5, f"{feed}: {path.name} vs master {master.seconds} s"


def use_master(project: Path, master: Path) -> Path:
    """Make `master` (a file in the episode's folder) the media of EPISODE."""
    index = project / "episodes" / EPISODE / "index.md"
    index.write_text(index.read_text().replace("media: audio.mp3", f"media: {master.name}"))
    return master


# An audio encode is two ffmpegs: a feeder that reads the master (decode, gain) and writes raw PCM, and the encoder
# (with the tee muxer) that reads it. `encodes_master` (in a shim's scope) says whether this ffmpeg is the encoder
# fed from master.wav: a process started by the same parent (the feeder's shim) names it.
ENCODES_MASTER = """
import os
def _fed_from_master():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as line:
                command = line.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getppid() and b"master.wav" in command and b"f32le" in command:
            return True
    return False
encodes_master = "tee" in args and (any("master.wav" in a for a in args) or _fed_from_master())
feeds_master = "f32le" in args and any("master.wav" in a for a in args)
"""


def shim_ffmpeg(folder: Path, monkeypatch: pytest.MonkeyPatch, after: str) -> None:
    """An ffmpeg that runs the real one (file descriptors kept: -progress pipes) and then runs `after` (Python, with
    `args`, `Path`, `shutil`, `encodes_master` and `feeds_master` in scope) — or before it, when `after` starts with
    '# before'."""
    folder.mkdir(parents=True, exist_ok=True)
    real = find_tool("ffmpeg")
    before = after.startswith("# before")
    script = folder / "ffmpeg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import re, shutil, subprocess, sys\n"
        "from pathlib import Path\n"
        "args = sys.argv[1:]\n"
        + ENCODES_MASTER
        + (after + "\n" if before else "")
        + f"rc = subprocess.call([{real!r}, *args], close_fds=False)\n"
        + ("" if before else after + "\n")
        + "sys.exit(rc)\n"
    )
    script.chmod(0o755)
    (folder / "ffprobe").symlink_to(find_tool("ffprobe"))
    monkeypatch.setenv("MEDIAFEED_FFMPEG_DIR", str(folder))


TRUNCATE_TEE_OUTPUT = """
if encodes_master:
    spec = args[-1]
    target = Path(re.match(r"\\[[^\\]]*\\](.*?)\\|\\[", spec).group(1).replace("\\\\", ""))
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # the file output lost half its bytes; ffmpeg exited 0
"""


def lie_about_duration(mp3: bytes, seconds: float = 21702) -> bytes:
    """The MP3 with its Xing/Info frame count claiming `seconds` (the audio itself is unchanged)."""
    data = bytearray(mp3)
    start = 0
    if data[:3] == b"ID3":
        start = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    at = max(data.find(b"Info", start), data.find(b"Xing", start))
    assert at > 0, "no Xing/Info frame"
    flags = int.from_bytes(data[at + 4 : at + 8], "big")
    assert flags & 1, "no frame count"
    data[at + 8 : at + 12] = int(seconds * 44100 / 1152).to_bytes(4, "big")
    return bytes(data)


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run([find_tool("ffprobe"), "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return float(json.loads(out)["format"]["duration"])


def podcast_feed(project: Path) -> str:
    return (project / "public" / "feeds" / "podcast.xml").read_text()


# --- tests -----------------------------------------------------------------------------------------------------------


def test_a_delivery_cut_short_while_ffmpeg_exits_0_is_never_published(
    sample_project: Path, mediafeed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = use_master(sample_project, sample_project / "episodes" / EPISODE / "master.wav")
    ffmpeg_generate(master, "-f", "lavfi", "-i", "sine=frequency=330:duration=8", "-ac", "1")
    shim_ffmpeg(tmp_path / "shim", monkeypatch, TRUNCATE_TEE_OUTPUT)
    for _ in range(2):  # and nothing of it is remembered as good: the next run fails the same way
        result = mediafeed(sample_project, "publish")
        assert result.exit_code == 1, result.output
        assert f"episodes/{EPISODE}/index.md: media:" in result.stderr
        assert "the delivery file made from it lasts" in result.stderr
        assert TITLE not in podcast_feed(sample_project)
        assert "Your Buprenorphine Questions" in podcast_feed(sample_project)  # the others were published
        assert_published_media_is_true(sample_project)
    monkeypatch.delenv("MEDIAFEED_FFMPEG_DIR")
    result = mediafeed(sample_project, "publish")  # the disk has room again
    assert result.exit_code == 0, result.output
    assert TITLE in podcast_feed(sample_project)
    assert_published_media_is_true(sample_project)


def test_a_damaged_store_file_is_made_again_not_published(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    shutil.rmtree(sample_project / "public")
    files = [p for p in (sample_project / "build" / FOLDER / "files").rglob("*.mp3") if p.parent.name != "tmp"]
    for path in files:  # every stored MP3 loses its second half (a disk that filled up, a hand in build/)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    assert_published_media_is_true(sample_project)


def test_an_mp3_whose_header_claims_hours_is_published_with_its_real_duration(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    delivered = next(path for _, path, _ in published_enclosures(sample_project) if path.name.startswith(EPISODE))
    liar = sample_project / "episodes" / EPISODE / "audio.mp3"
    liar.write_bytes(lie_about_duration(delivered.read_bytes()))  # on target already: it passes through
    assert ffprobe_duration(liar) > 21000
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    durations = {path.name: duration for _, path, duration in published_enclosures(sample_project)}
    mine = [duration for name, duration in durations.items() if name.startswith(EPISODE)]
    assert mine and all(duration < 120 for duration in mine), durations
    assert "21702" not in podcast_feed(sample_project)
    assert_published_media_is_true(sample_project)


def test_a_master_rewritten_during_its_encode_is_processed_again(
    sample_project: Path, mediafeed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = sample_project / "episodes" / EPISODE
    master = use_master(sample_project, folder / "master.wav")
    ffmpeg_generate(master, "-f", "lavfi", "-i", "sine=frequency=330:duration=8", "-ac", "1")
    newer = ffmpeg_generate(tmp_path / "newer.wav", "-f", "lavfi", "-i", "sine=frequency=500:duration=12", "-ac", "1")
    marker = tmp_path / "rewritten"
    shim_ffmpeg(
        tmp_path / "shim",
        monkeypatch,
        f"""# before: the producer's export lands while ffmpeg starts reading
if feeds_master and not Path({str(marker)!r}).exists():
    Path({str(marker)!r}).touch()
    shutil.copyfile({str(newer)!r}, {str(master)!r})
""",
    )
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    assert marker.exists()
    mine = [d for _, path, d in published_enclosures(sample_project) if path.name.startswith(EPISODE)]
    assert mine == [12], mine  # the new master's length, from the second pass
    assert_published_media_is_true(sample_project)


def test_a_master_that_keeps_changing_fails_its_episode(
    sample_project: Path, mediafeed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = sample_project / "episodes" / EPISODE
    master = use_master(sample_project, folder / "master.wav")
    ffmpeg_generate(master, "-f", "lavfi", "-i", "sine=frequency=330:duration=8", "-ac", "1")
    versions = [ffmpeg_generate(tmp_path / f"v{s}.wav", "-f", "lavfi", "-i", f"sine=duration={s}", "-ac", "1") for s in (9, 11)]
    counter = tmp_path / "count"
    shim_ffmpeg(
        tmp_path / "shim",
        monkeypatch,
        f"""# before: a copy that never settles
if feeds_master:
    n = len(Path({str(counter)!r}).read_text()) if Path({str(counter)!r}).exists() else 0
    Path({str(counter)!r}).write_text("x" * (n + 1))
    shutil.copyfile({[str(v) for v in versions]!r}[n % 2], {str(master)!r})
""",
    )
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 1, result.output
    assert "the master changed while it was being processed, twice" in result.stderr
    assert TITLE not in podcast_feed(sample_project)
    assert_published_media_is_true(sample_project)


@pytest.mark.parametrize(
    ("lavfi", "expected"),
    [
        ("sine=frequency=440:duration=0.2", "only 0.20 s of media decodes from it"),
        ("anullsrc=r=44100:cl=mono,atrim=duration=30", "the audio is silent"),
    ],
)
def test_too_short_and_silent_media_fail_their_episode(sample_project: Path, mediafeed, lavfi: str, expected: str) -> None:
    master = use_master(sample_project, sample_project / "episodes" / EPISODE / "master.wav")
    ffmpeg_generate(master, "-f", "lavfi", "-i", lavfi, "-ac", "1")
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 1, result.output
    assert f"episodes/{EPISODE}/index.md: media:" in result.stderr and expected in result.stderr, result.stderr
    assert TITLE not in podcast_feed(sample_project)
    assert_published_media_is_true(sample_project)


def test_quiet_but_not_silent_media_is_normalized_and_published(sample_project: Path, mediafeed) -> None:
    master = use_master(sample_project, sample_project / "episodes" / EPISODE / "master.wav")
    quiet = "sine=frequency=440:duration=5,volume=-23dB"  # about -45 LUFS: quiet, not silent
    ffmpeg_generate(master, "-f", "lavfi", "-i", quiet, "-ac", "1")
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    assert TITLE in podcast_feed(sample_project)


def test_a_truncated_png_is_an_artwork_problem(sample_project: Path, mediafeed) -> None:
    artwork = sample_project / "artwork" / "podcast.png"
    artwork.write_bytes(artwork.read_bytes()[: artwork.stat().st_size * 2 // 3])
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 3, result.output
    assert "feeds/podcast.yaml: image: podcast.png: the image does not decode: truncated or corrupt" in result.output
    mediafeed(sample_project, "artwork", "--fix")  # a truncated image cannot be fixed into a valid one
    assert mediafeed(sample_project, "check").exit_code == 3
    assert not list((sample_project / "build" / "artwork").glob("*.png"))


def test_chapter_frames_are_in_time_order(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    delivered = next(p for _, p, _ in published_enclosures(sample_project) if p.name.startswith("adhd-in-teens"))
    out = subprocess.run([find_tool("ffprobe"), "-v", "error", "-show_chapters", "-of", "json", str(delivered)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    chapters = json.loads(out)["chapters"]
    starts = [float(c["start_time"]) for c in chapters]
    assert len(starts) == 3 and starts == sorted(starts), chapters
    assert chapters[0]["tags"]["title"] == "Introduction"
