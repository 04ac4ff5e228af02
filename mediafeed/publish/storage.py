"""Publish targets behind one small interface: a local folder here, S3-compatible stores in s3storage.py.

The interface is what the publisher needs and nothing more: put a file or bytes under a key, stat a key (to confirm
an upload landed whole), list keys, and read/write the manifest with a compare-and-swap so two publishes at once
cannot silently undo each other.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from mediafeed.atomic import TEMP_PREFIX, atomic_file
from mediafeed.content_types import BOOKKEEPING_PREFIX, NO_CACHE, content_type_for
from mediafeed.digest import sha256_bytes, sha256_file
from mediafeed.errors import EnvironmentProblem, StorageError
from mediafeed.files import explain

BOOKKEEPING = BOOKKEEPING_PREFIX  # the manifest, the lease: never public, never listed as content
MANIFEST_KEY = BOOKKEEPING + "manifest.json"
COPY_CHUNK = 1 << 20  # a local put_file copies (and reports) this many bytes at a time


@dataclass(frozen=True)
class ObjectStat:
    key: str
    size: int
    sha256: str | None = None  # what the target says the object holds (S3: x-amz-meta-sha256); None from a listing
    modified: datetime | None = None  # last written (from a listing; S3 LastModified, a file's mtime), UTC


class Storage(Protocol):
    concurrency: int  # how many writes apply_plan may run at once

    def describe(self) -> str: ...
    def stat(self, key: str) -> ObjectStat | None: ...
    def list(self, prefix: str = "") -> Iterator[ObjectStat]: ...
    # put_*: the landed object's stat when the write itself proves it (else None: the caller stats the key).
    # put_file's `sent` is told each amount of bytes sent as they go (for a progress display).
    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        cache_control: str,
        sha256: str | None = None,
        sent: Callable[[int], None] | None = None,
    ) -> ObjectStat | None: ...
    def put_bytes(
        self, key: str, data: bytes, content_type: str, cache_control: str, sha256: str | None = None, encoding: str = ""
    ) -> ObjectStat | None: ...  # `encoding`: "gzip" when `data` is gzipped (stored with Content-Encoding: gzip)
    def read(self, key: str) -> bytes | None: ...  # the object's bytes, None when it does not exist
    def delete(self, key: str) -> None: ...  # gone afterwards (deleting a missing key is no error)
    def delete_many(self, keys: Iterable[str]) -> None: ...
    def read_manifest(self) -> tuple[bytes | None, str | None]: ...
    def manifest_version(self) -> str | None: ...
    def put_manifest(self, data: bytes, expected_version: str | None) -> str | None: ...
    # Conditional writes of small bookkeeping objects (the lease): create only if absent, replace or delete only if
    # the object is still the version read. PreconditionFailed when the condition does not hold.
    def read_versioned(self, key: str) -> tuple[bytes | None, str | None]: ...
    def create_object(self, key: str, data: bytes) -> str | None: ...
    def replace_object(self, key: str, data: bytes, expected_version: str) -> str | None: ...
    def delete_object_if(self, key: str, expected_version: str) -> None: ...


class ManifestConflict(StorageError):
    """Another publish changed the manifest since this one read it."""


class PreconditionFailed(StorageError):
    """A conditional write's condition did not hold: the object exists (create) or is another version (replace)."""


