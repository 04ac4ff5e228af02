"""The video player's box before playing, on the episode page and in the embed snippet an editor pastes.

Found by the web audit: until the video played, the player took the aspect ratio of its poster (the show's square
artwork thumbnail), not the video's, so a 16:9 video showed square, its control bar below the fold on the page and
outside the snippet's fixed-height iframe. site.js now gives Plyr the video's ratio, and site.css fits an embedded
video into the iframe's height.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Site, Watched

VIDEO = "autism-in-adolescent-girls"
pytestmark = pytest.mark.timeout(180)


def box_and_video(frame: Any) -> dict[str, float]:
    return frame.evaluate(
        """() => { const v = document.getElementById('player'); const box = (v.closest('.plyr') || v).getBoundingClientRect();
        return {w: box.width, h: box.height, bottom: box.bottom, vw: v.videoWidth, vh: v.videoHeight}; }"""
    )


def test_the_video_player_has_the_videos_shape_before_it_plays(watch: Any, site: Site) -> None:
    watched: Watched = watch()
    page = watched.page
    page.goto(site.url(f"episodes/{VIDEO}.html"), wait_until="load")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    page.wait_for_timeout(300)
    size = box_and_video(page)
    assert size["vw"] > 0 and size["vh"] > 0, size
    assert size["w"] / size["h"] == pytest.approx(size["vw"] / size["vh"], rel=0.03), size


def test_the_embedded_video_shows_its_controls_inside_the_snippets_iframe(watch: Any, site: Site) -> None:
    page = watch().page
    page.goto(site.url(f"episodes/{VIDEO}.html"), wait_until="load")
    snippet = page.locator("#embed-snippet").input_value()
    height = int(re.search(r'height="(\d+)"', snippet).group(1))  # type: ignore[union-attr]
    article = watch().page  # an article's column as wide as the page's: 1200 px
    article.set_content(f"<!doctype html><html lang=en><title>Article</title><body style=margin:0><main>{snippet}</main></html>")
    article.frame_locator("iframe").locator("#player").wait_for(state="attached", timeout=15000)
    frame = next(f for f in article.frames if f.url.endswith(f"embed/{VIDEO}.html"))
    frame.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    frame.wait_for_timeout(300)
    size = box_and_video(frame)
    assert size["bottom"] <= height, (size, height)  # the control bar is at the player's bottom
