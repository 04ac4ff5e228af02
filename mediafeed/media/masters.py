"""Masters in object storage: `media: s3://bucket/key` is downloaded once into build/masters/, keyed by its ETag.

A CI runner without the masters on disk can then publish: each run asks the store for the object's ETag (one HEAD
per master, in parallel) and downloads only an ETag it has not seen; the local copy then goes through the usual
prepare step, whose outputs are keyed by content hash, so an unchanged master is neither downloaded nor processed
again. Which store: [media] endpoint_url / region / profile in mediafeed.toml, credentials from the AWS chain.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import botocore.exceptions as bex

from mediafeed.config import S3Settings
from mediafeed.errors import EnvironmentProblem, MediafeedError
from mediafeed.models import Episode, EpisodeFailure
from mediafeed.progress import Advanced, Finished, Reporter, Started, Task, silent

FOLDER = "masters"


def parse_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def local_name(etag: str, key: str) -> str:
    """The cache file for one object version: its ETag (hashed: multipart ETags hold '-') + the key's suffix.

    The suffix is kept because preparing decides by it (an .mp3 master passes through untouched).
    """
    suffix = PurePosixPath(key).suffix.lower()
    return hashlib.sha256(etag.strip('"').encode()).hexdigest()[:32] + suffix


def resolve(
    episodes: list[Episode], build_dir: Path, settings: S3Settings, report: Reporter = silent, *, client: Any = None
) -> tuple[list[Episode], list[EpisodeFailure]]:
    """Episodes with s3:// masters replaced by local copies; an unreadable master fails only its episode."""
    remote = [e for e in episodes if e.media.startswith("s3://")]
    if not remote:
        return episodes, []
    if client is None:
        from mediafeed.s3client import make_client

        client = make_client(settings, "[media] s3:// masters", pool=16)
    folder = build_dir / FOLDER

    def one(episode: Episode) -> Episode | EpisodeFailure:
        try:
            path = fetch(client, episode.media, folder, settings, report)
        except EnvironmentProblem:
            raise
        except MediafeedError as exc:
            return EpisodeFailure(episode.slug, episode.file, str(exc))
        return replace(episode, media=str(path))

    local: dict[str, Episode] = {}
    failures: list[EpisodeFailure] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for episode, outcome in zip(remote, pool.map(one, remote), strict=True):
            if isinstance(outcome, EpisodeFailure):
                failures.append(outcome)
                report(Finished(Task("download", outcome.slug), "failed", outcome.message))
            else:
                local[episode.slug] = outcome
    resolved = [local.get(e.slug, e) if e.media.startswith("s3://") else e for e in episodes]
    return [e for e in resolved if not e.media.startswith("s3://")], failures


def fetch(client: Any, uri: str, folder: Path, settings: S3Settings, report: Reporter = silent) -> Path:
    """The local copy of `uri`, downloading it only when this ETag is not in `folder` already."""
    from mediafeed.s3client import error_code, translate

    bucket, key = parse_uri(uri)
    who = f"master {uri}"
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        etag, size = str(head["ETag"]), int(head["ContentLength"])
        path = folder / local_name(etag, key)
        if path.is_file() and path.stat().st_size == size:
            return path
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)  # one per writer
        os.close(fd)
        partial = Path(name)
        task, done = Task("download", uri, "bytes"), 0
        report(Started(task, size))
        try:
            # IfMatch: if the master is replaced mid-download, fail instead of caching a mix under the old ETag.
            response = client.get_object(Bucket=bucket, Key=key, IfMatch=etag)
            with partial.open("wb") as handle:
                for chunk in response["Body"].iter_chunks(1 << 20):
                    handle.write(chunk)
                    done += len(chunk)
                    report(Advanced(task, done))
            if partial.stat().st_size != size:
                raise MediafeedError(f"{who}: download incomplete", hint="publish again")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
            report(Finished(task, "done" if path.is_file() and done == size else "failed"))
        return path
    except bex.ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchKey", "NotFound"):
            raise MediafeedError(f"{who}: no such object", hint="check the media: URI (bucket and key)") from None
        if code in ("412", "PreconditionFailed"):
            raise MediafeedError(f"{who}: the object changed during the download", hint="publish again") from None
        problem = translate(exc, who, settings, bucket, key)
        if code in ("NoSuchBucket", "403", "AccessDenied"):
            raise MediafeedError(problem.message, hint=problem.hint) from None  # this master only
        raise problem from None
    except bex.BotoCoreError as exc:
        raise translate(exc, who, settings, bucket, key) from None
    except OSError as exc:
        raise EnvironmentProblem(f"{who}: cannot write {folder}: {exc.strerror}", hint="check free space in build/") from None
