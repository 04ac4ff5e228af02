"""Private feeds for paying subscribers (issue 18), through the real CLI: one secret copy of each private feed per
subscriber, revoked when they leave, expire or are rotated; nothing about them in any public document."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from mediafeed.catalog.subscribers import feed_key
from tests.conftest import NOW
from tests.integration.test_s3_publish import fetch, make_public
from tests.integration.test_takedown import keys_in

SECRET = "s3cr3t-for-tests-only-0123456789abcdefghijklmnop"
HIDDEN = "autism-in-adolescent-girls"  # a webinar made subscriber-only
EMAILS = ("ann.sentinel@example.com", "bob.sentinel@example.com", "cy.sentinel@example.com")
CSV = (
    "id,email,feeds,expires\n"
    f"c-1001,{EMAILS[0]},webinars,\n"
    f"c-1002,{EMAILS[1]},webinars,2026-12-31\n"
    f"c-1003,{EMAILS[2]},webinars,2026-11-01\n"  # expired before NOW
)
LATER = "2027-01-05T00:00:00Z"  # c-1002 has expired too


def make_private(project: Path, csv: str = CSV) -> Path:
    """The webinars feed for subscribers only, one webinar subscriber-only, and a subscriber list."""
    with (project / "feeds" / "webinars.yaml").open("a") as definition:
        definition.write("access: subscribers\n")
    index = project / "episodes" / HIDDEN / "index.md"
    index.write_text(index.read_text().replace("\nkind: webinar\n", "\nkind: webinar\naccess: subscribers\n", 1))
    (project / "private").mkdir()
    (project / "private" / "subscribers.csv").write_text(csv)
    toml = project / "mediafeed.toml"
    toml.write_text(toml.read_text() + '\n[subscribers]\nfile = "private/subscribers.csv"\n')
    return project


@pytest.fixture
def private_project(sample_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    return make_private(sample_project)


def urls(mediafeed, project: Path, subscriber: str, now: str = NOW) -> dict[str, str]:
    result = mediafeed(project, "subscribers", "url", subscriber, now=now)
    assert result.exit_code == 0, result.output
    return dict(line.split("\t") for line in result.stdout.splitlines() if "\t" in line)


def local(project: Path, url: str) -> Path:
    return project / "public" / url.removeprefix("http://127.0.0.1:8000/")


def copies(project: Path) -> dict[str, bytes]:
    root = project / "public" / "private"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("*/feeds/*.xml")} if root.exists() else {}


def public_files(project: Path) -> list[Path]:
    root = project / "public"
    hidden = re.compile(r"^(?:private/[^/]+/feeds/|_mediafeed/)")  # the copies themselves, and the bookkeeping
    return [p for p in root.rglob("*") if p.is_file() and not hidden.match(p.relative_to(root).as_posix())]


def test_each_subscriber_reads_their_own_copy_with_its_media(private_project: Path, mediafeed) -> None:
    result = mediafeed(private_project, "publish")
    assert result.exit_code == 0, result.output
    assert "Private feeds: 2 active subscriber(s), 2 feed copies; wrote 2" in result.output
    found = {s: urls(mediafeed, private_project, s)["webinars"] for s in ("c-1001", "c-1002")}
    assert len(set(found.values())) == 2
    for url in found.values():
        token = url.split("/")[-3]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 192 bits, URL-safe
        body = local(private_project, url).read_bytes()
        channel = etree.fromstring(body).find("channel")
        assert channel is not None
        ns = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "podcast": "https://podcastindex.org/namespace/1.0"}
        assert channel.findtext("itunes:block", namespaces=ns) == "Yes"
        assert channel.findtext("podcast:block", namespaces=ns) == "yes"
        assert channel.findtext("podcast:locked", namespaces=ns) == "yes"
        assert channel.find("{http://www.w3.org/2005/Atom}link").get("href") == url  # type: ignore[union-attr]
        enclosures = [e.get("url") or "" for e in channel.iter("enclosure")]
        assert any(f"/private/media/{HIDDEN}-" in u for u in enclosures)  # the subscriber-only episode, under private/
        for enclosure in enclosures:
            assert local(private_project, enclosure).is_file(), enclosure
        parsed = feedparser.parse(body)
        assert not parsed.bozo and len(parsed.entries) == len(enclosures)
    # the expired subscriber has no copy
    assert len(copies(private_project)) == 2


def test_nothing_private_in_any_public_document_or_output(private_project: Path, mediafeed) -> None:
    result = mediafeed(private_project, "-v", "publish")
    assert result.exit_code == 0, result.output
    tokens = [u.split("/")[-3] for s in ("c-1001", "c-1002") for u in urls(mediafeed, private_project, s).values()]
    listing = mediafeed(private_project, "-v", "subscribers", "list")
    again = mediafeed(private_project, "-v", "publish", "--json")
    verified = mediafeed(private_project, "-v", "publish", "--verify", "--json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["verify"]["untracked"] == []
    for output in (result.output, listing.output, again.output, verified.output):
        assert not any(e in output for e in EMAILS) and not any(t in output for t in tokens)
    index = private_project / "episodes" / HIDDEN / "index.md"
    guid = re.search(r"(?m)^guid: (.+)$", index.read_text()).group(1)  # type: ignore[union-attr]
    for path in public_files(private_project):
        data = path.read_bytes()
        assert not any(e.encode() in data for e in EMAILS), path
        assert not any(t.encode() in data for t in tokens), path
        if path.suffix in (".xml", ".json", ".opml", ".html"):
            assert HIDDEN.encode() not in data and guid.encode() not in data, path
            assert b"feeds/webinars.xml" not in data and b"/private/" not in data, path
    manifest = (private_project / "public" / "_mediafeed" / "manifest.json").read_text()
    assert not any(e in manifest for e in EMAILS) and not any(t in manifest for t in tokens)
    assert not re.search(r"c-100\d", manifest)  # subscribers by keyed hash only
    assert len(json.loads(manifest)["private"]["subscribers"]) == 2


def test_revoke_expire_and_rotate_touch_only_that_subscriber(private_project: Path, mediafeed) -> None:
    assert mediafeed(private_project, "publish").exit_code == 0
    first = {s: urls(mediafeed, private_project, s)["webinars"] for s in ("c-1001", "c-1002")}
    kept = local(private_project, first["c-1001"])
    before = (kept.read_bytes(), kept.stat().st_mtime_ns)
    # a no-op writes nothing
    noop = mediafeed(private_project, "publish")
    assert "wrote 0, deleted 0 (0 new, 0 revoked, 0 rotated)" in noop.output  # from the receipt or not: nothing
    # expired: c-1002's copy goes at the first publish after 2026-12-31, nothing else changes
    result = mediafeed(private_project, "publish", now=LATER)
    assert result.exit_code == 0, result.output
    assert "deleted 1 (0 new, 1 revoked, 0 rotated)" in result.output
    assert not local(private_project, first["c-1002"]).exists()
    assert (kept.read_bytes(), kept.stat().st_mtime_ns) == before
    # rotated: a new URL, the old one gone
    assert mediafeed(private_project, "subscribers", "rotate", "c-1001", now=LATER).exit_code == 0
    assert (private_project / "subscribers-rotations.yaml").read_text().count(": 1") == 1
    assert "c-1001" not in (private_project / "subscribers-rotations.yaml").read_text()
    result = mediafeed(private_project, "publish", now=LATER)
    assert "wrote 1, deleted 1 (0 new, 0 revoked, 1 rotated)" in result.output
    new = urls(mediafeed, private_project, "c-1001", now=LATER)["webinars"]
    assert new != first["c-1001"] and local(private_project, new).is_file() and not kept.exists()
    # removed from the list: every copy of theirs goes
    csv = private_project / "private" / "subscribers.csv"
    csv.write_text("\n".join(line for line in csv.read_text().splitlines() if not line.startswith("c-1001")) + "\n")
    result = mediafeed(private_project, "publish", now=LATER)
    assert "deleted 1 (0 new, 1 revoked, 0 rotated)" in result.output
    assert copies(private_project) == {}


def test_a_new_subscriber_gets_only_their_own_copies(private_project: Path, mediafeed) -> None:
    assert mediafeed(private_project, "publish").exit_code == 0
    before = {k: v for k, v in copies(private_project).items()}
    csv = private_project / "private" / "subscribers.csv"
    csv.write_text(csv.read_text() + "c-2000,dee.sentinel@example.com,webinars,\n")
    result = mediafeed(private_project, "publish")
    assert "wrote 1, deleted 0 (1 new, 0 revoked, 0 rotated)" in result.output
    after = copies(private_project)
    assert len(after) == 3 and all(after[k] == v for k, v in before.items())


def test_a_new_subscriber_only_episode_rewrites_each_copy_once(private_project: Path, mediafeed) -> None:
    index = private_project / "episodes" / "medications-for-alcohol-use-disorder" / "index.md"
    index.write_text(index.read_text().replace("\nkind: webinar\n", "\nkind: webinar\naccess: subscribers\n", 1))
    result = mediafeed(private_project, "publish")
    assert result.exit_code == 0 and "wrote 2, deleted 0" in result.output
    index.write_text(index.read_text().replace("\ntitle: ", "\ntitle: Updated ", 1))
    result = mediafeed(private_project, "publish")
    assert "wrote 2, deleted 0 (0 new, 0 revoked, 0 rotated)" in result.output


def test_without_the_secret_nothing_is_written(private_project: Path, mediafeed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIAFEED_SUBSCRIBER_SECRET")
    for args in (("publish",), ("subscribers", "list"), ("subscribers", "url", "c-1001")):
        result = mediafeed(private_project, *args)
        assert result.exit_code == 4, result.output
        assert "MEDIAFEED_SUBSCRIBER_SECRET" in result.output and "Traceback" not in result.output
    assert not (private_project / "public").exists()
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", "short")
    assert mediafeed(private_project, "publish").exit_code == 4


def test_another_secret_gives_other_urls(private_project: Path, mediafeed, monkeypatch: pytest.MonkeyPatch) -> None:
    first = urls(mediafeed, private_project, "c-1001")["webinars"]
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET + "x")
    assert urls(mediafeed, private_project, "c-1001")["webinars"] != first


def test_bad_subscriber_lines_are_named_without_their_address(private_project: Path, mediafeed) -> None:
    csv = private_project / "private" / "subscribers.csv"
    csv.write_text(CSV + "c-1001,dup.sentinel@example.com,webinars,\nc-9,not-an-address,podcast,2026-02-30\n")
    result = mediafeed(private_project, "publish")
    assert result.exit_code == 3
    assert "private/subscribers.csv: line 5: id: 'c-1001' already on line 2" in result.output
    assert "line 6: email: not an email address" in result.output
    assert "line 6: feeds: 'podcast' is not a private feed" in result.output
    assert "line 6: expires: '2026-02-30' is not a date" in result.output
    assert "sentinel" not in result.output and "not-an-address" not in result.output
    assert not (private_project / "public").exists()


def test_export_for_a_mailer(private_project: Path, mediafeed, tmp_path: Path) -> None:
    out = tmp_path / "mailer.csv"
    result = mediafeed(private_project, "subscribers", "export", "-o", str(out))
    assert result.exit_code == 0 and EMAILS[0] not in result.output
    rows = out.read_text().splitlines()
    assert rows[0] == "id,email,feed,url" and len(rows) == 3  # the expired subscriber is not mailed
    assert rows[1].startswith(f"c-1001,{EMAILS[0]},webinars,http://127.0.0.1:8000/private/")
    assert out.stat().st_mode & 0o077 == 0


def test_over_http_from_an_s3_bucket(s3_project: Path, mediafeed, s3, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Against moto: each copy and its enclosures are fetched over HTTP; a revoked URL answers 404 (or 403)."""
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    make_private(s3_project)
    result = mediafeed(s3_project, "-v", "publish", "--target", "s3")
    assert result.exit_code == 0, result.output
    make_public(s3, bucket)
    found = {}
    for subscriber in ("c-1001", "c-1002"):
        out = mediafeed(s3_project, "subscribers", "url", subscriber, "--target", "s3")
        found[subscriber] = dict(line.split("\t") for line in out.stdout.splitlines())["webinars"]
    tokens = [u.split("/")[-3] for u in found.values()]
    for url in found.values():
        status, headers, body = fetch(url)
        assert status == 200 and headers["Cache-Control"] == "private, max-age=60"
        assert headers["Content-Type"].startswith("application/xml")
        enclosures = [e.get("url") for e in etree.fromstring(body).iter("enclosure")]
        assert any("/private/media/" in (u or "") for u in enclosures)
        for enclosure in enclosures:
            status, headers, _ = fetch(enclosure or "", headers={"Range": "bytes=0-1"})
            assert status == 206 and "immutable" in headers["Cache-Control"]
    for key in keys_in(s3, bucket):  # the sentinel sweep: every object but the copies themselves
        if re.match(r"^private/[^/]+/feeds/", key):
            continue
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert not any(e.encode() in data for e in EMAILS) and not any(t.encode() in data for t in tokens), key
    assert not any(e in result.output for e in EMAILS) and not any(t in result.output for t in tokens)
    csv = s3_project / "private" / "subscribers.csv"
    csv.write_text("\n".join(line for line in csv.read_text().splitlines() if not line.startswith("c-1002")) + "\n")
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert "deleted 1 (0 new, 1 revoked, 0 rotated)" in result.output
    with pytest.raises(urllib.error.HTTPError) as gone:
        fetch(found["c-1002"])
    assert gone.value.code in (403, 404)
    assert fetch(found["c-1001"])[0] == 200


