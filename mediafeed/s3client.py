"""One boto3 S3 client factory and one translation of botocore failures into our errors, for every S3 user: the S3
publish target (publish/s3.py), s3:// masters (media/masters.py) and, later, the remote cache tier.

Credentials come only from the standard AWS chain; nothing here prints them.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.exceptions as bex
from botocore.config import Config as BotoConfig

from mediafeed.config import S3Settings
from mediafeed.errors import EnvironmentProblem, MediafeedError, StorageError

CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
BAD_KEY_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired"}


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
    except (ValueError, bex.InvalidConfigError, bex.InvalidRetryConfigurationError) as exc:
        raise settings_error(exc, who) from None
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
    except (ValueError, bex.InvalidConfigError, bex.InvalidRetryConfigurationError) as exc:
        raise settings_error(exc, who) from None  # a malformed endpoint or region, AWS_MAX_ATTEMPTS=0, ...


# What botocore names in its message → the environment variables that set it (values of these are not secrets).
_SETTING_VARIABLES = (
    ("max_attempts", ("AWS_MAX_ATTEMPTS",)),
    ("retry_mode", ("AWS_RETRY_MODE",)),
    ("retry", ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")),
    ("IPv6", ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")),
    ("endpoint", ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")),
    ("URL", ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")),
    ("region", ("AWS_REGION", "AWS_DEFAULT_REGION")),
    ("addressing_style", ("AWS_S3_ADDRESSING_STYLE",)),
    ("fips", ("AWS_USE_FIPS_ENDPOINT",)),
    ("dualstack", ("AWS_USE_DUALSTACK_ENDPOINT",)),
    ("timeout", ("AWS_METADATA_SERVICE_TIMEOUT",)),
    ("int()", ("AWS_MAX_ATTEMPTS", "AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS")),
)


def settings_error(exc: Exception, who: str) -> EnvironmentProblem:
    """botocore refusing a setting (a ValueError or a config error): which AWS_* variable or mediafeed.toml field set
    it and how to fix it (exit 4). Only the names and values of non-secret variables are shown."""
    text = str(exc)
    named = [v for word, variables in _SETTING_VARIABLES if word.lower() in text.lower() for v in variables if v in os.environ]
    named = list(dict.fromkeys(named))
    if named:
        shown = ", ".join(f"{name}={os.environ[name]!r}" for name in named)
        return EnvironmentProblem(
            f"{who}: AWS settings from the environment are invalid ({shown}): {text}",
            hint=f"fix or unset {' / '.join(named)}",
        )
    return EnvironmentProblem(
        f"{who}: AWS settings are invalid: {text}",
        hint="fix endpoint_url / region in mediafeed.toml, or the AWS_* variables and ~/.aws/config",
    )


def error_code(exc: bex.ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def translate(exc: Exception, who: str, settings: S3Settings, bucket: str, key: str = "") -> MediafeedError:
    """A botocore failure as a message naming the target and the fix (and never a credential)."""
    where = f"s3://{bucket}/{key}" if key else f"bucket '{bucket}'"
    endpoint = settings.endpoint_url or "AWS S3"
    if isinstance(exc, ValueError | bex.InvalidConfigError | bex.InvalidRetryConfigurationError):
        return settings_error(exc, who)
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
