"""Retries through a fault-injecting proxy, and the environment problems that end a publish with exit 4.

Each exit-4 message must name the target and the fix, and never contain a credential.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from mediafeed.publish.storage import MANIFEST_KEY
from tests.integration.conftest import SECRET, FaultProxy, point_target


def publish(mediafeed: Any, project: Path, *args: str) -> Any:
    result = mediafeed(project, "publish", "--target", "s3", *args)
    assert SECRET not in result.output and "mediafeedtestkey" not in result.output
    assert "Traceback" not in result.output
    return result


def test_transient_500_and_503_are_retried(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, fault_proxy: FaultProxy, s3: Any
) -> None:
    fault_proxy.fail_first = 2  # the first request (reading the manifest) fails twice: 500, then 503
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    result = publish(mediafeed, s3_project, "--json")
    assert result.exit_code == 0, result.output
    assert [status for _, _, status in fault_proxy.requests[:3]] == [500, 503, 404]  # 404: no manifest yet
    assert s3.head_object(Bucket=bucket, Key=MANIFEST_KEY)["ContentLength"] > 0


def test_failed_uploads_are_retried_and_land_whole(
    s3_project: Path, mediafeed: Any, moto_endpoint: str, bucket: str, fault_proxy: FaultProxy, s3: Any
) -> None:
    fault_proxy.fail_first, fault_proxy.fail_only = 2, "PUT"
    point_target(s3_project, fault_proxy.url, bucket, public_endpoint=moto_endpoint)
    result = publish(mediafeed, s3_project, "--json")
    assert result.exit_code == 0, result.output
    assert sorted(status for method, _, status in fault_proxy.requests if method == "PUT")[-2:] == [500, 503]
    for upload in json.loads(result.stdout)["uploads"]:
        assert s3.head_object(Bucket=bucket, Key=upload["key"])["ContentLength"] == upload["size"]
    again = publish(mediafeed, s3_project, "--json")
    assert json.loads(again.stdout)["uploads"] == []


def test_a_store_that_keeps_failing_is_exit_4_naming_the_target(
    s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    fault_proxy.fail_first = 1000
    point_target(s3_project, fault_proxy.url, bucket)
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    # The first request is a HEAD of the manifest (the receipt's check), whose answer has no body to name a code in.
    assert "target 's3'" in result.stderr and any(c in result.stderr for c in ("SlowDown", "InternalError", "HTTP 503"))
    assert len(fault_proxy.requests) == 2  # AWS_MAX_ATTEMPTS is honoured by the standard retry mode


def test_no_credentials(s3_project: Path, mediafeed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert "target 's3': no AWS credentials found" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr


def test_unknown_profile(s3_project: Path, mediafeed: Any) -> None:
    toml = s3_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('type = "s3"\n', 'type = "s3"\nprofile = "no-such-profile"\n'))
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert "profile 'no-such-profile' does not exist" in result.stderr


def test_unknown_bucket(s3_project: Path, mediafeed: Any, moto_endpoint: str) -> None:
    point_target(s3_project, moto_endpoint, "no-such-bucket-here")
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert "target 's3': the bucket 'no-such-bucket-here' does not exist" in result.stderr and "create it" in result.stderr


@pytest.mark.parametrize(
    ("code", "expected"),
    [("AccessDenied", "access denied to"), ("InvalidAccessKeyId", "rejected the credentials"),
     ("SignatureDoesNotMatch", "rejected the credentials")],
)  # fmt: skip
def test_access_denied_and_bad_keys(
    s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, code: str, expected: str
) -> None:
    """moto 5.2.5 only enforces access with IAM auth switched on for the whole server, so the proxy stands in for a
    store that answers 403 with these S3 error codes."""
    fault_proxy.rules.append(("GET", MANIFEST_KEY, 403, code))
    point_target(s3_project, fault_proxy.url, bucket)
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert "target 's3': " in result.stderr and expected in result.stderr


def test_access_denied_on_upload(s3_project: Path, mediafeed: Any, bucket: str, fault_proxy: FaultProxy, s3: Any) -> None:
    fault_proxy.rules.append(("PUT", "/media/", 403, "AccessDenied"))
    point_target(s3_project, fault_proxy.url, bucket)
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert f"access denied to s3://{bucket}/media/" in result.stderr and "s3:PutObject" in result.stderr
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert not [o for o in listed if o["Key"].startswith("feeds/") or o["Key"] == MANIFEST_KEY]  # no feed without media


def test_unreachable_endpoint(s3_project: Path, mediafeed: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:  # a port nobody listens on: connection refused at once
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    point_target(s3_project, closed, bucket)
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 4, result.output
    assert f"target 's3': cannot reach {closed}" in result.stderr and "endpoint_url" in result.stderr


def test_bad_s3_settings_are_catalog_errors(s3_project: Path, mediafeed: Any) -> None:
    toml = s3_project / "mediafeed.toml"
    text = toml.read_text().replace('addressing_style = "path"', 'addressing_style = "sideways"')
    toml.write_text(text.replace('endpoint_url = "http', 'endpoint_url = "ftp'))
    result = publish(mediafeed, s3_project)
    assert result.exit_code == 3, result.output
    assert "targets.s3.addressing_style" in result.stderr and "targets.s3.endpoint_url" in result.stderr
