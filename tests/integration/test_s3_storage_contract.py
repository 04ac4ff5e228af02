"""One storage contract, run against both backends: the local folder and S3 (moto over HTTP)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from mediafeed.config import Target
from mediafeed.content_types import IMMUTABLE, SHORT
from mediafeed.digest import sha256_bytes, sha256_file
from mediafeed.publish.s3 import S3Storage
from mediafeed.publish.storage import MANIFEST_KEY, LocalStorage, ManifestConflict, Storage


def s3_target(endpoint: str, bucket: str, prefix: str = "") -> Target:
    return Target(
        name="s3", type="s3", public_url=f"{endpoint}/{bucket}", bucket=bucket, prefix=prefix, region="us-east-1",
        endpoint_url=endpoint, addressing_style="path",
    )  # fmt: skip


@pytest.fixture(params=["local", "s3", "s3-prefixed"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "public")
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("bucket")
    prefix = "shows/north" if request.param == "s3-prefixed" else ""
    return S3Storage(s3_target(endpoint, bucket, prefix))


def test_missing_key_stats_as_none_and_empty_target_lists_nothing(storage: Storage) -> None:
    assert storage.stat("feeds/nothing.xml") is None
    assert list(storage.list()) == []
    assert storage.read_manifest() == (None, None)
    assert storage.manifest_version() is None


def test_put_bytes_then_stat_reports_size_and_sha256(storage: Storage) -> None:
    data = b"<rss>hello</rss>"
    storage.put_bytes("feeds/podcast.xml", data, "application/rss+xml; charset=utf-8", SHORT, sha256_bytes(data))
    stat = storage.stat("feeds/podcast.xml")
    assert stat is not None and stat.size == len(data) and stat.sha256 == sha256_bytes(data)


def test_put_file_and_overwrite(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "audio.mp3"
    source.write_bytes(os.urandom(70_000))
    storage.put_file("media/a-1234.mp3", source, "audio/mpeg", IMMUTABLE, sha256_file(source))
    assert storage.stat("media/a-1234.mp3").size == 70_000  # type: ignore[union-attr]
    storage.put_bytes("media/a-1234.mp3", b"shorter", "audio/mpeg", IMMUTABLE, sha256_bytes(b"shorter"))
    assert storage.stat("media/a-1234.mp3").size == 7  # type: ignore[union-attr]


def test_list_gives_keys_relative_to_the_target_with_sizes_and_filters_by_prefix(storage: Storage) -> None:
    for key, data in {"media/a.mp3": b"aa", "media/b.mp3": b"bbb", "feeds/p.xml": b"x"}.items():
        storage.put_bytes(key, data, "application/octet-stream", SHORT, sha256_bytes(data))
    assert sorted((o.key, o.size) for o in storage.list()) == [("feeds/p.xml", 1), ("media/a.mp3", 2), ("media/b.mp3", 3)]
    assert sorted(o.key for o in storage.list("media/")) == ["media/a.mp3", "media/b.mp3"]


def test_manifest_compare_and_swap(storage: Storage) -> None:
    storage.put_manifest(b'{"v": 1}', None)  # first publish: only if there is none
    data, version = storage.read_manifest()
    assert data == b'{"v": 1}' and version is not None
    assert storage.manifest_version() == version
    with pytest.raises(ManifestConflict):
        storage.put_manifest(b'{"v": "other"}', None)  # someone published first: If-None-Match * fails
    storage.put_manifest(b'{"v": 2}', version)
    data2, version2 = storage.read_manifest()
    assert data2 == b'{"v": 2}' and version2 != version
    with pytest.raises(ManifestConflict, match="another publish"):
        storage.put_manifest(b'{"v": 3}', version)  # stale version: If-Match fails
    assert storage.read_manifest() == (b'{"v": 2}', version2)
    assert [o.key for o in storage.list()] == [MANIFEST_KEY]


def test_rewriting_the_same_manifest_after_a_retry_is_not_a_conflict(storage: Storage) -> None:
    """A retried conditional PUT whose first attempt landed fails its condition, yet the manifest is ours."""
    storage.put_manifest(b'{"v": 1}', None)
    storage.put_manifest(b'{"v": 1}', None)
    assert storage.read_manifest()[0] == b'{"v": 1}'


# --- what only S3 has ---------------------------------------------------------------------------------------------


def test_s3_objects_carry_content_type_cache_control_and_sha256(moto_endpoint: str, bucket: str, s3: Any) -> None:
    storage = S3Storage(s3_target(moto_endpoint, bucket, "pre"))
    data = b"<rss/>"
    storage.put_bytes("feeds/p.xml", data, "application/rss+xml; charset=utf-8", SHORT, sha256_bytes(data))
    head = s3.head_object(Bucket=bucket, Key="pre/feeds/p.xml")
    assert head["ContentType"] == "application/rss+xml; charset=utf-8"
    assert head["CacheControl"] == SHORT == "public, max-age=300"
    assert head["Metadata"] == {"sha256": sha256_bytes(data)}


def test_s3_large_files_go_multipart_and_land_whole(moto_endpoint: str, bucket: str, s3: Any, tmp_path: Path) -> None:
    mb = 1024 * 1024
    storage = S3Storage(s3_target(moto_endpoint, bucket), multipart_threshold=5 * mb, multipart_chunksize=5 * mb)
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(11 * mb))
    storage.put_file("media/v-1.mp4", source, "video/mp4", IMMUTABLE, sha256_file(source))
    head = s3.head_object(Bucket=bucket, Key="media/v-1.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 1 MB
    assert head["ContentLength"] == 11 * mb
    assert head["CacheControl"] == IMMUTABLE and head["ContentType"] == "video/mp4"
    assert head["Metadata"]["sha256"] == sha256_file(source)
    assert s3.get_object(Bucket=bucket, Key="media/v-1.mp4")["Body"].read() == source.read_bytes()


def test_s3_uploads_declare_their_sha256_as_a_checksum_the_store_checks(moto_endpoint: str, bucket: str) -> None:
    """x-amz-checksum-sha256 goes along with each single-part upload: AWS rejects a body that doesn't match it
    (BadDigest). moto 5.2.5 neither checks nor stores that header, so here we check that it is sent."""
    storage = S3Storage(s3_target(moto_endpoint, bucket))
    sent: list[dict[str, str]] = []
    storage.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers)))
    storage.put_bytes("media/x.mp3", b"actual bytes", "audio/mpeg", IMMUTABLE, sha256_bytes(b"actual bytes"))
    (headers,) = sent
    assert base64.b64decode(headers["x-amz-checksum-sha256"]).hex() == sha256_bytes(b"actual bytes")


@pytest.mark.parametrize("megabytes", [1, 11])  # one PutObject, and (on S3) three parts through the transfer manager
def test_put_file_reports_the_bytes_it_sends(storage: Storage, tmp_path: Path, megabytes: int) -> None:
    """`sent` is told the bytes as they go (a progress display adds them up): all of them, exactly once."""
    if isinstance(storage, S3Storage):
        mb = 1024 * 1024
        storage = S3Storage(storage.target, multipart_threshold=5 * mb, multipart_chunksize=5 * mb)
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(megabytes * 1024 * 1024))
    amounts: list[int] = []
    storage.put_file("media/v-2.mp4", source, "video/mp4", IMMUTABLE, sha256_file(source), amounts.append)
    assert sum(amounts) == source.stat().st_size
    assert len(amounts) >= (2 if megabytes > 1 else 1)  # a large file is reported in pieces, not once at the end
    stat = storage.stat("media/v-2.mp4")
    assert stat is not None and stat.size == source.stat().st_size
