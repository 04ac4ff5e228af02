"""The preview server as a user first meets it in a browser: by another loopback name than the feeds' public_url."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, Watched

AUDIO = "adhd-in-teens-school-sleep-screens"
pytestmark = pytest.mark.timeout(180)


def test_localhost_for_127_0_0_1_still_gets_a_styled_page_with_its_player(watch: Any, site: Site) -> None:
    """The pages link everything by the public_url (http://127.0.0.1:PORT) and allow only their own origin, so at
    http://localhost:PORT they would load no stylesheet, script or artwork; `serve` redirects to the public_url's name."""
    assert site.origin.startswith("http://127.0.0.1:")
    watched: Watched = watch()
    page = watched.page
    response = page.goto(site.origin.replace("127.0.0.1", "localhost") + f"/episodes/{AUDIO}.html", wait_until="load")
    assert response is not None and response.status == 200
    assert page.url == site.url(f"episodes/{AUDIO}.html")
    page.locator(".plyr").wait_for(timeout=15000)  # site.js ran and set up the player
    assert "Times" not in page.evaluate("() => getComputedStyle(document.body).fontFamily")  # site.css applied
    assert page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert watched.errors == []
