"""The CI workflows are valid YAML with the jobs and steps the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    document["on"] = document.pop(True, document.get("on"))
    return document


def test_publish_runs_on_push_and_every_quarter_hour() -> None:
    workflow = load("publish.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["schedule"] == [{"cron": "*/15 * * * *"}]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["publish"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python") for u in uses)
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "build"
    # saved on every run (a key per run), restored from the newest by prefix: an exact hit is never saved again
    assert "github.run_id" in cache["with"]["key"] and cache["with"]["key"].startswith("build-")
    assert cache["with"]["restore-keys"].strip() == "build-"
    runs = [s.get("run", "") for s in steps]
    check = next(i for i, r in enumerate(runs) if r.strip() == "mediafeed check")
    publish = next(i for i, r in enumerate(runs) if r.strip() == "mediafeed publish --target s3")
    assert check < publish
    env = steps[publish]["env"]
    assert env["AWS_ACCESS_KEY_ID"] == "${{ secrets.AWS_ACCESS_KEY_ID }}"
    assert env["AWS_SECRET_ACCESS_KEY"] == "${{ secrets.AWS_SECRET_ACCESS_KEY }}"


def test_test_workflow_runs_make_test_on_pull_requests() -> None:
    workflow = load("test.yml")
    assert "pull_request" in workflow["on"]
    runs = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "make test" in runs and "make lint" in runs
