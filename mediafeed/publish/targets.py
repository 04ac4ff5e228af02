"""Which storage backend a target names: the factory, apart from the protocol and its backends (so neither backend
module imports the other)."""

from __future__ import annotations

from mediafeed.config import Target
from mediafeed.errors import EnvironmentProblem
from mediafeed.publish.storage import LocalStorage, Storage


def open_storage(target: Target) -> Storage:
    if target.type == "local":
        assert target.path is not None
        return LocalStorage(target.path)
    if target.type == "s3":
        from mediafeed.publish.s3 import S3Storage  # boto3 is only imported when an S3 target is used

        return S3Storage(target)
    raise EnvironmentProblem(f"target '{target.name}' has an unknown type {target.type!r}", hint="use type = local or s3")
