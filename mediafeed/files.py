"""The one gate between mediafeed and the file system for what it reads and writes on a producer's behalf.

Every failure the operating system can give (no permission, a folder where a file was expected, a symlink loop,
a full or read-only disk, a name too long) becomes one of mediafeed's errors that names the file, says what is
wrong and how to fix it: a `CatalogError` (exit 3) for the catalog's own files, an `EnvironmentProblem` (exit 4)
for everything else (the machine, the target). Nothing here prints.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mediafeed import atomic
from mediafeed.errors import CatalogError, EnvironmentProblem, Problem

# errno → (what is wrong, how to fix it when reading, how to fix it when writing)
_REASONS: dict[int, tuple[str, str, str]] = {
    errno.EACCES: (
        "permission denied",
        "let the user running mediafeed read it (check its owner and mode, e.g. chmod a+r, and a+x on its folders)",
        "let the user running mediafeed write there (check the folder's owner and mode)",
    ),
    errno.EPERM: (
        "operation not permitted",
        "let the user running mediafeed read it (check its owner, mode and attributes)",
        "let the user running mediafeed write there (check the owner, mode and attributes, e.g. chattr -i)",
    ),
    errno.EISDIR: ("is a folder, not a file", "name a file", "remove or rename the folder in the way"),
    errno.ENOTDIR: ("a part of the path is not a folder", "correct the path", "remove the file in the way"),
    errno.ELOOP: ("a symlink loop (the link points back at itself)", "point the link at a real file", "fix the link"),
    errno.ENOSPC: ("no space left on the device", "free space on it", "free space on the disk, or choose another place"),
    errno.EDQUOT: ("disk quota exceeded", "free space within the quota", "free space within the quota"),
    errno.EROFS: (
        "read-only file system",
        "mount it read-write",
        "mount it read-write, or work on a writable copy of the project",
    ),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter name or path", "use a shorter name or path"),
    errno.ENOENT: ("not found", "put the file there or correct the name", "create the folder first"),
    errno.EIO: ("input/output error (a failing disk?)", "check the disk", "check the disk"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n)", "raise the limit (ulimit -n)"),
}


def explain(exc: OSError, *, writing: bool = False) -> tuple[str, str]:
    """(what is wrong, how to fix it) for an operating-system error, in words a producer can act on."""
    known = _REASONS.get(exc.errno or 0)
    if known is not None:
        return known[0], known[2] if writing else known[1]
    reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:1].lower() + reason[1:], "check the file and the disk it is on"


class UnreadableFile(CatalogError):
    """One of the catalog's own files cannot be read (exit 3): the problem names it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem])
        self.problem = problem


def catalog_problem(exc: OSError, rel: str, field: str = "") -> Problem:
    message, hint = explain(exc)
    return Problem(rel, field, message, hint)


def environment_error(exc: OSError, rel: str | Path | None = None, *, writing: bool = False) -> EnvironmentProblem:
    """An error of the machine or the target (exit 4) naming the file: `file: what is wrong; how to fix it`."""
    message, hint = explain(exc, writing=writing)
    where = str(rel) if rel is not None else (exc.filename and os.fsdecode(exc.filename)) or ""
    return EnvironmentProblem(message, file=where, hint=hint)


def read_bytes(path: Path, rel: str) -> bytes:
    """The bytes of a catalog file; any operating-system failure is an UnreadableFile naming `rel`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(catalog_problem(exc, rel)) from None


def read_text(path: Path, rel: str) -> str:
    """A catalog file's text (UTF-8, a byte-order mark dropped); raises UnicodeDecodeError for other encodings."""
    return read_bytes(path, rel).decode("utf-8-sig")


def list_dir(path: Path, rel: str, *, missing_ok: bool = True) -> list[str]:
    """The names in a catalog folder; a missing folder is empty when `missing_ok`, an unreadable one an error
    (never an empty catalog)."""
    try:
        return os.listdir(path)
    except FileNotFoundError:
        if missing_ok:
            return []
        raise UnreadableFile(Problem(rel, "", "folder not found", "create it")) from None
    except OSError as exc:
        raise UnreadableFile(catalog_problem(exc, rel)) from None


def exists(path: Path | str, rel: str) -> bool:
    """Whether something is at `path`: False when it is absent, an error when it cannot be looked at."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise UnreadableFile(catalog_problem(exc, rel)) from None
    return True


def is_file(path: Path, rel: str, field: str = "") -> bool:
    """Whether `path` is a regular file (symlinks followed): False when absent or another kind of thing, an
    UnreadableFile when it cannot be looked at (no permission on its folder, a symlink loop)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise UnreadableFile(catalog_problem(exc, rel, field)) from None


def resolve(path: Path, rel: str, field: str = "") -> Path:
    """`path` with every symlink resolved; a symlink loop or an unreadable folder is an UnreadableFile."""
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop so
        raise UnreadableFile(catalog_problem(OSError(errno.ELOOP, "loop"), rel, field)) from None
    except OSError as exc:
        raise UnreadableFile(catalog_problem(exc, rel, field)) from None


def write_atomically(path: Path, data: bytes, rel: str, mode: int | None = None) -> None:
    """Replace a file all at once (mediafeed.atomic); a folder that refuses (read-only, full, no permission) is an
    EnvironmentProblem naming `rel` (exit 4), and the file is left as it was."""
    try:
        atomic.write_atomically(path, data, mode)
    except OSError as exc:
        raise environment_error(exc, rel, writing=True) from None
