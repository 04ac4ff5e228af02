"""Probe, normalize, encode and tag real media generated with ffmpeg; judge outputs with ffmpeg's own ebur128."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from mediafeed.cache.identity import ContentIds
from mediafeed.cache.store import FOLDER, Store
from mediafeed.config import AudioProfile
from mediafeed.digest import sha256_file
from mediafeed.errors import MediaError
from mediafeed.media import ffmpeg
from mediafeed.media.encode import Bumper, Profile
from mediafeed.media.prepare import TagContext, prepare_episode
from mediafeed.media.probe import Facts
from mediafeed.models import Article, Chapter, Episode, Person
from tests.conftest import ffmpeg_generate

PROFILE = AudioProfile()  # −16 LUFS stereo, −19 LUFS mono, −1 dBTP
ARTWORK = Path(__file__).resolve().parents[2] / "artwork" / "podcast.png"


def episode_for(media: Path, slug: str = "test-episode", chapters: tuple[Chapter, ...] = ()) -> Episode:
    return Episode(
        slug=slug, file=f"episodes/{slug}/index.md", title="Lithium & the Kidney", guid="6f1c2c1e-8a0b-4f55-9d55-0f1d2a3b4c5d",
        kind="podcast", topics=(), published=datetime(2026, 6, 16, 13, tzinfo=UTC), media=str(media),
        description_html="<p>Notes <a href='https://www.example.org/a'>here</a>.</p>", content_html="<p>x</p>",
        persons=(Person("Dr. Maya Okafor", "host"), Person("Guest", "guest")),
        articles=(Article("Lithium monitoring", "https://www.example.org/articles/lithium"),),
        chapters=chapters, keywords=("lithium", "kidney"), summary="Notes here.",
    )  # fmt: skip


CONTEXT = TagContext(album="Northfield Rounds", feed_url="https://media.example.org/feeds/podcast.xml", artwork=ARTWORK)


def facts_in(build: Path) -> Facts:
    """What prepare_episode works with: the store in `build` (its project the folder above) and content ids over it."""
    store = Store(build, root=build.parent)
    return Facts(store, ContentIds(build.parent, store))


def stored(build: Path, suffix: str) -> set[Path]:
    """The content-addressed files of the store ending in `suffix` (encoded and tagged media alike)."""
    return {p for p in (build / FOLDER / "files").rglob(f"*{suffix}") if p.parent.name != "tmp"}


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's audio, as ffmpeg's ebur128 filter measures it."""
    meter = "ebur128=peak=true:framelog=verbose"
    out = subprocess.run(
        [ffmpeg.find_tool("ffmpeg"), "-nostats", "-i", str(path), "-map", "0:a:0", "-af", meter, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr.rsplit("Summary:", 1)[1]  # fmt: skip
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", out).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", out).group(1))  # type: ignore[union-attr]
    return integrated, peak


def speechlike(path: Path, seconds: float, level: float, channels: int) -> Path:
    """Pink noise with syllable-rate tremolo and pauses, scaled to about `level` (linear amplitude)."""
    return ffmpeg_generate(
        path, "-f", "lavfi", "-i",
        f"anoisesrc=color=pink:seed=7:amplitude={level}:duration={seconds},tremolo=f=4:d=0.9,"
        f"volume='if(lt(mod(t,3),2.4),1,0.05)':eval=frame",
        "-ac", str(channels), "-ar", "48000",
    )  # fmt: skip