class LocalStorage:
    """A folder served as-is by any web server; every write is a temp file renamed into place."""

    concurrency = 4

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError(f"refusing a key outside the target folder: {key}")
        return path

    def stat(self, key: str) -> ObjectStat | None:
        path = self._path(key)
        return ObjectStat(key, path.stat().st_size, sha256_file(path)) if path.is_file() else None

    def list(self, prefix: str = "") -> Iterator[ObjectStat]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith(TEMP_PREFIX):
                info = path.stat()
                yield ObjectStat(key, info.st_size, modified=datetime.fromtimestamp(info.st_mtime, UTC))

    def read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes() if path.is_file() else None
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        if key == MANIFEST_KEY:
            raise StorageError("refusing to delete the manifest")
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {path}: {exc.strerror}", hint="check permissions") from None
        with suppress(OSError):  # an emptied folder goes too (never the target's own)
            if path.parent != self.root.resolve():
                path.parent.rmdir()

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        cache_control: str,
        sha256: str | None = None,
        sent: Callable[[int], None] | None = None,
    ) -> ObjectStat | None:
        with self._atomic(key) as handle, path.open("rb") as source:
            while chunk := source.read(COPY_CHUNK):
                handle.write(chunk)
                if sent is not None:
                    sent(len(chunk))
            size = handle.tell()
        # What this call wrote (a later stat could see another publisher's rename): the caller verified the source.
        return ObjectStat(key, size, sha256)

    def put_bytes(
        self, key: str, data: bytes, content_type: str, cache_control: str, sha256: str | None = None, encoding: str = ""
    ) -> ObjectStat | None:
        if encoding:  # a folder has no header to say so: any web server would send the gzip bytes as the page
            raise StorageError(f"{key}: a local target stores files as they are, not {encoding}-encoded")
        with self._atomic(key) as handle:
            handle.write(data)
        return ObjectStat(key, len(data), sha256 or sha256_bytes(data))

    def read_manifest(self) -> tuple[bytes | None, str | None]:
        path = self._path(MANIFEST_KEY)
        if not path.is_file():
            return None, None
        data = path.read_bytes()
        return data, sha256_bytes(data)

    def manifest_version(self) -> str | None:
        return self.read_manifest()[1]

    def put_manifest(self, data: bytes, expected_version: str | None) -> str | None:
        """Compare-and-swap under an exclusive lock: the version is the hash of the manifest read at plan time.

        Returns the new version (the hash of `data`)."""
        self._ensure_root()
        lock_path = self.root / f"{TEMP_PREFIX}lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _, current = self.read_manifest()
            if current != expected_version:
                if current == sha256_bytes(data):
                    return current  # already this manifest (a repeated write): nothing to undo, as on S3
                raise ManifestConflict(
                    "another publish updated this target while this one was running",
                    hint="run the publish again; it will plan from the new state",
                )
            self.put_bytes(MANIFEST_KEY, data, content_type_for(MANIFEST_KEY), NO_CACHE)
            return sha256_bytes(data)

    def read_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.read(key)
        return (None, None) if data is None else (data, sha256_bytes(data))

    def create_object(self, key: str, data: bytes) -> str | None:
        """Exclusive create: the bytes go to a temporary file that is then hard-linked into place, and link(2), like
        open(O_CREAT|O_EXCL), fails when the name exists; unlike it, nobody can read a half-written object."""
        path = self._path(key)
        with self._atomic(key + ".new") as handle:
            handle.write(data)
        temp = self._path(key + ".new")
        try:
            os.link(temp, path)
        except FileExistsError:
            raise PreconditionFailed(f"{key} exists") from None
        except OSError as exc:
            raise StorageError(f"cannot create {path}: {exc.strerror}", hint="check permissions") from None
        finally:
            temp.unlink(missing_ok=True)
        return sha256_bytes(data)

    def replace_object(self, key: str, data: bytes, expected_version: str) -> str | None:
        with self._locked():
            if self.read_versioned(key)[1] != expected_version:
                raise PreconditionFailed(f"{key} is not the version read")
            self.put_bytes(key, data, content_type_for(key), NO_CACHE)
        return sha256_bytes(data)

    def delete_object_if(self, key: str, expected_version: str) -> None:
        with self._locked():
            if self.read_versioned(key)[1] != expected_version:
                raise PreconditionFailed(f"{key} is not the version read")
            self._path(key).unlink(missing_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_root()
        with (self.root / f"{TEMP_PREFIX}lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot create the target folder {self.root}: {exc.strerror}",
                hint="check the path and permissions in mediafeed.toml",
            ) from None

    @contextmanager
    def _atomic(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        self._ensure_root()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as handle:  # a full disk mid-write leaves no partial file and the old one in place
                yield handle
        except OSError as exc:  # no permission, disk full, read-only: the target's problem (exit 4), never a traceback
            message, hint = explain(exc, writing=True)
            raise StorageError(f"cannot write {path}: {message}", hint=hint) from None
