"""A listener's and an editor's view of the published site, in Chromium through the real preview server."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site, Watched

AUDIO_WITH_CHAPTERS = "adhd-in-teens-school-sleep-screens"
AUDIO_WITH_TRANSCRIPT = "lithium-levels-in-practice"
VIDEO = "autism-in-adolescent-girls"
PAGE_BUDGET = 150 * 1024  # bytes on the wire per page, everything but audio and video

PAGES = {
    "home": "index.html",
    "show": "shows/podcast.html",
    "episode-audio": f"episodes/{AUDIO_WITH_CHAPTERS}.html",
    "episode-transcript": f"episodes/{AUDIO_WITH_TRANSCRIPT}.html",
    "episode-video": f"episodes/{VIDEO}.html",
    "embed": f"embed/{AUDIO_WITH_CHAPTERS}.html",
    "feed": "feeds/podcast.xml",
}
pytestmark = pytest.mark.timeout(180)  # a browser call that never returns fails the test, not the run
SCREENSHOTS = os.environ.get("MEDIAFEED_SCREENSHOTS")  # a folder: save a screenshot of every page type there


def visit(watch: Any, site: Site, key: str) -> Watched:
    watched: Watched = watch()
    response = watched.page.goto(site.url(key), wait_until="load")
    assert response is not None and response.status == 200, key
    return watched


def media_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const m = document.getElementById('player');
        return {paused: m.paused, time: m.currentTime, duration: m.duration, ready: m.readyState,
                seekable: m.seekable.length ? [m.seekable.start(0), m.seekable.end(0)] : [],
                error: m.error && m.error.code, tag: m.tagName.toLowerCase()}; }"""
    )


def play(page: Any) -> None:
    """Press the player's Play button (Plyr's, by its accessible name) and wait until time moves."""
    page.get_by_role("button", name=re.compile(r"^play", re.I)).first.click()
    moving = "() => { const m = document.getElementById('player'); return !m.paused && m.currentTime > 0.2; }"
    page.wait_for_function(moving, timeout=15000)


def seek_to(page: Any, seconds: float) -> None:
    page.evaluate("s => { document.getElementById('player').currentTime = s; }", seconds)
    page.wait_for_function(
        "s => { const m = document.getElementById('player'); return !m.seeking && Math.abs(m.currentTime - s) < 1.5; }",
        arg=seconds,
        timeout=15000,
    )


def seeks_while_playing(page: Any) -> None:
    """Once playing: the whole file is seekable (its host answers byte ranges), a seek lands, and playback goes on
    from there without a media error."""
    state = media_state(page)
    assert state["seekable"] and state["seekable"][1] > 10, state
    target = min(10.0, state["duration"] - 3)
    seek_to(page, target)
    page.wait_for_function("s => document.getElementById('player').currentTime > s + 0.2", arg=target, timeout=15000)
    assert media_state(page)["error"] is None


def wait_past(page: Any, seconds: float) -> None:
    """Until the player has seeked to (about) `seconds` or beyond: where a chapter button sends it."""
    page.wait_for_function(
        "s => { const m = document.getElementById('player'); return !m.seeking && m.currentTime >= s - 0.5; }",
        arg=seconds,
        timeout=15000,
    )


def test_home_lists_every_show_with_a_way_to_subscribe(watch: Any, site: Site) -> None:
    watched = visit(watch, site, "index.html")
    page = watched.page
    feeds = sorted(p.stem for p in (site.public / "feeds").glob("*.xml"))
    for feed in feeds:  # each show links its own page
        assert page.locator(f'a[href="{site.url(f"shows/{feed}.html")}"]').count() >= 1, feed
    urls = sorted(page.locator("input.feed-url").evaluate_all("els => els.map(e => e.value)"))
    assert urls == sorted(site.url(f"feeds/{f}.xml") for f in feeds)
    assert page.locator(f'a[href="{site.url("feeds.opml")}"]').count() >= 1
    page.locator("button.copy-feed-url").first.click()  # copies (or selects) without an error
    assert watched.errors == []


@pytest.mark.parametrize("slug", [AUDIO_WITH_CHAPTERS, VIDEO])
def test_episode_player_plays_and_seeks(watch: Any, site: Site, slug: str) -> None:
    watched = visit(watch, site, f"episodes/{slug}.html")
    page = watched.page
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    state = media_state(page)
    assert state["tag"] == ("video" if slug == VIDEO else "audio")
    play(page)
    seeks_while_playing(page)
    assert watched.errors == []


def test_clicking_a_chapter_seeks_the_player(watch: Any, site: Site) -> None:
    watched = visit(watch, site, f"episodes/{AUDIO_WITH_CHAPTERS}.html")
    page = watched.page
    chapters = page.locator("button.chapter")
    assert chapters.count() >= 2
    last = chapters.nth(chapters.count() - 1)
    start = float(last.get_attribute("data-start") or "nan")
    assert start > 0
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    last.click()
    wait_past(page, start)
    assert watched.errors == []


