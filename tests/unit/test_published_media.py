"""Media as published (`process: false`): which files podcast apps play as they are, which feeds may carry them,
and how their measured loudness is judged and reported. Pure: probe facts and measurements are given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mediafeed.config import AudioProfile
from mediafeed.content_types import content_type_for
from mediafeed.media import published
from mediafeed.media.prepare import loudness_report
from mediafeed.mediainfo import MediaInfo
from mediafeed.models import Asset, Episode, PreparedEpisode

MP3 = MediaInfo(Path("show.mp3"), 1000, 60.0, "audio/mpeg", "mp3", "mp3", 2, 44100, 128000)
M4A = MediaInfo(Path("show.m4a"), 1000, 60.0, "audio/x-m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac", 2, 44100, 128000)
AAC = MediaInfo(Path("show.aac"), 1000, 60.0, "audio/aac", "aac", "aac", 1, 44100, 64000)
MP4 = replace(M4A, path=Path("show.mp4"), mime_type="video/mp4", video_codec="h264", width=1280, height=720)


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        pytest.param(MP3, None, id="mp3"),
        pytest.param(M4A, None, id="m4a-aac"),
        pytest.param(AAC, "a .aac file", id="bare-adts-aac"),  # not a type Apple lists: remux it into .m4a
        pytest.param(MP4, None, id="mp4-h264-aac"),
        pytest.param(replace(MP4, path=Path("show.m4v")), None, id="m4v-h264-aac"),
        pytest.param(replace(M4A, path=Path("show.mp4")), None, id="audio-only-mp4"),
        pytest.param(replace(MP3, path=Path("show.wav"), format_name="wav", audio_codec="pcm_s16le"), "a .wav file", id="wav"),
        pytest.param(replace(MP3, path=Path("show.flac"), format_name="flac", audio_codec="flac"), "a .flac file", id="flac"),
        pytest.param(replace(MP3, path=Path("show"), format_name="mp3"), "without an extension", id="no-extension"),
        pytest.param(replace(MP3, format_name="wav", audio_codec="pcm_s16le"), "it is wav inside", id="wav-named-mp3"),
        pytest.param(replace(M4A, audio_codec="alac"), "its audio is alac", id="alac-in-m4a"),
        pytest.param(replace(MP4, video_codec="hevc"), "its video is hevc", id="hevc-mp4"),
        pytest.param(replace(M4A, video_codec="h264"), "in a .m4a file", id="video-in-m4a"),
    ],
)
def test_what_podcast_apps_play_as_it_is(info: MediaInfo, problem: str | None) -> None:
    found = published.unplayable(info)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and info.path.name in found
        assert published.refusal(info, []) == (found, published.PLAYABLE_HINT)
        assert "set process: true" in published.PLAYABLE_HINT


@pytest.mark.parametrize(
    ("info", "feeds", "named"),
    [
        pytest.param(MP3, [("feeds/podcast.yaml", "audio")], [], id="mp3-in-an-audio-feed"),
        pytest.param(MP4, [("feeds/videos.yaml", "video")], [], id="mp4-in-a-video-feed"),
        pytest.param(
            MP3,
            [("feeds/podcast.yaml", "audio"), ("feeds/videos.yaml", "video")],
            ["feeds/videos.yaml"],
            id="mp3-also-in-a-video-feed",
        ),
        pytest.param(
            MP4,
            [("feeds/a.yaml", "audio"), ("feeds/b.yaml", "audio")],
            ["feeds/a.yaml", "feeds/b.yaml"],
            id="mp4-in-two-audio-feeds",
        ),
        pytest.param(
            replace(M4A, path=Path("show.mp4")),
            [("feeds/videos.yaml", "video")],
            ["feeds/videos.yaml"],
            id="audio-only-mp4-in-a-video-feed",
        ),
        pytest.param(MP3, [], [], id="in-no-feed"),
    ],
)
def test_feeds_of_the_other_medium(info: MediaInfo, feeds: list[tuple[str, str]], named: list[str]) -> None:
    found = published.medium_mismatch(info, feeds)
    if not named:
        assert found is None
        return
    assert found is not None and info.path.name in found and all(file in found for file in named)
    assert published.refusal(info, feeds) == (found, published.MEDIUM_HINT)
    assert "set process: true" in published.MEDIUM_HINT and "select" in published.MEDIUM_HINT


@pytest.mark.parametrize(
    ("info", "suffix", "content_type"),
    [
        pytest.param(MP3, ".mp3", "audio/mpeg", id="mp3"),
        pytest.param(M4A, ".m4a", "audio/x-m4a", id="m4a"),
        pytest.param(MP4, ".mp4", "video/mp4", id="mp4"),
        pytest.param(replace(M4A, path=Path("show.mp4")), ".m4a", "audio/x-m4a", id="audio-only-mp4-goes-out-as-m4a"),
    ],
)
def test_published_key_and_type_come_from_the_file_and_the_table(info: MediaInfo, suffix: str, content_type: str) -> None:
    assert published.delivered_suffix(info) == suffix
    assert content_type_for(f"media/x-12345678{suffix}") == content_type  # the one table, as prepare uses it


@pytest.mark.parametrize(
    ("lufs", "peak", "channels", "target", "on_target"),
    [
        pytest.param(-16.0, -1.5, 2, -16.0, True, id="stereo-on-target"),
        pytest.param(-16.4, -1.0, 2, -16.0, True, id="stereo-within-half-a-lu-at-the-ceiling"),
        pytest.param(-23.0, -3.0, 2, -16.0, False, id="stereo-too-quiet"),
        pytest.param(-16.0, -0.2, 2, -16.0, False, id="stereo-peak-over-the-ceiling"),
        pytest.param(-19.0, -2.0, 1, -19.0, True, id="mono-on-its-own-target"),
        pytest.param(-16.0, -2.0, 1, -19.0, False, id="mono-at-the-stereo-target-is-too-loud"),
    ],
)
def test_loudness_judged_against_the_target(lufs: float, peak: float, channels: int, target: float, on_target: bool) -> None:
    measured = published.Measurement(lufs, peak, 4.0, channels, 60.0)
    described = measured.describe(AudioProfile())
    assert described["target_lufs"] == target and described["ceiling_dbtp"] == -1.0
    assert described["on_target"] is on_target and described["as_published"] is True
    line = published.summary(described)
    assert f"{lufs:.1f} LUFS" in line and ("on target" if on_target else "off target") in line


def _delivery(slug: str, loudness: dict[str, Any]) -> PreparedEpisode:
    episode = Episode(slug, f"episodes/{slug}/index.md", slug, "guid-" + slug, "podcast", (),
                      datetime(2026, 1, 1, tzinfo=UTC), f"/x/{slug}.mp3", "", "")  # fmt: skip
    asset = Asset(f"media/{slug}-12345678.mp3", Path(f"/x/{slug}.mp3"), 1000, "12345678" * 8, "audio/mpeg")
    return PreparedEpisode(episode, asset, replace(MP3, path=asset.path), loudness={"main": loudness})


def test_the_report_lists_only_media_published_as_is_once_per_target() -> None:
    quiet = published.Measurement(-23.0, -3.0, 4.0, 2, 60.0)
    deliveries = [
        _delivery("b-imported", quiet.describe(AudioProfile())),
        _delivery("b-imported", quiet.describe(AudioProfile())),  # a second profile with the same targets
        _delivery("b-imported", quiet.describe(AudioProfile(loudness_stereo=-23.0))),  # a feed aiming at -23 LUFS
        _delivery("a-encoded", {"integrated_lufs": -16.0, "true_peak_dbtp": -1.2, "passes": 1}),
    ]
    report = loudness_report(deliveries)
    assert [(e["slug"], e["target_lufs"], e["on_target"]) for e in report] == [
        ("b-imported", -23.0, True),
        ("b-imported", -16.0, False),
    ]
    assert report[0]["key"] == "media/b-imported-12345678.mp3" and report[0]["file"] == "episodes/b-imported/index.md"


def test_the_store_never_judges_or_removes_a_source(tmp_path: Path) -> None:
    """A delivery published as it is points at the master: checking it against another sha256 (a master rewritten
    since) must never delete it, as a damaged store file would be."""
    from mediafeed.cache.store import Store

    master = tmp_path / "episodes" / "x" / "audio.mp3"
    master.parent.mkdir(parents=True)
    master.write_bytes(b"the producer's only copy")
    store = Store(tmp_path / "build", root=tmp_path)
    try:
        assert store.trusted(master, "0" * 64) is False
    finally:
        store.close()
    assert master.read_bytes() == b"the producer's only copy"
