"""Probe and prepare real media generated with ffmpeg."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediafeed import ffmpeg
from mediafeed.digest import sha256_file
from mediafeed.errors import MediaError
from mediafeed.media import prepare_episode
from mediafeed.models import Episode


def episode_for(media: Path, slug: str = "test-episode") -> Episode:
    return Episode(
        slug=slug, file=f"episodes/{slug}/index.md", title="Test", guid="00000000-0000-4000-8000-000000000000",
        kind="podcast", topics=(), published=datetime(2026, 1, 1, tzinfo=UTC), media=str(media),
        description_html="<p>x</p>", content_html="<p>x</p>",
    )  # fmt: skip


def test_probe_reads_duration_channels_and_mime(tmp_path: Path, make_tone, make_video) -> None:
    mono = ffmpeg.probe(make_tone(tmp_path / "mono.wav", seconds=2.5, channels=1))
    assert (mono.channels, mono.mime_type, mono.has_video) == (1, "audio/wav", False)
    assert mono.duration == pytest.approx(2.5, abs=0.05)
    stereo = ffmpeg.probe(make_tone(tmp_path / "stereo.flac", seconds=1, channels=2))
    assert (stereo.channels, stereo.mime_type) == (2, "audio/flac")
    video = ffmpeg.probe(make_video(tmp_path / "clip.mp4", seconds=2))
    assert (video.video_codec, video.width, video.height, video.mime_type) == ("h264", 160, 90, "video/mp4")
    assert video.size == (tmp_path / "clip.mp4").stat().st_size


def test_flac_master_is_encoded_to_mp3_once(tmp_path: Path, make_tone, monkeypatch) -> None:
    master = make_tone(tmp_path / "master.flac", seconds=2, channels=2)
    digest = sha256_file(master)
    prepared = prepare_episode(episode_for(master), tmp_path / "build")
    assert prepared.main.content_type == "audio/mpeg" and prepared.main.path.parent == tmp_path / "build"
    assert prepared.main_info.channels == 2 and prepared.main_info.sample_rate == 44100
    assert prepared.main.key.startswith("media/test-episode-") and prepared.main.key.endswith(".mp3")
    assert prepared.main.size == prepared.main.path.stat().st_size
    assert sha256_file(master) == digest  # the source is only read

    calls: list[list[str]] = []
    real_run = ffmpeg.run

    def counting_run(tool: str, args: list[str], *, subject: Path):  # a spy: the real ffmpeg still runs
        calls.append([tool, *args])
        return real_run(tool, args, subject=subject)

    monkeypatch.setattr(ffmpeg, "run", counting_run)
    again = prepare_episode(episode_for(master), tmp_path / "build")
    assert again.main == prepared.main
    assert not [c for c in calls if c[0] == "ffmpeg"], "an unchanged source is not encoded again"


def test_mp3_master_passes_through_untouched(tmp_path: Path, make_tone) -> None:
    master = make_tone(tmp_path / "master.mp3", seconds=1)
    prepared = prepare_episode(episode_for(master), tmp_path / "build")
    assert prepared.main.path == master and prepared.main.sha256 == sha256_file(master)
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_video_gets_mp4_and_an_audio_rendition(tmp_path: Path, make_video: Callable[..., Path], codec: str) -> None:
    master = make_video(tmp_path / f"talk-{codec}.mp4" if codec == "libx264" else tmp_path / "talk.mov", codec=codec)
    prepared = prepare_episode(episode_for(master), tmp_path / "build")
    assert prepared.main_info.video_codec == "h264" and prepared.main.content_type == "video/mp4"
    assert (prepared.main.path == master) == (codec == "libx264")  # H.264 + AAC in MP4 is deliverable as is
    assert prepared.audio is not None and prepared.audio_info is not None
    assert prepared.audio.content_type == "audio/mpeg" and not prepared.audio_info.has_video
    assert prepared.audio_info.duration == pytest.approx(prepared.main_info.duration, abs=0.2)
    assert prepared.enclosure_for("audio")[0] == prepared.audio
    assert prepared.enclosure_for("video")[0] == prepared.main


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.mp3", lambda p: p.write_bytes(b""), "empty file"),
        ("notes.mp3", lambda p: p.write_text("not audio at all\n" * 100), "ffprobe failed"),
        ("silent.mp4", None, "no audio stream"),
    ],
)
def test_bad_media_raises_media_error_naming_the_file(tmp_path: Path, name: str, make, message: str) -> None:
    path = tmp_path / name
    if make is None:
        from tests.conftest import ffmpeg_generate

        ffmpeg_generate(path, "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5:duration=1", "-pix_fmt", "yuv420p")
    else:
        make(path)
    with pytest.raises(MediaError) as caught:
        prepare_episode(episode_for(path), tmp_path / "build")
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
