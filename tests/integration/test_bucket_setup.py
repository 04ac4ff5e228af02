"""`mediafeed target setup`: public read of the published keys and the CORS rule, against a real moto server.

moto (5.2.5, server mode) evaluates bucket policies for anonymous requests: an unsigned GET is refused (403) until a
policy allows it, so the tests below check real access after set-up, not only the stored documents. moto does not
enforce Block Public Access on PutBucketPolicy (AWS refuses a public policy while BlockPublicPolicy is on); that part
is checked by what the command writes to the public access block configuration.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mediafeed.content_types import cors_rule
from mediafeed.publish.bucket import CORS_ID, POLICY_SID, public_resources
from tests.integration.conftest import SECRET, FaultProxy, point_target

PUBLIC_KEYS = ("media/", "artwork/", "chapters/", "transcripts/", "assets/", "feeds/", "shows/", "episodes/", "embed/")


def unsigned_get(endpoint: str, bucket: str, key: str) -> int:
    """The HTTP status of a GET without credentials (what a podcast app or browser does)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/{bucket}/{key}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def policy_of(s3: Any, bucket: str) -> dict[str, Any]:
    return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])


def ours(policy: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == POLICY_SID]
    return statement


def test_setup_applies_policy_and_cors_and_a_second_run_changes_nothing(s3_project: Path, mediafeed, s3, bucket) -> None:
    result = mediafeed(s3_project, "target", "setup", "s3")
    assert result.exit_code == 0, result.output
    assert "will set the bucket policy statement mediafeedPublicRead" in result.output  # said before it is done
    statement = ours(policy_of(s3, bucket))
    assert statement["Effect"] == "Allow" and statement["Principal"] == "*" and statement["Action"] == "s3:GetObject"
    resources = statement["Resource"]
    assert resources == public_resources(bucket, "")
    assert {f"arn:aws:s3:::{bucket}/{folder}*" for folder in PUBLIC_KEYS} <= set(resources)
    assert {f"arn:aws:s3:::{bucket}/{name}" for name in ("index.html", "feeds.opml", "related.json")} <= set(resources)
    assert not any("_mediafeed" in r or r.endswith(f"{bucket}/*") for r in resources)
    (rule,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule == {"ID": CORS_ID, **cors_rule()}

    before = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    again = mediafeed(s3_project, "target", "setup", "s3")
    assert again.exit_code == 0, again.output
    assert again.output.count("already in place") == 2 and "will set" not in again.output
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == before
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [rule]


def test_after_setup_feeds_are_public_and_bookkeeping_is_not(s3_project: Path, mediafeed, s3, bucket, moto_endpoint) -> None:
    published = mediafeed(s3_project, "publish", "--target", "s3")
    assert published.exit_code == 0, published.output
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "feeds/podcast.xml" in keys and "_mediafeed/manifest.json" in keys
    assert unsigned_get(moto_endpoint, bucket, "feeds/podcast.xml") == 403  # private until set up
    result = mediafeed(s3_project, "target", "setup", "s3")
    assert result.exit_code == 0, result.output
    assert unsigned_get(moto_endpoint, bucket, "feeds/podcast.xml") == 200
    assert unsigned_get(moto_endpoint, bucket, "feeds.opml") == 200
    stylesheet = next(k for k in keys if k.startswith("assets/feed-"))
    assert unsigned_get(moto_endpoint, bucket, stylesheet) == 200  # the feed's XSL, for browsers
    media = next(k for k in keys if k.startswith("media/"))
    assert unsigned_get(moto_endpoint, bucket, media) == 200
    assert unsigned_get(moto_endpoint, bucket, "_mediafeed/manifest.json") == 403
    lease = [k for k in keys if k.startswith("_mediafeed/") and k != "_mediafeed/manifest.json"]
    for key in lease[:3]:
        assert unsigned_get(moto_endpoint, bucket, key) == 403


def test_a_prefixed_target_opens_only_its_prefix(sample_project: Path, mediafeed, s3, bucket, moto_endpoint) -> None:
    point_target(sample_project, moto_endpoint, bucket, prefix="shows/north")
    result = mediafeed(sample_project, "target", "setup", "s3", "--no-cors")
    assert result.exit_code == 0, result.output
    resources = ours(policy_of(s3, bucket))["Resource"]
    assert resources == public_resources(bucket, "shows/north")
    assert all(r.startswith(f"arn:aws:s3:::{bucket}/shows/north/") for r in resources)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)  # --no-cors: left alone


