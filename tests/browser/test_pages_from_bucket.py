"""The published site read straight from an S3 bucket (a real moto server over HTTP, no CDN, no preview server) in
Chromium: what a listener gets from a bare bucket after `mediafeed target setup`. Pages and their assets arrive
gzip-encoded as stored (Target.precompress), media with byte ranges from the store itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site
from tests.browser.test_pages_in_chromium import AUDIO_WITH_CHAPTERS, PAGE_BUDGET, VIDEO, play, seeks_while_playing, visit
from tests.conftest import copy_build, copy_catalog
from tests.integration.conftest import aws_env, bucket, moto_endpoint, point_target, s3  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def bucket_site(tmp_path: Path, sample_build: Path, mediafeed: Any, moto_endpoint: str, bucket: str) -> Site:  # noqa: F811
    project = copy_catalog(tmp_path / "project")
    copy_build(sample_build, project)
    point_target(project, moto_endpoint, bucket)
    for command in (("target", "setup", "s3"), ("publish", "--target", "s3")):
        result = mediafeed(project, *command)
        assert result.exit_code == 0, result.output
    return Site(project, f"{moto_endpoint}/{bucket}", process=None)  # type: ignore[arg-type]


def test_a_bare_bucket_serves_pages_that_play_seek_and_stay_light(watch: Any, bucket_site: Site) -> None:
    home = visit(watch, bucket_site, "index.html")
    assert home.page.locator(f'a[href="{bucket_site.url("shows/podcast.html")}"]').count() >= 1
    assert sum(home.transferred().values()) <= PAGE_BUDGET
    for slug in (AUDIO_WITH_CHAPTERS, VIDEO):
        watched = visit(watch, bucket_site, f"episodes/{slug}.html")
        page = watched.page
        encodings = page.evaluate(
            "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/assets/'))"
            ".map(e => [e.name, e.encodedBodySize, e.decodedBodySize])"
        )
        assert encodings and all(encoded < decoded for _, encoded, decoded in encodings), encodings  # arrived gzipped
        sizes = watched.transferred()
        assert sum(sizes.values()) <= PAGE_BUDGET, sorted(sizes.items(), key=lambda kv: -kv[1])
        page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
        play(page)
        seeks_while_playing(page)  # the store itself answers the ranges
        assert watched.errors == [], slug


def test_a_feed_from_the_bucket_opens_as_a_readable_page(watch: Any, bucket_site: Site) -> None:
    watched = visit(watch, bucket_site, "feeds/podcast.xml")  # its stylesheet comes gzipped from assets/
    page = watched.page
    page.locator("h1").first.wait_for()
    assert page.locator("h1").first.inner_text().strip() == "Northfield Rounds"
    assert "podcast feed" in page.locator("body").inner_text().lower()
    assert watched.errors == []
