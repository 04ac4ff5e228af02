"""A programme measured in segments side by side (ffmpeg.measure_segmented) agrees with ffmpeg's own measure of the
whole file (`ebur128=peak=true`), and decoding a delivery in segments finds what one whole decode finds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mediafeed.media import ffmpeg
from mediafeed.media.verify import _decode_part, decode
from tests.conftest import ffmpeg_generate

SECONDS = 130  # two segments of at least 60 s (media.gating.MIN_SEGMENT_SECONDS)
# Speech-like: pink noise in syllables, with pauses (so both gates have something to do), at about −26 LUFS.
SPEECH = (
    "anoisesrc=color=pink:seed=11:amplitude=0.5:duration={d},tremolo=f=4:d=0.85,"
    "volume='if(lt(mod(t,4.3),3.4),1,0.03)':eval=frame,volume='if(lt(t,40),0.3,1)':eval=frame,"
    "highpass=f=90,lowpass=f=7000"
)


def whole_file(path: Path) -> tuple[float, float]:
    """ffmpeg's integrated loudness (3 decimals, from its metadata) and true peak of the whole file in one run."""
    chain = "ebur128=peak=true:metadata=1,ametadata=mode=print:key=lavfi.r128.I:file=pipe\\\\:1"
    result = subprocess.run([ffmpeg.find_tool("ffmpeg"), "-nostats", "-v", "info", "-i", str(path), "-map", "0:a:0",
                             "-af", chain, "-f", "null", "-"], capture_output=True, text=True, check=True)  # fmt: skip
    integrated = float(re.findall(r"lavfi\.r128\.I=(\S+)", result.stdout)[-1])
    summary = ffmpeg.parse_ebur128(result.stderr)
    assert summary is not None and summary.true_peak
    return integrated, summary.peak


@pytest.fixture(scope="module")
def programmes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("segmented")
    signal = ["-f", "lavfi", "-i", SPEECH.format(d=SECONDS)]
    mp3 = ["-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k"]
    return {
        "wav-48k": ffmpeg_generate(folder / "speech.wav", *signal, "-ac", "2", "-ar", "48000", "-af", "volume=-6dB"),
        "flac-44k": ffmpeg_generate(folder / "speech.flac", *signal, "-ac", "2", "-ar", "44100", "-af", "volume=-4dB"),
        "mp3-mono": ffmpeg_generate(folder / "speech.mp3", *signal, *mp3),
    }


@pytest.mark.parametrize("name", ["wav-48k", "flac-44k", "mp3-mono"])
@pytest.mark.parametrize("parts", [2, 3])
def test_segments_agree_with_the_whole_file(programmes: dict[str, Path], name: str, parts: int) -> None:
    path = programmes[name]
    integrated, peak = whole_file(path)
    measured = ffmpeg.measure_segmented(path, true_peak=True, duration=ffmpeg.probe(path).duration, parts=parts)
    assert measured.errors == ""
    assert measured.loudness.integrated == pytest.approx(integrated, abs=0.1)
    assert measured.loudness.peak == pytest.approx(peak, abs=0.2)
    assert measured.seconds == pytest.approx(decode(path).seconds, abs=0.05)  # the decoded length, from the same pass
    one = ffmpeg.measure_segmented(path, true_peak=True, duration=SECONDS, parts=1)
    assert measured.loudness.lra == pytest.approx(one.loudness.lra, abs=0.2)


def test_a_truncated_file_measures_to_where_it_ends(programmes: dict[str, Path], tmp_path: Path) -> None:
    """A header claiming more than the file holds: the segment that ends early ends the programme."""
    source = programmes["wav-48k"].read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(source[: len(source) * 2 // 5])  # the header still claims 130 s; about 52 s remain
    measured = ffmpeg.measure_segmented(cut, true_peak=False, duration=SECONDS, parts=2)
    assert measured.seconds == pytest.approx(_decode_part(cut, [], []).seconds, abs=0.05)
    assert measured.seconds < 60


def test_an_mp3_delivery_decodes_in_segments_as_it_does_whole(programmes: dict[str, Path]) -> None:
    path = programmes["mp3-mono"]
    whole = _decode_part(path, [], [])
    segmented = decode(path, expected=whole.seconds)
    assert segmented.errors == whole.errors == ""
    assert segmented.seconds == pytest.approx(whole.seconds, abs=0.03)
    truncated = path.with_name("short.mp3")
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    short = decode(truncated, expected=whole.seconds)  # verification: it lasts a third, not what was expected
    assert short.seconds == pytest.approx(_decode_part(truncated, [], []).seconds, abs=0.05)
    assert short.seconds < whole.seconds / 2
