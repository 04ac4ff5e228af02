"""`mediafeed target setup`: make an S3 bucket serve what a publish writes to it (issue 16, part 4).

Two independent settings, each read first and written only when it differs from what we want:

1. Public read of the published keys only: a bucket policy statement (Sid `mediafeedPublicRead`) allowing anonymous
   s3:GetObject on an explicit allow-list of resources under the target's prefix (media/, feeds/, index.html, ...).
   Statements of the policy with other Sids are kept as they are. When the bucket's Block Public Access settings would
   refuse or ignore a public policy (BlockPublicPolicy / RestrictPublicBuckets), those two are turned off and the ACL
   settings kept: objects stay private unless this policy names them.
2. CORS: the rule of `content_types.cors_rule()` (ID `mediafeed`), first in the bucket's CORS configuration; rules
   with other IDs are kept after it.

`dry_run` reads the bucket and says what would be applied (as JSON) without changing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bex

from mediafeed.config import Target
from mediafeed.content_types import BOOKKEEPING_PREFIX, CONTENT_ADDRESSED, HOME_PAGE, PAGE_FOLDERS, PRIVATE_PREFIX, cors_rule
from mediafeed.errors import EnvironmentProblem, MediafeedError, UsageError
from mediafeed.s3client import DENIED_CODES, error_code, make_client, translate

POLICY_SID = "mediafeedPublicRead"
CORS_ID = "mediafeed"
POLICY_VERSION = "2012-10-17"

# What a publish writes that readers fetch: folders (every key under them) and single files at the top. Bookkeeping
# (_mediafeed/: the manifest, the lease, the shared cache) is never in this list, so it stays private.
#
# Why an allow-list and not "allow everything, then Deny _mediafeed/*": an explicit Deny in a bucket policy beats every
# Allow, including the identity policy of the publisher's own credentials, so a Deny on _mediafeed/ would lock
# mediafeed itself out of its manifest and lease (a Deny scoped with a NotPrincipal/condition is easy to get wrong and
# differs between stores). Listing what is public keeps everything else private by default.
# private/ is readable by URL like the rest (its keys are the secret; the policy never allows listing the bucket).
PUBLIC_FOLDERS = (*CONTENT_ADDRESSED, "feeds/", *PAGE_FOLDERS, PRIVATE_PREFIX)
PUBLIC_FILES = (HOME_PAGE, "feeds.opml", "related.json")

# Block Public Access flags that stop a public bucket policy from being set (BlockPublicPolicy) or from having any
# effect (RestrictPublicBuckets). The ACL flags (BlockPublicAcls, IgnorePublicAcls) are left as they are.
POLICY_BLOCKS = ("BlockPublicPolicy", "RestrictPublicBuckets")
ACL_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls")

NOT_SUPPORTED = {"NotImplemented", "NotImplementedError", "MethodNotAllowed", "501", "XNotImplemented"}
NO_POLICY = {"NoSuchBucketPolicy"}
NO_BLOCK = {"NoSuchPublicAccessBlockConfiguration"}
NO_CORS = {"NoSuchCORSConfiguration"}


@dataclass
class Step:
    """One setting: what it should be, and whether it was (or would be) written."""

    what: str  # "public access block", "bucket policy", "CORS"
    request: str  # the S3 call that writes it
    document: dict[str, Any]  # what is (or would be) sent
    changed: bool  # False: the bucket already had it
    note: str = ""


@dataclass
class BucketSetup:
    target: str
    where: str
    dry_run: bool
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "where": self.where,
            "dry_run": self.dry_run,
            "steps": [
                {"what": s.what, "request": s.request, "changed": s.changed, "note": s.note, "document": s.document}
                for s in self.steps
            ],
        }


def public_resources(bucket: str, prefix: str, private_media: str = "public") -> list[str]:
    """The ARNs anyone may GET: each public folder's keys and each public top-level file, under the target's prefix.
    With presigned private media, only the subscribers' feed copies under private/ (their media need a signature)."""
    base = f"arn:aws:s3:::{bucket}/" + (f"{prefix.strip('/')}/" if prefix.strip("/") else "")
    folders = [f"{PRIVATE_PREFIX}*/feeds/" if f == PRIVATE_PREFIX and private_media == "presigned" else f for f in PUBLIC_FOLDERS]
    resources = [f"{base}{folder}*" for folder in folders] + [f"{base}{name}" for name in PUBLIC_FILES]
    assert not any(r.removeprefix(base).startswith(BOOKKEEPING_PREFIX) for r in resources)
    return resources


def public_read_statement(bucket: str, prefix: str, private_media: str = "public") -> dict[str, Any]:
    return {
        "Sid": POLICY_SID,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": public_resources(bucket, prefix, private_media),
    }


def merged_policy(existing: dict[str, Any] | None, statement: dict[str, Any]) -> dict[str, Any]:
    """`existing` with our statement replaced (or added at the end); every other statement kept as it was."""
    policy = dict(existing or {})
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):  # a policy may hold one statement as an object
        statements = [statements]
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == statement["Sid"])]
    policy["Version"] = policy.get("Version") or POLICY_VERSION
    policy["Statement"] = [*kept, statement]
    return policy


