"""The shared tier of the one cache: the same entries as build/cache/, in object storage every runner can reach.

By default it lives in the S3 target's own bucket under `_mediafeed/cache/` (never public, like the manifest), or
wherever `[cache] url` says: `s3://bucket/prefix` or a folder (a network mount shared by runners). Layout, under
the cache's root:

    v1/values/<kind>/<key[:2]>/<key>     a value (probe facts, encode/tag/decode records, prepared deliveries,
                                         receipts): "mediafeed-cache 1 <sha256 of the payload>\\n" + payload
    v1/files/<sha[:2]>/<sha><suffix>     a store file (encoded or tagged media, levelled bumpers), named by its bytes
    v1/blobs/<sha256>.txt                a pack of "git-blob-id sha256" lines: content ids a checkout learns from git

Every entry is immutable: a value's key is a digest of everything it is made from, a file's name is its sha256.
Writes are create-only (If-None-Match: * on S3, a hard link on a folder), so two runners racing on one key both
succeed and neither can replace what the other wrote. Reads check what they get: a value's payload against the
sha256 in its header, a file against its name; anything that does not match is treated as missing (and made
again), never used. Values are pickles, read back with an unpickler that builds only mediafeed's own classes and
plain data (whoever can write the bucket can change what is published, but must not run code on a runner).

Any failure to reach the shared tier costs time, never a run: the local tier and the work itself remain.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mediafeed.config import SharedCache, Target

LAYOUT = "v1"
VALUES = f"{LAYOUT}/values/"
FILES = f"{LAYOUT}/files/"
BLOBS = f"{LAYOUT}/blobs/"
HEADER = b"mediafeed-cache 1 "
DEFAULT_PREFIX = "_mediafeed/cache/"


@dataclass(frozen=True)
class Entry:
    name: str  # relative to the cache's root
    size: int
    modified: datetime


class Remote(Protocol):
    """Where the shared tier lives: create-only writes, reads that say "missing" rather than fail."""

    def describe(self) -> str: ...
    def read(self, name: str) -> bytes | None: ...
    def write(self, name: str, data: bytes) -> bool: ...  # False: it was there already (or could not be written)
    def download(self, name: str, destination: Path) -> bool: ...
    def upload(self, name: str, path: Path) -> bool: ...
    def exists(self, name: str) -> bool: ...
    def listing(self, prefix: str) -> Iterator[Entry]: ...
    def delete(self, names: list[str]) -> None: ...


def value_name(kind: str, key: str) -> str:
    return f"{VALUES}{kind}/{key[:2]}/{key}"


def file_name(sha256: str, suffix: str) -> str:
    return f"{FILES}{sha256[:2]}/{sha256}{suffix}"


def seal(payload: bytes) -> bytes:
    """A value as stored: a header naming the payload's sha256, then the payload."""
    return HEADER + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n" + payload


def unseal(data: bytes | None) -> bytes | None:
    """The payload of a stored value, or None when it is not one whole (truncated, altered, another format)."""
    if data is None or not data.startswith(HEADER):
        return None
    head, _, payload = data.partition(b"\n")
    named = head[len(HEADER) :]
    return payload if named == hashlib.sha256(payload).hexdigest().encode("ascii") else None


# --- reading values safely ----------------------------------------------------------------------------------------

_BUILTINS = ("set", "frozenset", "tuple", "list", "dict", "str", "bytes", "bytearray", "int", "float", "bool", "complex")
_PLAIN = {("builtins", name) for name in _BUILTINS} | {
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("pathlib", "Path"),
    ("pathlib", "PosixPath"),
    ("pathlib", "PurePath"),
    ("pathlib", "PurePosixPath"),
    ("collections", "OrderedDict"),
    ("copyreg", "_reconstructor"),
    ("zoneinfo", "ZoneInfo"),
}
_HELPERS = {("mediafeed.cache.store", name) for name in ("_inside_root", "_dataclass_with", "_namedtuple_with")}


class _SafeUnpickler(pickle.Unpickler):
    """Builds plain data and mediafeed's own classes only: a value from the bucket can describe, never run, code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN or (module, name) in _HELPERS:
            return super().find_class(module, name)
        if module == "mediafeed" or module.startswith("mediafeed."):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a shared cache entry")


def safe_restore(payload: bytes, root: Path | None) -> Any:
    """What `store.restore` does, through the allow-list above."""
    from mediafeed.cache.root import restoring

    with restoring(root):
        return _SafeUnpickler(io.BytesIO(payload)).load()


# --- where it lives -------------------------------------------------------------------------------------------------


def open_remote(shared: SharedCache, target: Target | None, project: Path, client: Any = None) -> Remote | None:
    """The shared tier for a run: [cache] url, else the S3 target's bucket under _mediafeed/cache/; None when there
    is none ([cache] shared = false, or a local target without a url). `client`: the target's own S3 client, used
    when the tier is reached with the target's settings (one client, one connection pool, one credential lookup)."""
    if not shared.enabled:
        return None
    url = shared.url
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        own = not shared.s3_set and target is not None and target.type == "s3"
        settings = target.s3 if own and target is not None else shared.s3
        return S3Remote(settings, bucket, _folder(prefix), "the shared cache ([cache] url)", client if own else None)
    if url:
        return FolderRemote((project / url).resolve())
    if target is not None and target.type == "s3":
        prefix = f"{target.prefix}/" if target.prefix else ""
        return S3Remote(target.s3, target.bucket, prefix + DEFAULT_PREFIX, f"target '{target.name}'", client)
    return None


