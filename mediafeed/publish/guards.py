"""Guards: refuse a plan that would take back something subscribers already have.

A podcast app keys episodes by GUID. Dropping a published episode from a feed makes it vanish from subscribers'
libraries; changing a published episode's GUID makes it show up twice (old and "new"). Both are usually mistakes
(an episode folder deleted, a date moved into the future, a master that failed to prepare, a copied index.md), so
they are refused unless the publisher says so with --allow-removal / --allow-guid-change.

Pure: compares the manifest's `feeds` map (GUIDs per feed, and the slug of each GUID) with the feeds about to be
written, and explains each refusal with what the catalog says about the episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediafeed.catalog.schema import same_guid
from mediafeed.publish.plan import Refusal


@dataclass(frozen=True)
class CatalogFacts:
    """What the catalog says about episodes, to explain a refusal (all keyed by slug)."""

    guids: dict[str, str] = field(default_factory=dict)  # slug → guid
    files: dict[str, str] = field(default_factory=dict)  # slug → episodes/<slug>/index.md
    failed: dict[str, str] = field(default_factory=dict)  # slug → why its media failed this run
    held_back: dict[str, str] = field(default_factory=dict)  # slug → published date (ISO)
    withdrawn: dict[str, str] = field(default_factory=dict)  # slug → reason: taken down on purpose (the explicit allow)


def facts_for(episodes: Any, failures: Any, held_back: Any) -> CatalogFacts:
    return CatalogFacts(
        guids={e.slug: e.guid for e in episodes},
        files={e.slug: e.file for e in episodes},
        failed={f.slug: f.message for f in failures},
        held_back={h.slug: h.published.isoformat() for h in held_back},
        withdrawn={e.slug: e.withdrawn.reason for e in episodes if getattr(e, "withdrawn", None) is not None},
    )


def retired_guids(retired: dict[str, Any], facts: CatalogFacts) -> list[Refusal]:
    """Episodes (not themselves withdrawn) using a GUID a withdrawn episode retired: apps would show the withdrawn
    episode again, or merge a new one into it. `retired` is the manifest's map guid → {slug, at, reason}."""
    taken = {same_guid(g): info for g, info in retired.items()}
    refusals = []
    for slug, guid in sorted(facts.guids.items()):
        if slug in facts.withdrawn or same_guid(guid) not in taken:
            continue
        found = taken[same_guid(guid)]
        info = found if isinstance(found, dict) else {}
        refusals.append(
            Refusal(
                "retired-guid",
                "",
                guid,
                slug,
                facts.files.get(slug, f"episodes/{slug}/index.md"),
                f"GUID {guid} was retired when episode '{info.get('slug', '?')}' was withdrawn ({info.get('at', '?')}); "
                "a GUID is never used again",
                "delete the guid: line and run `mediafeed check --fix` to give this episode its own GUID",
            )
        )
    return refusals


def check(
    previous_feeds: dict[str, Any],
    feeds: dict[str, list[str]],
    facts: CatalogFacts,
    *,
    allow_removal: bool = False,
    allow_guid_change: bool = False,
) -> list[Refusal]:
    refusals: list[Refusal] = []
    for feed_id, guids in sorted(feeds.items()):
        entry = previous_feeds.get(feed_id)
        if not isinstance(entry, dict) or not isinstance(entry.get("episodes"), list):
            continue  # a feed published for the first time takes nothing back
        now_in_feed = set(guids)
        old_slugs: dict[str, Any] = entry["slugs"] if isinstance(entry.get("slugs"), dict) else {}
        feed_file = f"feeds/{feed_id}.yaml"
        for guid in entry["episodes"]:
            slug = old_slugs.get(guid)
            current_guid = facts.guids.get(slug) if slug else None
            if guid in now_in_feed and not (slug and current_guid and current_guid != guid):
                continue  # still there (under its own slug, or a renamed folder took it along)
            if slug and current_guid and current_guid != guid:
                # Also when the old GUID is still in the feed: a copy of the folder kept it, the original got a new one.
                if not allow_guid_change:
                    refusals.append(
                        Refusal(
                            "guid-change",
                            feed_id,
                            guid,
                            slug,
                            facts.files.get(slug, feed_file),
                            f"the published GUID {guid} of episode '{slug}' in feed '{feed_id}' changed to {current_guid}; "
                            "podcast apps would show the episode twice",
                            f"put back guid: {guid}, or pass --allow-guid-change if the change is intended",
                        )
                    )
                continue
            if allow_removal or (slug and slug in facts.withdrawn):
                continue  # a withdrawal is the explicit allow
            refusals.append(
                Refusal(
                    "removal",
                    feed_id,
                    guid,
                    slug,
                    facts.files.get(slug or "", feed_file),
                    f"feed '{feed_id}' would drop the published episode {_name(guid, slug)}: {_why(slug, facts)}",
                    "fix that, or pass --allow-removal to take the episode out of the feed on purpose",
                )
            )
    return refusals


def _name(guid: str, slug: str | None) -> str:
    return f"'{slug}' ({guid})" if slug else guid


def _why(slug: str | None, facts: CatalogFacts) -> str:
    if slug and slug in facts.failed:
        return f"its media failed ({facts.failed[slug]})"
    if slug and slug in facts.held_back:
        return f"it is now dated in the future ({facts.held_back[slug]}), so it is held back"
    if slug and slug in facts.guids:
        return "the feed no longer selects it (its kind or topics, or the feed's select:, changed)"
    return "it is no longer in the catalog (episode folder deleted or renamed?)"