def publish_command(project: Path, now: str = NOW) -> list[str]:
    return [sys.executable, "-m", "mediafeed", "--project", str(project), "-q", "--now", now, "publish", "--wait=120"]


def on_disk(project: Path) -> dict[str, bytes]:
    """Every copy in the target, checked against the manifest: none it does not record (a revoked one left behind)."""
    root = project / "public"
    manifest = json.loads((root / "_mediafeed" / "manifest.json").read_text())
    recorded = {
        feed_key(SECRET.encode(), key, entry["generation"], feed)
        for key, entry in manifest["private"]["subscribers"].items()
        for feed in entry["feeds"]
    }
    present = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("private/*/feeds/*.xml")}
    assert set(present) == recorded
    return present


def test_killed_publishes_converge(sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 in the middle of rewriting 900 subscribers' copies (with 100 more to revoke); the publish after it
    leaves exactly what an uninterrupted one does, and no revoked copy behind."""
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    lines = [f"s-{n},s{n}@example.com,webinars,\n" for n in range(1000)]
    make_private(sample_project, "id,email,feeds,expires\n" + "".join(lines))
    subprocess.run(publish_command(sample_project), check=True, capture_output=True)
    # the change: a new title for the subscriber-only episode (every copy), and the last 100 subscribers gone
    index = sample_project / "episodes" / HIDDEN / "index.md"
    index.write_text(index.read_text().replace("\ntitle: ", "\ntitle: Revised ", 1))
    (sample_project / "private" / "subscribers.csv").write_text("id,email,feeds,expires\n" + "".join(lines[:900]))
    reference = tmp_path / "reference"
    shutil.copytree(sample_project, reference, symlinks=True)
    subprocess.run(publish_command(reference), check=True, capture_output=True)
    expected = on_disk(reference)
    assert len(expected) == 900
    # the copies written first (in key order), watched so the kill lands once the rewrite has begun
    root = sample_project / "public"
    first = sorted(on_disk(sample_project))[:3]
    process = subprocess.Popen(publish_command(sample_project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(b"Revised" in (root / key).read_bytes() for key in first):
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    revised = sum(b"Revised" in p.read_bytes() for p in root.glob("private/*/feeds/*.xml"))
    assert 0 < revised < 900  # interrupted mid-way: some copies new, some old, the revoked ones still there
    assert len(list(root.glob("private/*/feeds/*.xml"))) == 1000
    finished = subprocess.run(publish_command(sample_project), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert on_disk(sample_project) == expected


def test_concurrent_publishes_converge(sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two publishers (two checkouts, one target) with different subscriber lists: both finish (one waits for the
    other's lease) and the target ends as the last one wants, with no copy the manifest does not record."""
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    shared = tmp_path / "shared-public"
    make_private(sample_project)
    toml = sample_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('path = "public"', f'path = "{shared}"'))
    other = tmp_path / "other"
    shutil.copytree(sample_project, other, symlinks=True)
    (other / "private" / "subscribers.csv").write_text(CSV + "c-2000,dee@example.com,webinars,\n")
    procs = [
        subprocess.Popen(publish_command(p), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in (sample_project, other)
    ]
    for process in procs:
        assert process.wait(timeout=300) == 0, process.stderr.read()  # type: ignore[union-attr]
    manifest = json.loads((shared / "_mediafeed" / "manifest.json").read_text())
    assert len(manifest["private"]["subscribers"]) in (2, 3)
    # whichever finished last, publishing from the first checkout again converges on its list
    subprocess.run(publish_command(sample_project), check=True, capture_output=True)
    recorded = json.loads((shared / "_mediafeed" / "manifest.json").read_text())["private"]["subscribers"]
    assert len(recorded) == 2
    present = {p.relative_to(shared).as_posix() for p in shared.glob("private/*/feeds/*.xml")}
    assert present == {feed_key(SECRET.encode(), k, e["generation"], f) for k, e in recorded.items() for f in e["feeds"]}


def test_presigned_media_are_signed_per_copy_and_renewed(
    s3_project: Path, mediafeed, s3, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """private_media = "presigned": subscriber-only media is linked by SigV4 presigned URLs, the bucket keeps it
    private, and a publish a third of the lifetime later signs every copy again."""
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    make_private(s3_project)
    toml = s3_project / "mediafeed.toml"
    text = toml.read_text()
    toml.write_text(text.replace("[media]", 'private_media = "presigned"\npresign_days = 3\n\n[media]', 1))
    assert mediafeed(s3_project, "target", "setup", "s3").exit_code == 0
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    resources = policy["Statement"][0]["Resource"]
    assert f"arn:aws:s3:::{bucket}/private/*/feeds/*" in resources and f"arn:aws:s3:::{bucket}/private/*" not in resources
    result = mediafeed(s3_project, "publish", "--target", "s3")
    assert result.exit_code == 0, result.output
    out = mediafeed(s3_project, "subscribers", "url", "c-1001", "--target", "s3")
    url = dict(line.split("\t") for line in out.stdout.splitlines())["webinars"]
    key = url.split(f"/{bucket}/", 1)[1]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    links = [e.get("url") or "" for e in etree.fromstring(body).iter("enclosure")]
    signed = [u for u in links if "/private/media/" in u]
    assert signed and all("X-Amz-Signature=" in u and "X-Amz-Expires=259200" in u for u in signed)
    assert all("X-Amz-Signature" not in u for u in links if "/private/" not in u)  # public episodes: plain URLs
    status, _, _ = fetch(signed[0], headers={"Range": "bytes=0-1"})
    assert status == 206
    # two copies of the same feed sign separately (each subscriber's links are their own)
    other = mediafeed(s3_project, "subscribers", "url", "c-1002", "--target", "s3")
    other_key = dict(line.split("\t") for line in other.stdout.splitlines())["webinars"].split(f"/{bucket}/", 1)[1]
    assert s3.get_object(Bucket=bucket, Key=other_key)["Body"].read() != body
    # an hour later nothing is due; a day later (a third of 3 days) every copy is signed again
    soon = mediafeed(s3_project, "publish", "--target", "s3", now="2026-11-25T01:00:00Z")
    assert "wrote 0, deleted 0" in soon.output or "nothing changed" in soon.output
    later = mediafeed(s3_project, "publish", "--target", "s3", now="2026-11-26T01:00:00Z")
    assert "wrote 2, deleted 0" in later.output, later.output


def test_check_warns_about_what_would_leak_or_reach_nobody(private_project: Path, mediafeed) -> None:
    subprocess.run(["git", "init", "-q", str(private_project)], check=True)
    subprocess.run(["git", "-C", str(private_project), "add", "-A"], check=True)
    index = private_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    index.write_text(index.read_text().replace("\nkind: podcast\n", "\nkind: podcast\naccess: subscribers\n", 1))
    result = mediafeed(private_project, "check", "--no-media")
    assert result.exit_code == 0, result.output
    assert "private/subscribers.csv: tracked by git: it holds subscribers' addresses" in result.output
    assert "episodes/welcome-to-northfield-rounds/index.md: access: subscriber-only, but no private feed selects it" in (
        result.output
    )
    subprocess.run(["git", "-C", str(private_project), "rm", "-q", "--cached", "private/subscribers.csv"], check=True)
    result = mediafeed(private_project, "check", "--no-media")
    assert "private/subscribers.csv: not ignored by git: `git add -A` would commit subscribers' addresses" in result.output
    (private_project / ".gitignore").write_text("private/\n")
    assert "subscribers.csv" not in mediafeed(private_project, "check", "--no-media").output
    toml = private_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('file = "private/subscribers.csv"', 'file = ""'))
    result = mediafeed(private_project, "check", "--no-media")
    assert "subscribers.file: private feed(s) webinars but no subscriber list: nobody gets them" in result.output


def test_subscriber_commands_without_a_list_or_with_a_missing_file(private_project: Path, mediafeed) -> None:
    csv = private_project / "private" / "subscribers.csv"
    csv.unlink()
    missing = mediafeed(private_project, "subscribers", "list")
    assert missing.exit_code == 3 and "private/subscribers.csv" in missing.output and "Traceback" not in missing.output
    toml = private_project / "mediafeed.toml"
    toml.write_text(toml.read_text().replace('file = "private/subscribers.csv"', 'file = ""'))
    unset = mediafeed(private_project, "subscribers", "url", "c-1001")
    assert unset.exit_code == 2 and "[subscribers] file is not set" in unset.output
    assert mediafeed(private_project, "subscribers", "url", "nobody").exit_code == 2


def test_verify_writes_a_lost_copy_again(private_project: Path, mediafeed) -> None:
    assert mediafeed(private_project, "publish").exit_code == 0
    url = urls(mediafeed, private_project, "c-1001")["webinars"]
    before = local(private_project, url).read_bytes()
    local(private_project, url).unlink()  # deleted behind mediafeed's back
    assert "wrote 0, deleted 0" in mediafeed(private_project, "publish").output  # the manifest says it is there
    repaired = mediafeed(private_project, "publish", "--verify")
    assert repaired.exit_code == 0 and "wrote 1, deleted 0" in repaired.output, repaired.output
    assert local(private_project, url).read_bytes() == before


def test_status_counts_what_a_publish_would_do_for_subscribers(private_project: Path, mediafeed) -> None:
    before = mediafeed(private_project, "status")
    assert "private:    2 active subscriber(s), 2 feed copies; a publish would write 2 and delete 0" in before.output
    assert mediafeed(private_project, "publish").exit_code == 0
    after = json.loads(mediafeed(private_project, "status", "--json").stdout)["private"]
    assert (after["write"], after["delete"], after["copies"]) == (0, 0, 2)


def test_a_feed_made_private_leaves_the_public_path_at_once(sample_project: Path, mediafeed, monkeypatch) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public" / "feeds" / "webinars.xml"
    assert public.is_file()
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET)
    make_private(sample_project)  # also makes a published webinar subscriber-only: it leaves a public feed
    refused = mediafeed(sample_project, "publish")
    assert refused.exit_code == 3 and "would drop the published episode 'autism-in-adolescent-girls'" in refused.output
    assert public.is_file()  # nothing was written
    result = mediafeed(sample_project, "publish", "--allow-removal")
    assert result.exit_code == 0, result.output
    assert not public.exists() and "webinars" not in (sample_project / "public" / "feeds.opml").read_text()
    assert len(copies(sample_project)) == 2


def test_a_new_secret_revokes_every_copy_made_under_the_old_one(
    private_project: Path, mediafeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret leaked, so the producer changes it: every old URL must stop working, though the old keys can no
    longer be derived (the copies under private/ are listed and the ones no subscriber should have are deleted)."""
    assert mediafeed(private_project, "publish").exit_code == 0
    old = set(copies(private_project))
    monkeypatch.setenv("MEDIAFEED_SUBSCRIBER_SECRET", SECRET + "-rotated")
    result = mediafeed(private_project, "publish")
    assert result.exit_code == 0, result.output
    new = set(copies(private_project))
    assert len(new) == 2 and not new & old
    assert "wrote 0, deleted 0" in mediafeed(private_project, "publish").output