def _folder(prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


class FolderRemote:
    """The shared tier in a folder (a mount every runner sees). Create-only by hard-linking a finished temporary
    file to its name: the link fails when the name exists, so a racing writer never replaces an entry."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def read(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except OSError:
            return None

    def write(self, name: str, data: bytes) -> bool:
        return self._create(name, lambda handle: handle.write(data))

    def upload(self, name: str, path: Path) -> bool:
        def copy(handle: Any) -> None:
            with path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)

        return self._create(name, copy)

    def _create(self, name: str, fill: Any) -> bool:
        final = self.root / name
        if final.exists():
            return False
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".part-", dir=final.parent)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
            os.link(temp, final)
            return True
        except OSError:  # FileExistsError: another writer was first; anything else: no shared copy, still correct
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def download(self, name: str, destination: Path) -> bool:
        try:
            with (self.root / name).open("rb") as source, destination.open("wb") as handle:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)
            return True
        except OSError:
            return False

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def listing(self, prefix: str) -> Iterator[Entry]:
        base = self.root / prefix
        folder = base if prefix.endswith("/") or base.is_dir() else base.parent
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if path.is_file() and name.startswith(prefix) and not path.name.startswith(".part-"):
                with contextlib.suppress(OSError):
                    st = path.stat()
                    yield Entry(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, names: list[str]) -> None:
        for name in names:
            with contextlib.suppress(OSError):
                (self.root / name).unlink()


class S3Remote:
    """The shared tier in a bucket. Create-only by If-None-Match: * (AWS, R2, MinIO and moto honour it; a store that
    ignores it overwrites an entry with the same content, which is harmless: entries are named by what they hold)."""

    def __init__(self, settings: Any, bucket: str, prefix: str, who: str, client: Any = None) -> None:
        from mediafeed.s3client import make_client

        self.settings = settings
        self.bucket = bucket
        self.prefix = prefix
        self.who = who
        self.client = client if client is not None else make_client(settings, who, pool=32)
        self.broken: str | None = None  # why the shared tier stopped answering this run

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}"
        return where + (f" at {self.settings.endpoint_url}" if self.settings.endpoint_url else "")

    def _call(self, name: str, request: Any) -> Any:
        """One request; None when the entry is missing, or when the shared tier cannot be reached (then no more
        requests are made to it this run: each would wait out its retries for nothing)."""
        if self.broken is not None:
            return None
        try:
            return request()
        except Exception as exc:
            from botocore.exceptions import ClientError

            from mediafeed.s3client import CONFLICT_CODES, MISSING_CODES, error_code

            if isinstance(exc, ClientError) and error_code(exc) in MISSING_CODES | CONFLICT_CODES:
                return None  # missing, or (a create-only write) written by someone else first
            self.broken = f"{type(exc).__name__}: {error_code(exc) if isinstance(exc, ClientError) else exc}"
            return None

    def read(self, name: str) -> bytes | None:
        response = self._call(name, lambda: self.client.get_object(Bucket=self.bucket, Key=self.prefix + name))
        if response is None:
            return None
        try:
            return bytes(response["Body"].read())
        except Exception:
            return None

    def write(self, name: str, data: bytes) -> bool:
        put = lambda: self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data, IfNoneMatch="*")  # noqa: E731
        return self._call(name, put) is not None

    def upload(self, name: str, path: Path) -> bool:
        if self.exists(name) or self.broken is not None:
            return False
        key = self.prefix + name
        return self._call(name, lambda: self.client.upload_file(str(path), self.bucket, key) or True) is not None

    def download(self, name: str, destination: Path) -> bool:
        key = self.prefix + name
        return self._call(name, lambda: self.client.download_file(self.bucket, key, str(destination)) or True) is not None

    def exists(self, name: str) -> bool:
        return self._call(name, lambda: self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)) is not None

    def listing(self, prefix: str) -> Iterator[Entry]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield Entry(item["Key"][len(self.prefix) :], int(item["Size"]), item["LastModified"])

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):
            batch = [{"Key": self.prefix + n} for n in names[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
