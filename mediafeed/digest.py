"""Content hashes: they name published media (content-addressed keys) and tell what changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(stem: str, sha256: str, suffix: str) -> str:
    """A content-addressed key (`media/<slug>-<sha8>.mp3`): it changes whenever the bytes do, as apps cache by URL."""
    return f"{stem}-{sha256[:8]}{suffix}"
