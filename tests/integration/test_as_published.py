"""Media as published (`process: false`): the master goes out byte for byte, measured but never re-encoded.

Published through the real CLI into a copy of the sample catalog: the delivered file is the master (sha256), the
feed's enclosure length is its size, a second publish is a no-op, and the measured loudness (compared with
ffmpeg's own ebur128 measure, never pasted in) is reported, off target when it is.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from mediafeed.media import published
from mediafeed.media.ffmpeg import find_tool
from tests.conftest import LOCAL_BASE, Invoke, feed_problems, ffmpeg_generate

SLUG = "imported-quiet-episode"
GUID = "5d7d2f7e-2a53-4a57-9f0e-5b8f3b0f6a11"


def episode_text(media: str, process: str = "false", kind: str = "podcast") -> str:
    return f"""---
title: An Imported Episode
guid: {GUID}
kind: {kind}
topics: [general-psychiatry]
published: 2026-10-01T09:00:00-04:00
media: {media}
process: {process}
---
Imported from another host; its MP3 is published as it is.
"""


def add_episode(project: Path, media: Path, **front: str) -> Path:
    folder = project / "episodes" / SLUG
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.md").write_text(episode_text(media.name, **front), encoding="utf-8")
    return folder


def quiet_mp3(path: Path, seconds: float = 8.0) -> Path:
    """A finished MP3 at about −24 LUFS (an imported show mastered quietly): off the −16 LUFS target."""
    return ffmpeg_generate(path, "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-af", "volume=-2dB",
                           "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "96k")  # fmt: skip


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as ffmpeg's ebur128 filter measures the whole file in one run."""
    out = subprocess.run(
        [find_tool("ffmpeg"), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true",
         "-f", "null", "-"], capture_output=True, text=True, check=True,
    ).stderr.rsplit("Summary:", 1)[1]  # fmt: skip
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", out).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", out).group(1))  # type: ignore[union-attr]
    return integrated, peak


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_published_byte_for_byte_measured_and_a_noop_again(sample_project: Path, mediafeed: Invoke) -> None:
    master = quiet_mp3(sample_project / "episodes" / SLUG / "imported.mp3")
    add_episode(sample_project, master)
    before = sha256(master)

    first = mediafeed(sample_project, "publish")
    assert first.exit_code == 0, first.output
    public = sample_project / "public"
    key = f"media/{SLUG}-{before[:8]}.mp3"
    assert sha256(public / key) == before  # byte for byte: no gain, encode, bumper or tag
    assert sha256(master) == before  # the source is only read

    feed = etree.parse(str(public / "feeds" / "podcast.xml"))
    enclosure = feed.xpath(f"//item[guid='{GUID}']/enclosure")[0]
    assert enclosure.get("url") == LOCAL_BASE + key
    assert int(enclosure.get("length")) == master.stat().st_size
    assert enclosure.get("type") == "audio/mpeg"
    duration = feed.xpath(f"//item[guid='{GUID}']/*[local-name()='duration']/text()")[0]
    assert duration in ("8", "00:08", "0:08", "00:00:08")
    assert feed_problems(public) == []
    checked = mediafeed(sample_project, "check")  # the feeds it renders pass the lint (an MP3 Apple plays)
    assert checked.exit_code == 0, checked.output

    # The report: ffmpeg's own measure of the file, and off the −16 LUFS / −1 dBTP target.
    integrated, peak = ebur128(master)
    assert "Loudness of the media published as is" in first.output
    line = next(line for line in first.output.splitlines() if line.strip().startswith(SLUG))
    assert f"{integrated:.1f} LUFS" in line and "off target" in line, line

    second = mediafeed(sample_project, "publish", "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert report["uploads"] == [] and not report["manifest_changed"], report
    assert report["receipt"] is True  # nothing changed: the receipt holds
    [entry] = report["loudness"]
    assert entry["slug"] == SLUG and entry["key"] == key and entry["on_target"] is False
    assert entry["integrated_lufs"] == pytest.approx(integrated, abs=0.1)
    assert entry["true_peak_dbtp"] == pytest.approx(peak, abs=0.2)
    assert entry["target_lufs"] == -16.0 and entry["ceiling_dbtp"] == -1.0

    status = mediafeed(sample_project, "status", "--json")
    assert status.exit_code == 0, status.output
    [entry] = json.loads(status.stdout)["loudness"]
    assert entry["slug"] == SLUG and entry["on_target"] is False
    assert entry["integrated_lufs"] == pytest.approx(integrated, abs=0.1)
    text = mediafeed(sample_project, "status")
    assert "1 of 1 off target" in text.output and f"{integrated:.1f} LUFS" in text.output


def test_measure_for_an_importer(tmp_path: Path) -> None:
    """The library function an importer calls after a download: no project, no store."""
    master = quiet_mp3(tmp_path / "download.mp3", seconds=4.0)
    integrated, peak = ebur128(master)
    found = published.measure(master)
    assert found.lufs == pytest.approx(integrated, abs=0.1)
    assert found.true_peak == pytest.approx(peak, abs=0.2)
    assert found.channels == 2
    assert found.seconds == pytest.approx(4.0, abs=0.1)


def test_a_video_feed_and_an_unplayable_master_are_check_errors(sample_project: Path, mediafeed: Invoke) -> None:
    # An MP3 published as is, in the video feed (medication guides take kind: video).
    master = quiet_mp3(sample_project / "episodes" / SLUG / "imported.mp3", seconds=3.0)
    folder = add_episode(sample_project, master, kind="video")
    checked = mediafeed(sample_project, "check", "--no-lint")
    assert checked.exit_code == 1, checked.output
    assert f"episodes/{SLUG}/index.md: process: imported.mp3 is audio only" in checked.output
    assert "feeds/medication-guides.yaml" in checked.output and "set process: true" in checked.output
    assert "Traceback" not in checked.output

    published_ = mediafeed(sample_project, "publish")
    assert published_.exit_code == 1, published_.output  # that episode fails; the rest is published
    assert f"episodes/{SLUG}/index.md: process: imported.mp3 is audio only" in published_.output

    # A WAV (podcast apps would download a huge file many cannot play) in the audio feed.
    wav = ffmpeg_generate(folder / "imported.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=3")
    (folder / "index.md").write_text(episode_text(wav.name), encoding="utf-8")
    checked = mediafeed(sample_project, "check", "--no-lint", "--json")
    assert checked.exit_code == 1, checked.output
    [problem] = json.loads(checked.stdout)["problems"]
    assert problem["file"] == f"episodes/{SLUG}/index.md" and problem["field"] == "process"
    assert "imported.wav" in problem["message"] and "set process: true" in problem["hint"]

    # process: true (the default) encodes it like any master: no problem.
    (folder / "index.md").write_text(episode_text(wav.name, process="true"), encoding="utf-8")
    assert mediafeed(sample_project, "check", "--no-lint").exit_code == 0


def test_a_video_goes_out_as_it_is_in_a_video_feed(
    sample_project: Path, mediafeed: Invoke, make_video: Callable[..., Path]
) -> None:
    master = make_video(sample_project / "episodes" / SLUG / "clip.mp4", seconds=2.0)
    add_episode(sample_project, master, kind="video")  # the medication guides feed (medium: video) takes it
    before = sha256(master)
    result = mediafeed(sample_project, "publish", "--json")
    assert result.exit_code == 0, result.output
    key = f"media/{SLUG}-{before[:8]}.mp4"
    assert sha256(sample_project / "public" / key) == before
    feed = etree.parse(str(sample_project / "public" / "feeds" / "medication-guides.xml"))
    [enclosure] = feed.xpath(f"//item[guid='{GUID}']/enclosure")
    assert enclosure.get("type") == "video/mp4" and int(enclosure.get("length")) == master.stat().st_size
    assert not feed.xpath(f"//item[guid='{GUID}']/*[local-name()='alternateEnclosure']")  # no audio-only rendition made
    [entry] = json.loads(result.stdout)["loudness"]
    assert entry["slug"] == SLUG and entry["key"] == key
