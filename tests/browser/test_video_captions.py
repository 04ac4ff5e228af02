"""A video episode with a transcript, in Chromium through the real preview server: its WebVTT is the player's
captions track (loaded, cues readable, shown) and the page's transcript.

The sample catalog has no such episode, so the test's own copy of it gets one: a small WebVTT file in the video
episode's bundle, declared with `transcript:` as the audio episode with a transcript declares its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site, Watched, publish_and_serve
from tests.conftest import copy_build, copy_catalog

VIDEO = "autism-in-adolescent-girls"
FIRST_CUE = "Welcome to the webinar on autism in adolescent girls."
SECOND_CUE = "Camouflaging can hide difficulties in clinic."
CAPTIONS = f"""WEBVTT

00:00:00.500 --> 00:00:06.000
{FIRST_CUE}

00:00:06.000 --> 00:00:12.000
{SECOND_CUE}
"""
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def captioned_site(tmp_path_factory: pytest.TempPathFactory, sample_build: Path) -> Iterator[Site]:
    """The sample, published and served, with a transcript (captions.vtt) in the video episode's bundle."""
    project = copy_catalog(tmp_path_factory.mktemp("captions") / "project")
    copy_build(sample_build, project)
    bundle = project / "episodes" / VIDEO
    (bundle / "captions.vtt").write_text(CAPTIONS, encoding="utf-8")
    index = bundle / "index.md"
    text = index.read_text(encoding="utf-8")
    assert "\ntranscript:" not in text  # the sample's video episode has none: this copy is what gives it one
    # the same front-matter key as episodes/lithium-levels-in-practice/index.md, before the summary
    text, count = re.subn(r"^summary:", "transcript: captions.vtt\nsummary:", text, count=1, flags=re.M)
    assert count == 1
    index.write_text(text, encoding="utf-8")
    yield from publish_and_serve(project)


def test_video_captions_load_from_the_transcript_and_show(watch: Any, captioned_site: Site) -> None:
    watched: Watched = watch()
    page = watched.page
    response = page.goto(captioned_site.url(f"episodes/{VIDEO}.html"), wait_until="load")
    assert response is not None and response.status == 200
    assert page.evaluate("() => document.getElementById('player').tagName.toLowerCase()") == "video"

    track = page.locator("#player track")
    assert track.count() == 1
    assert track.get_attribute("kind") == "captions"
    src = page.evaluate("() => document.querySelector('#player track').src")
    assert src.startswith(captioned_site.url("")) and src.endswith(".vtt"), src

    # the track loads (HTMLTrackElement.LOADED, not ERROR) and its cues are what the transcript file says
    page.wait_for_function("() => document.querySelector('#player track').readyState >= 2", timeout=15000)
    assert page.evaluate("() => document.querySelector('#player track').readyState") == 2  # 3 would be ERROR
    cues = page.evaluate(
        """() => { const t = document.getElementById('player').textTracks[0];
        return {kind: t.kind, mode: t.mode, cues: t.cues ? [...t.cues].map(c => [c.startTime, c.endTime, c.text]) : null}; }"""
    )
    assert cues["kind"] == "captions" and cues["mode"] in ("showing", "hidden"), cues
    assert cues["cues"] is not None and len(cues["cues"]) == 2, cues
    assert [text for _, _, text in cues["cues"]] == [FIRST_CUE, SECOND_CUE]
    start, end, _ = cues["cues"][0]
    assert end - start == pytest.approx(5.5, abs=0.01)  # the cue's length survives publishing (any offset moves both)

    # at a time inside the first cue it is the active cue (what the player's caption area draws)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    page.evaluate("s => { document.getElementById('player').currentTime = s; }", start + 1.0)
    page.wait_for_function(
        """text => { const t = document.getElementById('player').textTracks[0];
        return t.activeCues && [...t.activeCues].some(c => c.text === text); }""",
        arg=FIRST_CUE,
        timeout=15000,
    )

    # the player's caption area draws it once captions are on (its CC button; on by default: see the test below)
    captions_button = page.locator("button[data-plyr='captions']").first
    if captions_button.get_attribute("aria-pressed") != "true":
        captions_button.click()
    assert captions_button.get_attribute("aria-pressed") == "true"
    page.locator(".plyr__captions").filter(has_text=FIRST_CUE).wait_for(timeout=15000)

    # the VTT as the host sends it
    vtt = page.request.get(src)
    assert vtt.status == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert FIRST_CUE in vtt.text()

    transcript = page.locator("#transcript")
    assert transcript.is_visible()
    shown = transcript.inner_text()
    assert FIRST_CUE in shown and SECOND_CUE in shown
    assert watched.errors == []
    assert watched.dialogs == []


def test_video_captions_are_on_by_default(watch: Any, captioned_site: Site) -> None:
    """The track is `default` and site.js asks Plyr for `captions.active`: a viewer should see captions without a click."""
    watched: Watched = watch()
    page = watched.page
    page.goto(captioned_site.url(f"episodes/{VIDEO}.html"), wait_until="load")
    page.wait_for_function("() => document.querySelector('#player track').readyState >= 2", timeout=15000)
    page.wait_for_function("() => document.querySelector('.plyr') !== null", timeout=15000)
    page.wait_for_timeout(300)  # Plyr decides on captions in a timeout after its set-up
    assert page.locator("button[data-plyr='captions']").first.get_attribute("aria-pressed") == "true"
