"""Generate the sample catalog's media files and artwork, reproducibly.

The sample catalog (``feeds/*.yaml``, ``episodes/*/index.md``) refers to audio, video and artwork that are
not real recordings. Instead of committing opaque binaries, this script makes them from the catalog itself:

* podcast audio: the episode's title and show notes read by espeak-ng (an ffmpeg sine tone with a varying
  volume when espeak-ng is missing), padded or cut to a fixed length, encoded to MP3 (mono, 22.05 kHz,
  32 kbps CBR) -- or to FLAC when the front matter says ``media: audio.flac`` (an unprocessed "master"
  that exercises transcoding);
* video (webinars, medication guides): a Pillow-drawn title card with a small moving ffmpeg test pattern,
  H.264 + AAC mono speech, 320x180 at 10 fps, ``video.mp4`` with ``+faststart``;
* artwork: each feed's ``image:`` and each episode's ``image:`` (1400x1400 RGB, no alpha), drawn with Pillow.

Outputs depend only on the catalog text and the tool versions (bit-exact ffmpeg flags, no timestamps, no
randomness), so a re-run gives the same files. Existing files are left alone unless ``--force`` is given.

    .venv/bin/python scripts/make_sample_media.py [--force] [--project DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import wave
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent

# Fixed lengths (seconds) so chapter times in the catalog always fit, with or without espeak-ng.
DURATIONS = {"trailer": 20, "bonus": 20, "podcast": 30, "webinar": 25, "video": 20}
VOICES = ["en-us", "en-us+f3", "en-gb", "en-gb+f2", "en-us+m3", "en-gb-x-rp+f4"]
VIDEO_EXTS = {".mp4", ".m4v", ".mov"}
AUDIO_EXTS = {".mp3", ".flac", ".wav", ".m4a"}
BITEXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]

# Feed id -> (background, accent 1, accent 2, ink, design). Unknown feeds get a design from their id's hash.
FEED_STYLES = {
    "podcast": ((24, 52, 86), (242, 169, 59), (90, 160, 200), (255, 255, 255), "rings"),
    "webinars": ((236, 232, 222), (33, 97, 140), (208, 84, 64), (25, 30, 40), "grid"),
    "medication-guides": ((20, 110, 100), (250, 250, 245), (247, 200, 70), (255, 255, 255), "capsules"),
    "child-psychiatry": ((250, 214, 90), (64, 120, 200), (230, 96, 110), (30, 35, 60), "blocks"),
}
PALETTES = [style[:4] for style in FEED_STYLES.values()]
DESIGNS = ["rings", "grid", "capsules", "blocks"]


def digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def log(message: str) -> None:
    print(message, file=sys.stderr)


# --------------------------------------------------------------------------- catalog reading


def read_front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", text, re.S)
    if not match:
        raise SystemExit(f"{path}: no YAML front matter between '---' lines")
    return yaml.safe_load(match.group(1)) or {}, match.group(2)


def plain_sentences(title: str, body: str) -> list[str]:
    """Markdown show notes -> sentences espeak-ng can read."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", body)  # links and images -> their text
    text = re.sub(r"^\s*(#+|[-*+]|\d+\.)\s+", "", text, flags=re.M)  # headings, list markers
    text = re.sub(r"[*_`#>]", "", text)
    text = text.replace("&", " and ").replace("<", " less than ")
    text = "".join(ch for ch in text if ord(ch) < 0x2000 or ch in "\u2014\u2013")
    text = re.sub(r"\s+", " ", text).strip()
    return [title.rstrip(".?!") + ".", *re.split(r"(?<=[.?!;:])\s+", text)]


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


