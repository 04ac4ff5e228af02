"""The content-keyed cache (mediafeed/cache/): the store, content ids, code digests and receipts, without ffmpeg.

- **Store**: values round-trip, paths inside the project follow it when it moves, many keys come back in one call,
  identical files are stored once, and a store it cannot use is no store at all (never an error).
- **ContentIds**: a file's id is its sha256, read from the file only when neither git (a tracked, unmodified file whose
  blob the store has seen) nor the stat index (only for files that had settled, last modified at least RACY_NS
  before they were hashed) can vouch for it.
- **code_digest**: a stage's digest covers the modules it runs and nothing else.
- **Receipts**: valid only for the same key and listing, inside their release window, over the same content.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediafeed.cache import identity
from mediafeed.cache import receipt as receipts
from mediafeed.cache.code import ROOT, closure, code_digest
from mediafeed.cache.identity import ContentIds
from mediafeed.cache.memo import Read, record
from mediafeed.cache.store import DATABASE, FOLDER, Store, key_of, portable
from mediafeed.catalog.load import FileUse
from mediafeed.digest import sha256_bytes, sha256_file

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Mediafeed Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.org",
    "GIT_COMMITTER_NAME": "Mediafeed Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",  # neither the machine's nor the developer's git settings (signing, hooks, autocrlf)
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def settled(*paths: Path, seconds: float = 10) -> None:
    """Date files back, beyond the racy window (and beyond git's: a file as old as the index is racily clean)."""
    past = time.time() - seconds
    for path in paths:
        os.utime(path, (past, past))


def rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """Other bytes of the same length, with the old mtime put back: only the ctime (and the content) tell."""
    before = path.stat()
    assert len(data) == before.st_size and data != path.read_bytes()
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def entries(build: Path) -> list[tuple[str, str, bytes]]:
    """Every row of the store's table, read behind its back."""
    with contextlib.closing(sqlite3.connect(build / FOLDER / DATABASE)) as db:
        return db.execute("SELECT kind, key, value FROM entries").fetchall()


# --- Store ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Master:
    """A value with a path kept as text in a dataclass field (as Episode.media is)."""

    media: str
    seconds: float


def test_values_round_trip_and_paths_inside_the_project_follow_it_when_it_moves(tmp_path: Path) -> None:
    first = tmp_path / "here" / "project"
    first.mkdir(parents=True)

    def value_in(root: Path) -> dict[str, object]:
        index = str(root / "episodes" / "one" / "index.md")
        return {
            "master": root / "episodes" / "one" / "audio.mp3",
            "the project": root,
            "as text in a dataclass": Master(str(root / "episodes" / "one" / "audio.mp3"), 12.5),
            "as text in a named tuple": Read(index, index, "sha256:00"),
            "outside": Path("/srv/elsewhere/audio.mp3"),
            "numbers": (1, 2.5, None),
        }

    store = Store(first / "build", root=first)
    store.put("probe", "k", value_in(first))
    assert store.get("probe", "k") == value_in(first)
    assert store.get("probe", "other") is None and store.get("encode", "k") is None  # by kind and key
    assert all(str(first).encode() not in row[2] for row in entries(first / "build"))  # stored relative to the project
    key = key_of("x", first / "episodes" / "one" / "audio.mp3", root=first)

    moved = tmp_path / "there" / "renamed"
    moved.parent.mkdir()
    shutil.move(first, moved)
    assert Store(moved / "build", root=moved).get("probe", "k") == value_in(moved)
    assert key_of("x", moved / "episodes" / "one" / "audio.mp3", root=moved) == key  # keys do not move either


def test_put_replaces_and_delete_removes(tmp_path: Path) -> None:
    store = Store(tmp_path / "build", root=tmp_path)
    store.put("receipt", "local", "first")
    store.put("receipt", "local", "second")
    store.put("receipt", "s3", "other target")
    assert store.get("receipt", "local") == "second"
    store.delete("receipt", "local")
    assert store.get("receipt", "local") is None and store.get("receipt", "s3") == "other target"
    assert Store(tmp_path / "build", root=tmp_path).get("receipt", "s3") == "other target"  # on disk, not in memory


def test_get_many_returns_the_keys_it_holds_across_query_chunks(tmp_path: Path) -> None:
    store = Store(tmp_path / "build", root=tmp_path)
    values = [(f"k{i}", {"n": i, "path": tmp_path / f"{i}.mp3"}) for i in range(0, 1200, 2)]  # over 500 keys: chunked
    store.put_many("prepared", [(key, portable(value, tmp_path)) for key, value in values])
    store.put("episode", "k1", "another kind")
    asked = [f"k{i}" for i in range(1200)]
    found = store.get_many("prepared", asked)
    assert found == {f"k{i}": {"n": i, "path": tmp_path / f"{i}.mp3"} for i in range(0, 1200, 2)}
    assert store.get_many("prepared", []) == {} and store.get_many("probe", asked) == {}


def test_adopting_the_same_bytes_twice_keeps_one_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "build", root=tmp_path)
    data = b"ID3 encoded bytes" * 100
    first = store.scratch(".mp3")
    assert first.is_file() and first.suffix == ".mp3"
    first.write_bytes(data)
    path, sha = store.adopt(first, ".mp3")
    assert sha == sha256_bytes(data) and path.read_bytes() == data and not first.exists()
    assert path == tmp_path / "build" / FOLDER / "files" / sha[:2] / f"{sha}.mp3"
    kept = path.stat()

    second = store.scratch(".mp3")
    assert second != first
    second.write_bytes(data)
    assert store.adopt(second, ".mp3") == (path, sha)
    assert not second.exists()  # the copy is dropped ...
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)  # ... and the stored file untouched
    assert store.file(sha, ".mp3") == path
    assert store.file(sha, ".mp4") is None and store.file(sha256_bytes(b"other"), ".mp3") is None
    path.unlink()
    assert store.file(sha, ".mp3") is None  # a removed file is not there, whatever the values say


