"""Builders for the unit tests: tiny catalogs in tmp_path, no ffmpeg, no network.

A project here is the smallest thing `load_catalog` accepts: mediafeed.toml, one feed definition with valid
artwork, and as many episode bundles as a test asks for. Tests state only the fields they care about and
override the rest; `Raw` marks a value written into the YAML verbatim, so a test can choose exactly what
the YAML parser sees (an unquoted timestamp, a syntax error) rather than what yaml.safe_dump would produce.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from mediafeed.catalog.load import load_catalog
from mediafeed.config import Config
from mediafeed.errors import CatalogError, Problem
from mediafeed.models import Catalog

SITE_URL = "https://www.example.org"
GOOD_GUID = "2b7f3f0e-5d4c-4f7e-9a53-0d3b8c1e6a21"
OTHER_GUID = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"

CONFIG_TOML = f"""\
[site]
title = "Example Psychiatry Media"
url = "{SITE_URL}/"

[publish]
target = "local"

[targets.local]
type = "local"
path = "public"
public_url = "http://127.0.0.1:8000"
"""

END_OF_DOCUMENT = "...\n"  # safe_dump ends a bare scalar with a document-end marker
DELETE = object()  # an override value that removes the field


class Raw(str):
    """A YAML value written as-is (`published: 2026-05-01` unquoted is a date to YAML, quoted it is text)."""


def default_feed() -> dict[str, Any]:
    return {
        "title": "Example Psychiatry Podcast",
        "description": "Short, practical episodes for clinicians.",
        "link": f"{SITE_URL}/podcast",
        "language": "en-us",
        "author": "Example Publishing",
        "owner": {"name": "Example Publishing", "email": "podcast@example.org"},
        "image": "artwork/podcast.png",
        "category": "Health & Fitness > Mental Health",
        "explicit": False,
        "type": "episodic",
        "medium": "audio",
        "select": {"kinds": ["podcast"], "topics": []},
    }


def default_episode() -> dict[str, Any]:
    return {
        "title": "Should You Test MTHFR?",
        "guid": GOOD_GUID,
        "kind": "podcast",
        "topics": ["general-psychiatry"],
        "published": Raw("2026-11-20T09:00:00-05:00"),
        "media": "audio.mp3",
    }


def to_yaml(fields: dict[str, Any]) -> str:
    """One `key: value` line per field, in order; Raw values verbatim, others as YAML flow style."""
    lines = []
    for key, value in fields.items():
        if value is DELETE:
            continue
        if isinstance(value, Raw):
            lines.append(f"{key}: {value}\n")
        else:
            dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
            lines.append(f"{key}: {dumped.removesuffix(END_OF_DOCUMENT).strip()}\n")
    return "".join(lines)


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    return {**base, **overrides}


def png_bytes(size: tuple[int, int], mode: str = "RGB") -> bytes:
    """A solid-colour image in PNG, small on disk whatever its pixel size."""
    buffer = io.BytesIO()
    Image.new(mode, size, (30, 90, 160) if mode == "RGB" else (30, 90, 160, 255)).save(buffer, "PNG")
    return buffer.getvalue()


class Project:
    """A throwaway project folder with helpers to write its files."""

    def __init__(self, root: Path, artwork: bytes) -> None:
        self.root = root
        self.artwork = artwork
        root.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.write_bytes("artwork/podcast.png", artwork)
        self.write_feed()

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_config(self, extra: str = "") -> Path:
        return self.write_text("mediafeed.toml", CONFIG_TOML + extra)

    def write_feed(self, name: str = "podcast", **overrides: Any) -> Path:
        return self.write_text(f"feeds/{name}.yaml", to_yaml(merged(default_feed(), overrides)))

    def write_episode(
        self,
        slug: str = "should-you-test-mthfr",
        body: str = "Show notes in **Markdown**.\n",
        *,
        media_bytes: bytes | None = b"ID3",
        **overrides: Any,
    ) -> Path:
        """episodes/<slug>/index.md from the default fields plus overrides, with a dummy audio.mp3 beside it.

        `media_bytes` is the dummy file (None: none); `media=` like any other keyword overrides the field.
        """
        if media_bytes is not None:
            self.write_bytes(f"episodes/{slug}/audio.mp3", media_bytes)
        text = "---\n" + to_yaml(merged(default_episode(), overrides)) + "---\n" + body
        return self.write_text(f"episodes/{slug}/index.md", text)

    def load(self) -> tuple[Config, Catalog]:
        return load_catalog(self.root)

    def problems(self) -> list[Problem]:
        """The problems loading reports; fails the test if loading succeeds."""
        with pytest.raises(CatalogError) as info:
            load_catalog(self.root)
        return info.value.problems
