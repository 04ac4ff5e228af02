"""The S3 backend: any S3-compatible store (AWS S3, MinIO, Cloudflare R2, Backblaze B2) through boto3.

Credentials come only from the standard AWS chain (environment, shared config/credentials files and profiles,
instance or container roles); nothing here prints them. Every object gets a Content-Type, a Cache-Control (long
and immutable for content-addressed media and artwork, short for feeds and indexes), and its sha256 in the object
metadata (`x-amz-meta-sha256`) so `publish --verify` can tell what an object holds without downloading it.

Small files are one PutObject carrying `x-amz-checksum-sha256`, so the store itself checks the bytes against our
hash; large files go through boto3's transfer manager (multipart, parts in parallel, a CRC32 per part checked by
the store). Requests use botocore's *standard* retry mode (AWS_MAX_ATTEMPTS overrides the attempt count) and SigV4
(also for presigned URLs, which botocore would otherwise sign with SigV2 for S3).

The manifest is written with a conditional PutObject: If-Match on the ETag read at plan time, or If-None-Match: *
when the target had no manifest, so two publishes at once cannot silently undo each other.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import botocore.exceptions as bex
from boto3.s3.transfer import TransferConfig

from mediafeed.config import Target
from mediafeed.content_types import NO_CACHE, content_type_for
from mediafeed.digest import sha256_bytes
from mediafeed.errors import StorageError
from mediafeed.publish.storage import MANIFEST_KEY, ManifestConflict, ObjectStat, PreconditionFailed
from mediafeed.s3client import CONFLICT_CODES, MISSING_CODES, error_code, make_client, translate

# A conditional write's condition did not hold: 412 (or 409, a concurrent conditional write on AWS), or 404 (If-Match
# on an object someone deleted). The object is not the one the request was made from.
CONDITION_FAILED = CONFLICT_CODES | {"NoSuchKey", "404"}

MB = 1024 * 1024
MULTIPART_THRESHOLD = 16 * MB  # below this a file is one PutObject (with a server-checked sha256)
MULTIPART_CHUNK = 16 * MB  # part size; 16 MB keeps a 1 GB video under 64 parts
PART_CONCURRENCY = 4  # parts of one large file in flight at once
FILE_CONCURRENCY = 8  # files uploaded at once
DELETE_BATCH = 1000  # keys per DeleteObjects request (the S3 limit)


T = TypeVar("T")


class S3Storage:
    """A bucket (and optional key prefix) behind the Storage protocol. Thread-safe: boto3 clients are."""

    def __init__(
        self,
        target: Target,
        *,
        client: Any = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        multipart_chunksize: int = MULTIPART_CHUNK,
        concurrency: int = FILE_CONCURRENCY,
    ) -> None:
        self.target = target
        self.who = f"target '{target.name}'"
        self.bucket = target.bucket
        self.prefix = f"{target.prefix}/" if target.prefix else ""
        self.concurrency = concurrency
        self.client = client or make_client(target.s3, self.who, pool=concurrency * PART_CONCURRENCY + 4)
        self.multipart_threshold = multipart_threshold
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=PART_CONCURRENCY,
            use_threads=True,
        )

    def presigned_url(self, key: str, seconds: int) -> str:
        """A SigV4 presigned GET of `key`, valid `seconds` from now (signed locally: no request is made)."""
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=seconds
            )
        )

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}"
        return where + (f" at {self.target.endpoint_url}" if self.target.endpoint_url else "")

    def _key(self, key: str) -> str:
        return self.prefix + key

    @contextmanager
    def _errors(self, key: str = "") -> Iterator[None]:
        try:
            yield
        except (bex.BotoCoreError, bex.ClientError) as exc:
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(key) if key else "") from None

    def _call(self, key: str, fn: Callable[..., T], **kwargs: Any) -> T:
        with self._errors(key):
            return fn(Bucket=self.bucket, **kwargs)

    def _unless_missing(self, key: str, fn: Callable[..., Any]) -> Any:
        """fn(Bucket=, Key=) for the object at `key`, or None when it does not exist; other failures translated."""
        try:
            return fn(Bucket=self.bucket, Key=self._key(key))
        except bex.ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return None
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(key)) from None
        except bex.BotoCoreError as exc:
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(key)) from None

    def stat(self, key: str) -> ObjectStat | None:
        head = self._unless_missing(key, self.client.head_object)
        if head is None:
            return None
        return ObjectStat(key, int(head["ContentLength"]), head.get("Metadata", {}).get("sha256"))

    def list(self, prefix: str = "") -> Iterator[ObjectStat]:
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    yield ObjectStat(item["Key"][len(self.prefix) :], int(item["Size"]), modified=item.get("LastModified"))

    def read(self, key: str) -> bytes | None:
        response = self._unless_missing(key, self.client.get_object)
        if response is None:
            return None
        with self._errors(key):
            return bytes(response["Body"].read())

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: Iterable[str]) -> None:
        """DeleteObjects, up to 1000 keys a request; a key that failed to go is an error (a missing one is not)."""
        every = [*keys]
        if MANIFEST_KEY in every:
            raise StorageError("refusing to delete the manifest")
        for start in range(0, len(every), DELETE_BATCH):
            batch = every[start : start + DELETE_BATCH]
            objects = [{"Key": self._key(k)} for k in batch]
            response = self._call(batch[0], self.client.delete_objects, Delete={"Objects": objects, "Quiet": True})
            errors = [e for e in response.get("Errors", []) if e.get("Code") not in MISSING_CODES]
            if errors:
                first = errors[0]
                raise StorageError(
                    f"{self.who}: could not delete {len(errors)} object(s), e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message', '')}".rstrip(),
                    hint="check the credentials allow s3:DeleteObject, then run the command again",
                )

    def _extra(self, content_type: str, cache_control: str, sha256: str | None, encoding: str = "") -> dict[str, Any]:
        extra: dict[str, Any] = {"ContentType": content_type, "CacheControl": cache_control}
        if encoding:
            extra["ContentEncoding"] = encoding
        if sha256:
            extra["Metadata"] = {"sha256": sha256}
        return extra

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        cache_control: str,
        sha256: str | None = None,
        sent: Callable[[int], None] | None = None,
    ) -> ObjectStat | None:
        extra = self._extra(content_type, cache_control, sha256)
        if path.stat().st_size < self.multipart_threshold:
            data = path.read_bytes()
            landed = self._put_object(key, data, extra, sha256)
            if sent is not None:
                sent(len(data))
            return landed
        with self._errors(key):
            # Multipart through the transfer manager: parts in parallel, each with a CRC32 the store checks. Its
            # Callback reports bytes as they go (a negative amount when a retried part starts over).
            self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=extra, Config=self.transfer, Callback=sent)
        return None  # the caller confirms with a HEAD (size + sha256 metadata)

    def put_bytes(
        self, key: str, data: bytes, content_type: str, cache_control: str, sha256: str | None = None, encoding: str = ""
    ) -> ObjectStat | None:
        return self._put_object(key, data, self._extra(content_type, cache_control, sha256, encoding), sha256)

    def _put_object(self, key: str, data: bytes, extra: dict[str, Any], sha256: str | None) -> ObjectStat | None:
        """One PutObject; returns the object's stat when the response itself proves what landed, else None.

        Proof: the store echoes the sha256 checksum it verified (AWS), or the ETag is the MD5 of exactly the bytes
        sent (single-part uploads without SSE-KMS, MinIO, moto). That saves a HEAD per file on the first publish.
        """
        if sha256:
            extra = {**extra, "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode()}
        response = self._call(key, self.client.put_object, Key=self._key(key), Body=data, **extra)
        echoed = response.get("ChecksumSHA256")
        etag = str(response.get("ETag", "")).strip('"')
        if (echoed and echoed == extra.get("ChecksumSHA256")) or etag == hashlib.md5(data, usedforsecurity=False).hexdigest():
            return ObjectStat(key, len(data), sha256)
        return None

    def read_manifest(self) -> tuple[bytes | None, str | None]:
        response = self._unless_missing(MANIFEST_KEY, self.client.get_object)
        if response is None:
            return None, None
        with self._errors(MANIFEST_KEY):
            return response["Body"].read(), response["ETag"]

    def manifest_version(self) -> str | None:
        """The manifest's current ETag (one HEAD), to stop before writing feeds if another publish got in first."""
        head = self._unless_missing(MANIFEST_KEY, self.client.head_object)
        return None if head is None else str(head["ETag"])

    def put_manifest(self, data: bytes, expected_version: str | None) -> str | None:
        """Conditional write: If-Match the ETag read at plan time, or If-None-Match: * on the first publish.

        Returns the new manifest's ETag (what `manifest_version` will report while nobody else writes it)."""
        condition = {"IfMatch": expected_version} if expected_version else {"IfNoneMatch": "*"}
        sha256 = sha256_bytes(data)
        extra = self._extra(content_type_for(MANIFEST_KEY), NO_CACHE, sha256)
        extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode()
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(MANIFEST_KEY), Body=data, **extra, **condition)
            return str(response["ETag"]) if response.get("ETag") else None
        except bex.ClientError as exc:
            # 412: the condition failed; 409: a concurrent conditional write is in progress (AWS); 404: If-Match on a
            # manifest someone deleted. All three mean: the manifest is not the one this plan was made from.
            if error_code(exc) not in CONDITION_FAILED:
                raise translate(exc, self.who, self.target.s3, self.bucket, self._key(MANIFEST_KEY)) from None
        except bex.BotoCoreError as exc:
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(MANIFEST_KEY)) from None
        # A retried request whose first attempt landed also fails its condition: then the manifest is already ours.
        current, version = self.read_manifest()
        if current == data:
            return version
        raise ManifestConflict(
            f"{self.who}: another publish updated {self.describe()} while this one was running",
            hint="run the publish again from an up-to-date catalog; it will plan from the new state",
        )

    def read_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        response = self._unless_missing(key, self.client.get_object)
        if response is None:
            return None, None
        with self._errors(key):
            return bytes(response["Body"].read()), str(response["ETag"])

    def create_object(self, key: str, data: bytes) -> str | None:
        """PutObject with If-None-Match: * (fails with 412 when the key exists)."""
        return self._conditional_put(key, data, IfNoneMatch="*")

    def replace_object(self, key: str, data: bytes, expected_version: str) -> str | None:
        """PutObject with If-Match on the ETag read (fails with 412 when the object changed or went)."""
        return self._conditional_put(key, data, IfMatch=expected_version)

    def delete_object_if(self, key: str, expected_version: str) -> None:
        self._conditionally(
            key,
            f"{key} is not the version read",
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key), IfMatch=expected_version),
        )

    def _conditional_put(self, key: str, data: bytes, **condition: str) -> str | None:
        extra = self._extra(content_type_for(key), NO_CACHE, sha256_bytes(data))
        response = self._conditionally(
            key,
            f"{key}: the condition {sorted(condition)} did not hold",
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra, **condition),
        )
        return str(response["ETag"]) if response.get("ETag") else None

    def _conditionally(self, key: str, failed: str, request: Callable[[], Any]) -> Any:
        """A conditional request: PreconditionFailed(`failed`) when its condition did not hold, else as any other."""
        try:
            return request()
        except bex.ClientError as exc:
            if error_code(exc) in CONDITION_FAILED:
                raise PreconditionFailed(failed) from None
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(key)) from None
        except bex.BotoCoreError as exc:
            raise translate(exc, self.who, self.target.s3, self.bucket, self._key(key)) from None
