"""Chapters as each delivery file has them, in the three places apps look for them.

A feed's intro bumper shifts every chapter by its length, so chapters are computed per delivery: the ID3/MP4
tags (mediafeed.media.tags), the Podcasting 2.0 JSON chapters file (podcast:chapters), and timestamps at the top of the
show notes (the only chapters Spotify reads; Apple wants at least three, the first at 00:00).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from mediafeed import content_types
from mediafeed.models import Chapter

JSON_CHAPTERS_VERSION = "1.2.0"
JSON_CHAPTERS_TYPE = content_types.JSON_CHAPTERS_TYPE
INTRO_TITLE = "Intro"
MIN_TIMESTAMPS = 3  # Apple shows description chapters only from three on


def delivered(chapters: Sequence[Chapter], offset: float) -> tuple[Chapter, ...]:
    """Chapters shifted by an intro of `offset` seconds; the intro gets a chapter of its own so the list starts at 0."""
    if not chapters or offset <= 0:
        return tuple(chapters)
    shifted = tuple(Chapter(c.start + offset, c.title, c.url, c.image) for c in chapters)
    return (Chapter(0.0, INTRO_TITLE), *shifted)


def json_chapters(chapters: Sequence[Chapter], *, title: str) -> bytes:
    """The Podcasting 2.0 JSON chapters document (startTime ascending, seconds as numbers)."""
    entries = []
    for chapter in sorted(chapters, key=lambda c: c.start):
        entry: dict[str, object] = {"startTime": round(chapter.start, 3), "title": chapter.title}
        if chapter.url:
            entry["url"] = chapter.url
        if chapter.image:
            entry["img"] = chapter.image
        entries.append(entry)
    document = {"version": JSON_CHAPTERS_VERSION, "title": title, "chapters": entries}  # the same file serves every feed
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def timestamp(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def timestamps_html(chapters: Sequence[Chapter]) -> str:
    """Chapter timestamps for the top of the show notes, in tags Apple renders; empty below Apple's minimum."""
    if len(chapters) < MIN_TIMESTAMPS or chapters[0].start != 0:
        return ""
    lines = "".join(f"<li>{timestamp(c.start)} {escape(c.title)}</li>" for c in chapters)
    return f"<p>Chapters:</p><ul>{lines}</ul>"


def parse_json_chapters(path: Path) -> tuple[list[Chapter], str]:
    """Chapters from a Podcasting 2.0 JSON chapters file, or ([], why it is unusable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], f"not a readable JSON chapters file ({exc.__class__.__name__})"
    raw = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return [], 'no "chapters" list'
    chapters = []
    for index, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("startTime"), int | float)
            or isinstance(item.get("startTime"), bool)
        ):
            return [], f"chapter {index} has no numeric startTime"
        if item.get("toc") is False:
            continue  # a silent marker: not part of the table of contents
        title = item.get("title")
        chapters.append(
            Chapter(
                float(item["startTime"]),
                str(title) if isinstance(title, str) else f"Chapter {index + 1}",
                item.get("url") if isinstance(item.get("url"), str) else None,
                item.get("img") if isinstance(item.get("img"), str) else None,
            )
        )
    return chapters, ""
