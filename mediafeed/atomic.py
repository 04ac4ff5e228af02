"""The one way mediafeed replaces a file: all at once or not at all (a temporary file in the same folder, flushed to
disk, renamed over the old one), with ordinary permissions."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".mediafeed-"  # every temporary file starts so: a reader (a target's listing) can tell and skip them
FILE_MODE = 0o644  # readable by the web server and the other users of a shared catalog, like a file saved by an editor


@contextmanager
def atomic_file(path: Path, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """A binary handle whose bytes become `path` when the block ends without an exception (and never half of them)."""
    fd, temp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    with atomic_file(path, mode) as handle:
        handle.write(data)