@pytest.mark.parametrize("damage", ["garbage", "directory", "corrupt-value"])
def test_a_corrupt_database_is_no_cache_not_an_error(tmp_path: Path, damage: str) -> None:
    build = tmp_path / "build"
    Store(build, root=tmp_path).put("probe", "k", {"duration": 1.0})
    database = build / FOLDER / DATABASE
    for extra in ("-wal", "-shm"):
        database.with_name(DATABASE + extra).unlink(missing_ok=True)
    if damage == "garbage":
        database.write_bytes(b"this is not an SQLite database\n" * 200)
    elif damage == "directory":
        database.unlink()
        database.mkdir()
    else:
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute("UPDATE entries SET value = ?", (b"\x80\x05not a pickle",))

    store = Store(build, root=tmp_path)
    assert store.get("probe", "k") is None
    assert store.get_many("probe", ["k"]) == {}
    store.put("probe", "k", {"duration": 2.0})  # no error either way
    store.delete("probe", "k")
    if damage != "directory":  # a damaged database is replaced by the first write (else every later run is uncached)
        store.put("probe", "k", {"duration": 2.0})
        assert store.get("probe", "k") == {"duration": 2.0}
        assert Store(build, root=tmp_path).get("probe", "k") == {"duration": 2.0}
    temp = store.scratch(".wav")
    temp.write_bytes(b"RIFF")
    path, _ = store.adopt(temp, ".wav")
    assert path.read_bytes() == b"RIFF"


def test_a_store_that_cannot_be_written_still_makes_files(tmp_path: Path) -> None:
    """No cache, but somewhere to encode into: the encoders write into scratch() files and adopt() them. Every other
    store operation degrades to 'no cache' when build/cache cannot be made (a read-only build/, a file in its place);
    scratch() must too, or a publish fails every episode that needs encoding."""
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / FOLDER).write_text("a file where the cache folder should be\n")
    store = Store(tmp_path / "build", root=tmp_path)
    store.put("probe", "k", 1)
    assert store.get("probe", "k") is None  # no cache ...
    temp = store.scratch(".mp3")  # ... but somewhere to encode into
    temp.write_bytes(b"encoded")
    path, sha = store.adopt(temp, ".mp3")
    assert path.read_bytes() == b"encoded" and sha == sha256_bytes(b"encoded")


# --- ContentIds ------------------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env={**os.environ, **GIT_ENV},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A git work tree with `files` committed (dated back first: a file as new as the index is racily clean)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    settled(*(root / name for name in files))
    git(root, "init", "-q")
    git(root, "add", *files)
    git(root, "commit", "-q", "-m", "catalog")
    return root


