"""What a target holds and what happens next: live, scheduled, changed-but-unpublished, failed; release history.

Pure: built from the catalog, the target's manifest and a dry-run plan, so `mediafeed status` writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediafeed.models import Catalog
from mediafeed.publish.plan import PublishPlan


@dataclass(frozen=True)
class Status:
    target: str
    now: datetime
    live: dict[str, list[dict[str, str]]]  # feed id → episodes the target's feed carries (newest first)
    scheduled: list[dict[str, Any]]  # not yet due, soonest first
    due: list[dict[str, str]]  # due (or changed) but not yet in the target's feeds
    pending: dict[str, Any]  # what a publish would write now
    failed: list[dict[str, str]]
    history: list[dict[str, str]] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)  # taken down (live: still in a published feed)
    loudness: list[dict[str, Any]] = field(default_factory=list)  # published as they are: measured vs target
    private: dict[str, int] | None = None  # subscribers' copies a publish would write and delete (counts only)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "now": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "live": self.live,
            "scheduled": self.scheduled,
            "due": self.due,
            "pending": self.pending,
            "failed": self.failed,
            "history": self.history,
            "withdrawn": self.withdrawn,
            "loudness": self.loudness,
            "private": self.private,
        }


def build_status(
    target: str,
    catalog: Catalog,
    manifest: dict[str, Any],
    plan: PublishPlan,
    now: datetime,
    loudness: list[dict[str, Any]] | None = None,
) -> Status:
    """Where a target stands: `manifest` is its content as read once by the run (Manifest.content); `loudness`, the
    measured loudness of the episodes published as they are (media.prepare.loudness_report)."""
    by_guid = {e.guid: e for e in catalog.episodes}
    live: dict[str, list[dict[str, str]]] = {}
    published: set[str] = set()
    for feed_id, entry in sorted(manifest["feeds"].items()):
        guids = entry.get("episodes", []) if isinstance(entry, dict) else []
        published.update(guids)
        live[feed_id] = [
            {
                "guid": g,
                "slug": by_guid[g].slug if g in by_guid else "",
                "title": by_guid[g].title if g in by_guid else "(not in the catalog)",
            }
            for g in guids
        ]
    scheduled = [
        {
            "slug": e.slug,
            "title": e.title,
            "published": e.published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds_until": int((e.published - now).total_seconds()),
            "feeds": [f.id for f in catalog.feeds if f.selects(e)],
        }
        for e in sorted(catalog.episodes, key=lambda e: e.published)
        if e.is_scheduled(now)
    ]
    failed_slugs = {f.slug for f in plan.failures}
    due = [
        {"slug": e.slug, "title": e.title, "published": e.published.strftime("%Y-%m-%dT%H:%M:%SZ")}
        for e in sorted(catalog.episodes, key=lambda e: e.published)
        if e.is_released(now)
        and e.withdrawn is None
        and e.guid not in published
        and e.slug not in failed_slugs
        and any(f.selects(e) for f in catalog.feeds)
    ]
    pending = {
        "feeds": [w.key for w in plan.uploads if w.stage == "feed"],
        "files": len(plan.uploads),
        "bytes": plan.upload_bytes,
        "refusals": [r.message for r in getattr(plan, "refusals", ())],
    }
    failed = [{"slug": f.slug, "file": f.file, "error": f.message} for f in plan.failures]
    history = [h for h in manifest.get("history", []) if isinstance(h, dict)]
    withdrawn = [
        {
            "slug": e.slug,
            "guid": e.guid,
            "at": e.withdrawn.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": e.withdrawn.reason,
            "live": e.guid in published,
        }
        for e in catalog.episodes
        if e.withdrawn is not None
    ]
    return Status(target, now, live, scheduled, due, pending, failed, history, withdrawn, list(loudness or ()))


def until(seconds: int) -> str:
    """'in 2 d 3 h', 'in 45 min' — how long until a scheduled release."""
    minutes = max(0, seconds) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"in {days} d {hours} h"
    if hours:
        return f"in {hours} h {minutes} min"
    return f"in {minutes} min"
