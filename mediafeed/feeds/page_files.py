"""Where the web pages' templates and static files live, and a digest of their bytes.

Kept apart from pages.py (which imports Jinja2 and Pillow) so that the no-op receipt can include the digest without
loading the renderer: code digests cover Python sources only, and an edited template must still re-render pages.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@cache
def templates_digest() -> str:
    """The bytes of every template and static file, with their names."""
    digest = hashlib.sha256()
    for folder in (TEMPLATES, STATIC):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]
