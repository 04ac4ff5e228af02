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
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.exceptions as bex
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig

from mediafeed.config import S3Settings, Target
from mediafeed.digest import sha256_bytes
from mediafeed.errors import EnvironmentProblem, MediafeedError, StorageError
from mediafeed.publish.storage import MANIFEST_KEY, ManifestConflict, ObjectStat

MB = 1024 * 1024
MULTIPART_THRESHOLD = 16 * MB  # below this a file is one PutObject (with a server-checked sha256)
MULTIPART_CHUNK = 16 * MB  # part size; 16 MB keeps a 1 GB video under 64 parts
PART_CONCURRENCY = 4  # parts of one large file in flight at once
FILE_CONCURRENCY = 8  # files uploaded at once
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
BAD_KEY_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired"}
T = TypeVar("T")


def _timeout(variable: str, default: float) -> float:
    """Seconds before a silent store counts as a failed attempt (then retried); overridable for slow links/tests."""
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 else default


def make_client(settings: S3Settings, who: str, *, pool: int = 10) -> Any:
    """A boto3 S3 client for `who` (e.g. "target 's3'"), with credentials checked before any request is made."""
    try:
        session = boto3.session.Session(profile_name=settings.profile or None)
        credentials = session.get_credentials()
    except bex.ProfileNotFound:
        raise EnvironmentProblem(
            f"{who}: the AWS profile '{settings.profile}' does not exist",
            hint="create it with `aws configure --profile NAME`, or fix profile = in mediafeed.toml",
        ) from None
    except bex.BotoCoreError as exc:  # a broken ~/.aws/config, a failing credential_process, ...
        raise EnvironmentProblem(
            f"{who}: cannot load AWS credentials ({type(exc).__name__})", hint="check ~/.aws/config and AWS_* variables"
        ) from None
    if credentials is None:
        raise EnvironmentProblem(
            f"{who}: no AWS credentials found",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or profile = in mediafeed.toml), "
            "or run where an instance/container role is available",
        )
    config = BotoConfig(
        signature_version="s3v4",
        retries={"mode": "standard"},  # attempts: AWS_MAX_ATTEMPTS, else botocore's default (3)
        connect_timeout=_timeout("MEDIAFEED_S3_CONNECT_TIMEOUT", 10.0),
        read_timeout=_timeout("MEDIAFEED_S3_READ_TIMEOUT", 60.0),
        max_pool_connections=pool,
        # Bodies are not hashed a second time for the SigV4 signature (botocore does that over plain http): each
        # PutObject carries x-amz-checksum-sha256 as a signed header, which AWS, MinIO and R2 check the body
        # against, and the upload is confirmed afterwards by the echoed checksum or the ETag (MD5 of the body).
        s3={"addressing_style": settings.addressing_style or "auto", "payload_signing_enabled": False},
        user_agent_extra="mediafeed",
    )
    try:
        return session.client(
            "s3", region_name=settings.region or None, endpoint_url=settings.endpoint_url or None, config=config
        )
    except bex.NoRegionError:
        raise EnvironmentProblem(f"{who}: no region", hint='set region = "us-east-1" (R2: "auto") in mediafeed.toml') from None
    except ValueError as exc:  # botocore rejects a malformed endpoint or region
        raise EnvironmentProblem(f"{who}: {exc}", hint="fix endpoint_url / region in mediafeed.toml") from None


def error_code(exc: bex.ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def translate(exc: Exception, who: str, settings: S3Settings, bucket: str, key: str = "") -> MediafeedError:
    """A botocore failure as a message naming the target and the fix (and never a credential)."""
    where = f"s3://{bucket}/{key}" if key else f"bucket '{bucket}'"
    endpoint = settings.endpoint_url or "AWS S3"
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return EnvironmentProblem(
            f"{who}: no usable AWS credentials", hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError | bex.ConnectionClosedError | bex.ReadTimeoutError):
        return EnvironmentProblem(
            f"{who}: cannot reach {endpoint} ({type(exc).__name__})",
            hint="check endpoint_url in mediafeed.toml, the network, and that the server is running",
        )
    if isinstance(exc, bex.ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",):
            return EnvironmentProblem(
                f"{who}: the bucket '{bucket}' does not exist at {endpoint}",
                hint="create it, or fix bucket / endpoint_url in mediafeed.toml",
            )
        if code in DENIED_CODES:
            return EnvironmentProblem(
                f"{who}: access denied to {where} at {endpoint}",
                hint="grant these credentials s3:GetObject, s3:PutObject and s3:ListBucket on the bucket, "
                "or use other credentials (AWS_PROFILE / profile =)",
            )
        if code in BAD_KEY_CODES:
            return EnvironmentProblem(
                f"{who}: {endpoint} rejected the credentials ({code})",
                hint="check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile) and the clock; renew expired tokens",
            )
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException") or status == 301:
            return EnvironmentProblem(
                f"{who}: the bucket '{bucket}' is in another region than '{settings.region or 'the default'}'",
                hint="set region = to the bucket's region in mediafeed.toml",
            )
        return StorageError(
            f"{who}: {where}: {code} (HTTP {status})", hint="see the store's documentation for this code; publish again"
        )
    if isinstance(exc, bex.BotoCoreError):
        return StorageError(f"{who}: {where}: {type(exc).__name__}", hint="publish again; if it persists, check the endpoint")
    return StorageError(f"{who}: {where}: {type(exc).__name__}", hint="publish again")


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
                    yield ObjectStat(item["Key"][len(self.prefix) :], int(item["Size"]))

    def _extra(self, content_type: str, cache_control: str, sha256: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"ContentType": content_type, "CacheControl": cache_control}
        if sha256:
            extra["Metadata"] = {"sha256": sha256}
        return extra

    def put_file(
        self, key: str, path: Path, content_type: str, cache_control: str, sha256: str | None = None
    ) -> ObjectStat | None:
        extra = self._extra(content_type, cache_control, sha256)
        if path.stat().st_size < self.multipart_threshold:
            return self._put_object(key, path.read_bytes(), extra, sha256)
        with self._errors(key):
            # Multipart through the transfer manager: parts in parallel, each with a CRC32 the store checks.
            self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=extra, Config=self.transfer)
        return None  # the caller confirms with a HEAD (size + sha256 metadata)

    def put_bytes(
        self, key: str, data: bytes, content_type: str, cache_control: str, sha256: str | None = None
    ) -> ObjectStat | None:
        return self._put_object(key, data, self._extra(content_type, cache_control, sha256), sha256)

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
        extra = self._extra("application/json", "no-cache", sha256)
        extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode()
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(MANIFEST_KEY), Body=data, **extra, **condition)
            return str(response["ETag"]) if response.get("ETag") else None
        except bex.ClientError as exc:
            # 412: the condition failed; 409: a concurrent conditional write is in progress (AWS); 404: If-Match on a
            # manifest someone deleted. All three mean: the manifest is not the one this plan was made from.
            if error_code(exc) not in CONFLICT_CODES | {"NoSuchKey", "404"}:
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