# --------------------------------------------------------------------------- drawing


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def wrap(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(lines[-1] + " " + word, font=fnt) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def draw_text_block(draw, text, box, ink, max_size, min_size=24):
    """Largest font size (down to min_size) at which `text` fits `box`; draws it left-aligned."""
    x0, y0, x1, y1 = box
    size = max_size
    while True:
        fnt = font(size)
        lines = wrap(draw, text, fnt, x1 - x0)
        line_height = int(size * 1.18)
        if (
            len(lines) * line_height <= y1 - y0 and all(draw.textlength(line, font=fnt) <= x1 - x0 for line in lines)
        ) or size <= min_size:
            break
        size -= 4
    y = y1 - len(lines) * line_height
    for line in lines:
        draw.text((x0, y), line, font=fnt, fill=ink)
        y += line_height


def draw_design(draw: ImageDraw.ImageDraw, design: str, size: int, colors, seed: int) -> None:
    bg, a1, a2, ink = colors
    s = size
    if design == "rings":
        cx, cy = int(s * 0.66), int(s * 0.36)
        for i, r in enumerate(range(int(s * 0.56), 0, -int(s * 0.07))):
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(a1, bg, a2, bg)[i % 4])
    elif design == "grid":
        cell = s // 7
        for row in range(4):
            for col in range(7):
                if (row * 7 + col + seed) % 3 == 0:
                    color = a1 if (row + col) % 2 else a2
                    draw.rectangle((col * cell + 10, row * cell + 10, (col + 1) * cell - 10, (row + 1) * cell - 10), fill=color)
    elif design == "capsules":
        w, h = int(s * 0.42), int(s * 0.14)
        for i in range(4):
            x = int(s * 0.08) + (i % 2) * int(s * 0.46)
            y = int(s * 0.08) + i * int(s * 0.15)
            draw.rounded_rectangle((x, y, x + w, y + h), radius=h // 2, fill=a1)
            draw.rounded_rectangle((x + w // 2, y, x + w, y + h), radius=h // 2, fill=a2)
            draw.rectangle((x + w // 2, y, x + w // 2 + h // 2, y + h), fill=a2)
    else:  # blocks
        unit = s // 6
        shapes = [(0, 0, 2, 2), (2, 0, 3, 1), (3, 0, 6, 1), (2, 1, 4, 3), (4, 1, 6, 3), (0, 2, 2, 3)]
        for i, (a, b, c, d) in enumerate(shapes):
            color = (a1, a2, ink)[(i + seed) % 3]
            box = (a * unit + 12, b * unit + 12, c * unit - 12, d * unit - 12)
            if i % 2:
                draw.ellipse(box, fill=color)
            else:
                draw.rectangle(box, fill=color)


def artwork(title: str, caption: str, key: str, style=None, size: int = 1400) -> Image.Image:
    seed = digest(key)
    if style is None:
        style = PALETTES[seed % len(PALETTES)] + (DESIGNS[(seed >> 8) % len(DESIGNS)],)
    *colors, design = style
    image = Image.new("RGB", (size, size), colors[0])
    draw = ImageDraw.Draw(image)
    draw_design(draw, design, size, colors, seed)
    margin = int(size * 0.07)
    draw.rectangle((0, int(size * 0.62), size, size), fill=colors[0])
    draw.rectangle((margin, int(size * 0.64), margin + int(size * 0.12), int(size * 0.64) + 14), fill=colors[1])
    draw_text_block(
        draw, title, (margin, int(size * 0.67), size - margin, size - margin - 90), colors[3], max_size=int(size * 0.11)
    )
    draw.text((margin, size - margin - 50), caption, font=font(int(size * 0.035)), fill=colors[3])
    return image


def title_card(show: str, title: str, key: str, size=(320, 180)) -> Image.Image:
    seed = digest(key)
    bg, a1, a2, ink = PALETTES[seed % len(PALETTES)]
    w, h = size
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, w, 26), fill=a1)
    draw.text((10, 5), show, font=font(14), fill=bg if a1 != bg else ink)
    draw.rectangle((12, 36, 18, h - 14), fill=a2)
    draw_text_block(draw, title, (28, 36, w - 110, h - 14), ink, max_size=22, min_size=10)
    return image


def save_image(image: Image.Image, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(tmp, "JPEG", quality=80, optimize=True)
    else:
        image.save(tmp, "PNG", optimize=True)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- audio and video


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stderr[-2000:]}")


def speech_input(slug: str, title: str, body: str, seconds: int, workdir: Path) -> list[str]:
    """ffmpeg input arguments for the episode's sound: espeak-ng reading as many whole sentences of the show
    notes as fit in `seconds`, or a tone when espeak-ng is missing."""
    seed = digest(slug)
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if not espeak:
        log(f"{slug}: espeak-ng not found; using a tone instead of speech")
        freq = 180 + seed % 120
        return ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=22050:duration={seconds}"]
    sentences = plain_sentences(title, body)
    wav, txt, best = workdir / "speech.wav", workdir / "speech.txt", workdir / "best.wav"
    for count in range(1, len(sentences) + 1):
        txt.write_text(" ".join(sentences[:count]), encoding="utf-8")
        run([espeak, "-v", VOICES[seed % len(VOICES)], "-s", "160", "-f", str(txt), "-w", str(wav)])
        if count > 1 and wav_seconds(wav) > seconds - 0.5:
            break
        os.replace(wav, best)
    return ["-i", str(best)]


def audio_filter(slug: str, tone: bool) -> str:
    gain = -3 * (digest(slug + "/gain") % 4)  # 0, -3, -6 or -9 dB: sources arrive at different loudness
    shape = "volume='0.35+0.3*sin(2*PI*t/1.7)':eval=frame," if tone else ""
    return f"{shape}volume={gain}dB,apad"


def make_audio(path: Path, slug: str, title: str, body: str, seconds: int, workdir: Path) -> None:
    source = speech_input(slug, title, body, seconds, workdir)
    codec = {
        ".mp3": ["-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "1"],
        ".flac": ["-c:a", "flac", "-compression_level", "8", "-sample_fmt", "s16"],
        ".wav": ["-c:a", "pcm_s16le"],
        ".m4a": ["-c:a", "aac", "-b:a", "48k"],
    }[path.suffix.lower()]
    tmp = path.with_name(f".tmp{path.suffix}")
    run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            *source,
            "-af",
            audio_filter(slug, "lavfi" in source),
            "-t",
            str(seconds),
            "-ac",
            "1",
            "-ar",
            "22050",
            *codec,
            *BITEXACT,
            str(tmp),
        ]
    )
    os.replace(tmp, path)


def make_video(path: Path, slug: str, show: str, title: str, body: str, seconds: int, workdir: Path) -> None:
    source = speech_input(slug, title, body, seconds, workdir)
    card = workdir / "card.png"
    title_card(show, title, slug).save(card)
    tmp = path.with_name(f".tmp{path.suffix}")
    graph = (
        f"[1:v]scale=96:54[inset];[0:v][inset]overlay=W-w-8:H-h-8,format=yuv420p[v];"
        f"[2:a]{audio_filter(slug, 'lavfi' in source)},aresample=44100[a]"
    )
    run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-loop",
            "1",
            "-framerate",
            "10",
            "-i",
            str(card),
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=192x108:rate=10:duration={seconds}",
            *source,
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "veryslow",
            "-crf",
            "35",
            "-pix_fmt",
            "yuv420p",
            "-r",
            "10",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "48k",
            "-ac",
            "1",
            "-movflags",
            "+faststart",
            "-flags:v",
            "+bitexact",
            *BITEXACT,
            str(tmp),
        ]
    )
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main


