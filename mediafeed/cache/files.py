"""Writing one build/ cache file: atomically (a temp file renamed into place), and never failing a run for it."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path


def store(path: Path, value: object) -> bool:
    """Pickle `value` to `path`; False when it could not be written (the temp file is removed then)."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
        return True
    except (OSError, pickle.PicklingError):
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        return False