def spiky(path: Path, seconds: float) -> Path:
    """Quiet noise with loud clicks: boosting it to target pushes peaks far over the ceiling (needs the limiter)."""
    return ffmpeg_generate(
        path, "-f", "lavfi", "-i", f"anoisesrc=color=pink:seed=3:amplitude=0.01:duration={seconds}",
        "-f", "lavfi", "-i", f"aevalsrc='0.9*lt(mod(t\\,0.5)\\,0.003)*sin(2*PI*2000*t)':s=48000:d={seconds}",
        "-filter_complex", "[0:a][1:a]amix=inputs=2:normalize=0", "-ac", "2", "-ar", "48000",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "make", "channels", "target"),
    [
        ("quiet-mono.wav", lambda p: speechlike(p, 8, 0.02, 1), 1, -19.0),
        ("quiet-stereo.flac", lambda p: speechlike(p, 8, 0.03, 2), 2, -16.0),
        (
            "hot-stereo.wav",
            lambda p: ffmpeg_generate(
                p, "-f", "lavfi", "-i", "anoisesrc=color=pink:seed=5:amplitude=0.95:duration=8", "-ac", "2"
            ),
            2,
            -16.0,
        ),
        ("spiky-stereo.wav", lambda p: spiky(p, 8), 2, -16.0),
        (
            "tone-mono.m4a",
            lambda p: ffmpeg_generate(
                p, "-f", "lavfi", "-i", "sine=frequency=330:duration=6", "-af", "volume=-25dB", "-c:a", "aac"
            ),
            1,
            -19.0,
        ),
    ],
)
def test_audio_reaches_its_loudness_target(
    tmp_path: Path, name: str, make: Callable[[Path], Path], channels: int, target: float
) -> None:
    master = make(tmp_path / name)
    digest = sha256_file(master)
    prepared = prepare_episode(episode_for(master), facts_in(tmp_path / "build"), Profile(PROFILE), CONTEXT)
    output = prepared.main.path
    assert prepared.main.content_type == "audio/mpeg" and output.suffix == ".mp3"
    assert prepared.main_info.channels == channels and prepared.main_info.sample_rate == 44100
    integrated, peak = ebur128(output)
    assert integrated == pytest.approx(target, abs=0.5), prepared.loudness
    assert peak <= -1.0, prepared.loudness
    assert sha256_file(master) == digest  # the source is only read
    assert prepared.main.size == output.stat().st_size  # the enclosure length is the tagged file's size


