"""When the player's script fails to load (blocked, offline, an old browser), the pages still play: the browser's own
controls on the <audio>/<video controls> element, chapters that seek it, and no script error of ours."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, Watched
from tests.browser.test_pages_in_chromium import AUDIO_WITH_CHAPTERS, VIDEO, seeks_while_playing, wait_past

pytestmark = pytest.mark.timeout(180)


def without_plyr(watch: Any, site: Site, key: str) -> Watched:
    watched: Watched = watch()
    watched.page.route("**/assets/plyr-*.js", lambda route: route.abort())  # the player's script never arrives
    response = watched.page.goto(site.url(key), wait_until="load")
    assert response is not None and response.status == 200
    return watched


@pytest.mark.parametrize("slug", [AUDIO_WITH_CHAPTERS, VIDEO])
def test_the_browsers_own_controls_play_and_seek_when_the_player_script_fails(watch: Any, site: Site, slug: str) -> None:
    watched = without_plyr(watch, site, f"episodes/{slug}.html")
    page = watched.page
    assert page.evaluate("() => typeof window.Plyr") == "undefined"
    assert page.locator(".plyr").count() == 0  # nothing restyled it
    player = page.locator("#player")
    assert player.get_attribute("controls") is not None and player.is_visible()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    page.evaluate("() => document.getElementById('player').play()")  # what the native play button does
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.2", timeout=15000)
    seeks_while_playing(page)
    ours = [e for e in watched.errors if "failed to load resource" not in e.lower()]
    assert ours == [], watched.errors  # only the blocked script's own load failure


def test_chapters_seek_the_native_player_when_the_player_script_fails(watch: Any, site: Site) -> None:
    watched = without_plyr(watch, site, f"episodes/{AUDIO_WITH_CHAPTERS}.html")
    page = watched.page
    last = page.locator("button.chapter").last
    start = float(last.get_attribute("data-start") or "nan")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    last.click()
    wait_past(page, start)
    assert not [e for e in watched.errors if "failed to load resource" not in e.lower()], watched.errors
