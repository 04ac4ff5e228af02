"""The JSON Schemas in schemas/ are generated from the schemas `check` validates with, and stay current."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from mediafeed.catalog.load import _Loader, split_front_matter
from mediafeed.catalog.schema import json_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schemas_are_current() -> None:
    for name, document in json_schemas().items():
        path = ROOT / "schemas" / name
        assert path.is_file(), f"schemas/{name} is missing: run `mediafeed schema`"
        assert json.loads(path.read_text()) == document, f"schemas/{name} is stale: run `mediafeed schema`"


def _front(path: Path) -> object:
    parts = split_front_matter(path.read_text())
    assert parts is not None
    return yaml.load(parts[0], Loader=_Loader)


def test_the_sample_catalog_passes_the_json_schemas() -> None:
    schemas = json_schemas()
    jsonschema.validate(tomllib.loads((ROOT / "mediafeed.toml").read_text()), schemas["mediafeed.schema.json"])
    for feed in sorted((ROOT / "feeds").glob("*.yaml")):
        jsonschema.validate(yaml.load(feed.read_text(), Loader=_Loader), schemas["feed.schema.json"])
    for index in sorted((ROOT / "episodes").glob("*/index.md")):
        jsonschema.validate(_front(index), schemas["episode.schema.json"])


@pytest.mark.parametrize(
    ("change", "value"),
    [("summray", "a typo"), ("explicit", "no"), ("kind", "podcasts"), ("season", 0), ("episode_type", "extra")],
)
def test_an_editor_flags_what_check_flags(change: str, value: object) -> None:
    front = _front(ROOT / "episodes/lithium-levels-in-practice/index.md")
    assert isinstance(front, dict)
    front[change] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(front, json_schemas()["episode.schema.json"])
