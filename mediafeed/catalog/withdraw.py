"""`mediafeed withdraw SLUG --reason TEXT`: record a take-down in the episode's front matter.

Only the front matter changes: one `withdrawn: {at: ..., reason: ...}` line is added before its closing `---`, and
every other byte of the file (BOM, line endings, comments, show notes) stays as it was. The next publish takes the
episode out of every feed and index, deletes its files from the target and retires its GUID (publish/apply.py).
"""

from __future__ import annotations

import difflib
import json
from datetime import UTC, datetime
from pathlib import Path

import yaml

from mediafeed import files
from mediafeed.catalog.listing import episode_files
from mediafeed.catalog.load import front_matter_parts, parse_published, split_front_matter
from mediafeed.errors import UsageError


def withdraw_episode(project: Path, slug: str, reason: str, now: datetime) -> Path:
    """Add `withdrawn: {at: now, reason}` to episodes/<slug>/index.md; returns the file written."""
    reason = " ".join(reason.split())
    index = project / "episodes" / slug / "index.md"
    rel = f"episodes/{slug}/index.md"
    if not reason:
        raise UsageError(
            "the reason is empty", file=rel, field="withdrawn.reason", hint='say why, e.g. --reason "guest withdrew consent"'
        )
    if "/" in slug or "\\" in slug or slug in ("", ".", "..") or not index.is_file():
        known = [p.parent.name for p in episode_files(project)]
        close = difflib.get_close_matches(slug, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "`ls episodes/` lists the slugs"
        raise UsageError(f"no episode {slug!r} (no episodes/{slug}/index.md)", hint=hint)
    raw = files.read_bytes(index, rel)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"not UTF-8 text (byte {exc.start})", file=rel, hint="save the file as UTF-8") from None
    body = text.removeprefix("\ufeff")
    parts = split_front_matter(body)
    if parts is None:
        raise UsageError("no front matter", file=rel, hint="run `mediafeed check` and fix the file first")
    try:
        data = yaml.safe_load(parts[0])
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        raise UsageError("the front matter is not valid YAML", file=rel, hint="run `mediafeed check` and fix it first")
    if "withdrawn" in data:
        previous = data["withdrawn"]
        if previous is None:
            raise UsageError("has an empty withdrawn: line", file=rel, field="withdrawn", hint="delete that line and run again")
        at = previous.get("at") if isinstance(previous, dict) else None
        raise UsageError(
            f"already withdrawn{f' (at {at})' if at else ''}",
            file=rel,
            field="withdrawn",
            hint="edit the reason in the file if it needs changing; a withdrawn episode's GUID stays retired",
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    stamp = now.astimezone(UTC).replace(microsecond=0).isoformat()
    line = f"withdrawn: {{at: {stamp}, reason: {json.dumps(reason, ensure_ascii=False)}}}{newline}"
    updated = insert_before_closing_fence(text, line)
    _confirm(updated, stamp, reason, rel)
    files.write_atomically(index, updated.encode("utf-8"), rel, index.stat().st_mode & 0o777)
    return index


def insert_before_closing_fence(text: str, line: str) -> str:
    """`line` as the last front-matter line, every other byte kept."""
    opening, front, rest = front_matter_parts(text)
    return opening + front + line + rest


def _confirm(text: str, stamp: str, reason: str, rel: str) -> None:
    """The edited file must read back as exactly this withdrawal (never write a file the loader would misread)."""
    parts = split_front_matter(text.removeprefix("\ufeff"))
    data = yaml.safe_load(parts[0]) if parts else None
    value = data.get("withdrawn") if isinstance(data, dict) else None
    at = parse_published(value.get("at"))[0] if isinstance(value, dict) else None
    if at is None or at.isoformat() != stamp or value.get("reason") != reason:  # type: ignore[union-attr]
        raise UsageError("could not add withdrawn: to the front matter", file=rel, hint="add the line by hand")
