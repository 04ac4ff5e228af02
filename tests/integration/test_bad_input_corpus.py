"""A corpus of bad (and awkward but valid) input through the real CLI.

Every bad case: the right exit code, a message naming the file and the field, no traceback, nothing written to
the target for an invalid catalog, and the sources untouched. Awkward-but-valid cases publish.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mediafeed.digest import sha256_file
from mediafeed.media.ffmpeg import find_tool

EPISODE = "episodes/lithium-levels-in-practice/index.md"
OTHER = "episodes/adhd-in-teens-school-sleep-screens/index.md"
FEED = "feeds/podcast.yaml"
MEDIA = "episodes/lithium-levels-in-practice/audio.mp3"


def edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1))

    return apply


def write_bytes(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda project: (project / rel).write_bytes(data)


def symlink_media(project: Path) -> None:
    outside = project.parent / "outside.mp3"
    shutil.copy(project / MEDIA, outside)
    (project / "episodes/lithium-levels-in-practice/link.mp3").symlink_to(outside)
    edit(EPISODE, "media: audio.mp3", "media: link.mp3")(project)


def duplicate_guid(project: Path) -> None:
    other = next(line for line in (project / OTHER).read_text().splitlines() if line.startswith("guid:"))
    mine = next(line for line in (project / EPISODE).read_text().splitlines() if line.startswith("guid:"))
    edit(EPISODE, mine, other)(project)


def image(rel: str, size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        from PIL import Image

        Image.new(mode, size, "white" if mode != "CMYK" else 0).save(project / rel, fmt)

    return apply


def truncated_mp3(project: Path) -> None:
    path = project / MEDIA
    path.write_bytes(path.read_bytes()[:300])


def video_without_audio(project: Path) -> None:
    subprocess.run([find_tool("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5:duration=1",
                    "-pix_fmt", "yuv420p", "-f", "mp4", str(project / MEDIA)], check=True)  # fmt: skip


def aac_named_mp3(project: Path) -> None:
    subprocess.run([find_tool("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac",
                    "-f", "mp4", str(project / MEDIA)], check=True)  # fmt: skip


def unicode_media_name(project: Path) -> None:
    shutil.move(project / MEDIA, project / "episodes/lithium-levels-in-practice/take 1 – ü.mp3")
    edit(EPISODE, "media: audio.mp3", 'media: "take 1 – ü.mp3"')(project)


BAD: list[tuple[str, Callable[[Path], None], int, str, str]] = [
    # (case, mutation, exit code, file named, field named)
    ("yaml-syntax", edit(EPISODE, "kind: podcast", "kind: [podcast"), 3, EPISODE, "line"),
    ("missing-title", edit(EPISODE, "title: Lithium Levels in Practice\n", ""), 3, EPISODE, "title"),
    ("title-list", edit(EPISODE, "title: Lithium Levels in Practice", "title: [a, b]"), 3, EPISODE, "title"),
    ("bad-date", edit(EPISODE, "published: 2026-06-16T09:00:00-04:00", "published: May 1st"), 3, EPISODE, "published"),
    ("naive-date", edit(EPISODE, "published: 2026-06-16T09:00:00-04:00", "published: 2026-06-16T09:00:00"), 3, EPISODE, "published"),
    ("date-only", edit(EPISODE, "published: 2026-06-16T09:00:00-04:00", "published: 2026-06-16"), 3, EPISODE, "published"),
    ("duplicate-guid", duplicate_guid, 3, EPISODE, "guid"),
    ("guid-empty", edit(EPISODE, "guid: 645bd2b2-427d-408b-8ecb-4672a54a5f1f", "guid: \"\""), 3, EPISODE, "guid"),
    ("unknown-kind", edit(EPISODE, "kind: podcast", "kind: vlog"), 3, EPISODE, "kind"),
    ("unknown-topic", edit(EPISODE, "topics: [general-psychiatry]", "topics: [general-psychiatry, astrology]"), 3, EPISODE, "topics"),
    ("relative-url", edit(EPISODE, 'url: "https://www.example.org/articles/lithium-and-the-kidney"', 'url: "articles/kidney"'), 3, EPISODE, "articles[1].url"),
    ("javascript-url", edit(EPISODE, 'url: "https://www.example.org/articles/lithium-and-the-kidney"', 'url: "javascript:alert(1)"'), 3, EPISODE, "articles[1].url"),
    ("media-missing", edit(EPISODE, "media: audio.mp3", "media: nothing.mp3"), 3, EPISODE, "media"),
    ("media-escape", edit(EPISODE, "media: audio.mp3", "media: ../../../mediafeed.toml"), 3, EPISODE, "media"),
    ("media-absolute", edit(EPISODE, "media: audio.mp3", "media: /etc/passwd"), 3, EPISODE, "media"),
    ("media-symlink-out", symlink_media, 3, EPISODE, "media"),
    ("not-utf8", write_bytes(EPISODE, "---\ntitle: caf\xe9\n---\n".encode("latin-1")), 3, EPISODE, ""),
    ("no-front-matter", write_bytes(EPISODE, b"Just notes.\n"), 3, EPISODE, ""),
    ("huge-front-matter", edit(EPISODE, "keywords: [", "keywords: [" + "word, " * 60000), 3, EPISODE, "front matter"),
    ("season-word", edit(EPISODE, "season: 1", "season: three"), 3, EPISODE, "season"),
    ("explicit-yes", edit(EPISODE, "explicit: false", 'explicit: "yes"'), 3, EPISODE, "explicit"),
    ("chapters-order", edit(EPISODE, '{start: "00:09"', '{start: "00:29"'), 3, EPISODE, "chapters"),
    ("chapter-time", edit(EPISODE, '{start: "00:09"', '{start: "nine"'), 3, EPISODE, "chapters[1].start"),
    ("person-role", edit(EPISODE, "role: guest", "role: sponsor"), 3, EPISODE, "persons[1].role"),
    ("transcript-garbage", write_bytes("episodes/lithium-levels-in-practice/transcript.vtt", b"WEBVTT\n\nno cues here\n"), 3, EPISODE, "transcript"),
    ("transcript-missing", edit(EPISODE, "transcript: transcript.vtt", "transcript: gone.vtt"), 3, EPISODE, "transcript"),
    ("episode-art-not-square", image("episodes/adhd-in-teens-school-sleep-screens/cover.jpg", (1400, 1000), fmt="JPEG"), 3, OTHER, "image"),
    ("episode-art-corrupt", write_bytes("episodes/adhd-in-teens-school-sleep-screens/cover.jpg", b"not an image"), 3, OTHER, "image"),
    ("feed-art-huge", image("artwork/podcast.png", (5000, 5000)), 3, FEED, "image"),
    ("feed-art-small", image("artwork/podcast.png", (800, 800)), 3, FEED, "image"),
    ("feed-art-cmyk", image("artwork/podcast.png", (1400, 1400), "RGBA"), 3, FEED, "image"),
    ("feed-category", edit(FEED, "category: Health & Fitness > Mental Health", "category: Wellness"), 3, FEED, "category"),
    ("feed-owner-email", edit(FEED, "email: podcast@example.org", "email: nobody"), 3, FEED, "owner.email"),
    ("feed-medium", edit(FEED, "medium: audio", "medium: radio"), 3, FEED, "medium"),
    ("feed-kind", edit(FEED, "kinds: [podcast]", "kinds: [podcasts]"), 3, FEED, "select.kinds"),
    ("feed-yaml", edit(FEED, "explicit: false", "explicit: [false"), 3, FEED, "line"),
    ("feed-language", edit(FEED, "language: en-us", "language: English"), 3, FEED, "language"),
    ("feed-prefix", edit(FEED, "explicit: false", "explicit: false\nenclosure_prefix: https://op3.dev/e"), 3, FEED, "enclosure_prefix"),
    ("feed-frequency", edit(FEED, 'rrule: "FREQ=WEEKLY;INTERVAL=2"', 'rrule: "every week"'), 3, FEED, "update_frequency.rrule"),
    ("config-syntax", edit("mediafeed.toml", "[publish]", "[publish"), 3, "mediafeed.toml", "TOML"),
    ("config-public-url", edit("mediafeed.toml", 'public_url = "http://127.0.0.1:8000"', 'public_url = "127.0.0.1"'), 3, "mediafeed.toml", "targets.local.public_url"),
    # media: that episode fails, the others are published (exit 1)
    ("zero-byte", write_bytes(MEDIA, b""), 1, EPISODE, "media"),
    ("truncated-mp3", truncated_mp3, 1, EPISODE, "media"),
    ("text-as-mp3", write_bytes(MEDIA, b"this is not audio\n" * 200), 1, EPISODE, "media"),
    ("no-audio-stream", video_without_audio, 1, EPISODE, "media"),
]  # fmt: skip

GOOD: list[tuple[str, Callable[[Path], None]]] = [
    ("bom", lambda p: (p / EPISODE).write_bytes(b"\xef\xbb\xbf" + (p / EPISODE).read_bytes())),
    ("emoji-rtl-accents", edit(EPISODE, "title: Lithium Levels in Practice", 'title: "Lithium 💊 مستويات & <niveaux> Ça va"')),
    ("control-characters", edit(EPISODE, "title: Lithium Levels in Practice", 'title: "Lithium\\u0007 Levels\\u0000"')),
    ("aac-behind-mp3-extension", aac_named_mp3),
    ("spaces-and-unicode-in-names", unicode_media_name),
]


def source_hashes(project: Path) -> dict[str, str]:
    return {
        p.relative_to(project).as_posix(): sha256_file(p)
        for p in (project / "episodes").rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize(("case", "mutate", "code", "file", "field"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_refused_clearly(
    sample_project: Path, mediafeed, case: str, mutate, code: int, file: str, field: str
) -> None:
    mutate(sample_project)
    sources = source_hashes(sample_project)
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == code, (case, result.output)
    assert "Traceback" not in result.output and "This is a bug" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(file)]
    assert lines, (case, result.stderr)
    assert any(field in line for line in lines), (case, lines)
    assert any(";" in line for line in lines), (case, lines)  # every message carries a fix after the ";"
    if code == 3:
        assert not (sample_project / "public").exists(), "an invalid catalog touches nothing"
    else:
        podcast = (sample_project / "public" / "feeds" / "podcast.xml").read_text()
        assert "Your Buprenorphine Questions" in podcast and "Lithium Levels in Practice" not in podcast
    assert source_hashes(sample_project) == sources


@pytest.mark.parametrize(("case", "mutate"), GOOD, ids=[c[0] for c in GOOD])
def test_awkward_but_valid_input_publishes(sample_project: Path, mediafeed, case: str, mutate) -> None:
    mutate(sample_project)
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, (case, result.output)
    feed = (sample_project / "public" / "feeds" / "podcast.xml").read_text()
    assert "\x07" not in feed and "\x00" not in feed
    assert feed.count("<item>") == 4
