"""Tell the podcast ecosystem a feed changed: WebSub hubs and Podping-style pings.

Only feeds that really changed are announced. A failed notification never fails a publish: it is a warning,
remembered in the target (`_mediafeed/notify-pending.json`) and retried on the next run.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mediafeed.errors import MediafeedError
from mediafeed.progress import Note, Reporter, silent

PENDING_KEY = "_mediafeed/notify-pending.json"
TIMEOUT = 10.0  # seconds per request: a slow hub must not hold a scheduled publish
PODPING_TOKEN_ENV = "MEDIAFEED_PODPING_TOKEN"  # sent as the Authorization header; never printed
USER_AGENT = "mediafeed (+https://github.com/)"


@dataclass(frozen=True)
class Notifiers:
    hubs: tuple[str, ...] = ()  # WebSub hub URLs (also advertised in each feed as atom:link rel="hub")
    podping_url: str | None = None  # e.g. https://podping.cloud/ ; GET ?url=<feed>&reason=<reason>

    @property
    def any(self) -> bool:
        return bool(self.hubs or self.podping_url)


@dataclass(frozen=True)
class Outcome:
    sent: tuple[str, ...]  # "hub → feed" lines, for -v
    failed: dict[str, str]  # feed URL → why (the feed stays pending)


def announce(feed_urls: Iterable[str], notifiers: Notifiers, reason: str = "update") -> Outcome:
    sent: list[str] = []
    failed: dict[str, str] = {}
    for feed_url in sorted(set(feed_urls)):
        for hub in notifiers.hubs:
            body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode()
            request = urllib.request.Request(hub, data=body, method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            error = _send(request)
            if error:
                failed[feed_url] = f"WebSub hub {hub}: {error}"
            else:
                sent.append(f"WebSub {hub} ← {feed_url}")
        if notifiers.podping_url:
            query = urllib.parse.urlencode({"url": feed_url, "reason": reason})
            separator = "&" if "?" in notifiers.podping_url else "?"
            request = urllib.request.Request(f"{notifiers.podping_url}{separator}{query}", method="GET")
            token = os.environ.get(PODPING_TOKEN_ENV)
            if token:
                request.add_header("Authorization", token)
            error = _send(request)
            if error:
                failed[feed_url] = f"Podping {notifiers.podping_url}: {error}"
            else:
                sent.append(f"Podping {notifiers.podping_url} ← {feed_url}")
    return Outcome(tuple(sent), failed)


def _send(request: urllib.request.Request) -> str:
    """'' on a 2xx answer, else a short reason (no headers or tokens in it)."""
    request.add_header("User-Agent", USER_AGENT)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"unreachable ({reason})"


def parse_pending(data: bytes | None) -> list[str]:
    try:
        pending = json.loads(data) if data else []
    except (ValueError, UnicodeDecodeError):
        return []
    return [url for url in pending if isinstance(url, str)] if isinstance(pending, list) else []


def encode_pending(feed_urls: Iterable[str]) -> bytes:
    return (json.dumps(sorted(set(feed_urls)), indent=1) + "\n").encode()


def announce_pending(
    storage: Any, plan: Any, written_version: str | None, notifiers: Notifiers, report: Reporter = silent
) -> tuple[str, ...]:
    """Announce the feeds the new manifest says still owe a notification, then record what went out.

    That record is a compare-and-swap against the manifest this publish wrote (`written_version`, else the one it
    planned against), like every manifest write: if another publish moved on meanwhile, it owns what is still
    pending, and this one only warns. Returns warnings; a failed notification stays pending for the next run.
    """
    from mediafeed.publish.plan import encode_manifest, parse_manifest

    manifest = parse_manifest(plan.manifest)
    pending = list(manifest.get("notify_pending") or [])
    if not pending:
        return ()
    outcome = announce(pending, notifiers)
    for line in outcome.sent:
        report(Note(f"notified {line}"))
    warnings = tuple(f"notification failed (retried on the next publish): {why}" for why in outcome.failed.values())
    remaining = sorted(outcome.failed)
    if remaining != pending:
        manifest["notify_pending"] = remaining
        if not remaining:
            del manifest["notify_pending"]
        try:
            storage.put_manifest(encode_manifest(manifest), written_version or plan.manifest_version)
        except MediafeedError as exc:  # another publish moved on: it will send what is still pending
            warnings += (f"could not record sent notifications: {exc}",)
    return warnings
