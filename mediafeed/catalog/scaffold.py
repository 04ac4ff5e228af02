"""Writing into the catalog, the only ways mediafeed ever does: a new episode bundle (`mediafeed new`), a permanent
GUID for episodes that have none (`mediafeed check --fix`), and compliant copies of bad artwork, which go to
build/artwork/ and never over the originals (`mediafeed artwork --fix`). Everything else only reads the catalog."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from mediafeed.atomic import write_atomically
from mediafeed.catalog.artwork import ArtworkError, artwork_problems, fix_artwork, fixable, fixed_path
from mediafeed.catalog.load import catalog_images, find_missing_guids, insert_guid, slugify
from mediafeed.config_file import load_config
from mediafeed.errors import UsageError


def assign_missing_guids(project: Path, published: Mapping[str, str] | None = None) -> list[str]:
    """Write a GUID into every episode whose front matter has no `guid:` line; returns their paths (relative).
    An episode a target has published (`published`: slug → GUID) gets that GUID back, never a new one; the others
    a fresh one. Nothing else in those files changes, their permissions included."""
    fixed = []
    for index in find_missing_guids(project):
        text = index.read_bytes().decode("utf-8-sig")
        mode = index.stat().st_mode & 0o777
        guid = (published or {}).get(index.parent.name) or str(uuid.uuid4())
        write_atomically(index, insert_guid(text, guid).encode("utf-8"), mode)
        fixed.append(index.relative_to(project).as_posix())
    return fixed


def new_episode(
    project: Path, title: str, kind: str, media: Path, published: datetime, slug: str | None, topics: tuple[str, ...]
) -> Path:
    """Scaffold episodes/<slug>/index.md with a fresh permanent GUID; the master is copied into the bundle unless it
    already lives in the project or under a [media] root. Returns the new index.md."""
    config = load_config(project)
    slug = slug or slugify(title)
    if not slug:
        raise UsageError(f"cannot make a folder name from the title {title!r}", hint="pass --slug my-episode")
    bundle = project / "episodes" / slug
    if bundle.exists():
        raise UsageError(f"episodes/{slug} already exists", hint="choose another title or pass --slug")
    source = media.resolve()
    bundle.mkdir(parents=True)
    if any(source.is_relative_to(root) for root in (project, *config.media_roots)):
        media_ref = os.path.relpath(source, bundle)
    else:
        shutil.copy2(source, bundle / source.name)
        media_ref = source.name
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"guid: {uuid.uuid4()}",
        f"kind: {kind}",
        f"topics: [{', '.join(topics)}]",
        f"published: {published.isoformat()}",
        f"media: {json.dumps(media_ref, ensure_ascii=False)}",
        "episode_type: full",
        "explicit: false",
        "persons: []",
        "articles: []",
        "---",
        "Write the show notes here, in Markdown.",
        "",
    ]
    index = bundle / "index.md"
    write_atomically(index, "\n".join(lines).encode("utf-8"))
    return index


def review_artwork(project: Path, fix: bool) -> list[dict[str, Any]]:
    """Every feed's and episode's image with problems, and its fixed copy in build/artwork/ (written now with
    `fix`): [{file, image, problems: [{message, hint}], fixed: path or None, error: why not fixed or None}].
    Originals are never modified; the catalog publishes a fixed copy for as long as the original is unchanged."""
    build_dir = project / "build"
    entries = []
    for file, image in catalog_images(load_config(project)):
        problems = artwork_problems(image)
        if not problems:
            continue
        copy = fixed_path(image, build_dir)
        entry: dict[str, Any] = {
            "file": file,
            "image": image.relative_to(project).as_posix() if image.is_relative_to(project) else str(image),
            "problems": [{"message": m, "hint": h} for m, h in problems],
            "fixed": None,
            "error": None,
        }
        if copy.is_file() and not artwork_problems(copy):
            entry["fixed"] = copy.relative_to(project).as_posix()
        elif fix and fixable(image):
            try:
                entry["fixed"] = fix_artwork(image, build_dir).relative_to(project).as_posix()
            except ArtworkError as exc:
                entry["error"] = str(exc)
        elif fix:
            entry["error"] = "cannot be fixed automatically"
        entries.append(entry)
    return entries