def test_unrelated_statements_and_cors_rules_are_kept(s3_project: Path, mediafeed, s3, bucket) -> None:
    other = {"Sid": "PartnerReads", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/partner/*"}  # fmt: skip
    stale = {"Sid": POLICY_SID, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/old/*"}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other, stale]}))
    theirs = {"ID": "uploads", "AllowedOrigins": ["https://admin.example.org"], "AllowedMethods": ["PUT"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [theirs]})
    result = mediafeed(s3_project, "target", "setup", "s3")
    assert result.exit_code == 0, result.output
    policy = policy_of(s3, bucket)
    assert policy["Statement"][0] == other
    assert ours(policy)["Resource"] == public_resources(bucket, "")  # replaced, not added twice
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert [r.get("ID") for r in rules] == [CORS_ID, "uploads"]
    assert {k: v for k, v in rules[1].items() if k in theirs} == theirs


def test_block_public_access_is_relaxed_for_policies_only(s3_project: Path, mediafeed, s3, bucket) -> None:
    every = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=every)
    result = mediafeed(s3_project, "target", "setup", "s3", "--no-cors")
    assert result.exit_code == 0, result.output
    assert "will relax the bucket's Block Public Access for policies" in result.output
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False,
    }  # fmt: skip
    assert ours(policy_of(s3, bucket))


def test_dry_run_prints_the_json_and_changes_nothing(s3_project: Path, mediafeed, s3, bucket) -> None:
    every = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=every)
    result = mediafeed(s3_project, "-q", "target", "setup", "s3", "--dry-run")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    steps = {s["request"]: s for s in shown["steps"]}
    assert shown["dry_run"] is True and set(steps) == {"PutPublicAccessBlock", "PutBucketPolicy", "PutBucketCors"}
    assert steps["PutPublicAccessBlock"]["document"]["BlockPublicPolicy"] is False
    assert steps["PutPublicAccessBlock"]["document"]["BlockPublicAcls"] is True
    assert ours(steps["PutBucketPolicy"]["document"])["Resource"] == public_resources(bucket, "")
    assert steps["PutBucketCors"]["document"]["CORSRules"][0] == {"ID": CORS_ID, **cors_rule()}
    for call in (s3.get_bucket_policy, s3.get_bucket_cors):
        with pytest.raises(ClientError):
            call(Bucket=bucket)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == every


def test_a_local_target_is_refused(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "target", "setup", "local")
    assert result.exit_code == 2, result.output
    assert "is a local folder: there is no bucket to set up" in result.output and "mediafeed serve" in result.output
    assert "Traceback" not in result.output
    unknown = mediafeed(sample_project, "target", "setup", "nowhere")
    assert unknown.exit_code == 2 and "unknown target 'nowhere'" in unknown.output


def test_a_missing_bucket_is_explained(sample_project: Path, mediafeed, moto_endpoint, aws_env) -> None:
    point_target(sample_project, moto_endpoint, "no-such-bucket-here")
    result = mediafeed(sample_project, "target", "setup", "s3")
    assert result.exit_code == 4, result.output
    assert "the bucket 'no-such-bucket-here' does not exist" in result.output
    assert "Traceback" not in result.output and SECRET not in result.output


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (("PUT", "?policy", 403, "AccessDenied"), "PutBucketPolicy on bucket '{bucket}' at {endpoint}: access denied"),
        (("PUT", "?policy", 501, "NotImplemented"), "does not support PutBucketPolicy"),
        (("PUT", "?cors", 501, "NotImplemented"), "does not support PutBucketCors"),
        (("GET", "?cors", 403, "AccessDenied"), "GetBucketCors on bucket '{bucket}'"),
    ],
)
def test_store_refusals_are_explained(
    sample_project: Path, mediafeed, bucket, fault_proxy: FaultProxy, rule: tuple[str, str, int, str], expected: str
) -> None:
    fault_proxy.rules.append(rule)
    point_target(sample_project, fault_proxy.url, bucket)
    result = mediafeed(sample_project, "target", "setup", "s3")
    assert result.exit_code == 4, result.output
    assert expected.format(bucket=bucket, endpoint=fault_proxy.url) in result.output
    assert "Traceback" not in result.output and SECRET not in result.output and "mediafeedtestkey" not in result.output
    if rule[3] == "AccessDenied" and rule[1] == "?policy":
        assert "s3:PutBucketPolicy" in result.output
    if rule[3] == "NotImplemented":
        assert "README: Bucket set-up" in result.output


def test_a_store_without_block_public_access_still_gets_its_policy(sample_project: Path, mediafeed, s3, bucket,
                                                                 fault_proxy: FaultProxy) -> None:  # fmt: skip
    fault_proxy.rules.append(("GET", "?publicAccessBlock", 501, "NotImplemented"))  # MinIO, R2
    point_target(sample_project, fault_proxy.url, bucket)
    result = mediafeed(sample_project, "target", "setup", "s3")
    assert result.exit_code == 0, result.output
    assert ours(policy_of(s3, bucket))


def test_the_readme_shows_the_documents_the_command_applies() -> None:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("### Bucket set-up") :]
    blocks = [json.loads(b) for b in re.findall(r"^```json\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)[:2]]
    policy, cors = blocks
    assert ours(policy)["Resource"] == public_resources("media", "")
    assert cors["CORSRules"] == [{"ID": CORS_ID, **cors_rule()}]
