"""What we learned about files (content hash, probe result), remembered by size + mtime as git's index does.

Hashing and probing every master on every run would make a no-op publish as slow as the first one; a file whose
size and modification time are unchanged is taken to be unchanged. The index lives in build/ and is only a
cache: deleting it costs time, never correctness of what is published.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mediafeed.digest import sha256_file
from mediafeed.media import ffmpeg
from mediafeed.models import MediaInfo

INDEX_NAME = "file-index.json"
FORMAT = 2  # bump when MediaInfo gains fields, so old probes are redone


DIRECT_HASH = 1024 * 1024  # files up to this size are hashed on every call: cheaper than loading the index


class FileFacts:
    """The index is read on first use: a publish whose deliveries all come from the prepare cache only hashes a
    few small files (feed artwork), and reading a 10,000-episode index (~14 MB of JSON) would cost more."""

    def __init__(self, build_dir: Path | None) -> None:
        self.path = build_dir / INDEX_NAME if build_dir else None
        self._entries: dict[str, dict[str, Any]] | None = None
        self.changed = False
        self.lock = threading.Lock()
        self.keys: dict[Path, str] = {}  # path as asked → resolved key: one realpath per file per run, not per call

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The index (read now if not yet); call with self.lock held when threads may race."""
        if self._entries is None:
            self._entries = {}
            if self.path and self.path.is_file():
                try:
                    data = json.loads(self.path.read_text())
                    if data.get("format") == FORMAT and isinstance(data.get("files"), dict):
                        self._entries = data["files"]
                except (OSError, ValueError):
                    pass
        return self._entries

    def _key(self, file: Path) -> str:
        """str(file.resolve()), with each folder resolved once: a file that is no symlink costs one lstat."""
        key = self.keys.get(file)
        if key is None:
            folder = self.keys.get(file.parent)
            if folder is None:
                folder = self.keys[file.parent] = str(file.parent.resolve())
            if file.name in ("", ".", "..") or stat.S_ISLNK(os.lstat(file).st_mode):
                key = str(file.resolve())
            else:
                key = os.path.join(folder, file.name)
            self.keys[file] = key
        return key

    def _entry(self, file: Path) -> dict[str, Any]:
        now = file.stat()
        key = self._key(file)
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry.get("size") != now.st_size or entry.get("mtime_ns") != now.st_mtime_ns:
                entry = {"size": now.st_size, "mtime_ns": now.st_mtime_ns}
                self.entries[key] = entry
                self.changed = True
            return entry

    def knows_sha256(self, file: Path) -> bool:
        """Whether sha256() answers at once: the hash is remembered for the file as it is now (same size and
        mtime), or the file is small enough to be hashed directly."""
        now = file.stat()
        if now.st_size <= DIRECT_HASH:
            return True
        with self.lock:
            entry = self.entries.get(self._key(file))
            return bool(
                entry and entry.get("size") == now.st_size and entry.get("mtime_ns") == now.st_mtime_ns and "sha256" in entry
            )

    def sha256(self, file: Path) -> str:
        if file.stat().st_size <= DIRECT_HASH:
            return sha256_file(file)
        entry = self._entry(file)
        if "sha256" not in entry:
            digest = sha256_file(file)
            with self.lock:
                entry["sha256"] = digest
                self.changed = True
        return str(entry["sha256"])

    def probe(self, file: Path) -> MediaInfo:
        entry = self._entry(file)
        cached = entry.get("probe")
        if isinstance(cached, dict):
            try:
                return MediaInfo(**{**cached, "path": file})
            except TypeError:
                pass  # written by another version: probe again
        info = ffmpeg.probe(file)
        with self.lock:
            entry["probe"] = {k: v for k, v in asdict(info).items() if k != "path"}
            self.changed = True
        return info

    def save(self) -> None:
        """Write the index atomically; a failure to cache is not worth failing a publish for."""
        if not self.changed or self.path is None or self._entries is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".index-", dir=self.path.parent)
            with os.fdopen(fd, "w") as handle:
                json.dump({"format": FORMAT, "files": self.entries}, handle, sort_keys=True)
            os.replace(temp, self.path)
            self.changed = False
        except OSError:
            pass
