"""URL facts every layer shares."""

from __future__ import annotations

from typing import TypeGuard
from urllib.parse import urlparse


def is_http_url(value: object) -> TypeGuard[str]:
    """An absolute http(s) URL (scheme and host), surrounding whitespace allowed."""
    if not isinstance(value, str):
        return False
    parsed = urlparse(value.strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)
