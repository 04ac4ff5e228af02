"""The one cache: values and files in build/cache/, keyed by content, relocatable and disposable.

- **Values** (probe facts, encode and tag records, loaded episodes, rendered documents, receipts) live in one SQLite
  table under (kind, key). A key is a digest of everything the value is made from: content ids of the input files,
  the digest of the code that makes it (cache.code) and the versions of external tools. Keys are never reused for
  another value, so an entry never needs invalidating: a change makes another key.
- **Files** (encoded and tagged media, levelled bumpers) live in `files/<sha256[:2]>/<sha256><suffix>`, named by
  their own bytes: immutable, and two processes that make the same bytes at once both succeed. A name is a claim,
  not a proof (a disk that filled up, a hand that edited build/): a file is handed out only while its stat is the
  one recorded when it was stored or last hashed; a file whose size differs is damaged, and one whose stat changed
  otherwise is hashed again. A damaged file is removed, so whatever needed it is made again.
- **Relocatable**: values are pickled with every path inside the project written relative to it (`portable`), and
  keys are built from portable descriptions, so moving the project together with build/ keeps every entry valid.
- **Disposable**: any failure to read or write the cache (corrupt, read-only, full disk) costs time, never a run.
- **Shared** (cache/remote.py): the kinds in SHARED, and every store file, also live in a second tier every runner
  reaches (the target's bucket under `_mediafeed/cache/`, or `[cache] url`). A lookup tries build/, then the shared
  tier (and keeps what it found in build/), and only then is the work done; what is made is written to both at once,
  so a runner that is killed loses nothing it finished.

Whoever can write build/ can already change what is published, so values are pickles.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import pickle
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from mediafeed.cache.root import current_root, restoring
from mediafeed.digest import sha256_file

if TYPE_CHECKING:
    from mediafeed.cache.remote import Remote

FOLDER = "cache"
LOCKS = "locks"
DATABASE = "cache.sqlite"
STALE_SCRATCH_S = 24 * 3600
FILE_KIND = "file"  # a store file's name → (inode, size, mtime_ns, ctime_ns) when its bytes were last known to match
FORMAT = 1  # the layout of this folder (table and file names), not of what is stored: that is in the keys
# The kinds of value the shared tier holds: what a runner that starts empty needs to skip work (tool versions,
# probe facts, decode/encode/tag records, prepared deliveries, receipts by manifest version). Not the local
# shortcuts (stat index, store-file stats, loaded episodes, the remembered config), which are about this disk.
SHARED = frozenset({"tool", "probe", "decoded", "loudness", "encode", "tag", "bumper", "prepared", "receipt-at"})
PUSHED = "pushed"  # (shared tier, kind, key) → known to be in the shared tier (found there, or written there)
REMOTE_READERS = 16  # shared-tier lookups in flight at once (get_many)
_ROOT_MARK = "\0project"


def key_of(*parts: object, root: Path | None = None) -> str:
    """A key from values (pickled portably, so equal values give equal keys wherever the project lives)."""
    return hashlib.sha256(portable(parts, root)).hexdigest()


def portable(value: object, root: Path | None) -> bytes:
    """A pickle of `value` without a memo (equal values, equal bytes) in which paths and path strings inside
    `root` are written relative to it."""
    buffer = io.BytesIO()
    _PortablePickler(buffer, root).dump(value)
    return buffer.getvalue()


def restore(data: bytes, root: Path | None) -> Any:
    with restoring(root):
        return pickle.loads(data)


def _inside_root(relative: str, as_text: bool) -> Path | str:
    root = current_root()  # set by `restoring` while a value is unpickled
    if root is None:
        raise pickle.UnpicklingError("a portable value needs its project root")
    text = f"{root}{os.sep}{relative}" if relative else str(root)  # no Path parsing for strings: 40,000 per receipt
    return text if as_text else Path(text)


def _dataclass_with(cls: type, state: dict[str, Any]) -> Any:
    obj: Any = object.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _namedtuple_with(cls: Any, values: tuple[Any, ...]) -> Any:
    return cls(*values)


class _Relative(str):
    """A path string inside the root, relative to it (only ever seen by the pickler)."""


class _PortablePickler(pickle.Pickler):
    """Paths, and str fields of dataclasses and named tuples (an episode's master, the files a receipt read) inside
    the root, are written relative to it.

    reducer_override is not called for str, tuples, dicts and numbers, so this costs one Python call per path and
    per dataclass instance, not per object: keys of 10,000-item feeds are computed at C speed. The price: a path
    kept as a bare str inside a plain tuple, list or dict is NOT rewritten; keep paths in Path objects, dataclasses
    or named tuples."""

    def __init__(self, file: io.BytesIO, root: Path | None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.fast = True  # no memo: shared or not, equal objects are written out the same way
        self.prefix = str(root) + os.sep if root is not None else None
        self.root = str(root) if root is not None else None

    def reducer_override(self, obj: Any) -> Any:
        prefix = self.prefix
        if prefix is None:
            return NotImplemented
        if isinstance(obj, _Relative):
            return _inside_root, (str.__str__(obj), True)
        if isinstance(obj, PurePath):
            text = str(obj)
            if text.startswith(prefix):
                return _inside_root, (text[len(prefix) :], False)
            if text == self.root:
                return _inside_root, ("", False)
            return NotImplemented
        if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):  # a NamedTuple (tuples themselves never come here)
            if any(isinstance(v, str) and v.startswith(prefix) for v in obj):
                return _namedtuple_with, (type(obj), tuple(_Relative(v[len(prefix) :]) if isinstance(v, str)
                                                            and v.startswith(prefix) else v for v in obj))  # fmt: skip
            return NotImplemented
        if hasattr(obj, "__dataclass_fields__") and hasattr(obj, "__dict__"):
            state = obj.__dict__
            if any(isinstance(v, str) and v.startswith(prefix) for v in state.values()):
                moved = {k: _Relative(v[len(prefix) :]) if isinstance(v, str) and v.startswith(prefix) else v
                         for k, v in state.items()}  # fmt: skip
                return _dataclass_with, (type(obj), moved)
        return NotImplemented


class Store:
    """get/put values by (kind, key); adopt/file for content-addressed files. Safe across threads and processes."""

    def __init__(self, build_dir: Path | None, root: Path | None = None) -> None:
        self.folder = build_dir / FOLDER if build_dir is not None else None
        self.root = root  # the project: paths inside it are stored relative to it
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []
        self._temporary: Path | None = None
        self._swept = False  # a forked child's copies of the parent's connection: never used
        self._trusted: dict[str, tuple[int, int, int, int]] = {}  # store files checked this run, by name
        self.remote: Remote | None = None  # the shared tier, attached once the run knows its target (share())
        self.shares = False  # whether this run writes to it (a dry run reads only)
        self.tally = Tally()

    def share(self, remote: Remote | None, *, writes: bool = True) -> None:
        """Attach the shared tier (cache/remote.py) for the rest of the run; `writes`: keep what is made there too."""
        self.remote = remote
        self.shares = writes and remote is not None

    @property
    def files(self) -> Path | None:
        return self.folder / "files" if self.folder is not None else None

    def _connection(self, create: bool = False) -> sqlite3.Connection | None:
        """The database; opened on first use, and created only by a first write: reading never changes build/."""
        if self._pid != os.getpid():  # in a forked child (publish.offload): SQLite connections must not cross a fork
            self._pid, self._opened = os.getpid(), False
            if self._db is not None:
                self._inherited.append(self._db)
                self._db = None
        if self._opened or self.folder is None:
            return self._db
        path = self.folder / DATABASE
        if not create and not path.is_file():
            return None
        self._opened = True
        for attempt in (1, 2):
            try:
                self._db = self._open(path, create)
                break
            except (OSError, sqlite3.Error) as exc:
                self._db = None  # no cache this run (read-only or damaged build/): slower, never wrong
                damaged = isinstance(exc, sqlite3.DatabaseError) and ("not a database" in str(exc) or "malformed" in str(exc))
                if not create:
                    self._opened = False  # a write may still repair or create it
                    break
                if not damaged or attempt == 2:
                    break
                with contextlib.suppress(OSError):  # a damaged cache is worth nothing: start a new one
                    path.unlink()
                    path.with_name(path.name + "-journal").unlink(missing_ok=True)
        return self._db

    def _open(self, path: Path, create: bool) -> sqlite3.Connection:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        # The default rollback journal, not WAL: a reader then writes nothing (no -wal/-shm files), so a command that
        # fails early, or only reads, leaves build/ exactly as it was.
        db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "entries" not in tables or "meta" not in tables:
                db.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, value BLOB, PRIMARY KEY (kind, key))")
                db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if row is None or row[0] != str(FORMAT):
                with _transaction(db):  # another layout of this folder: start over
                    db.execute("DELETE FROM entries")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT),))
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Close the database, and remove the files this run could not keep in the store (the run is over)."""
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
            self._db, self._opened = None, False
            if self._temporary is not None and self._pid == os.getpid():
                shutil.rmtree(self._temporary, ignore_errors=True)
                self._temporary = None

    def get(self, kind: str, key: str) -> Any:
        """The value stored under (kind, key) here or, for a shared kind, in the shared tier; else None."""
        row = None
        with self._lock:
            db = self._connection()
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    row = db.execute("SELECT value FROM entries WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is not None:
            try:
                value = restore(row[0], self.root)
            except Exception:  # written by other code (a class since renamed): as if missing
                value = None
            if value is not None:
                self.tally.count(kind, "local")
                return value
        return self._shared(kind, key)

    def _shared(self, kind: str, key: str) -> Any:
        """A shared kind's value from the shared tier (then kept here too), or None."""
        if self.remote is None or kind not in SHARED:
            return None
        from mediafeed.cache.remote import safe_restore, unseal, value_name

        stored = self.remote.read(value_name(kind, key))
        payload = unseal(stored)
        value = None
        if payload is not None:
            try:
                value = safe_restore(payload, self.root)
            except Exception:  # another format, or not ours: as if missing
                value = None
        if value is None:
            self.tally.count(kind, "missed" if stored is None else "damaged")
            return None
        self.tally.count(kind, "shared")
        assert payload is not None
        self._put_local(kind, [(key, payload)])
        self._put_local(PUSHED, [(self._pushed(kind, key), b"1")])
        return value

    def get_many(self, kind: str, keys: list[str]) -> dict[str, Any]:
        """get() for many keys in one query per 500 (a catalog of 10,000 episodes asks for 10,000 at once), then the
        shared tier for those build/ lacks."""
        found: dict[str, Any] = {}
        rows = self._rows_for(kind, keys, "key, value")
        for key, value in rows:
            with contextlib.suppress(Exception):
                found[key] = restore(value, self.root)
        self.tally.count(kind, "local", len(found))
        missing = [k for k in keys if k not in found]
        if missing and self.remote is not None and kind in SHARED:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(REMOTE_READERS, len(missing))) as pool:
                for key, value in zip(missing, pool.map(lambda k: self._shared(kind, k), missing), strict=True):
                    if value is not None:
                        found[key] = value
        return found

    def get_all(self, kind: str, *, raw: bool = False) -> dict[str, Any]:
        """Every entry of a kind, in one query (the stat index and the git blob map are read whole, once per run);
        `raw`: the stored bytes as they are (values put with put_many that are not pickles)."""
        with self._lock:
            db = self._connection()
            if db is None:
                return {}
            try:
                rows = db.execute("SELECT key, value FROM entries WHERE kind = ?", (kind,)).fetchall()
            except sqlite3.Error:
                return {}
        if raw:
            return dict(rows)
        found: dict[str, Any] = {}
        for key, value in rows:
            with contextlib.suppress(Exception):
                found[key] = restore(value, self.root)
        return found

    def put(self, kind: str, key: str, value: object) -> None:
        """Keep a value here and, for a shared kind, in the shared tier (create-only: an entry there is never replaced)."""
        try:
            data = portable(value, self.root)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return
        self._put_local(kind, [(key, data)])
        if self.remote is not None and self.shares and kind in SHARED:
            self._push(kind, key, data)

    def _push(self, kind: str, key: str, data: bytes) -> None:
        """A value into the shared tier (create-only), remembered here as pushed once it is there."""
        from mediafeed.cache.remote import seal, value_name

        assert self.remote is not None
        name = value_name(kind, key)
        if self.remote.write(name, seal(data)):
            self.tally.count(kind, "written")
        elif not self.remote.exists(name):
            return  # not written (unreachable): try again on a later run
        self._put_local(PUSHED, [(self._pushed(kind, key), b"1")])

    def _pushed(self, kind: str, key: str) -> str:
        assert self.remote is not None
        return key_of(self.remote.describe(), kind, key)

    def share_known(self, kind: str, items: list[tuple[str, object, list[tuple[str, Path]]]]) -> None:
        """Entries found here that the shared tier may lack (made before it was attached, or while it could not be
        reached): each (key, value, its store files as (sha256, path)) pushed once, its files first, so another
        runner finds what this one has. Remembered per shared tier: a later run asks nothing for them."""
        if self.remote is None or not self.shares or not items:
            return
        marks = {key: self._pushed(kind, key) for key, _, _ in items}
        done = set(self.get_all_keys(PUSHED, list(marks.values())))
        todo = [item for item in items if marks[item[0]] not in done]
        if not todo:
            return
        from concurrent.futures import ThreadPoolExecutor

        def one(item: tuple[str, object, list[tuple[str, Path]]]) -> None:
            key, value, files = item
            for sha, path in files:
                self._share_file(path, sha, path.suffix)
            try:
                data = portable(value, self.root)
            except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
                return
            self._push(kind, key, data)

        with ThreadPoolExecutor(max_workers=REMOTE_READERS) as pool:
            list(pool.map(one, todo))

    def kinds(self) -> dict[str, tuple[int, int]]:
        """Entries and bytes per kind of value held here."""
        with self._lock:
            db = self._connection()
            if db is None:
                return {}
            try:
                rows = db.execute("SELECT kind, COUNT(*), SUM(LENGTH(value)) FROM entries GROUP BY kind").fetchall()
            except sqlite3.Error:
                return {}
        return {kind: (int(count), int(size or 0)) for kind, count, size in rows}

    def get_all_keys(self, kind: str, keys: list[str]) -> list[str]:
        """Which of `keys` have an entry of `kind` here."""
        return [row[0] for row in self._rows_for(kind, keys, "key")]

    def _rows_for(self, kind: str, keys: list[str], columns: str) -> list[tuple[Any, ...]]:
        """`columns` of the entries of `kind` under `keys`, one query per 500 keys; none without a database."""
        rows: list[tuple[Any, ...]] = []
        with self._lock:
            db = self._connection()
            if db is None:
                return rows
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT {columns} FROM entries WHERE kind = ? AND key IN ({marks})"
                    rows += db.execute(query, (kind, *chunk)).fetchall()
            except sqlite3.Error:
                return []
        return rows

    def put_many(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        """Store already portable values (see `portable`) in one transaction, here only."""
        self._put_local(kind, items)

    def _put_local(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        if not items:
            return
        with self._lock:
            db = self._connection(create=True)
            if db is None:
                return
            try:
                with _transaction(db):
                    db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", [(kind, k, v) for k, v in items])
            except sqlite3.Error:
                pass

    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            db = self._connection()
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("DELETE FROM entries WHERE kind = ? AND key = ?", (kind, key))

    @contextlib.contextmanager
    def claim(self, kind: str, key: str) -> Iterator[None]:
        """Held while one writer makes the value of (kind, key), so that another thread or process that wants the
        same thing (two episodes with byte-identical masters, two builds of one project) waits, then finds it in the
        store instead of making it again. One of 256 lock files in build/cache/locks/, chosen by the key (flock:
        released by the kernel when its holder dies; keys that share a file merely wait for each other, and no claim is
        taken while another is held); when that folder cannot be written, a lock for this process's threads only."""
        handle = None
        if self.folder is not None:
            with contextlib.suppress(OSError):
                folder = self.folder / LOCKS
                folder.mkdir(parents=True, exist_ok=True)
                handle = os.open(folder / f"{key[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        if handle is None:
            with _local_claim(kind, key):
                yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # releases the lock

    # --- content-addressed files ----------------------------------------------------------------------------

    def scratch(self, suffix: str) -> Path:
        """A new, unique temporary file name in the store (for a tool to write into; `adopt` it when done). When the
        store's folder cannot be written (a read-only or damaged build/), a private temporary folder serves."""
        for folder in (self.files / "tmp" if self.files is not None else None, None):
            try:
                folder = folder or self._fallback()
                folder.mkdir(parents=True, exist_ok=True)
                self._sweep(folder)
                fd, name = tempfile.mkstemp(prefix=".part-", suffix=suffix, dir=folder)
            except OSError:
                continue
            os.close(fd)
            return Path(name)
        raise OSError(f"no folder to write a temporary {suffix} file into")

    def adopt(self, temp: Path, suffix: str) -> tuple[Path, str]:
        """Move a finished file into the store under its sha256; returns (its path there, sha256). A store that
        cannot take it keeps it in the private temporary folder, for this run only. It goes to the shared tier too."""
        sha = sha256_file(temp)
        final, _ = self._adopt_checked(temp, suffix, sha)
        self._share_file(final, sha, suffix)
        return final, sha

    def _adopt_checked(self, temp: Path, suffix: str, sha: str) -> tuple[Path, str]:
        """adopt() for a file whose sha256 is known."""
        for final in (self.file_path(sha, suffix) if self.files is not None else None, None):
            try:
                final = final or self._fallback() / f"{sha}{suffix}"
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.is_file() and self.trusted(final, sha):
                    temp.unlink(missing_ok=True)  # the same bytes are there already (another run made them too)
                else:
                    os.replace(temp, final)
                    self._remember(final)
            except OSError:
                continue
            return final, sha
        raise OSError(f"cannot keep {temp.name}")

    def _share_file(self, path: Path, sha256: str, suffix: str) -> None:
        """A store file into the shared tier (before any value that names it is written there)."""
        if self.remote is not None and self.shares:
            from mediafeed.cache.remote import file_name

            if self.remote.upload(file_name(sha256, suffix), path):
                self.tally.count(FILE_KIND, "written")

    def _sweep(self, folder: Path) -> None:
        """Once per run: remove scratch files a killed run left behind (a day old: no live encode is that slow)."""
        if self._swept:
            return
        self._swept = True
        stale = time.time() - STALE_SCRATCH_S
        for leftover in folder.glob(".part-*"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < stale:
                    leftover.unlink()

    def _fallback(self) -> Path:
        """A private temporary folder for files this run makes when the store cannot keep them (removed by close)."""
        if self._temporary is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="mediafeed-"))
        return self._temporary

    def holds(self, path: Path) -> bool:
        """Whether `path` is (where) a store file (is): not a source such as a passed-through master."""
        return self.files is not None and path.parent.parent == self.files

    def file_path(self, sha256: str, suffix: str) -> Path:
        assert self.files is not None
        return self.files / sha256[:2] / f"{sha256}{suffix}"

    def file(self, sha256: str, suffix: str) -> Path | None:
        """The stored file with these bytes: here, or fetched from the shared tier (checked against its name)."""
        if self.files is not None:
            path = self.file_path(sha256, suffix)
            if self.trusted(path, sha256):
                self.tally.count(FILE_KIND, "local")
                return path
        return self.fetch(sha256, suffix)

    def fetch(self, sha256: str, suffix: str) -> Path | None:
        """Download a store file from the shared tier; a download whose bytes are not the ones named is thrown away
        (truncated, corrupt: as if missing, so it is made again), never used."""
        if self.remote is None:
            return None
        from mediafeed.cache.remote import file_name

        try:
            scratch = self.scratch(suffix)
        except OSError:
            return None
        try:
            if not self.remote.download(file_name(sha256, suffix), scratch):
                self.tally.count(FILE_KIND, "missed")
                return None
            if sha256_file(scratch) != sha256:
                self.tally.count(FILE_KIND, "damaged")
                return None
            path, _ = self._adopt_checked(scratch, suffix, sha256)
            self.tally.count(FILE_KIND, "shared")
            return path
        except OSError:
            return None
        finally:
            scratch.unlink(missing_ok=True)

    def trusted(self, path: Path, sha256: str) -> bool:
        """Whether the store file `path` holds the bytes named `sha256`: its stat is the one recorded (cheap), or, when
        it changed, its bytes hash to it again. A file that does not (truncated, overwritten) is removed. Only store
        files are judged: a source (a master published as it is) is never hashed, recorded or removed here."""
        if not self.holds(path):
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        now = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with self._lock:
            if self._trusted.get(path.name) == now:
                return True
        recorded = self.get(FILE_KIND, path.name)
        if recorded != now:
            damaged = isinstance(recorded, tuple) and len(recorded) == 4 and recorded[1] != st.st_size
            try:
                damaged = damaged or sha256_file(path) != sha256
            except OSError:
                return False
            if damaged:
                with contextlib.suppress(OSError):
                    path.unlink()
                self.delete(FILE_KIND, path.name)
                return False
            self.put(FILE_KIND, path.name, now)
        with self._lock:
            self._trusted[path.name] = now
        return True

    def discard(self, sha256: str, suffix: str) -> None:
        """Remove a store file that must not be used (it failed verification)."""
        if self.files is not None:
            path = self.file_path(sha256, suffix)
            with contextlib.suppress(OSError):
                path.unlink()
            self.delete(FILE_KIND, path.name)
            with self._lock:
                self._trusted.pop(path.name, None)

    def _remember(self, path: Path) -> None:
        """Record the stat of a file just stored, whose bytes were just hashed."""
        with contextlib.suppress(OSError):
            st = os.stat(path)
            now = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            self.put(FILE_KIND, path.name, now)
            with self._lock:
                self._trusted[path.name] = now


_CLAIMS: dict[tuple[str, str], threading.Lock] = {}
_CLAIMS_LOCK = threading.Lock()


@contextlib.contextmanager
def _local_claim(kind: str, key: str) -> Iterator[None]:
    with _CLAIMS_LOCK:
        lock = _CLAIMS.setdefault((kind, key), threading.Lock())
    with lock:
        yield


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Tally:
    """What the tiers answered this run, by kind: found "local" or "shared", "missed", "damaged", "written" (shared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], int] = {}

    def count(self, kind: str, what: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self.counts[(kind, what)] = self.counts.get((kind, what), 0) + n

    def total(self, what: str) -> int:
        return answered(self.counts, what)


def answered(counts: dict[tuple[str, str], int], what: str) -> int:
    """How many lookups or writes of every kind came out as `what` ("local", "shared", "missed", ...)."""
    return sum(n for (_, w), n in counts.items() if w == what)