def next_second() -> None:
    """Sleep into the next wall-clock second (git compares ctime and mtime by the second)."""
    time.sleep(1.05 - time.time() % 1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree: tracked.txt, sub/deep.txt, edited.txt and restored.txt committed; untracked.txt not."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    files = {"tracked.txt": "tracked\n", "sub/deep.txt": "deep\n", "edited.txt": "before\n", "restored.txt": "abcdef\n"}
    root = make_repo(tmp_path / "repo", files)
    (root / "untracked.txt").write_text("untracked\n")
    return root


def ids_for(project: Path, store: Store | None = None) -> ContentIds:
    return ContentIds(project, store or Store(project / "build", root=project))


def learn(ids: ContentIds, *paths: Path) -> None:
    """A run that reads these files and remembers what it learnt."""
    for path in paths:
        ids.id(path)
    ids.save()


def test_a_tracked_unmodified_file_is_known_by_its_git_blob_without_being_read(repo: Path, tmp_path: Path) -> None:
    tracked, deep = repo / "tracked.txt", repo / "sub" / "deep.txt"
    first = ids_for(repo)
    assert first.id(tracked) == f"sha256:{sha256_file(tracked)}" and first.read == 1  # bytes never seen: read once
    learn(first, tracked, deep)
    store = first.store
    blobs = store.get_all(identity.BLOB_KIND, raw=True)  # blob id → the sha256 hex of the same bytes
    assert blobs[git(repo, "hash-object", "tracked.txt")].decode() == sha256_file(tracked)
    assert blobs[git(repo, "hash-object", "sub/deep.txt")].decode() == sha256_file(deep)

    clone = tmp_path / "clone"  # a fresh checkout: new inodes, mtimes and ctimes, the same bytes
    git(tmp_path, "clone", "-q", "--no-hardlinks", str(repo), str(clone))
    # git's racy rule: a file written in the same timestamp tick as the index cannot be vouched for by its stat (in
    # a clone of this size, that is every file; in a real checkout, only the last few). The next index write (here a
    # `git status`, a tick later) vouches for them, as git itself then does.
    racy = ids_for(clone, Store(repo / "build", root=clone))
    racy_count = sum(1 for name in ("tracked.txt", "sub/deep.txt") if name not in racy._tracked())
    assert racy.id(clone / "tracked.txt") == f"sha256:{sha256_file(tracked)}" and racy.read <= racy_count
    time.sleep(0.05)
    git(clone, "status", "--porcelain")
    ids = ids_for(clone, Store(repo / "build", root=clone))  # the store restored next to it
    assert ids.id(clone / "tracked.txt") == f"sha256:{sha256_file(tracked)}"
    assert ids.id(clone / "sub" / "deep.txt") == f"sha256:{sha256_file(deep)}"
    assert ids.read == 0
    inner = ids_for(clone / "sub", Store(repo / "build", root=clone / "sub"))  # a project below the top of a work tree
    assert inner.id(clone / "sub" / "deep.txt") == f"sha256:{sha256_file(deep)}" and inner.read == 0


def test_modified_or_untracked_files_are_read(repo: Path) -> None:
    names = ("tracked.txt", "edited.txt", "restored.txt", "untracked.txt")
    store = Store(repo / "build", root=repo)
    learn(ids_for(repo, store), *(repo / name for name in names))
    (repo / "edited.txt").write_text("after, and longer\n")
    next_second()  # see the next test for an edit within the second git recorded the file in
    rewrite_keeping_stat(repo / "restored.txt", b"ABCDEF\n")  # same size, same mtime: a new ctime
    ids = ids_for(repo, store)
    for name in names:
        assert ids.id(repo / name) == f"sha256:{sha256_file(repo / name)}", name
    assert ids.read == 3  # all but the tracked, unmodified file (untracked: a fresh file, not in the stat index)


def test_a_same_size_edit_with_mtime_put_back_in_the_second_git_recorded_the_file_is_seen(tmp_path: Path) -> None:
    """`git diff-files` compares ctime and mtime by the whole second (git built without USE_NSEC, as Debian's is): a
    same-size edit with its mtime put back, within the second git last recorded the file's stat (add, checkout, a
    refreshing status), is not listed as modified. The file must not keep the sha256 of its old bytes (everything
    derived from it, probe, encode, prepared, episode, receipt, would be served stale); the stat index (ns, racy rule)
    can tell."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    next_second()  # the whole sequence fits in this second
    start = int(time.time())
    repo = make_repo(tmp_path / "repo", {"master.txt": "abcdef\n"})
    store = Store(tmp_path / "build", root=repo)
    learn(ids_for(repo, store), repo / "master.txt")
    recorded = (repo / "master.txt").stat().st_ctime_ns
    rewrite_keeping_stat(repo / "master.txt", b"ABCDEF\n")
    edited = (repo / "master.txt").stat().st_ctime_ns
    if not start == recorded // 10**9 == edited // 10**9:
        pytest.skip("the machine was too slow to stay within one second")
    assert ids_for(repo, store).id(repo / "master.txt") == f"sha256:{sha256_bytes(b'ABCDEF' + bytes([10]))}"


def test_without_git_every_file_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    ids = ids_for(tmp_path)
    assert ids.id(tmp_path / "a.txt") == f"sha256:{sha256_file(tmp_path / 'a.txt')}"
    assert ids.id(tmp_path / "a.txt") == f"sha256:{sha256_file(tmp_path / 'a.txt')}" and ids.read == 1


def test_the_stat_index_remembers_only_files_that_had_settled_when_hashed(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh.txt", tmp_path / "old.txt"
    fresh.write_text("just written\n")
    old.write_text("written a while ago\n")
    settled(old, seconds=identity.RACY_NS / 1e9 + 1)
    store = Store(tmp_path / "build", root=tmp_path)
    ids = ContentIds(tmp_path, store)
    assert ids.sha256(fresh) == sha256_file(fresh) and ids.sha256(old) == sha256_file(old)
    ids.save()
    assert store.get(identity.STAT_KIND, "./fresh.txt") is None  # a second edit in the same tick would not show
    entry = store.get(identity.STAT_KIND, "./old.txt")
    assert isinstance(entry, tuple) and entry[1] == sha256_file(old)

    again = ContentIds(tmp_path, store)  # the next run takes the settled file's hash from the index, unread
    assert again.sha256(old) == sha256_file(old) and again.read == 0
    rewrite_keeping_stat(old, b"written a while agO\n")  # new ctime: the index no longer vouches for it
    edited = ContentIds(tmp_path, store)
    assert edited.sha256(old) == sha256_bytes(b"written a while agO\n") and edited.read == 1


def test_an_index_entry_taken_within_the_racy_window_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "racy.txt"
    path.write_text("content\n")
    settled(path)
    s = path.stat()
    stat = (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    store = Store(tmp_path / "build", root=tmp_path)
    wrong = "0" * 64
    store.put(identity.STAT_KIND, "./racy.txt", (stat, wrong, s.st_mtime_ns + identity.RACY_NS // 2))
    assert ContentIds(tmp_path, store).sha256(path) == sha256_file(path)  # hashed then: not proof of these bytes
    store.put(identity.STAT_KIND, "./racy.txt", (stat, wrong, s.st_mtime_ns + identity.RACY_NS * 2))
    assert ContentIds(tmp_path, store).sha256(path) == wrong  # settled then: the index is believed (hence the rule)


# --- code_digest ---------------------------------------------------------------------------------------------------


def files_of(module: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in closure(module)[0]}


def test_a_stage_digest_covers_the_modules_it_runs_and_no_others() -> None:
    tags = files_of("mediafeed.media.tags")
    assert {"media/tags.py", "media/ffmpeg.py", "media/__init__.py", "__init__.py"} <= tags
    assert "cli.py" not in tags and "media/encode.py" not in tags
    assert "mutagen" in closure("mediafeed.media.tags")[1]

    encode = files_of("mediafeed.media.encode")
    assert {"media/encode.py", "media/loudness.py", "media/ffmpeg.py"} <= encode
    assert "media/tags.py" not in encode and "cli.py" not in encode

    pipeline = files_of("mediafeed.pipeline")
    assert {"pipeline.py", "media/tags.py", "media/encode.py", "feeds/rss.py", "catalog/load.py"} <= pipeline
    assert "cli.py" not in pipeline

    prepare = files_of("mediafeed.media.prepare")
    assert {"media/encode.py", "media/tags.py"} <= prepare  # a prepared delivery is made by both


def test_code_digests_differ_between_modules_and_are_stable() -> None:
    modules = ["mediafeed.media.tags", "mediafeed.media.encode", "mediafeed.pipeline", "mediafeed.feeds.rss"]
    digests = [code_digest(module) for module in modules]
    assert len(set(digests)) == len(modules)
    assert all(len(d) == 32 and set(d) <= set("0123456789abcdef") for d in digests)
    code_digest.cache_clear()
    assert [code_digest(module) for module in modules] == digests


# --- receipts ------------------------------------------------------------------------------------------------------

SINCE = datetime(2026, 6, 1, tzinfo=UTC)
UNTIL = datetime(2027, 1, 15, 14, tzinfo=UTC)
LISTING = (("podcast.yaml",), ("lithium",))


@pytest.fixture
def saved(tmp_path: Path) -> receipts.Receipt:
    """A receipt over index.md and cover.png (through a symlink), saved for target "local"."""
    (tmp_path / "episodes").mkdir()
    index = tmp_path / "episodes" / "index.md"
    index.write_text("---\ntitle: Lithium\n---\nNotes.\n")
    (tmp_path / "artwork-a.png").write_bytes(b"PNG one")
    (tmp_path / "artwork-b.png").write_bytes(b"PNG one")  # the same bytes under another name
    (tmp_path / "episodes" / "cover.png").symlink_to(tmp_path / "artwork-a.png")
    uses = [
        FileUse(index.parent, "index.md", index),
        FileUse(index.parent, "cover.png", (tmp_path / "artwork-a.png").resolve()),
    ]
    store = Store(tmp_path / "build", root=tmp_path)
    reads = record(uses, ContentIds(tmp_path, store))
    assert [read.content for read in reads] == [
        f"sha256:{sha256_file(index)}",
        f"sha256:{sha256_bytes(b'PNG one')}",
    ]
    receipt = receipts.Receipt("key", LISTING, reads, "etag-1", SINCE, UNTIL, outcome={"uploads": []})
    receipts.save(store, "local", receipt)
    return receipt


def load(project: Path, *, key: str = "key", now: datetime = SINCE, listing: object = LISTING) -> receipts.Receipt | None:
    store = Store(project / "build", root=project)  # a new run: nothing remembered in memory
    return receipts.load(store, "local", key, now, listing, ContentIds(project, store))  # type: ignore[arg-type]


def test_a_receipt_holds_inside_its_window_for_the_same_key_and_listing(tmp_path: Path, saved: receipts.Receipt) -> None:
    assert load(tmp_path) == saved  # the window opens at the latest release ...
    assert load(tmp_path, now=UNTIL - timedelta(seconds=1)) == saved
    assert load(tmp_path, now=UNTIL) is None  # ... and closes at the next one
    assert load(tmp_path, now=SINCE - timedelta(seconds=1)) is None  # a run dated before a release it has seen
    assert load(tmp_path, key="other code or target") is None
    assert load(tmp_path, listing=(("podcast.yaml",), ("lithium", "new-episode"))) is None
    assert load(tmp_path, listing=(("podcast.yaml", "new.yaml"), ("lithium",))) is None
    store = Store(tmp_path / "build", root=tmp_path)
    assert receipts.load(store, "s3", "key", SINCE, LISTING, ContentIds(tmp_path, store)) is None  # one per target
    receipts.forget(store, "local")
    assert load(tmp_path) is None


def test_a_receipt_follows_content_not_stat(tmp_path: Path, saved: receipts.Receipt) -> None:
    index = tmp_path / "episodes" / "index.md"
    os.utime(index, (time.time() + 5, time.time() + 5))  # touched: same bytes
    index.write_bytes(index.read_bytes())  # rewritten: same bytes
    assert load(tmp_path) == saved
    rewrite_keeping_stat(index, index.read_bytes().replace(b"Notes.", b"NOTES."))
    assert load(tmp_path) is None


def test_a_receipt_sees_a_swapped_symlink_and_a_removed_file(tmp_path: Path, saved: receipts.Receipt) -> None:
    cover = tmp_path / "episodes" / "cover.png"
    cover.unlink()
    cover.symlink_to(tmp_path / "artwork-b.png")  # the same bytes, another file
    assert load(tmp_path) is None
    cover.unlink()
    cover.symlink_to(tmp_path / "artwork-a.png")
    assert load(tmp_path) == saved
    (tmp_path / "artwork-a.png").unlink()
    assert load(tmp_path) is None


def test_scratch_files_a_killed_run_left_are_swept_after_a_day(tmp_path: Path) -> None:
    store = Store(tmp_path / "build", root=tmp_path)
    folder = store.scratch(".mp3").parent
    old, recent = folder / ".part-old.mp3", folder / ".part-recent.mp3"
    old.write_bytes(b"left by a killed run")
    recent.write_bytes(b"another run's encode, in progress")
    os.utime(old, (time.time() - 25 * 3600,) * 2)
    Store(tmp_path / "build", root=tmp_path).scratch(".mp3")  # the next run
    assert not old.exists() and recent.exists()


@pytest.mark.parametrize(
    "stage",
    ["mediafeed.media.encode", "mediafeed.media.loudness", "mediafeed.media.probe", "mediafeed.media.verify",
     "mediafeed.media.tags", "mediafeed.media.published", "mediafeed.media.gating"],
)  # fmt: skip
def test_the_media_stages_digests_cover_no_settings_headers_or_models(stage: str) -> None:
    """Encoding, measuring, probing and tagging are remembered by their code's digest, which covers every mediafeed
    module they import: a new target setting, a header or a model field must not re-encode a catalog's media."""
    covered = files_of(stage)
    assert covered.isdisjoint({"config.py", "config_file.py", "models.py", "content_types.py", "validation.py"}), covered
    assert not any(name.startswith(("feeds/", "publish/", "catalog/")) for name in covered), covered