def merged_cors(existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our rule first (S3 applies the first rule that matches a request), then rules of other IDs as they were."""
    ours = {"ID": CORS_ID, **cors_rule()}
    return [ours, *(r for r in existing if r.get("ID") != CORS_ID)]


def _same_rules(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    def normal(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: sorted(v) if isinstance(v, list) else v for k, v in rule.items()} for rule in rules]

    return normal(a) == normal(b)


def setup_bucket(
    target: Target,
    *,
    public_read: bool,
    cors: bool,
    dry_run: bool,
    say: Callable[[str], None],
    client: Any = None,
) -> BucketSetup:
    """Apply (or with `dry_run`, describe) public read and CORS on the target's bucket. `say` is told each change
    before it is made."""
    if target.type != "s3" or target.path is not None:
        raise UsageError(
            f"target '{target.name}' is a local folder: there is no bucket to set up",
            hint="serve the folder with `mediafeed serve`, or with nginx/Caddy using the headers of mediafeed/content_types.py "
            "(README: Bucket set-up)",
        )
    who = f"target '{target.name}'"
    bucket, prefix = target.bucket, target.prefix.strip("/")
    s3 = client or make_client(target.s3, who)
    where = f"s3://{bucket}/{prefix + '/' if prefix else ''}" + (f" at {target.endpoint_url}" if target.endpoint_url else "")
    result = BucketSetup(target.name, where, dry_run)
    calls = _Calls(s3, target, bucket)
    verb = "would" if dry_run else "will"

    if public_read:
        # A store without Block Public Access (MinIO, R2 answer NotImplemented) has nothing to relax.
        block = calls.read("GetPublicAccessBlock", NO_BLOCK | NOT_SUPPORTED, lambda: s3.get_public_access_block(Bucket=bucket))
        flags = (block or {}).get("PublicAccessBlockConfiguration", {})
        if any(flags.get(name) for name in POLICY_BLOCKS):
            relaxed = {name: bool(flags.get(name)) for name in ACL_BLOCKS} | dict.fromkeys(POLICY_BLOCKS, False)
            note = "turns off BlockPublicPolicy and RestrictPublicBuckets (so a public policy is allowed and honoured); "
            note += "the ACL blocks stay as they were"
            result.steps.append(Step("public access block", "PutPublicAccessBlock", relaxed, True, note))
            say(f"{where}: {verb} relax the bucket's Block Public Access for policies: {note}")
            if not dry_run:
                calls.write(
                    "PutPublicAccessBlock",
                    lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=relaxed),
                )
        current = calls.read("GetBucketPolicy", NO_POLICY, lambda: s3.get_bucket_policy(Bucket=bucket))
        existing = _policy_document(current, who, bucket)
        policy = merged_policy(existing, public_read_statement(bucket, prefix, target.private_media))
        changed = policy != existing
        others = len(policy["Statement"]) - 1
        note = f"anonymous s3:GetObject on the published keys only; {others} other statement(s) kept"
        result.steps.append(Step("bucket policy", "PutBucketPolicy", policy, changed, note))
        if changed:
            say(f"{where}: {verb} set the bucket policy statement {POLICY_SID} ({note})")
            if not dry_run:
                calls.write("PutBucketPolicy", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy)))

    if cors:
        current = calls.read("GetBucketCors", NO_CORS, lambda: s3.get_bucket_cors(Bucket=bucket))
        rules = list((current or {}).get("CORSRules", []))
        wanted = merged_cors(rules)
        changed = not _same_rules(wanted, rules)
        note = f"GET/HEAD from any origin, Range allowed; {len(wanted) - 1} other rule(s) kept"
        document = {"CORSRules": wanted}
        result.steps.append(Step("CORS", "PutBucketCors", document, changed, note))
        if changed:
            say(f"{where}: {verb} set the CORS rule {CORS_ID} ({note})")
            if not dry_run:
                calls.write("PutBucketCors", lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=document))
    return result


def _policy_document(response: dict[str, Any] | None, who: str, bucket: str) -> dict[str, Any] | None:
    if response is None:
        return None
    try:
        document = json.loads(response.get("Policy") or "{}")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise EnvironmentProblem(
            f"{who}: the policy of bucket '{bucket}' is not a JSON object",
            hint="fix or delete it (aws s3api delete-bucket-policy), then run `mediafeed target setup` again",
        )
    return document


_PERMISSION = {
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
}


class _Calls:
    """S3 bucket-configuration requests with their failures explained (the permission to ask for, the store's limits)."""

    def __init__(self, client: Any, target: Target, bucket: str) -> None:
        self.client = client
        self.target = target
        self.bucket = bucket
        self.who = f"target '{target.name}'"

    def read(self, request: str, absent: set[str], call: Callable[[], Any]) -> Any:
        """The response, or None when the bucket has no such configuration."""
        try:
            return call()
        except bex.ClientError as exc:
            if error_code(exc) in absent:
                return None
            raise self._explain(exc, request) from None
        except bex.BotoCoreError as exc:
            raise self._explain(exc, request) from None

    def write(self, request: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except (bex.ClientError, bex.BotoCoreError) as exc:
            raise self._explain(exc, request) from None

    def _explain(self, exc: Exception, request: str) -> MediafeedError:
        endpoint = self.target.endpoint_url or "AWS S3"
        code = error_code(exc) if isinstance(exc, bex.ClientError) else ""
        if code in DENIED_CODES:
            hint = f"grant these credentials {_PERMISSION[request]} on the bucket, or use the bucket owner's credentials"
            if request in ("PutBucketPolicy", "PutPublicAccessBlock"):
                hint += "; on AWS, the account's own Block Public Access settings can also refuse public policies"
            return EnvironmentProblem(f"{self.who}: {request} on bucket '{self.bucket}' at {endpoint}: access denied", hint=hint)
        if code in NOT_SUPPORTED:
            return EnvironmentProblem(
                f"{self.who}: {endpoint} does not support {request}",
                hint="set this up with the store's own tools instead (MinIO: mc anonymous set-json; Cloudflare R2 has no "
                "bucket policies: a custom domain or r2.dev makes it public); see README: Bucket set-up. "
                "Skip this part with --no-public-read or --no-cors",
            )
        return translate(exc, self.who, self.target.s3, self.bucket)
