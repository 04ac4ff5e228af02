"""Take-downs (`withdraw`) and `gc`, through the real CLI on the local target and on S3 (moto over HTTP)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from lxml import etree

from mediafeed.publish.storage import MANIFEST_KEY
from tests.conftest import NOW, feed_problems

SLUG = "lithium-levels-in-practice"
RENAMED = "welcome-to-northfield-rounds"
LATER = "2026-12-03T00:00:00Z"  # NOW + 8 days: past the default 7-day grace period
SOON = "2026-11-26T00:00:00Z"  # NOW + 1 day


def manifest_of(root: Path) -> dict[str, Any]:
    return json.loads((root / MANIFEST_KEY).read_text())


def documents(root: Path) -> dict[str, bytes]:
    found = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "feeds").glob("*.xml")}
    for name in ("feeds.opml", "related.json"):
        found[name] = (root / name).read_bytes()
    return found


def guid_of(index: Path) -> str:
    match = re.search(r"(?m)^guid: *(\S+)", index.read_text())
    assert match
    return match.group(1)


def retitle(project: Path, slug: str, title: str) -> None:
    index = project / "episodes" / slug / "index.md"
    text = index.read_text()
    index.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1))


# --- withdraw on the local target --------------------------------------------------------------------------------


def test_withdraw_edits_only_the_front_matter_and_refuses_mistakes(sample_project: Path, mediafeed: Any) -> None:
    index = sample_project / "episodes" / SLUG / "index.md"
    before = index.read_bytes()
    result = mediafeed(sample_project, "withdraw", SLUG, "--reason", 'Guest withdrew consent: "all of it"')
    assert result.exit_code == 0, result.output
    after = index.read_bytes()
    line = b'withdrawn: {at: 2026-11-25T00:00:00+00:00, reason: "Guest withdrew consent: \\"all of it\\""}\n'
    closing = before.index(b"\n---", 4) + 1
    assert after == before[:closing] + line + before[closing:]
    again = mediafeed(sample_project, "withdraw", SLUG, "--reason", "twice")
    assert again.exit_code == 2 and f"episodes/{SLUG}/index.md: withdrawn: already withdrawn" in again.output
    unknown = mediafeed(sample_project, "withdraw", "lithium-levels", "--reason", "x")
    assert unknown.exit_code == 2 and "no episode 'lithium-levels'" in unknown.output
    assert "did you mean" in unknown.output and SLUG in unknown.output
    empty = mediafeed(sample_project, "withdraw", "melatonin-for-children", "--reason", "  ")
    assert empty.exit_code == 2 and "withdrawn.reason: the reason is empty" in empty.output
    # a hand-written withdrawal that is malformed is a catalog problem
    other = sample_project / "episodes" / "melatonin-for-children" / "index.md"
    text = other.read_text()
    other.write_text(text.replace("\n---", "\nwithdrawn: {at: 2026-11-20, reason: ''}\n---", 1))
    check = mediafeed(sample_project, "check", "--no-media")
    assert check.exit_code == 3
    assert "withdrawn.at" in check.output and "withdrawn.reason: missing" in check.output


def test_withdrawn_episode_leaves_every_document_and_its_files_are_deleted(sample_project: Path, mediafeed: Any) -> None:
    public = sample_project / "public"
    assert mediafeed(sample_project, "publish").exit_code == 0
    guid = guid_of(sample_project / "episodes" / SLUG / "index.md")
    own = sorted(k for k in manifest_of(public)["objects"] if re.match(rf"^[a-z]+/{SLUG}-[0-9a-f]{{8}}\.", k))
    assert any(k.startswith("media/") for k in own) and any(k.startswith("transcripts/") for k in own)
    assert any(k.startswith("chapters/") for k in own)
    assert mediafeed(sample_project, "withdraw", SLUG, "--reason", "retracted").exit_code == 0
    status = json.loads(mediafeed(sample_project, "status", "--json").stdout)
    assert [w["slug"] for w in status["withdrawn"]] == [SLUG] and status["withdrawn"][0]["live"]

    result = mediafeed(sample_project, "publish", "--json")  # no --allow-removal: the withdrawal is the allow
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert sorted(payload["deletions"]) == sorted([*own, f"episodes/{SLUG}.html", f"embed/{SLUG}.html"])  # + its pages
    for key, data in documents(public).items():
        assert guid.encode() not in data and SLUG.encode() not in data, key
    for key in own:
        assert not (public / key).exists(), key
    manifest = manifest_of(public)
    assert manifest["retired"][guid] == {"slug": SLUG, "at": "2026-11-25T00:00:00Z", "reason": "retracted"}
    assert not set(own) & set(manifest["objects"]) and not set(own) & set(manifest.get("stale", {}))
    assert feed_problems(public) == []
    status = json.loads(mediafeed(sample_project, "status", "--json").stdout)
    assert status["withdrawn"][0]["live"] is False
    assert mediafeed(sample_project, "publish").output.count("up to date") == 1  # nothing more to do

    # a copy of the withdrawn episode (its GUID with it) is refused by check and by publish
    copy = sample_project / "episodes" / "lithium-levels-again"
    shutil.copytree(sample_project / "episodes" / SLUG, copy)
    text = (copy / "index.md").read_text()
    (copy / "index.md").write_text(re.sub(r"(?m)^withdrawn: .*\n", "", text))
    duplicate = mediafeed(sample_project, "check", "--no-media")  # beside the original: a duplicate GUID
    assert duplicate.exit_code == 3 and "guid: same GUID as" in duplicate.output
    shutil.rmtree(sample_project / "episodes" / SLUG)  # the withdrawn folder deleted: the GUID is still retired
    check = mediafeed(sample_project, "check", "--no-media")
    assert check.exit_code == 3
    assert f"episodes/lithium-levels-again/index.md: guid: GUID {guid} was retired" in check.output
    refused = mediafeed(sample_project, "publish")
    assert refused.exit_code == 3
    assert f"refused: episodes/lithium-levels-again/index.md: guid: GUID {guid} was retired" in refused.output


# --- gc on the local target --------------------------------------------------------------------------------------


def test_gc_keeps_old_versions_through_the_grace_period_then_deletes_them(sample_project: Path, mediafeed: Any) -> None:
    public = sample_project / "public"
    assert mediafeed(sample_project, "publish").exit_code == 0
    first = set(manifest_of(public)["objects"])
    retitle(sample_project, RENAMED, "Welcome to Northfield Rounds, Again")
    assert mediafeed(sample_project, "publish").exit_code == 0
    manifest = manifest_of(public)
    old = sorted(k for k in first if k not in documents(public) and k.startswith("media/") and k in manifest["stale"])
    assert old and all(manifest["stale"][k] == "2026-11-25T00:00:00Z" for k in old)
    assert all((public / k).is_file() for k in old)

    soon = json.loads(mediafeed(sample_project, "gc", "--json", now=SOON).stdout)
    assert soon["garbage"] == [] and {w["key"] for w in soon["waiting"]} >= set(old)
    assert all((public / k).is_file() for k in old)

    dry = mediafeed(sample_project, "gc", "--dry-run", now=LATER)
    assert dry.exit_code == 0, dry.output
    dry_json = json.loads(mediafeed(sample_project, "gc", "--dry-run", "--json", now=LATER).stdout)
    listed = {g["key"]: g["size"] for g in dry_json["garbage"]}
    assert set(old) <= set(listed)
    assert all(listed[k] == (public / k).stat().st_size for k in listed)
    assert dry_json["bytes"] == sum(listed.values()) and dry_json["deleted"] == []
    assert f"would delete {len(listed)} object(s)" in dry.output and all(k in dry.output for k in listed)
    assert all((public / k).is_file() for k in listed)

    done = mediafeed(sample_project, "-v", "gc", now=LATER)
    assert done.exit_code == 0, done.output
    assert all(f"deleted {k}" in done.output for k in listed)
    assert not any((public / k).exists() for k in listed)
    manifest = manifest_of(public)
    assert not set(listed) & set(manifest["objects"]) and "deleting" not in manifest
    assert feed_problems(public) == []
    for key, record in manifest["objects"].items():
        assert (public / key).stat().st_size == record["size"], key
    again = json.loads(mediafeed(sample_project, "gc", "--json", now=LATER).stdout)
    assert again["garbage"] == [] and again["deleted"] == []


def test_gc_adopts_untracked_objects_then_deletes_them_and_never_touches_others(sample_project: Path, mediafeed: Any) -> None:
    public = sample_project / "public"
    assert mediafeed(sample_project, "publish").exit_code == 0
    orphan, outsider = public / "media" / "crashed-0123abcd.mp3", public / "notes.txt"
    fresh = public / "media" / "new-0123abcd.mp3"
    for path in (orphan, outsider, fresh):
        path.write_bytes(b"x" * 10)
    long_ago = time.mktime(time.strptime("2026-11-01", "%Y-%m-%d"))
    os.utime(orphan, (long_ago, long_ago))
    os.utime(outsider, (long_ago, long_ago))
    yesterday = time.mktime(time.strptime("2026-12-02", "%Y-%m-%d"))
    os.utime(fresh, (yesterday, yesterday))  # written within the grace period before LATER: not garbage yet
    first = json.loads(mediafeed(sample_project, "gc", "--json", now=LATER).stdout)
    adopted = {a["key"] for a in first["adopted"]}
    assert "media/crashed-0123abcd.mp3" in adopted and first["deleted"] == []
    assert "media/new-0123abcd.mp3" not in adopted and "notes.txt" not in adopted
    assert orphan.is_file() and manifest_of(public)["stale"]["media/crashed-0123abcd.mp3"] == "2026-12-03T00:00:00Z"
    second = json.loads(mediafeed(sample_project, "gc", "--json", now="2026-12-11T00:00:00Z").stdout)
    assert "media/crashed-0123abcd.mp3" in second["deleted"]
    assert not orphan.exists() and outsider.is_file() and (public / MANIFEST_KEY).is_file()
    assert feed_problems(public) == []


# --- S3 (moto) ---------------------------------------------------------------------------------------------------


def keys_in(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])}


def test_s3_withdraw_and_gc(s3_project: Path, mediafeed: Any, bucket: str, s3: Any) -> None:
    def run(*args: str, now: str = NOW) -> Any:
        result = mediafeed(s3_project, *args, now=now)
        assert result.exit_code == 0, result.output
        return result

    run("publish", "--target", "s3")
    guid = guid_of(s3_project / "episodes" / SLUG / "index.md")
    own = {k for k in keys_in(s3, bucket) if re.match(rf"^[a-z]+/{SLUG}-[0-9a-f]{{8}}\.", k)}
    assert own
    run("withdraw", SLUG, "--reason", "retracted")
    retitle(s3_project, RENAMED, "Welcome Again")
    run("publish", "--target", "s3")
    present = keys_in(s3, bucket)
    assert not own & present
    for key in [k for k in present if k.startswith("feeds/")] + ["feeds.opml", "related.json"]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert guid.encode() not in body and SLUG.encode() not in body, key
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    assert manifest["retired"][guid]["reason"] == "retracted"
    stale = sorted(k for k in manifest["stale"] if k.startswith("media/"))
    assert stale and set(stale) <= present

    dry = json.loads(run("gc", "--target", "s3", "--dry-run", "--json", now=LATER).stdout)
    assert set(stale) <= {g["key"] for g in dry["garbage"]} and dry["bytes"] > 0
    assert set(stale) <= keys_in(s3, bucket)
    early = json.loads(run("gc", "--target", "s3", "--json", now=SOON).stdout)
    assert early["deleted"] == [] and set(stale) <= keys_in(s3, bucket)
    done = json.loads(run("gc", "--target", "s3", "--json", now=LATER).stdout)
    assert set(stale) <= set(done["deleted"]) and not set(done["deleted"]) & keys_in(s3, bucket)
    assert MANIFEST_KEY in keys_in(s3, bucket)

    # a new episode reusing the retired GUID is refused
    copy = s3_project / "episodes" / "lithium-copy"
    shutil.copytree(s3_project / "episodes" / SLUG, copy)
    (copy / "index.md").write_text(re.sub(r"(?m)^withdrawn: .*\n", "", (copy / "index.md").read_text()))
    shutil.rmtree(s3_project / "episodes" / SLUG)
    refused = mediafeed(s3_project, "publish", "--target", "s3")
    assert refused.exit_code == 3 and "lithium-copy/index.md: guid:" in refused.output and "retired" in refused.output


def test_s3_readers_never_see_a_feed_pointing_at_a_missing_object(
    s3_project: Path, mediafeed: Any, bucket: str, s3: Any, moto_endpoint: str
) -> None:
    """withdraw-publish and gc run at once (real processes) while a reader fetches every feed and HEADs every URL
    it references; a missing object counts only if the feed still references it when fetched again."""
    assert mediafeed(s3_project, "publish", "--target", "s3").exit_code == 0
    retitle(s3_project, RENAMED, "Welcome Again")
    assert mediafeed(s3_project, "publish", "--target", "s3").exit_code == 0  # old versions now stale since NOW
    assert mediafeed(s3_project, "withdraw", SLUG, "--reason", "retracted").exit_code == 0
    base = f"{moto_endpoint}/{bucket}/"
    violations: list[str] = []
    checks = [0]
    stop = threading.Event()

    def feed(key: str) -> bytes | None:
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def references(body: bytes) -> set[str]:
        tree = etree.fromstring(body)
        urls = {e.get("url") for e in tree.iter("enclosure", "{*}transcript", "{*}chapters", "{*}alternateEnclosure")}
        urls |= {e.get("href") for e in tree.iter("{*}image")} | {e.text for e in tree.iter("url")}
        urls |= {e.get("uri") for e in tree.iter("{*}source")}
        return {u.removeprefix(base) for u in urls if u and u.startswith(base)}

    def exists(key: str) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except Exception:
            return False

    def reader() -> None:
        while not stop.is_set():
            for key in sorted(k for k in keys_in(s3, bucket) if k.startswith("feeds/")):
                body = feed(key)
                if body is None:
                    continue
                for ref in sorted(references(body)):
                    checks[0] += 1
                    if not exists(ref):
                        again = feed(key)
                        if again is not None and ref in references(again) and not exists(ref):
                            violations.append(f"{key} -> {ref}")

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    command = [sys.executable, "-m", "mediafeed", "--project", str(s3_project), "-q", "--now", LATER]
    procs = [
        # each waits for the other's lease: whichever starts second must not give up with exit 4
        subprocess.Popen([*command, verb, "--target", "s3", "--wait=240"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for verb in ("publish", "gc")
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
    time.sleep(1.0)
    stop.set()
    thread.join(timeout=60)
    for code, err in outcomes:
        assert code == 0, err
    assert checks[0] > 0 and violations == []
    # whatever the interleaving, a gc afterwards leaves the target consistent and the withdrawn files gone
    assert mediafeed(s3_project, "gc", "--target", "s3", now=LATER).exit_code == 0
    present = keys_in(s3, bucket)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read())
    assert set(manifest["objects"]) <= present and "deleting" not in manifest
    assert not any(re.match(rf"^[a-z]+/{SLUG}-[0-9a-f]{{8}}\.", k) for k in present)
    for key in (k for k in present if k.startswith("feeds/")):
        body = feed(key)
        assert body is not None and references(body) <= present, key


def test_gc_deletes_pages_no_longer_published_after_the_grace_period(sample_project: Path, mediafeed: Any) -> None:
    """Pages turned off (or a show that shrank, a feed removed): stale from that publish, gone after the grace
    period; the feeds' stylesheet, still named by every feed, stays."""
    public = sample_project / "public"
    assert mediafeed(sample_project, "publish").exit_code == 0
    pages = sorted(str(p.relative_to(public)) for p in public.rglob("*.html"))
    assert "index.html" in pages and any(p.startswith("episodes/") for p in pages)
    config = sample_project / "mediafeed.toml"
    config.write_text(config.read_text().replace("[site]\n", "[site]\npages = false\n", 1))
    assert mediafeed(sample_project, "publish").exit_code == 0
    stale = manifest_of(public)["stale"]
    assert set(pages) <= set(stale)
    soon = json.loads(mediafeed(sample_project, "gc", "--json", now=SOON).stdout)
    assert soon["deleted"] == [] and all((public / p).is_file() for p in pages)
    done = json.loads(mediafeed(sample_project, "gc", "--json", now=LATER).stdout)
    deleted = (
        {g["key"] for g in done["deleted"]} if done["deleted"] and isinstance(done["deleted"][0], dict) else set(done["deleted"])
    )
    assert set(pages) <= deleted and not list(public.rglob("*.html"))
    assert [p.name[:5] for p in (public / "assets").iterdir()] == ["feed-"]  # the feeds' stylesheet stays
    assert feed_problems(public) == []
