"""What code makes a derived thing: a digest of the modules a stage runs and of the libraries they import.

Each cached stage names the module that does its work (`mediafeed.media.encode`, `mediafeed.media.tags`, ...). Its
digest covers that module's source and every `mediafeed` module it imports, transitively (package `__init__` files
included, subfolders too; the cache package itself only for the cache's own keys), plus the installed versions of the
third-party distributions those modules import and the Python version. So editing the tag writer re-tags without
re-encoding, a comment in the encoder re-encodes, and the CLI's help text (imported by no stage) re-derives nothing.
No version constant is ever bumped by hand.

Imports are found with a regular expression over the source (no import, no AST: ~1 ms for the whole package), so a
digest costs little enough to be computed on every run, the no-op one included.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from functools import cache
from pathlib import Path

PACKAGE = "mediafeed"
ROOT = Path(__file__).resolve().parent.parent  # the mediafeed package folder that is running

# `from X import a, b` / `from X import (a,\n b)` / `import X, Y`; only statements starting a line.
_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]+)", re.M)

# Import names whose distribution is named otherwise (the rest are looked up under their own name).
DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow", "markdown": "markdown", "botocore": "botocore", "boto3": "boto3"}


def _file_of(module: str) -> Path | None:
    """The source file of a module of this package, or None (not ours, or not a module but a name in one)."""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    parts = module.split(".")[1:]
    as_file = ROOT.joinpath(*parts).with_suffix(".py") if parts else None
    if as_file is not None and as_file.is_file():
        return as_file
    as_package = ROOT.joinpath(*parts, "__init__.py")
    return as_package if as_package.is_file() else None


def _module_of(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of this package, top-level names of other imports) that `path` imports."""
    text = path.read_text(encoding="utf-8")
    here = _module_of(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    ours: set[str] = set()
    others: set[str] = set()
    for source, names in _FROM.findall(text):
        if source.startswith("."):
            dots = len(source) - len(source.lstrip("."))
            base = package.rsplit(".", dots - 1)[0] if dots > 1 else package
            source = base + ("." + source.lstrip(".") if source.strip(".") else "")
        if source == "__future__":
            continue
        if source == PACKAGE or source.startswith(PACKAGE + "."):
            ours.add(source)
            for name in re.findall(r"\w+", names):
                if _file_of(f"{source}.{name}") is not None:
                    ours.add(f"{source}.{name}")
        else:
            others.add(source.split(".")[0])
    for names in _IMPORT.findall(text):
        for name in names.split(","):
            module = name.strip().split(" ")[0]
            if module.startswith(PACKAGE + ".") or module == PACKAGE:
                ours.add(module)
            elif module:
                others.add(module.split(".")[0])
    return ours, others


CACHE = f"{PACKAGE}.cache"


def closure(module: str) -> tuple[list[Path], set[str]]:
    """The source files `module` runs (itself, its parent packages, what it imports, transitively) and the
    third-party top-level import names among them.

    The cache package is left out unless `module` is in it: it is how results are kept, not how they are made, so
    a change to it does not make every encoded file again (a value it can no longer read is simply a miss)."""
    seen: dict[Path, None] = {}
    third: set[str] = set()
    todo = [module]
    keep_cache = module == CACHE or module.startswith(CACHE + ".")
    while todo:
        name = todo.pop()
        if not keep_cache and (name == CACHE or name.startswith(CACHE + ".")):
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__ too
            path = _file_of(".".join(parts[:depth]))
            if path is None or path in seen:
                continue
            seen[path] = None
            ours, others = _imports(path)
            todo.extend(ours)
            third |= others
    stdlib = sys.stdlib_module_names
    return sorted(seen), {name for name in third if name not in stdlib and name != PACKAGE}


@cache
def installed_versions() -> dict[str, str]:
    """Normalized distribution name → version, from the `<name>-<version>.dist-info` folders on sys.path (one
    listing per folder, site-packages and Debian's dist-packages alike; importlib.metadata would cost ~30 ms)."""
    versions: dict[str, str] = {}
    for folder in sys.path:
        if not os.path.isdir(folder):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name[: -len(".dist-info")].partition("-")
                versions.setdefault(_normalized(dist), version)
    return versions


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def code_digest(module: str) -> str:
    """The digest of the code that `module` runs: its sources, the libraries it imports and the Python version."""
    files, third = closure(module)
    digest = hashlib.sha256(f"{sys.version_info[:3]}\0".encode())
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    versions = installed_versions()
    for name in sorted(third):
        dist = _normalized(DISTRIBUTIONS.get(name, name))
        digest.update(f"{name}={versions.get(dist, '?')}\0".encode())
    return digest.hexdigest()[:32]
