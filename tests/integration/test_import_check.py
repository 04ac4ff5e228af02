"""`mediafeed import --check`: a show imported from a local HTTP server (127.0.0.1, a random port) and published to a
local target that the same server serves passes the migration check; then one thing is broken at a time (a title
edited in the catalog, a published media file deleted, a date changed, an episode only in ours, an item only in the
old feed, the channel's podcast:guid) and each is reported naming the item, with the right exit code."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Invoke
from tests.integration.test_import import old_host

NOW = "2026-11-25T00:00:00Z"
KEEPER = "3f2a9c1e-7d4b-4e8a-9b1c-2d3e4f5a6b7c"
WELCOME = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.fixture
def server(tmp_path: Path, make_tone: Callable[..., Path]) -> Iterator[tuple[str, Path]]:
    """The old host (feed.xml, media/, art/) and, under /new/, the folder our local target publishes into."""
    root = tmp_path / "www"
    make_tone(root / "media" / "keepers-log.mp3", seconds=3.0)
    make_tone(root / "media" / "welcome.mp3", seconds=2.0)
    (root / "art").mkdir()
    Image.new("RGB", (1400, 1400), (20, 60, 120)).save(root / "art" / "show.png")
    yield from old_host(root, "show.xml")


@pytest.fixture
def moved(tmp_path: Path, server: tuple[str, Path], mediafeed: Invoke) -> tuple[Path, str, Path]:
    """Imported from the old host and published to the new one: (project, old feed URL, the served www/ folder)."""
    base, root = server
    project = tmp_path / "show"
    assert mediafeed(tmp_path, "init", str(project), "--title", "Harbour").exit_code == 0
    config = project / "mediafeed.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^path = "public"', f'path = "{root / "new"}"', text, count=1)
    text = re.sub(r'(?m)^public_url = "http://127.0.0.1:8000"', f'public_url = "{base}/new"', text, count=1)
    config.write_text(text, encoding="utf-8")
    imported = mediafeed(project, "import", f"{base}/feed.xml", "--feed", "harbour")
    assert imported.exit_code == 0, imported.output
    published = mediafeed(project, "publish", now=NOW)
    assert published.exit_code == 0, published.output
    return project, f"{base}/feed.xml", root


def check(mediafeed: Invoke, project: Path, url: str, *extra: str) -> tuple[int, dict[str, object], str]:
    as_json = mediafeed(project, "import", "--check", url, *extra, "--json")
    human = mediafeed(project, "import", "--check", url, *extra)
    assert as_json.exit_code == human.exit_code
    assert "Traceback" not in human.output
    return as_json.exit_code, json.loads(as_json.stdout), human.output


def findings(report: dict[str, object], severity: str) -> list[dict[str, str]]:
    return [f for f in report["findings"] if f["severity"] == severity]  # type: ignore[union-attr, index]


def republish(mediafeed: Invoke, project: Path) -> None:
    result = mediafeed(project, "publish", now=NOW)
    assert result.exit_code == 0, result.output


def test_a_faithful_move_passes(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, _root = moved
    code, report, human = check(mediafeed, project, url)
    assert code == 0, human
    assert report["ok"] is True and report["errors"] == 0 and report["warnings"] == 0
    assert {(i["guid"], i["date"], i["title_check"], i["enclosure"]) for i in report["items"]} == {  # type: ignore[union-attr, index]
        (KEEPER, "ok", "ok", "ok"),
        (WELCOME, "ok", "ok", "ok"),
    }
    assert report["counts"] == {"old_items": 2, "our_items": 2, "enclosures_probed": 2}
    notes = findings(report, "info")
    assert [n["check"] for n in notes] == ["new-feed-url"] and "no itunes:new-feed-url yet" in notes[0]["message"]
    assert "migration check passed" in human and "The Keeper's Log" in human
    # The feed is found without --feed (the feed file import wrote records its source); --feed and --target agree.
    assert check(mediafeed, project, url, "--feed", "harbour", "--target", "local")[0] == 0


def test_a_title_edited_in_the_catalog(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, _root = moved
    index = project / "episodes" / "the-keeper-s-log" / "index.md"
    index.write_text(index.read_text().replace('title: "The Keeper\'s Log"', 'title: "The Keepers Log (remastered)"'))
    republish(mediafeed, project)
    code, report, human = check(mediafeed, project, url)
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"]) == (KEEPER, "title")
    assert "The Keepers Log (remastered)" in error["message"] and "title:" in error["hint"]
    assert f'error: {KEEPER} "The Keeper\'s Log": title:' in human and "migration check FAILED" in human


def test_a_deleted_media_file(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, root = moved
    [media] = [p for p in (root / "new" / "media").rglob("*.mp3") if "welcome" in p.name]
    media.unlink()
    code, report, human = check(mediafeed, project, url)
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"]) == (WELCOME, "enclosure")
    assert "HTTP 404" in error["message"] and media.name in error["message"] and "publish" in error["hint"]
    assert "Welcome to Harbour Lights" in human


def test_a_truncated_media_file(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, root = moved
    [media] = [p for p in (root / "new" / "media").rglob("*.mp3") if "keeper" in p.name]
    media.write_bytes(media.read_bytes()[:1000])
    code, report, _human = check(mediafeed, project, url)
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"]) == (KEEPER, "enclosure") and "serves 1000 bytes" in error["message"]


def test_a_changed_date(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, _root = moved
    index = project / "episodes" / "welcome-to-harbour-lights" / "index.md"
    text = index.read_text()
    assert "published: 2024-02-19T18:00:00-05:00" in text
    index.write_text(text.replace("published: 2024-02-19T18:00:00-05:00", "published: 2024-02-19T18:00:00+00:00"))
    republish(mediafeed, project)
    code, report, _human = check(mediafeed, project, url)
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"]) == (WELCOME, "date")
    assert "2024-02-19T18:00:00-05:00" in error["hint"]


def test_the_same_instant_in_another_offset_passes(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, _root = moved
    index = project / "episodes" / "welcome-to-harbour-lights" / "index.md"
    index.write_text(index.read_text().replace("published: 2024-02-19T18:00:00-05:00", "published: 2024-02-19T23:00:00Z"))
    republish(mediafeed, project)
    assert check(mediafeed, project, url)[0] == 0


def test_an_extra_episode_is_a_warning(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, _root = moved
    extra = project / "episodes" / "a-new-season"
    shutil.copytree(project / "episodes" / "the-keeper-s-log", extra)
    index = extra / "index.md"
    text = index.read_text().replace(KEEPER, "0c0c0c0c-0000-4000-8000-00000000000c")
    index.write_text(text.replace('title: "The Keeper\'s Log"', 'title: "A New Season"'))
    republish(mediafeed, project)
    code, report, human = check(mediafeed, project, url)
    assert code == 0, human
    [warning] = findings(report, "warning")
    assert (warning["guid"], warning["check"], warning["title"]) == (
        "0c0c0c0c-0000-4000-8000-00000000000c",
        "extra",
        "A New Season",
    )
    assert "new episode" in warning["message"]
    assert re.search(r"(?m)^extra\s+0c0c0c0c-0000-4000-8000-00000000000c .* A New Season$", human)


def test_an_item_missing_from_ours(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, root = moved
    feed = root / "feed.xml"
    item = (
        '<item><title>Lost at Sea</title><guid isPermaLink="false">0d0d0d0d-0000-4000-8000-00000000000d</guid>'
        '<pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate><enclosure url="http://127.0.0.1:9/x.mp3" length="1" '
        'type="audio/mpeg"/></item>\n  </channel>'
    )
    feed.write_text(feed.read_text().replace("</channel>", item))
    code, report, human = check(mediafeed, project, url)
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"], error["title"]) == ("0d0d0d0d-0000-4000-8000-00000000000d", "missing", "Lost at Sea")
    assert "mediafeed import" in error["hint"]
    assert re.search(r"(?m)^MISSING\s+0d0d0d0d-0000-4000-8000-00000000000d .* Lost at Sea$", human)


def test_the_channel_guid_must_be_kept(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, root = moved
    feed = root / "feed.xml"
    feed.write_text(feed.read_text().replace("917393e3-1b1e-5cef-ace4-edaa54e1f810", "11111111-1b1e-5cef-ace4-edaa54e1f810"))
    # and the old feed already points apps at us: noted as info
    ours = mediafeed(project, "import", "--check", url, "--feed", "harbour", "--json")
    our_url = json.loads(ours.stdout)["our_url"]
    assert our_url.endswith("/new/feeds/harbour.xml")
    feed.write_text(
        feed.read_text().replace("<itunes:type>", f"<itunes:new-feed-url>{our_url}</itunes:new-feed-url><itunes:type>")
    )
    code, report, _human = check(mediafeed, project, url, "--feed", "harbour")
    assert code == 3
    [error] = findings(report, "error")
    assert (error["guid"], error["check"]) == ("channel", "podcast:guid") and "guid: 11111111" in error["hint"]
    [info] = findings(report, "info")
    assert info["message"] == "the old feed's itunes:new-feed-url points at our feed"


def test_usage_problems_are_reported_without_a_traceback(moved: tuple[Path, str, Path], mediafeed: Invoke) -> None:
    project, url, root = moved
    unknown = mediafeed(project, "import", "--check", url, "--feed", "nope")
    assert unknown.exit_code == 2 and "--feed: no feeds/nope.yaml" in unknown.output and "harbour" in unknown.output
    gone = mediafeed(project, "import", "--check", url.replace("feed.xml", "gone.xml"))
    assert gone.exit_code == 2 and "cannot fetch" in gone.output
    shutil.rmtree(root / "new" / "feeds")
    unpublished = mediafeed(project, "import", "--check", url)
    assert unpublished.exit_code == 3 and "not published on target 'local'" in unpublished.output
    assert "mediafeed publish --target local" in unpublished.output
    assert all("Traceback" not in r.output for r in (unknown, gone, unpublished))


def test_a_loopback_old_host_needs_allow_private(
    moved: tuple[Path, str, Path], mediafeed: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, url, _root = moved
    monkeypatch.delenv("MEDIAFEED_IMPORT_ALLOW_PRIVATE")
    refused = mediafeed(project, "import", "--check", url)
    assert refused.exit_code == 2 and "loopback address" in refused.output and "--allow-private" in refused.output
    assert mediafeed(project, "import", "--check", "--allow-private", url).exit_code == 0
