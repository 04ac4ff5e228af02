"""Rendered documents remembered in build/, keyed by everything they are rendered from.

Rendering a feed of thousands of items (feedgen + lxml) or related.json costs
more than everything else a no-op publish does, yet the renderers are pure: the same inputs give the same bytes
(the determinism the feed tests pin down). So the inputs are pickled and hashed together with the mediafeed source
digest, and the bytes rendered last time are reused when that digest matches. Equal pickles mean equal inputs;
the pickle is written without a memo, so sharing between objects does not change it (and if some other detail
made equal inputs pickle differently, that would cost a re-render, never a wrong document).

One file per document name (a feed id, "related"), so the folder holds only the latest render of each. Like every
build/ file it is only a cache: deleting it costs time, never correctness.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mediafeed.cache import files as cachefile
from mediafeed.cache.load import code_digest

FOLDER = "rendered"
T = TypeVar("T")


def cached_render(build_dir: Path | None, name: str, inputs: object, render: Callable[[], T]) -> T:
    """render(), or what it returned last time for the same `inputs` (anything picklable that determines it)."""
    if build_dir is None:
        return render()
    try:
        digest = hashlib.sha256(code_digest().encode() + pickled(inputs))
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return render()
    path = build_dir / FOLDER / f"{name}.pickle"
    key = digest.hexdigest()
    try:
        with path.open("rb") as handle:
            stored_key, result = pickle.load(handle)
        if stored_key == key:
            return result  # type: ignore[no-any-return]
    except Exception:  # missing, corrupt, or from another version: render again
        pass
    result = render()
    cachefile.store(path, (key, result))
    return result


def pickled(inputs: object) -> bytes:
    """A pickle without its memo: equal values give equal bytes whether or not objects are shared between them
    (a freshly loaded episode shares strings and paths that one from the load cache does not)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: every object is written out in full where it occurs
    pickler.dump(inputs)
    return buffer.getvalue()
