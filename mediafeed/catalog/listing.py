"""Which feed definitions and episode folders a project has (no parsing): what the catalog will load, and what a
publish receipt re-lists to notice a folder added, removed or renamed."""

from __future__ import annotations

import os
from pathlib import Path

from mediafeed import files

FEED_SUFFIXES = (".yaml", ".yml")


def feed_files(project: Path) -> list[Path]:
    """feeds/*.yaml, then feeds/*.yml, each sorted."""
    folder = project / "feeds"
    names = files.list_dir(folder, "feeds/")  # an unreadable folder is an error, never "no feeds"
    return [folder / name for suffix in FEED_SUFFIXES for name in sorted(names) if name.endswith(suffix)]


def episode_names(project: Path) -> list[str]:
    """The names of the folders under episodes/ that hold an index.md, sorted (a scandir, not a glob: it stats far
    less on 10,000 folders; strings, not paths: a receipt check lists them all)."""
    folder = str(project / "episodes")
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if _is_dir(e))
    except FileNotFoundError:
        return []
    except OSError as exc:  # an unreadable episodes/ is an error, never an empty catalog (that would empty every feed)
        raise files.UnreadableFile(files.catalog_problem(exc, "episodes/")) from None
    return [name for name in names if files.exists(f"{folder}{os.sep}{name}{os.sep}index.md", f"episodes/{name}/")]


def episode_files(project: Path) -> list[Path]:
    """episodes/*/index.md in sorted order."""
    folder = project / "episodes"
    return [folder / name / "index.md" for name in episode_names(project)]


def listing(project: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(feed definition names, episode folder names) as they are now."""
    return tuple(p.name for p in feed_files(project)), tuple(episode_names(project))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
