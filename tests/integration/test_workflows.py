"""The CI workflows are valid YAML with the jobs and steps the README promises."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    document["on"] = document.pop(True, document.get("on"))
    return document


def test_publish_runs_on_push_and_every_quarter_hour() -> None:
    workflow = load("publish.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["schedule"] == [{"cron": "*/15 * * * *"}]
    assert workflow["jobs"]["publish"]["concurrency"]["cancel-in-progress"] is False
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
    check = next(i for i, r in enumerate(runs) if r.strip() == "mediafeed check --target s3")
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


# --- the sharded path (workflow_dispatch input `shards`) ------------------------------------------------------------


def step(job: dict, prefix: str) -> dict:
    """The one step of `job` that uses an action starting with `prefix`, or whose run starts with it."""
    found = [s for s in job["steps"] if s.get("uses", "").startswith(prefix) or s.get("run", "").startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def split(shards: str, folder: Path) -> tuple[int, dict[str, str]]:
    """Run the `shards` job's script as GitHub runs a step (bash -e), SHARDS as the input renders: (exit code, outputs)."""
    script = load("publish.yml")["jobs"]["shards"]["steps"][0]["run"]
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    output = folder / "github_output"
    output.touch()
    done = subprocess.run(
        [bash, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        env={"PATH": "/usr/bin:/bin", "SHARDS": shards, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_shards_input_becomes_the_build_matrix() -> None:
    workflow = load("publish.yml")
    shards_input = workflow["on"]["workflow_dispatch"]["inputs"]["shards"]
    assert shards_input["type"] == "number" and shards_input["default"] == 1
    jobs = workflow["jobs"]
    # push and schedule run the publish job alone: the matrix is computed only on a manual run
    assert jobs["shards"]["if"] == "github.event_name == 'workflow_dispatch'"
    assert jobs["shards"]["steps"][0]["env"]["SHARDS"] == "${{ inputs.shards }}"  # never pasted into the script
    assert jobs["shards"]["outputs"] == {
        "count": "${{ steps.split.outputs.count }}",
        "list": "${{ steps.split.outputs.list }}",
    }
    build = jobs["build"]
    assert build["needs"] == "shards"
    assert build["if"] == "fromJSON(needs.shards.outputs.count) > 1"  # shards=1: the publish does everything
    assert build["strategy"]["fail-fast"] is False
    assert build["strategy"]["matrix"] == {"shard": "${{ fromJSON(needs.shards.outputs.list) }}"}
    run = step(build, "mediafeed build")["run"]
    assert run == "mediafeed build --target s3 --shard ${{ matrix.shard }}/${{ needs.shards.outputs.count }}"


@pytest.mark.parametrize(("shards", "count", "shard_list"), [("4", 4, [1, 2, 3, 4]), ("1", 1, [1]), ("64", 64, None)])
def test_shards_job_emits_count_and_json_list(shards: str, count: int, shard_list: list[int] | None, tmp_path: Path) -> None:
    code, outputs = split(shards, tmp_path)
    assert code == 0
    assert int(outputs["count"]) == count
    assert json.loads(outputs["list"]) == (shard_list or list(range(1, count + 1)))


@pytest.mark.parametrize("shards", ["0", "65", "-2", "4.5", "abc", "", "4; echo x", "99999999999999999999"])
def test_shards_job_refuses_a_bad_input(shards: str, tmp_path: Path) -> None:
    code, outputs = split(shards, tmp_path)
    assert code != 0 and outputs == {}


def test_publish_follows_the_shards_even_when_one_failed() -> None:
    publish = load("publish.yml")["jobs"]["publish"]
    assert set(publish["needs"]) == {"shards", "build"}
    condition = publish["if"]
    # !cancelled() runs it after a failed shard (and when the shard jobs were skipped); success() would not
    assert "!cancelled()" in condition and "success()" not in condition and "always()" not in condition
    # a refused input stops everything
    assert "needs.shards.result != 'failure'" in condition


def test_only_the_publish_job_is_serialised() -> None:
    workflow = load("publish.yml")
    # a workflow-level group would queue a scheduled publish behind a whole sharded build
    assert "concurrency" not in workflow
    assert workflow["jobs"]["publish"]["concurrency"] == {"group": "publish", "cancel-in-progress": False}
    assert "concurrency" not in workflow["jobs"]["build"] and "concurrency" not in workflow["jobs"]["shards"]


def test_each_shard_caches_build_under_its_own_key() -> None:
    jobs = load("publish.yml")["jobs"]
    shard_cache = step(jobs["build"], "actions/cache")["with"]
    publish_cache = step(jobs["publish"], "actions/cache")["with"]
    assert shard_cache["path"] == publish_cache["path"] == "build"
    key, restore = shard_cache["key"], shard_cache["restore-keys"].strip()
    for part in ("${{ matrix.shard }}", "${{ needs.shards.outputs.count }}", "${{ github.run_id }}"):
        assert part in key
    assert key.startswith(restore) and "${{ matrix.shard }}" in restore and "${{ needs.shards.outputs.count }}" in restore
    # the publish restores the newest key starting with its prefix: no shard's key may start with it
    assert not key.startswith(publish_cache["restore-keys"].strip())


def test_setuptools_build_folder_is_not_mediafeeds_cache() -> None:
    # pip builds in-tree into build/: install and remove it before build/ is restored (and so before it is saved)
    for job in ("build", "publish"):
        steps = load("publish.yml")["jobs"][job]["steps"]
        install = next(i for i, s in enumerate(steps) if s.get("run", "").startswith("pip install ."))
        cache = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache"))
        assert install < cache
        assert steps[install]["run"] == "pip install . && rm -rf build"


def test_publish_checks_out_the_history_the_lineage_check_needs() -> None:
    checkout = step(load("publish.yml")["jobs"]["publish"], "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0  # a shallow clone lacks the commit the target was published from


def strings(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, (*where, index))
    elif isinstance(node, str):
        yield where, node


def test_secrets_only_in_the_steps_that_talk_to_s3() -> None:
    workflow = load("publish.yml")
    used = [where for where, text in strings(workflow) if "secrets." in text]
    assert used
    for where in used:
        # jobs.<job>.steps.<i>.env.<NAME>: never the workflow's or a job's env, never a run: line or a with:
        assert where[0] == "jobs" and where[2] == "steps" and where[4] == "env", where
        run = workflow["jobs"][where[1]]["steps"][where[3]]["run"]
        talks_to_s3 = ("mediafeed build --target s3", "mediafeed check --target s3", "mediafeed publish --target s3")
        assert run.startswith(talks_to_s3), where
    assert {where[1] for where in used} == {"build", "publish"}
    for name in ("build", "publish"):
        assert workflow["jobs"][name]["environment"] == "s3"  # secrets scoped to an environment (main only)


def test_permissions_are_least() -> None:
    workflow = load("publish.yml")
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["shards"]["permissions"] == {}
    for name in ("build", "publish"):
        assert jobs[name]["permissions"] == {"contents": "read"}


def test_actions_pinned_to_a_major_version_and_jobs_time_boxed() -> None:
    for name in ("publish.yml", "test.yml"):
        for job in load(name)["jobs"].values():
            assert isinstance(job["timeout-minutes"], int)
            for used in [s["uses"] for s in job["steps"] if "uses" in s]:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", used), used


# --- the README's recipes -------------------------------------------------------------------------------------------


def readme_blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_kubernetes_indexed_job_parses_and_uses_the_completion_index() -> None:
    blocks = [b for b in readme_blocks("yaml") if "completionMode" in b]
    assert len(blocks) == 1
    build, publish = list(yaml.safe_load_all(blocks[0]))
    assert build["kind"] == publish["kind"] == "Job"
    spec = build["spec"]
    assert spec["completionMode"] == "Indexed"
    shards = spec["completions"]
    assert spec["parallelism"] == shards
    (container,) = spec["template"]["spec"]["containers"]
    command = " ".join(container["command"])
    # the index is 0-based, --shard K/N is 1-based
    assert f'--shard "$((JOB_COMPLETION_INDEX + 1))/{shards}"' in command
    assert "mediafeed build --target s3" in command
    (publisher,) = publish["spec"]["template"]["spec"]["containers"]
    assert publisher["command"][:4] == ["mediafeed", "publish", "--target", "s3"]
    for pod in (container, publisher):  # credentials from a Secret, never written in the manifest
        assert pod["envFrom"][0]["secretRef"]["name"]
        assert "AWS_SECRET_ACCESS_KEY" not in yaml.safe_dump(pod.get("env", []))


def test_readme_triggers_the_sharded_run_with_the_workflow_input() -> None:
    text = (ROOT / "README.md").read_text()
    assert "gh workflow run publish.yml -f shards=4" in text
    assert "shards" in load("publish.yml")["on"]["workflow_dispatch"]["inputs"]
    assert "AWS_BATCH_JOB_ARRAY_INDEX + 1" in text
