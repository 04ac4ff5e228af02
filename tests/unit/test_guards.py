"""guards.check as a table: what a feed's previous GUIDs and the new ones make of a plan."""

from __future__ import annotations

from typing import Any

import pytest

from mediafeed.publish.guards import CatalogFacts, check

PREVIOUS = {
    "podcast": {"episodes": ["g-a", "g-b"], "slugs": {"g-a": "a", "g-b": "b"}},
    "old-format": {"episodes": ["g-x"]},  # written before slugs were recorded
}
FACTS = CatalogFacts(guids={"a": "g-a", "b": "g-b", "x": "g-x"}, files={"a": "episodes/a/index.md", "b": "episodes/b/index.md"})


def kinds(feeds: dict[str, list[str]], facts: CatalogFacts = FACTS, **allow: bool) -> list[tuple[str, str, str | None]]:
    return [(r.kind, r.guid, r.slug) for r in check(PREVIOUS, feeds, facts, **allow)]


@pytest.mark.parametrize(
    ("feeds", "facts", "allow", "expected"),
    [
        ({"podcast": ["g-c", "g-b", "g-a"]}, FACTS, {}, []),  # an episode added
        ({"podcast": ["g-b", "g-a"], "new-feed": []}, FACTS, {}, []),  # a feed published the first time
        ({"podcast": ["g-b"]}, FACTS, {}, [("removal", "g-a", "a")]),
        ({"podcast": ["g-b"]}, FACTS, {"allow_removal": True}, []),
        ({"podcast": ["g-b", "g-a2"]}, CatalogFacts(guids={"a": "g-a2", "b": "g-b"}), {}, [("guid-change", "g-a", "a")]),
        ({"podcast": ["g-b", "g-a2"]}, CatalogFacts(guids={"a": "g-a2", "b": "g-b"}), {"allow_guid_change": True}, []),
        ({"podcast": ["g-b", "g-a2"]}, CatalogFacts(guids={"a": "g-a2", "b": "g-b"}), {"allow_removal": True},
         [("guid-change", "g-a", "a")]),  # allowing removals does not allow GUID changes
        ({"old-format": []}, FACTS, {}, [("removal", "g-x", None)]),  # no slugs recorded: still a removal
        ({}, FACTS, {}, []),  # a feed not written this time takes nothing back
    ],
)  # fmt: skip
def test_guards(feeds: dict[str, list[str]], facts: CatalogFacts, allow: dict[str, bool], expected: list[Any]) -> None:
    assert kinds(feeds, facts, **allow) == expected


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        (CatalogFacts(guids={"b": "g-b"}), "no longer in the catalog"),
        (CatalogFacts(guids={"a": "g-a"}, failed={"a": "ffprobe: invalid data"}), "its media failed (ffprobe: invalid data)"),
        (CatalogFacts(guids={"a": "g-a"}, held_back={"a": "2027-01-01T00:00:00+00:00"}), "now dated in the future"),
        (CatalogFacts(guids={"a": "g-a"}), "no longer selects it"),
    ],
)
def test_removals_say_why(facts: CatalogFacts, why: str) -> None:
    (refusal,) = check(PREVIOUS, {"podcast": ["g-b"]}, facts)
    assert why in refusal.message and "--allow-removal" in refusal.hint
