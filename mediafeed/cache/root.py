"""The project root that portable values are restored inside.

`store.portable` writes every path inside the project relative to it; while a value is unpickled (`store.restore`,
or `remote.safe_restore` for the shared tier through its allow-list) the root is set here, where the pickled helper
that rebuilds such a path reads it. Its own module, so that the shared tier and the store need not import each other.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

_RESTORING = threading.local()


@contextlib.contextmanager
def restoring(root: Path | None) -> Iterator[None]:
    """While unpickling a portable value: the root its relative paths are inside."""
    _RESTORING.root = root
    try:
        yield
    finally:
        _RESTORING.root = None


def current_root() -> Path | None:
    """The root `restoring` set on this thread (None outside it)."""
    return getattr(_RESTORING, "root", None)