def test_transcript_is_shown(watch: Any, site: Site) -> None:
    watched = visit(watch, site, f"episodes/{AUDIO_WITH_TRANSCRIPT}.html")
    transcript = watched.page.locator("#transcript")
    assert transcript.is_visible()
    source = next((site.project / "episodes" / AUDIO_WITH_TRANSCRIPT).glob("*.vtt")).read_text()
    first_cue = next(line for line in source.splitlines()[1:] if line.strip() and "-->" not in line and not line.isdigit())
    assert first_cue.strip()[:30] in transcript.inner_text()


def test_episode_page_is_discoverable_and_embeddable(watch: Any, site: Site) -> None:
    page = visit(watch, site, f"episodes/{AUDIO_WITH_CHAPTERS}.html").page
    alternates = page.locator('link[rel="alternate"][type="application/rss+xml"]').evaluate_all("ls => ls.map(l => l.href)")
    assert site.url("feeds/podcast.xml") in alternates
    snippet = page.locator("#embed-snippet").input_value()
    src = re.search(r'<iframe[^>]* src="([^"]+)"', snippet)
    assert src is not None and src.group(1) == site.url(f"embed/{AUDIO_WITH_CHAPTERS}.html")
    # an editor pastes the snippet into an article page: the embedded player loads and plays there
    article = watch().page
    article.set_content(f"<!doctype html><html lang=en><title>Article</title><main><h1>Article</h1>{snippet}</main></html>")
    frame = article.frame_locator("iframe")
    frame.locator("#player").wait_for(state="attached", timeout=15000)
    frame.get_by_role("button", name=re.compile(r"^play", re.I)).first.click()
    embedded = next(f for f in article.frames if f.url.endswith(f"embed/{AUDIO_WITH_CHAPTERS}.html"))
    embedded.wait_for_function("() => document.getElementById('player').currentTime > 0.2", timeout=15000)


def test_a_feed_opened_in_the_browser_is_a_readable_page(watch: Any, site: Site) -> None:
    watched = visit(watch, site, "feeds/podcast.xml")
    page = watched.page
    text = page.locator("body").inner_text()
    assert "podcast feed" in text.lower()
    assert page.locator("h1").first.inner_text().strip() == "Northfield Rounds"
    assert site.url("feeds/podcast.xml") in (text + page.content())
    assert watched.errors == []


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_type_is_accessible_light_and_quiet(watch: Any, site: Site, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    watched = visit(watch, site, PAGES[name])
    page = watched.page
    page.locator("h1").first.wait_for()  # (networkidle never comes for a document made by XSLT)
    page.wait_for_timeout(300)
    # Chromium injects its own XSLT deprecation banner into a styled feed: the browser's, not ours to judge
    page.evaluate("() => document.querySelectorAll('xslt-warning-banner').forEach(e => e.remove())")
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert bad == [], [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]
    sizes = watched.transferred()
    assert sum(sizes.values()) <= PAGE_BUDGET, sorted(sizes.items(), key=lambda kv: -kv[1])
    assert watched.errors == []
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, sample_build: Path) -> Any:
    """The sample with every vector of the hostile-notes corpus in one episode's notes and title, and the show's."""
    from tests.browser.conftest import publish_and_serve
    from tests.conftest import copy_build, copy_catalog
    from tests.integration.test_secrets_and_hostile_content import XSS

    project = copy_catalog(tmp_path_factory.mktemp("hostile") / "project")
    copy_build(sample_build, project)
    index = project / "episodes" / AUDIO_WITH_CHAPTERS / "index.md"
    text = index.read_text()
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    hostile_title = "ADHD <script>alert('title')</script><img src=x onerror=alert('t')>"
    text = text.replace(title_line, f"title: {json_string(hostile_title)}", 1)
    index.write_text(text + "\n\n" + "\n\n".join(XSS) + "\n\nAfter it.\n")
    yield from publish_and_serve(project)


def json_string(value: str) -> str:
    import json

    return json.dumps(value)


@pytest.mark.parametrize("key", ["index.html", "shows/podcast.html", f"episodes/{AUDIO_WITH_CHAPTERS}.html",
                                 f"embed/{AUDIO_WITH_CHAPTERS}.html", "feeds/podcast.xml"])  # fmt: skip
def test_hostile_notes_fire_nothing_in_any_page(watch: Any, hostile_site: Site, key: str) -> None:
    watched = visit(watch, hostile_site, key)
    page = watched.page
    page.locator("h1").first.wait_for()
    page.wait_for_timeout(500)  # an onerror or a refresh would have fired by now
    assert watched.dialogs == []
    assert watched.errors == []  # a CSP refusal of an injected script would show here
    assert page.url == hostile_site.url(key)  # no meta refresh, no base hijack
    scripts = page.locator("script").evaluate_all("ss => ss.map(s => [s.type, s.src])")
    for kind, src in scripts:
        assert kind == "application/ld+json" or src.startswith(hostile_site.url("assets/")), (kind, src)
    handlers = page.evaluate(
        "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on'))"
    )
    assert handlers == []