def test_mp3_already_on_target_is_not_re_encoded(tmp_path: Path) -> None:
    loud = speechlike(tmp_path / "raw.wav", 8, 0.02, 1)
    first = prepare_episode(episode_for(loud), facts_in(tmp_path / "b1"), Profile(PROFILE), CONTEXT)
    on_target = tmp_path / "on-target.mp3"
    on_target.write_bytes(first.main.path.read_bytes())
    again = prepare_episode(episode_for(on_target), facts_in(tmp_path / "b2"), Profile(PROFILE), CONTEXT)
    assert again.loudness["main"]["passthrough"] is True

    def audio_md5(path: Path) -> str:
        command = [ffmpeg.find_tool("ffmpeg"), "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert audio_md5(again.main.path) == audio_md5(on_target)  # same MP3 frames; only the tags are ours


def test_tags_round_trip_and_ffprobe_sees_them(tmp_path: Path) -> None:
    master = speechlike(tmp_path / "master.wav", 12, 0.03, 2)
    chapters = (
        Chapter(0, "Introduction"),
        Chapter(4, "Levels", "https://www.example.org/articles/lithium#levels"),
        Chapter(8, "Kidneys"),
    )
    prepared = prepare_episode(episode_for(master, chapters=chapters), facts_in(tmp_path / "build"), Profile(PROFILE), CONTEXT)
    id3 = ID3(prepared.main.path)  # a fresh mutagen object
    assert id3.version[:2] == (2, 4)
    assert str(id3["TIT2"]) == "Lithium & the Kidney" and str(id3["TPE1"]) == "Dr. Maya Okafor"
    assert str(id3["TALB"]) == "Northfield Rounds" and str(id3["TCON"]) == "Podcast"
    assert str(id3["TDRC"]).startswith("2026-06-16")
    assert str(id3["TGID"]) == "6f1c2c1e-8a0b-4f55-9d55-0f1d2a3b4c5d"
    assert id3["WFED"].url == CONTEXT.feed_url
    assert id3.getall("WXXX")[0].url == "https://www.example.org/articles/lithium"
    assert id3.getall("PCST") and id3.getall("APIC")[0].data == ARTWORK.read_bytes()
    assert "Notes here." in str(id3.getall("COMM")[0])
    chaps = sorted(id3.getall("CHAP"), key=lambda c: c.start_time)
    assert [(c.start_time, str(c.sub_frames["TIT2"])) for c in chaps] == [
        (0, "Introduction"),
        (4000, "Levels"),
        (8000, "Kidneys"),
    ]
    assert chaps[-1].end_time == pytest.approx(prepared.main_info.duration * 1000, abs=60)
    assert chaps[1].sub_frames.getall("WXXX")[0].url.endswith("#levels")
    assert id3.getall("CTOC")[0].child_element_ids == [c.element_id for c in chaps]

    probed = subprocess.run(
        [ffmpeg.find_tool("ffprobe"), "-v", "error", "-show_chapters", "-show_format", "-of", "json", str(prepared.main.path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    seen = json.loads(probed)
    assert seen["format"]["tags"]["title"] == "Lithium & the Kidney" and seen["format"]["tags"]["album"] == "Northfield Rounds"
    assert sorted(c["tags"]["title"] for c in seen["chapters"]) == ["Introduction", "Kidneys", "Levels"]


def test_video_keeps_its_picture_and_gets_normalized_audio_and_an_audio_rendition(tmp_path: Path) -> None:
    master = ffmpeg_generate(
        tmp_path / "webinar.mov",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10:duration=6",
        "-f", "lavfi", "-i", "anoisesrc=color=pink:seed=2:amplitude=0.02:duration=6,tremolo=f=4:d=0.9",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ac", "1", "-shortest",
    )  # fmt: skip
    source = ffmpeg.probe(master)
    chapters = (Chapter(0, "Welcome"), Chapter(3, "Cases"))
    prepared = prepare_episode(episode_for(master, chapters=chapters), facts_in(tmp_path / "build"), Profile(PROFILE), CONTEXT)
    video = prepared.main_info
    assert (video.video_codec, video.width, video.height) == ("h264", 320, 180)
    assert video.duration == pytest.approx(source.duration, abs=0.1)
    assert prepared.main.content_type == "video/mp4"
    for path in (prepared.main.path, prepared.audio.path):  # type: ignore[union-attr]
        integrated, peak = ebur128(path)
        assert integrated == pytest.approx(-19.0, abs=0.5) and peak <= -1.0, path.name
    assert prepared.audio_info is not None and not prepared.audio_info.has_video and prepared.audio_info.channels == 1
    assert prepared.enclosure_for("audio")[0] == prepared.audio and prepared.enclosure_for("video")[0] == prepared.main
    mp4 = MP4(prepared.main.path)
    assert mp4.tags is not None and mp4.tags["\xa9nam"] == ["Lithium & the Kidney"] and mp4.tags["pcst"] is True
    assert mp4.tags["egid"] == ["6f1c2c1e-8a0b-4f55-9d55-0f1d2a3b4c5d"] and mp4.tags["covr"]
    chapters_seen = subprocess.run(
        [ffmpeg.find_tool("ffprobe"), "-v", "error", "-show_chapters", "-of", "csv", str(prepared.main.path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Welcome" in chapters_seen and "Cases" in chapters_seen


def test_second_prepare_runs_no_ffmpeg_at_all(tmp_path: Path, monkeypatch) -> None:
    master = speechlike(tmp_path / "master.wav", 5, 0.02, 2)
    build = tmp_path / "build"
    facts = facts_in(build)
    first = prepare_episode(episode_for(master), facts, Profile(PROFILE), CONTEXT)
    facts.ids.save()  # as a run does when it ends: the hashes it learnt (the tools' too) are remembered

    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def spy(args, *rest, **kwargs):  # the real process still runs; we only count
        started.append(list(args))
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    again = prepare_episode(episode_for(master), facts_in(build), Profile(PROFILE), CONTEXT)  # a new run
    assert again.main == first.main
    assert started == [], "an unchanged source with an unchanged profile is neither probed nor encoded"


def test_changing_only_the_tags_does_not_re_encode(tmp_path: Path, monkeypatch) -> None:
    master = speechlike(tmp_path / "master.wav", 5, 0.02, 2)
    build = tmp_path / "build"
    first = prepare_episode(episode_for(master), facts_in(build), Profile(PROFILE), CONTEXT)
    files = stored(build, ".mp3")  # the encoded file and its tagged copy
    assert len(files) == 2 and first.main.path in files
    renamed = TagContext("Another Show", CONTEXT.feed_url, ARTWORK)
    calls: list[str] = []
    monkeypatch.setattr(ffmpeg, "encode_and_measure", lambda *a, **k: calls.append("encode"))
    second = prepare_episode(episode_for(master), facts_in(build), Profile(PROFILE), renamed)
    assert calls == [] and stored(build, ".mp3") == files | {second.main.path}  # one new file: the tagged copy
    assert second.main.sha256 != first.main.sha256 and str(ID3(second.main.path)["TALB"]) == "Another Show"
    assert str(ID3(first.main.path)["TALB"]) == "Northfield Rounds"  # store files are never rewritten


def test_bumpers_are_levelled_and_joined_and_chapters_move(tmp_path: Path) -> None:
    master = speechlike(tmp_path / "master.wav", 8, 0.02, 1)
    intro = ffmpeg_generate(tmp_path / "intro.wav", "-f", "lavfi", "-i", "sine=frequency=600:duration=2", "-af", "volume=-6dB")
    outro = speechlike(tmp_path / "outro.flac", 2, 0.2, 2)
    facts = facts_in(tmp_path / "build")
    profile = Profile(PROFILE, Bumper(intro, facts.id(intro)), Bumper(outro, facts.id(outro)))
    chapters = (Chapter(0, "Start"), Chapter(4, "Middle"))
    prepared = prepare_episode(episode_for(master, chapters=chapters), facts, profile, CONTEXT)
    assert prepared.main_info.duration == pytest.approx(12.0, abs=0.15)
    integrated, peak = ebur128(prepared.main.path)
    assert integrated == pytest.approx(-19.0, abs=0.5) and peak <= -1.0
    chaps = sorted(ID3(prepared.main.path).getall("CHAP"), key=lambda c: c.start_time)
    # the intro gets a chapter of its own, so the list still starts at 0; the programme's chapters move by 2 s
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["Intro", "Start", "Middle"]
    assert [c.start_time for c in chaps] == [0, pytest.approx(2000, abs=30), pytest.approx(6000, abs=30)]
    plain = prepare_episode(episode_for(master), facts, Profile(PROFILE), CONTEXT)
    assert plain.main_info.duration == pytest.approx(8.0, abs=0.15)  # other feeds' deliveries keep no bumper


def test_probe_reads_duration_channels_and_mime(tmp_path: Path, make_tone, make_video) -> None:
    mono = ffmpeg.probe(make_tone(tmp_path / "mono.wav", seconds=2.5, channels=1))
    assert (mono.channels, mono.mime_type, mono.has_video) == (1, "audio/wav", False)
    assert mono.duration == pytest.approx(2.5, abs=0.05)
    video = ffmpeg.probe(make_video(tmp_path / "clip.mp4", seconds=2))
    assert (video.video_codec, video.width, video.height, video.mime_type) == ("h264", 160, 90, "video/mp4")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.mp3", lambda p: p.write_bytes(b""), "empty file"),
        ("notes.mp3", lambda p: p.write_text("not audio at all\n" * 100), "ffprobe failed"),
        (
            "silent.mp4",
            lambda p: ffmpeg_generate(p, "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5:duration=1", "-pix_fmt", "yuv420p"),
            "no audio stream",
        ),
        ("cut.mp3", None, "failed: Failed to read frame size"),
    ],
)
def test_bad_media_raises_media_error_naming_the_file(tmp_path: Path, name: str, make, message: str) -> None:
    path = tmp_path / name
    if make is None:  # a truncated MP3: the header survives, the audio does not
        whole = speechlike(tmp_path / "whole.wav", 4, 0.1, 1)
        ffmpeg_generate(tmp_path / "whole.mp3", "-i", str(whole))
        path.write_bytes((tmp_path / "whole.mp3").read_bytes()[:200])
    else:
        make(path)
    with pytest.raises(MediaError) as caught:
        prepare_episode(episode_for(path), facts_in(tmp_path / "build"))
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
