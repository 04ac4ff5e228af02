"""Pages and their assets are stored gzipped on S3 (Content-Encoding: gzip), so a bare bucket serves them compressed
as `mediafeed serve` and a CDN do; feeds, chapters, transcripts, lists and media are stored as they are.

Against a real moto server over HTTP: what lands, what an unsigned GET returns, that a no-op writes nothing, that
`--verify` finds every object as recorded, and that `precompress = false` stores the same pages plain.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from pathlib import Path
from typing import Any

from mediafeed.content_types import browsers_only, never_served
from mediafeed.publish.storage import MANIFEST_KEY
from tests.integration.test_s3_publish import make_public, publish_json


def stored(s3: Any, bucket: str) -> dict[str, str]:
    """key → its ContentEncoding ("" when none) for every public object."""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if not never_served(o["Key"])]
    return {key: s3.head_object(Bucket=bucket, Key=key).get("ContentEncoding", "") for key in keys}


def unsigned(url: str) -> tuple[Any, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # urllib sends no Accept-Encoding and decodes nothing
        return response.headers, response.read()


def test_pages_and_assets_are_stored_gzipped_and_nothing_an_app_reads_is(s3_project: Path, mediafeed, s3, bucket) -> None:
    publish_json(mediafeed, s3_project)
    encodings = stored(s3, bucket)
    gzipped = {k for k, e in encodings.items() if e == "gzip"}
    assert gzipped == {k for k in encodings if browsers_only(k)}
    assert "index.html" in gzipped and any(k.startswith("episodes/") for k in gzipped)
    assert any(k.startswith("assets/plyr") and k.endswith(".js") for k in gzipped)
    assert any(k.startswith("assets/feed-") and k.endswith(".xsl") for k in gzipped)  # the feeds' stylesheet
    plain = set(encodings) - gzipped
    for prefix in ("feeds/", "media/", "chapters/", "transcripts/", "artwork/"):
        assert any(k.startswith(prefix) for k in plain), prefix
    assert {"feeds.opml", "related.json"} <= plain
    assert set(encodings.values()) == {"", "gzip"}

    # What the manifest records is what the bucket holds (the gzip bytes), so --verify and a no-op agree with it.
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    head = s3.head_object(Bucket=bucket, Key="index.html")
    assert manifest["objects"]["index.html"]["size"] == head["ContentLength"]
    assert manifest["objects"]["index.html"]["sha256"] == head["Metadata"]["sha256"]


def test_a_bare_bucket_serves_a_page_a_browser_can_read(s3_project: Path, mediafeed, s3, bucket, moto_endpoint) -> None:
    publish_json(mediafeed, s3_project)
    make_public(s3, bucket)
    base = f"{moto_endpoint}/{bucket}"
    headers, body = unsigned(f"{base}/index.html")
    assert headers["Content-Encoding"] == "gzip" and headers["Content-Type"] == "text/html; charset=utf-8"
    page = gzip.decompress(body)
    assert page.startswith(b"<!doctype html>") and f"{base}/feeds/podcast.xml".encode() in page
    assert len(body) * 3 < len(page)
    plyr = next(k for k in stored(s3, bucket) if k.startswith("assets/plyr") and k.endswith(".js"))
    headers, body = unsigned(f"{base}/{plyr}")
    assert headers["Content-Encoding"] == "gzip" and len(body) < 50_000 < len(gzip.decompress(body))
    headers, body = unsigned(f"{base}/feeds/podcast.xml")  # what an app without Accept-Encoding gets: plain XML
    assert headers.get("Content-Encoding") is None and body.startswith(b"<?xml")


def test_noop_and_verify_find_the_gzipped_objects_as_recorded(s3_project: Path, mediafeed, s3, bucket) -> None:
    first = publish_json(mediafeed, s3_project)
    pages = sorted(u["key"] for u in first["uploads"] if browsers_only(u["key"]))
    assert pages
    again = publish_json(mediafeed, s3_project)
    assert again["uploads"] == [] and again["bytes_written"] == 0 and again["manifest_changed"] is False
    checked = publish_json(mediafeed, s3_project, "--verify")
    assert checked["uploads"] == [] and checked["manifest_changed"] is False
    assert checked["verify"]["size_mismatch"] == [] and checked["verify"]["changed"] == []
    # A lost manifest: --verify adopts the gzipped pages by the sha256 they carry instead of uploading them again.
    s3.delete_object(Bucket=bucket, Key=MANIFEST_KEY)
    repaired = publish_json(mediafeed, s3_project, "--verify")
    assert repaired["uploads"] == [] and set(pages) <= set(repaired["verify"]["adopted"])


def test_precompress_false_stores_the_same_pages_plain(s3_project: Path, mediafeed, s3, bucket) -> None:
    publish_json(mediafeed, s3_project)
    zipped = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k, e in stored(s3, bucket).items() if e}
    toml = s3_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('addressing_style = "path"\n', 'addressing_style = "path"\nprecompress = false\n'))
    publish_json(mediafeed, s3_project)
    encodings = stored(s3, bucket)
    assert set(encodings.values()) == {""}
    for key, body in zipped.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == gzip.decompress(body), key


def test_a_local_target_cannot_precompress(sample_project: Path, mediafeed) -> None:
    toml = sample_project / "mediafeed.toml"
    text = toml.read_text()
    toml.write_text(text.replace('path = "public"\n', 'path = "public"\nprecompress = true\n', 1))
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 3, result.output  # a configuration problem, named with its file and field
    assert "mediafeed.toml: targets.local.precompress: unknown field; remove it" in result.output
    assert "Traceback" not in result.output + result.stderr
