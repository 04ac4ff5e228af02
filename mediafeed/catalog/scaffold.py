"""Writing into the catalog, the only ways mediafeed ever does: a new episode bundle (`mediafeed new`), a permanent
GUID for episodes that have none (`mediafeed check --fix`), and compliant copies of bad artwork, which go to
build/artwork/ and never over the originals (`mediafeed artwork --fix`). Everything else only reads the catalog."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from mediafeed import files
from mediafeed.atomic import atomic_file, write_atomically
from mediafeed.catalog.artwork import ArtworkError, artwork_problems, fix_artwork, fixable, fixed_path
from mediafeed.catalog.load import SLUG, catalog_images, find_missing_guids, insert_guid, slugify
from mediafeed.catalog.schema import PLACEHOLDER_NOTES
from mediafeed.config_file import load_config
from mediafeed.errors import UsageError


def assign_missing_guids(project: Path, published: Mapping[str, str] | None = None) -> list[str]:
    """Write a GUID into every episode whose front matter has no `guid:` line; returns their paths (relative).
    An episode a target has published (`published`: slug → GUID) gets that GUID back, never a new one; the others
    a fresh one. Nothing else in those files changes, their permissions included."""
    fixed = []
    for index in find_missing_guids(project):
        rel = index.relative_to(project).as_posix()
        text = files.read_text(index, rel)
        mode = index.stat().st_mode & 0o777
        guid = (published or {}).get(index.parent.name) or str(uuid.uuid4())
        files.write_atomically(index, insert_guid(text, guid).encode("utf-8"), rel, mode)
        fixed.append(rel)
    return fixed


MasterCheck = Callable[[Path], str | None]  # a master → why it is not usable media ("problem; fix"), or None


def new_episode(
    project: Path,
    title: str,
    kind: str,
    media: Path,
    published: datetime,
    slug: str | None,
    topics: tuple[str, ...],
    check_master: MasterCheck | None = None,
) -> Path:
    """Scaffold episodes/<slug>/index.md, a draft with a fresh permanent GUID and placeholder show notes; the master
    is copied into the bundle unless it already lives in the project or under a [media] root. Returns the new
    index.md. Every option is checked first (the master exists and, with `check_master`, is media; the topics are in
    [catalog] topics; the folder is new): one UsageError lists what is wrong, and then nothing is written."""
    config = load_config(project)
    problems: list[str] = []
    title = " ".join(title.split())
    if not title:
        problems.append('TITLE: empty; give the episode a title, e.g. mediafeed new "Lithium Levels" ...')
    if slug is not None and not SLUG.match(slug):
        problems.append(f"--slug: {slug!r} is not a folder name; use lowercase letters, digits and hyphens, e.g. my-episode")
        slug = None
    elif slug is None and title:
        slug = slugify(title)
        if not slug:
            problems.append(f"TITLE: cannot make a folder name from {title!r}; pass --slug my-episode")
    problems += _master_problems(media, check_master)
    problems += _topic_problems(topics, config.topics)
    bundle = project / "episodes" / slug if slug else None
    if bundle is not None and (bundle.exists() or bundle.is_symlink()):
        problems.append(f"episodes/{slug} already exists; choose another title or pass --slug")
    if problems or bundle is None:
        raise UsageError("\n".join(problems))

    source = media.resolve()
    if any(source.is_relative_to(root) for root in (project.resolve(), *config.media_roots)):
        media_ref, copy = os.path.relpath(source, bundle.resolve(strict=False)), False
    else:
        media_ref, copy = source.name, True
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"guid: {uuid.uuid4()}",
        f"kind: {kind}",
        "draft: true                  # kept out of every feed until you delete this line (or write draft: false)",
        f"topics: [{', '.join(topics)}]",
        f"published: {published.isoformat()}",
        f"media: {json.dumps(media_ref, ensure_ascii=False)}",
        "episode_type: full",
        "explicit: false",
        "persons: []",
        "articles: []",
        "---",
        PLACEHOLDER_NOTES,
        "",
    ]
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.mkdir()
    try:
        if copy:
            with source.open("rb") as reader, atomic_file(bundle / source.name) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
        index = bundle / "index.md"
        write_atomically(index, "\n".join(lines).encode("utf-8"))
    except BaseException:
        shutil.rmtree(bundle, ignore_errors=True)  # all or nothing: no half bundle for `check` to trip over
        raise
    return index


def _master_problems(media: Path, check_master: MasterCheck | None) -> list[str]:
    shown = str(media)
    if not media.exists():
        return [f"--media: no such file: {shown}; pass the path of the episode's master (an audio or video file)"]
    if not media.is_file():
        what = "a folder" if media.is_dir() else "not a regular file"
        return [f"--media: {shown} is {what}; pass the master file itself (an audio or video file)"]
    try:
        empty = media.stat().st_size == 0
        with media.open("rb"):
            pass
    except OSError as exc:
        return [f"--media: cannot read {shown} ({exc.strerror}); check the file's permissions"]
    if empty:
        return [f"--media: {shown}: empty file (0 bytes); export or copy the master again"]
    why = check_master(media) if check_master is not None else None
    return [f"--media: {shown}: {why}"] if why else []


def _topic_problems(topics: tuple[str, ...], known: tuple[str, ...]) -> list[str]:
    problems = []
    for topic in topics:
        if not SLUG.match(topic):
            problems.append(f"--topic: {topic!r} is not a topic slug; use lowercase letters, digits and hyphens")
        elif known and topic not in known:
            problems.append(
                f"--topic: unknown topic {topic!r}; use topics listed in mediafeed.toml [catalog]: {', '.join(known)}"
                " (or add it there)"
            )
    return problems


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
