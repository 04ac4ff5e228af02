"""Pure helpers: podcast:guid, ffprobe JSON parsing, timestamps, dates, slugs and the GUID writer of `check --fix`."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediafeed.catalog.load import SLUG, insert_guid, parse_published, parse_timestamp, slugify, split_front_matter
from mediafeed.errors import MediaError
from mediafeed.feeds.rss import podcast_guid
from mediafeed.media.ffmpeg import parse_probe

# --- podcast:guid ---------------------------------------------------------------------------------------------------

# The Podcasting 2.0 namespace spec's own worked example (podcastindex-org/podcast-namespace, docs/tags/guid.md).
SPEC_FEED_URL = "https://mp3s.nashownotes.com/pc20rss.xml"
SPEC_GUID = "917393e3-1b1e-5cef-ace4-edaa54e1f810"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(SPEC_FEED_URL, id="spec-example"),
        pytest.param("http://mp3s.nashownotes.com/pc20rss.xml", id="http-scheme"),
        pytest.param("mp3s.nashownotes.com/pc20rss.xml", id="no-scheme"),
        pytest.param("https://mp3s.nashownotes.com/pc20rss.xml/", id="trailing-slash"),
        pytest.param("https://mp3s.nashownotes.com/pc20rss.xml//", id="trailing-slashes"),
    ],
)
def test_podcast_guid_matches_the_spec_example(url: str) -> None:
    assert podcast_guid(url) == SPEC_GUID


def test_podcast_guid_is_a_v5_uuid_that_depends_on_the_url() -> None:
    value = uuid.UUID(podcast_guid("https://media.example.org/feeds/podcast.xml"))
    assert value.version == 5
    assert str(value) == podcast_guid("https://media.example.org/feeds/podcast.xml")
    assert podcast_guid("https://media.example.org/feeds/podcast.xml") != podcast_guid(
        "https://media.example.org/feeds/other.xml"
    )


# --- ffprobe JSON ---------------------------------------------------------------------------------------------------

MP3_AUDIO = {"codec_type": "audio", "codec_name": "mp3", "channels": 2, "sample_rate": "44100", "duration": "1234.567891"}
AAC_AUDIO = {"codec_type": "audio", "codec_name": "aac", "channels": 1, "sample_rate": "48000", "duration": "61.5"}
H264_VIDEO = {"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080, "disposition": {"attached_pic": 0}}
COVER_ART = {"codec_type": "video", "codec_name": "mjpeg", "width": 1400, "height": 1400, "disposition": {"attached_pic": 1}}


def probe_json(streams: list[dict[str, Any]], duration: str | None = "1234.567891", **fmt: Any) -> dict[str, Any]:
    format_section = {"format_name": "mp3", "bit_rate": "128000", **fmt}
    if duration is not None:
        format_section["duration"] = duration
    return {"streams": streams, "format": format_section}


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        pytest.param(
            "episode.mp3",
            probe_json([MP3_AUDIO]),
            {"mime_type": "audio/mpeg", "channels": 2, "sample_rate": 44100, "audio_codec": "mp3", "has_video": False},
            id="mp3",
        ),
        pytest.param(
            "episode.mp3",
            probe_json([MP3_AUDIO, COVER_ART]),
            {"mime_type": "audio/mpeg", "has_video": False, "width": None, "height": None},
            id="mp3-with-cover-art",
        ),
        pytest.param(
            "episode.mp3",
            probe_json([MP3_AUDIO, {**COVER_ART, "disposition": {}}]),
            {"mime_type": "audio/mpeg", "has_video": False},
            id="mp3-with-picture-stream-without-disposition",
        ),
        pytest.param(
            "guide.mp4",
            probe_json([H264_VIDEO, AAC_AUDIO], duration="61.5", format_name="mov,mp4,m4a,3gp,3g2,mj2"),
            {"mime_type": "video/mp4", "video_codec": "h264", "width": 1920, "height": 1080, "channels": 1, "has_video": True},
            id="mp4-h264-aac",
        ),
        pytest.param(
            "guide.mp4",
            probe_json([AAC_AUDIO], duration="61.5"),
            {"mime_type": "audio/x-m4a", "has_video": False},
            id="mp4-audio-only",
        ),
        pytest.param(
            "talk.m4a",
            probe_json([AAC_AUDIO, COVER_ART], duration="61.5"),
            {"mime_type": "audio/x-m4a", "has_video": False},
            id="m4a-with-cover-art",
        ),
        pytest.param(
            "master.wav",
            probe_json([{**MP3_AUDIO, "codec_name": "pcm_s16le"}]),
            {"mime_type": "audio/wav", "audio_codec": "pcm_s16le"},
            id="wav",
        ),
        pytest.param(
            "EPISODE.MP3",
            probe_json([MP3_AUDIO]),
            {"mime_type": "audio/mpeg"},
            id="upper-case-extension",
        ),
    ],
)
def test_parse_probe(name: str, data: dict[str, Any], expected: dict[str, Any]) -> None:
    info = parse_probe(data, Path(name), 4321)
    assert info.size == 4321
    assert info.path == Path(name)
    assert info.duration == pytest.approx(float(data["format"]["duration"]), abs=1e-3)
    for attribute, value in expected.items():
        assert getattr(info, attribute) == value, attribute


def test_parse_probe_duration_from_the_audio_stream_when_format_has_none() -> None:
    info = parse_probe(probe_json([MP3_AUDIO], duration=None), Path("a.mp3"), 1)
    assert info.duration == pytest.approx(float(MP3_AUDIO["duration"]), abs=1e-3)


@pytest.mark.parametrize(
    ("name", "data", "message_part"),
    [
        pytest.param("a.mp4", probe_json([H264_VIDEO]), "audio", id="no-audio-stream"),
        pytest.param("a.mp3", probe_json([]), "audio", id="no-streams"),
        pytest.param("a.mp3", {}, "audio", id="empty-json"),
        pytest.param("a.mp3", probe_json([{**MP3_AUDIO, "duration": "0"}], duration="0.000000"), "duration", id="zero-duration"),
        pytest.param("a.mp3", probe_json([{**MP3_AUDIO, "duration": "N/A"}], duration="N/A"), "duration", id="na-duration"),
        pytest.param("a.mp3", probe_json([{**MP3_AUDIO, "duration": "-3"}], duration="-3"), "duration", id="negative-duration"),
        pytest.param("a.xyz", probe_json([MP3_AUDIO]), ".xyz", id="unknown-extension"),
        pytest.param("noextension", probe_json([MP3_AUDIO]), "(none)", id="no-extension"),
    ],
)
def test_parse_probe_refuses(name: str, data: dict[str, Any], message_part: str) -> None:
    with pytest.raises(MediaError) as info:
        parse_probe(data, Path(name), 1)
    assert message_part in info.value.message
    assert info.value.file == name
    assert info.value.hint


# --- chapter timestamps -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("00:00", 0.0),
        ("04:10", 4 * 60 + 10),
        ("4:10", 4 * 60 + 10),
        ("59:59", 59 * 60 + 59),
        ("1:02:03", 3600 + 2 * 60 + 3),
        ("01:02:03.250", 3600 + 2 * 60 + 3.25),
        ("10:00:00", 10 * 3600),
        (" 04:10 ", 4 * 60 + 10),
        (0, 0.0),
        (90, 90.0),
        (12.5, 12.5),
    ],
)
def test_parse_timestamp(value: object, seconds: float) -> None:
    assert parse_timestamp(value) == seconds
    assert isinstance(parse_timestamp(value), float)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "04",
        "4:70",
        "1:60:00",
        "04:10:",
        "-1:00",
        "1:2",
        "04h10",
        -5,
        -0.5,
        True,
        False,
        None,
        [1],
        float("nan"),
        float("inf"),
    ],
)
def test_parse_timestamp_rejects(value: object) -> None:
    assert parse_timestamp(value) is None


# --- published dates ----------------------------------------------------------------------------------------------

EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T09:00:00-05:00", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        ("2026-11-20 09:00:00-05:00", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        ("2026-11-20T14:00:00Z", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        ("2026-11-20T14:00:00+00:00", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        ("2026-11-21T01:00:00+11:00", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        (" 2026-11-20T09:00:00-05:00 ", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 9, 0, tzinfo=EST), datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=EST), datetime(2027, 1, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_parse_published(value: object, expected: datetime) -> None:
    moment, why = parse_published(value)
    assert why == ""
    assert moment == expected
    assert moment is not None and moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2026-05-01T09:00:00",
        "2026-05-01",
        "May 1st",
        "",
        "2026-13-01T09:00:00+00:00",
        datetime(2026, 5, 1, 9, 0),
        date(2026, 5, 1),
        20260501,
        None,
        ["2026-05-01T09:00:00Z"],
    ],
)
def test_parse_published_rejects(value: object) -> None:
    moment, why = parse_published(value)
    assert moment is None
    assert why


# --- slugs -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Should You Test MTHFR?", "should-you-test-mthfr"),
        ("Café, naïve & Über-Schön", "cafe-naive-uber-schon"),
        ("  --Lithium: Levels (2026)--  ", "lithium-levels-2026"),
        ("ADHD in Teens: School, Sleep, Screens", "adhd-in-teens-school-sleep-screens"),
        ("Ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("日本語", ""),
        ("", ""),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


@pytest.mark.parametrize(
    "title",
    ["a" * 200, "word " * 40, "x-" * 100, "Ünïcödé " * 30, "a" * 79 + " b" + "c" * 10, "?!", "---"],
)
def test_slugify_always_gives_a_valid_slug_or_nothing(title: str) -> None:
    slug = slugify(title)
    assert slug == "" or SLUG.match(slug)
    assert len(slug) <= 80


# --- insert_guid (what `mediafeed check --fix` writes) --------------------------------------------------------------

GUID = "2b7f3f0e-5d4c-4f7e-9a53-0d3b8c1e6a21"


def _fields(text: str) -> dict[str, Any]:
    parts = split_front_matter(text.removeprefix("\ufeff"))
    assert parts is not None
    return yaml.safe_load(parts[0])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("---\ntitle: X\nkind: podcast\n---\nNotes.\n", id="lf"),
        pytest.param("---\r\ntitle: X\r\nkind: podcast\r\n---\r\nNotes.\r\n", id="crlf"),
        pytest.param("\ufeff---\ntitle: X\n---\nNotes.\n", id="bom"),
        pytest.param("---\ntitle: X  # trailing comment\n\n# a comment line\nkind: podcast\n---\n", id="comments-blank-lines"),
        pytest.param("---\ntitle: X\n---\nNotes mention guid:\nguid:\nand more.\n", id="guid-text-in-body"),
        pytest.param("---\ntitle: X\n...\nNotes.\n", id="dots-closing-fence"),
        pytest.param("---\ntitle: X\n---\n", id="no-body"),
    ],
)
def test_insert_guid_adds_first_field_and_changes_nothing_else(text: str) -> None:
    result = insert_guid(text, GUID)
    newline = "\r\n" if "\r\n" in text else "\n"
    first_line_end = text.index("\n") + 1
    assert result == text[:first_line_end] + f"guid: {GUID}{newline}" + text[first_line_end:]
    assert _fields(result) == {"guid": GUID, **_fields(text)}


@pytest.mark.parametrize(
    ("empty_line", "newline"),
    [
        ("guid: null", "\n"),
        ("guid: null", "\r\n"),
        ("guid: ~", "\n"),
        ("guid:", "\n"),
        ("guid:   ", "\n"),
        ("guid: null  # assigned by mediafeed check --fix", "\n"),
        ("guid: Null", "\n"),
    ],
)
@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_insert_guid_replaces_an_empty_guid_line(empty_line: str, newline: str, position: str) -> None:
    fields = ["title: X", "kind: podcast"]
    with_empty = {"first": [empty_line, *fields], "middle": [fields[0], empty_line, fields[1]], "last": [*fields, empty_line]}[
        position
    ]
    text = newline.join(["---", *with_empty, "---", "Notes.", ""])
    result = insert_guid(text, GUID)
    assert result == newline.join(["---", f"guid: {GUID}", *fields, "---", "Notes.", ""])
    assert _fields(result)["guid"] == GUID


def test_insert_guid_keeps_non_empty_lines_that_start_with_guid() -> None:
    text = "---\ntitle: X\nguidance: read this\nguid_note: keep\n---\n"
    result = insert_guid(text, GUID)
    assert result == f"---\nguid: {GUID}\ntitle: X\nguidance: read this\nguid_note: keep\n---\n"


def test_insert_guid_result_has_exactly_one_guid_key() -> None:
    result = insert_guid("---\ntitle: X\nguid: null\n---\n", GUID)
    assert len(re.findall(r"(?m)^guid:", result)) == 1
