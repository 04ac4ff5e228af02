"""Apply a plan to a target in the safe order: media and sidecars, then feeds, then indexes, then the manifest."""

from __future__ import annotations

from dataclasses import dataclass

from .digest import sha256_file
from .errors import StorageError
from .plan import STAGES, PublishPlan, Write
from .storage import Storage


@dataclass(frozen=True)
class PublishResult:
    written: tuple[str, ...]
    bytes_written: int
    manifest_written: bool


def apply_plan(plan: PublishPlan, storage: Storage) -> PublishResult:
    written: list[str] = []
    for stage in STAGES:
        for write in (w for w in plan.uploads if w.stage == stage):
            _put(storage, write)
            written.append(write.key)
    if plan.manifest_changed:
        storage.put_manifest(plan.manifest, plan.manifest_version)
    return PublishResult(tuple(written), plan.upload_bytes, plan.manifest_changed)


def _put(storage: Storage, write: Write) -> None:
    if write.path is not None:
        # The build cache or a source may have changed since planning; never publish bytes the feed doesn't describe.
        if write.path.stat().st_size != write.size or sha256_file(write.path) != write.sha256:
            raise StorageError(f"{write.path} changed while publishing", hint="run the publish again")
        storage.put_file(write.key, write.path, write.content_type, write.cache_control)
    else:
        assert write.data is not None
        storage.put_bytes(write.key, write.data, write.content_type, write.cache_control)
    landed = storage.stat(write.key)
    if landed is None or landed.size != write.size:
        raise StorageError(
            f"{write.key} did not land whole in {storage.describe()}",
            hint="check free space on the target and publish again; feeds were not updated",
        )
