"""`mediafeed init DIR`: a new project that passes `mediafeed check` as it is: a commented mediafeed.toml, one feed
with placeholder artwork, and one draft episode (its master is made by the caller: making media is not the catalog's
job). Nothing is ever overwritten: a folder that already holds a project is refused before anything is written."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from PIL import Image, ImageDraw

from mediafeed.atomic import atomic_file, write_atomically
from mediafeed.catalog.artwork import MIN_SIZE
from mediafeed.catalog.schema import PLACEHOLDER_NOTES
from mediafeed.config import CONFIG_FILE
from mediafeed.errors import UsageError

FEED_ID = "podcast"
EPISODE_SLUG = "welcome"
MASTER = "audio.mp3"
ARTWORK = f"artwork/{FEED_ID}.png"
MakeMaster = Callable[[Path], None]  # writes a short audio master at the given path


@dataclass(frozen=True)
class Created:
    """What init made: the project folder and the files in it (relative, in the order they were written)."""

    project: Path
    files: tuple[str, ...]


def init_project(folder: Path, title: str | None, site_url: str | None, now: datetime, make_master: MakeMaster) -> Created:
    """Create a project in `folder` (made when missing). Refused (UsageError, nothing written) when the folder already
    holds mediafeed.toml or a non-empty episodes/ or feeds/."""
    folder = folder.expanduser().absolute()
    problems = _refusals(folder)
    title = " ".join((title or _title_from(folder)).split())
    if not title:
        problems.append('--title: empty; name the publisher or the show, e.g. --title "Example Psychiatry Review"')
    site_url = (site_url or "https://www.example.org").strip().rstrip("/")
    parsed = urlparse(site_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"--site-url: not an absolute http(s) URL ({site_url!r}); e.g. --site-url https://www.example.org")
    if problems:
        raise UsageError("\n".join(problems))

    made_folder = not folder.exists()
    created_dirs: list[Path] = []
    written: list[str] = []

    def directory(path: Path) -> None:
        if not path.is_dir():
            path.mkdir(parents=True)
            created_dirs.append(path)

    def write(relative: str, data: bytes) -> None:
        path = folder / relative
        directory(path.parent)
        write_atomically(path, data)
        written.append(relative)

    try:
        directory(folder)
        write(CONFIG_FILE, config_text(title, site_url).encode("utf-8"))
        directory(folder / "artwork")
        with atomic_file(folder / ARTWORK) as handle:
            placeholder_artwork().save(handle, format="PNG", optimize=True, dpi=(72, 72))
        written.append(ARTWORK)
        write(f"feeds/{FEED_ID}.yaml", feed_text(title, site_url).encode("utf-8"))
        bundle = folder / "episodes" / EPISODE_SLUG
        directory(bundle)
        written.append(f"episodes/{EPISODE_SLUG}/{MASTER}")
        make_master(bundle / MASTER)  # a new folder: nobody reads the file before init is done
        write(f"episodes/{EPISODE_SLUG}/index.md", episode_text(now).encode("utf-8"))
        if not (folder / ".gitignore").exists():
            write(".gitignore", b"/build/\n/public/\n")
    except BaseException:
        for relative in written:
            (folder / relative).unlink(missing_ok=True)
        for path in reversed(created_dirs):
            if path == folder and made_folder:
                shutil.rmtree(path, ignore_errors=True)
            else:
                _rmdir(path)
        raise
    return Created(folder, tuple(written))


def _rmdir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
        path.rmdir()


def _refusals(folder: Path) -> list[str]:
    if folder.exists() and not folder.is_dir():
        return [f"{folder}: exists and is not a folder; choose a new folder for the project"]
    if (folder / CONFIG_FILE).exists():
        return [f"{folder / CONFIG_FILE}: a project is already there; run `mediafeed check` in it, or init another folder"]
    problems = []
    for name in ("episodes", "feeds"):
        sub = folder / name
        if sub.exists() and (not sub.is_dir() or any(sub.iterdir())):
            problems.append(f"{sub}: already holds files; init an empty or new folder (nothing was written)")
    return problems


def _title_from(folder: Path) -> str:
    return " ".join(word.capitalize() for word in folder.name.replace("_", "-").split("-") if word)


def placeholder_artwork() -> Image.Image:
    """A plain square that passes every artwork rule (1400 px, RGB, no transparency): replace it with the show's own."""
    side = MIN_SIZE
    image = Image.new("RGB", (side, side), (38, 70, 83))
    draw = ImageDraw.Draw(image)
    margin = side // 10
    draw.rectangle((margin, margin, side - margin, side - margin), outline=(233, 196, 106), width=side // 40)
    draw.ellipse((side // 3, side // 3, 2 * side // 3, 2 * side // 3), fill=(233, 196, 106))
    return image


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def config_text(title: str, site_url: str) -> str:
    return f"""\
# mediafeed project settings. Every key is described here; `mediafeed check` reports any mistake with its fix.

[site]
title = {_toml(title)}
url = {_toml(site_url)}          # the publisher's website; relative links in show notes resolve against it

[publish]
target = "local"                          # the target `publish`, `plan` and `status` use without --target

[targets.local]                           # publish into a folder (preview it with `mediafeed serve`)
type = "local"
path = "public"                           # the folder, relative to this file
public_url = "http://127.0.0.1:8000"      # what every URL in the feeds starts with

# [targets.s3]                            # any S3-compatible bucket (AWS, MinIO, R2, B2): uncomment and fill in
# type = "s3"
# bucket = "example-media"
# prefix = ""                             # a folder inside the bucket, "" for its top
# region = "us-east-1"                    # "" = from the AWS settings; R2 uses "auto"
# endpoint_url = ""                       # "" = AWS; set it for MinIO, R2, B2
# profile = ""                            # a named profile from ~/.aws/config; "" = the default chain
# addressing_style = "auto"               # "auto" | "path" (MinIO) | "virtual"
# public_url = "https://media.example.org"   # the CDN or bucket address listeners download from

[media]
roots = []                                # extra folders masters may live in, e.g. ["/mnt/masters"]
# For masters in object storage (media: s3://bucket/key in an episode), the same settings as a target:
# region = ""
# endpoint_url = ""
# profile = ""
# addressing_style = "auto"

[audio]                                   # how delivery files are made (a feed may override any of these)
loudness_stereo = -16.0                   # LUFS, integrated (EBU R128 / ITU-R BS.1770)
loudness_mono = -19.0                     # mono plays on both speakers: 3 LU lower sounds as loud
true_peak = -1.0                          # dBTP ceiling, measured on the encoded file
mp3_bitrate_stereo = 128                  # kbps, CBR
mp3_bitrate_mono = 64
aac_bitrate_stereo = 128                  # kbps, the audio of video episodes (MP4)
aac_bitrate_mono = 96

[catalog]
topics = []                               # when listed, episodes may only use these topics (a typo guard),
                                          # e.g. ["general-psychiatry", "addiction"]

[notify]                                  # optional: tell podcast apps at once when a feed changes
websub_hubs = []                          # e.g. ["https://pubsubhubbub.appspot.com/"]
# podping_url = "https://podping.cloud/"  # GET ?url=<feed>&reason=update after each change
"""


def feed_text(title: str, site_url: str) -> str:
    return f"""\
# One published feed (its id is this file's name). Episodes join it through `select`.
title: {json.dumps(title, ensure_ascii=False)}
description: >-
  What the show is about, in a sentence or two: podcast apps show this under the title.
link: {site_url}/podcast                  # the show's page on the site (the channel <link>)
language: en-us
author: {json.dumps(title, ensure_ascii=False)}
# Apple and Spotify verify ownership by the owner's address:
owner: {{name: {json.dumps(title, ensure_ascii=False)}, email: podcast@example.org}}
image: {ARTWORK}                 # square JPEG or PNG, 1400–3000 px, RGB: replace the placeholder
category: Education                       # from Apple's list, e.g. "Health & Fitness > Mental Health"
explicit: false
type: episodic                            # episodic | serial
medium: audio                             # audio | video (an audio feed carries audio renditions of videos)
select: {{kinds: [podcast], topics: []}}   # which episodes; an empty list means "any"
# Optional (see the README): copyright, locked, guid, audio (overrides [audio]), intro/outro bumpers, persons,
# funding, txt, update_frequency, enclosure_prefix, page_size, new_feed_url.
"""


def episode_text(now: datetime) -> str:
    return "\n".join(
        [
            "---",
            'title: "Welcome"',
            f"guid: {uuid.uuid4()}                # permanent: never change it once published",
            "kind: podcast                              # podcast | webinar | video",
            "draft: true                                # kept out of every feed until you delete this line",
            "topics: []",
            f"published: {now.replace(microsecond=0).isoformat()}          # with a UTC offset; later = scheduled",
            f"media: {MASTER}                            # a placeholder tone: replace it with the real master",
            "episode_type: trailer                      # full | trailer | bonus",
            "explicit: false",
            "persons: []",
            "articles: []",
            "---",
            PLACEHOLDER_NOTES,
            "",
        ]
    )