def local_target(project: Path, bundle: Path, value) -> Path | None:
    """A generated file's path, or None for media we do not make (s3://, absolute, outside the bundle)."""
    if not isinstance(value, str) or "://" in value or os.path.isabs(value) or ".." in Path(value).parts:
        return None
    return bundle / value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="regenerate files that already exist")
    parser.add_argument("--project", type=Path, default=ROOT, help="catalog folder (default: this repository)")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    if not shutil.which("ffmpeg"):
        raise SystemExit("ffmpeg not found on PATH")

    site_title = "Sample Psychiatry Media"
    config = project / "mediafeed.toml"
    if config.exists():
        site_title = tomllib.loads(config.read_text(encoding="utf-8")).get("site", {}).get("title", site_title)

    def wanted(path: Path) -> bool:
        if path.exists() and not args.force:
            log(f"exists  {path.relative_to(project)}")
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        log(f"writing {path.relative_to(project)}")
        return True

    feeds = {}
    for feed_file in sorted((project / "feeds").glob("*.yaml")):
        feed = yaml.safe_load(feed_file.read_text(encoding="utf-8")) or {}
        feeds[feed_file.stem] = feed
        image = local_target(project, project, feed.get("image"))
        if image and wanted(image):
            save_image(
                artwork(feed.get("title", feed_file.stem), site_title, feed_file.stem, FEED_STYLES.get(feed_file.stem)), image
            )

    def show_for(kind: str) -> str:
        for feed in feeds.values():
            kinds = (feed.get("select") or {}).get("kinds") or []
            if kinds == [kind]:
                return feed.get("title", site_title)
        return site_title

    for index in sorted((project / "episodes").glob("*/index.md")):
        bundle, slug = index.parent, index.parent.name
        meta, body = read_front_matter(index)
        title = str(meta.get("title", slug))
        kind = str(meta.get("kind", "podcast"))
        image = local_target(project, bundle, meta.get("image"))
        if image and wanted(image):
            save_image(artwork(title, show_for(kind), slug), image)
        media = local_target(project, bundle, meta.get("media"))
        if not media or not wanted(media):
            continue
        seconds = DURATIONS.get(str(meta.get("episode_type")), DURATIONS.get(kind, 30))
        with tempfile.TemporaryDirectory(prefix="mediafeed-sample-") as work:
            if media.suffix.lower() in VIDEO_EXTS:
                make_video(media, slug, show_for(kind), title, body, seconds, Path(work))
            elif media.suffix.lower() in AUDIO_EXTS:
                make_audio(media, slug, title, body, seconds, Path(work))
            else:
                raise SystemExit(f"{index}: media: don't know how to make a {media.suffix} file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
