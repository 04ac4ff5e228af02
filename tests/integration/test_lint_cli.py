"""`mediafeed lint`, `check`'s lint, and `mediafeed artwork [--fix]` on the sample catalog, through the real CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

from lxml import etree
from PIL import Image

from mediafeed.catalog.artwork import artwork_problems
from mediafeed.digest import sha256_file
from mediafeed.feeds.lint import RULES

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
FEEDS = ["child-psychiatry", "medication-guides", "podcast", "webinars"]


def test_the_sample_feeds_lint_clean_but_for_the_local_preview_urls(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "lint")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # The topic feed child-psychiatry mixes shows whose numbers clash: it carries none, and lint notes it.
    assert lines[-1] == "4 feed(s): 0 error(s), 0 warning(s), 5 info"
    left_out = [line for line in lines if " INFO mediafeed-numbers-left-out: " in line]
    assert [line.split(":")[0] for line in left_out] == ["feeds/child-psychiatry.xml"]
    local = [line for line in lines[:-1] if line not in left_out]
    assert [line.split(":")[0] for line in local] == [f"feeds/{f}.xml" for f in FEEDS]
    assert all(" INFO media-http-local: " in line and "http://127.0.0.1:8000/" in line for line in local)
    assert not (sample_project / "public").exists()  # rendered, never published

    report = json.loads(mediafeed(sample_project, "lint", "--json").stdout)
    assert report["ok"] is True and report["feeds"] == 4
    assert {f["code"] for f in report["findings"]} == {"media-http-local", "mediafeed-numbers-left-out"}


def test_lint_files_reports_each_finding_with_its_fix(sample_project: Path, mediafeed, tmp_path: Path) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    published = sorted((sample_project / "public" / "feeds").glob("*.xml"))
    result = mediafeed(sample_project, "lint", *map(str, published))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "4 feed(s): 0 error(s), 0 warning(s), 4 info"

    broken = tmp_path / "broken.xml"
    tree = etree.parse(str(published[0]))
    owner = tree.find(f"channel/{{{ITUNES}}}owner")
    owner.remove(owner.find(f"{{{ITUNES}}}email"))
    tree.write(str(broken), xml_declaration=True, encoding="UTF-8")
    result = mediafeed(sample_project, "lint", str(broken))
    assert result.exit_code == 3
    (line,) = [line for line in result.stdout.splitlines() if " ERROR " in line]
    assert line.startswith(f"{broken}: ERROR apple-owner-email: <itunes:owner> has no <itunes:email>; set owner:")


def test_lint_refuses_hostile_xml(sample_project: Path, mediafeed, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><title>&s;</title></channel></rss>'
    )
    result = mediafeed(sample_project, "lint", str(hostile))
    assert result.exit_code == 3
    assert f"{hostile}: ERROR xml-doctype:" in result.stdout
    assert "TOP-SECRET" not in result.output


def test_lint_rules_prints_the_table(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "lint", "--rules")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [rule.code for rule in RULES]


def test_check_runs_lint_and_fails_on_a_lint_error(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 0, result.output
    assert "INFO" not in result.stdout and "(5 informational lint note(s);" in result.stdout  # shown with -v
    assert mediafeed(sample_project, "-v", "check").stdout.count("INFO media-http-local") == 4
    codes = {f["code"] for f in json.loads(mediafeed(sample_project, "check", "--json").stdout)["lint"]}
    assert codes == {"media-http-local", "mediafeed-numbers-left-out"}

    # medication-guides is a serial show: Apple requires a number on each of its episodes; the catalog allows none.
    index = sample_project / "episodes" / "melatonin-for-children" / "index.md"
    index.write_text(index.read_text().replace("episode: 2\n", ""))
    result = mediafeed(sample_project, "check")
    assert result.exit_code == 3
    assert "feeds/medication-guides.xml: ERROR apple-serial-episode: item 1 ('" in result.stdout
    assert "number the episodes" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 feed lint error(s): 4 feeds")
    assert json.loads(mediafeed(sample_project, "check", "--json").stdout)["ok"] is False
    assert mediafeed(sample_project, "check", "--no-lint").exit_code == 0
    assert mediafeed(sample_project, "lint").exit_code == 3


def bad_png() -> bytes:
    """RGBA, 800×1000: every rule at once (alpha, too small, not square)."""
    buffer = io.BytesIO()
    Image.new("RGBA", (800, 1000), (20, 120, 200, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def test_artwork_fix_lets_publish_succeed(sample_project: Path, mediafeed) -> None:
    original = sample_project / "artwork" / "podcast.png"
    original.write_bytes(bad_png())
    before = original.read_bytes()

    check = mediafeed(sample_project, "check")
    assert check.exit_code == 3
    assert "feeds/podcast.yaml: image: podcast.png: colour mode RGBA;" in check.stdout
    assert "mediafeed artwork --fix" in check.stdout
    assert mediafeed(sample_project, "publish").exit_code == 3

    listed = mediafeed(sample_project, "artwork")
    assert listed.exit_code == 3
    lines = listed.stdout.splitlines()
    assert "feeds/podcast.yaml: image: podcast.png: not square (800×1000 px); crop it to a square" in lines
    assert lines[-1].startswith("1 image(s) with problems, 1 without a fixed copy; run `mediafeed artwork --fix`")

    fixed = mediafeed(sample_project, "artwork", "--fix")
    assert fixed.exit_code == 0, fixed.output
    copy = sample_project / "build" / "artwork" / f"{sha256_file(original)[:16]}.png"
    assert f"fixed: feeds/podcast.yaml: image: artwork/podcast.png → build/artwork/{copy.name}" in fixed.stdout
    assert artwork_problems(copy) == []
    assert original.read_bytes() == before
    assert mediafeed(sample_project, "artwork").exit_code == 0

    published = mediafeed(sample_project, "publish")
    assert published.exit_code == 0, published.output
    key = f"artwork/podcast-{sha256_file(copy)[:8]}.png"
    assert (sample_project / "public" / key).read_bytes() == copy.read_bytes()
    feed = etree.parse(str(sample_project / "public" / "feeds" / "podcast.xml"))
    assert feed.find(f"channel/{{{ITUNES}}}image").get("href") == f"http://127.0.0.1:8000/{key}"

    assert mediafeed(sample_project, "check", "--no-lint").exit_code == 0
    Image.new("RGBA", (900, 900)).save(original, "PNG")  # new content: the old copy no longer applies
    assert mediafeed(sample_project, "check", "--no-lint").exit_code == 3
