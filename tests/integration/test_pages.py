"""Web pages, published with the CLI from the sample catalog: every page is there, links only to files that exist,
weighs little, and a publish rewrites only the pages an edit touches."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import lxml.html
import pytest

from tests.conftest import LOCAL_BASE

FEEDS = ("child-psychiatry", "medication-guides", "podcast", "webinars")
RELEASED = (
    "adhd-in-teens-school-sleep-screens",
    "autism-in-adolescent-girls",
    "buprenorphine-listener-questions",
    "lithium-levels-in-practice",
    "lithium-monitoring-essentials",
    "medications-for-alcohol-use-disorder",
    "melatonin-for-children",
    "welcome-to-northfield-rounds",
)
HELD_BACK = "delirium-or-dementia"
WEIGHT_LIMIT = 150 * 1024  # bytes, gzip'd: HTML + CSS + JS + images, before media


def page_keys() -> set[str]:
    keys = {"index.html", *(f"shows/{f}.html" for f in FEEDS)}
    keys |= {f"episodes/{s}.html" for s in RELEASED} | {f"embed/{s}.html" for s in RELEASED}
    return keys


def pages(public: Path) -> dict[str, str]:
    """Every published page by key → its sha256."""
    return {p.relative_to(public).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(public.rglob("*.html"))}


def files(public: Path) -> dict[str, str]:
    return {
        p.relative_to(public).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(public.rglob("*"))
        if p.is_file() and not p.relative_to(public).as_posix().startswith("_mediafeed/")
    }


def urls(tree: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str, str]]:
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name in ("href", "src", "poster"):
            value = element.get(name)
            if value:
                found.append((element, name, value))
    return found


@pytest.fixture
def published(sample_project: Path, mediafeed) -> Path:
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    return sample_project / "public"


def test_every_page_is_published_and_links_only_existing_files(published: Path) -> None:
    keys = set(pages(published))
    assert keys == page_keys()  # and the held-back episode has no page
    assert not (published / "episodes" / f"{HELD_BACK}.html").exists()
    for key in sorted(keys):
        tree = lxml.html.document_fromstring((published / key).read_bytes())
        assert tree.get("lang") == "en-us", key
        assert tree.xpath("//meta[@http-equiv='Content-Security-Policy']"), key
        assert tree.xpath("//link[@rel='icon']"), key
        for _, _, url in urls(tree):
            if url.startswith(LOCAL_BASE):
                target = published / url.removeprefix(LOCAL_BASE).split("#")[0]
                assert target.is_file(), f"{key}: {url} missing"
        for script in tree.xpath("//script"):
            assert script.get("src") or script.get("type") == "application/ld+json", key  # no inline script
        assert not tree.xpath("//style|//*[@style]"), key
    assets = sorted(p.name for p in (published / "assets").iterdir())
    assert sorted(re.sub(r"-[0-9a-f]{8}\.", ".", a) for a in assets) == [
        "feed.xsl", "plyr-3.8.4.css", "plyr-3.8.4.js", "plyr-3.8.4.svg", "site.css", "site.js"
    ]  # fmt: skip
    video = lxml.html.document_fromstring((published / "episodes" / "melatonin-for-children.html").read_bytes())
    assert video.get_element_by_id("player").tag == "video"
    assert video.xpath("//p[@class='audio-only']/a/text()")[0].startswith("Listen to the audio only (MP3, ")
    audio = lxml.html.document_fromstring((published / "episodes" / "lithium-levels-in-practice.html").read_bytes())
    assert audio.get_element_by_id("player").tag == "audio"
    assert len(audio.xpath("//button[@class='chapter']")) == 3
    assert audio.get_element_by_id("transcript").text_content().strip()
    home = lxml.html.document_fromstring((published / "index.html").read_bytes())
    assert len(home.xpath("//input[@class='feed-url']")) == len(FEEDS)
    assert home.xpath("//a[text()='Apple Podcasts']/@href") == ["https://podcasts.apple.com/podcast/id1234567890"]
    for thumbnail in (published / "artwork" / "thumbs").iterdir():
        assert thumbnail.stat().st_size < 40_000, thumbnail.name


def weight(public: Path, key: str) -> int:
    """gzip'd bytes a browser fetches for the page before any media: the HTML, its CSS, JS, images and captions."""
    tree = lxml.html.document_fromstring((public / key).read_bytes())
    fetched = {key}
    for element, name, url in urls(tree):
        if not url.startswith(LOCAL_BASE):
            continue
        wanted = (
            (element.tag == "link" and element.get("rel") in ("stylesheet", "icon"))
            or element.tag in ("script", "img", "track")
            or name == "poster"
        )
        if wanted:
            fetched.add(url.removeprefix(LOCAL_BASE))
    if tree.xpath("//*[@id='player']"):
        fetched |= {p.relative_to(public).as_posix() for p in (public / "assets").glob("plyr-*.svg")}  # Plyr's sprite
    return sum(len(gzip.compress((public / f).read_bytes(), mtime=0)) for f in fetched)


def test_pages_weigh_little(published: Path) -> None:
    weights = {key: weight(published, key) for key in sorted(page_keys())}
    assert max(weights.values()) <= WEIGHT_LIMIT, weights


def test_second_publish_writes_nothing_and_an_edit_rewrites_only_what_lists_it(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    before = files(public)
    again = mediafeed(sample_project, "publish")
    assert again.exit_code == 0 and "wrote nothing" in again.output, again.output
    assert files(public) == before

    index = sample_project / "episodes" / "melatonin-for-children" / "index.md"  # in medication-guides and child-psychiatry
    index.write_text(
        index.read_text().replace('title: "Melatonin for Children: Dose and Timing"', 'title: "Melatonin: Dose & Timing"')
    )
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    after = files(public)
    changed = {k for k in after if before.get(k) != after[k]}
    assert {k for k in changed if k.endswith(".html")} == {
        "episodes/melatonin-for-children.html",
        "embed/melatonin-for-children.html",
        "shows/child-psychiatry.html",
        "shows/medication-guides.html",
    }
    assert {"feeds/child-psychiatry.xml", "feeds/medication-guides.xml"} <= changed
    assert "feeds/podcast.xml" not in changed
    assert "Melatonin: Dose &amp; Timing" in (public / "episodes" / "melatonin-for-children.html").read_text()


def test_show_pages_are_paged(sample_project: Path, mediafeed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mediafeed.feeds.pages.PAGE_SIZE", 3)
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    first = lxml.html.document_fromstring((public / "shows" / "podcast.html").read_bytes())
    second = lxml.html.document_fromstring((public / "shows" / "podcast" / "page-2.html").read_bytes())
    assert len(first.xpath("//ol[@class='episode-list']/li")) == 3
    assert len(second.xpath("//ol[@class='episode-list']/li")) == 1
    assert first.xpath("//link[@rel='next']/@href") == [f"{LOCAL_BASE}shows/podcast/page-2.html"]
    assert second.xpath("//link[@rel='prev']/@href") == [f"{LOCAL_BASE}shows/podcast.html"]
    titles = first.xpath("//ol[@class='episode-list']//h3/a/text()") + second.xpath("//ol[@class='episode-list']//h3/a/text()")
    assert titles[0] == "Bonus: Your Buprenorphine Questions" and titles[-1] == "Welcome to Northfield Rounds"  # newest first


def test_pages_can_be_turned_off(sample_project: Path, mediafeed) -> None:
    config = sample_project / "mediafeed.toml"
    config.write_text(config.read_text().replace("[site]\n", "[site]\npages = false\n", 1))
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    assert not list(public.rglob("*.html"))
    assert [p.name[:5] for p in (public / "assets").iterdir()] == ["feed-"]  # only the feeds' stylesheet
    assert (public / "feeds" / "podcast.xml").is_file()


def test_a_withdrawn_episode_loses_its_pages(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    assert (public / "episodes" / "lithium-levels-in-practice.html").is_file()
    withdrawn = mediafeed(sample_project, "withdraw", "lithium-levels-in-practice", "--reason", "corrected")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert mediafeed(sample_project, "publish").exit_code == 0
    assert not (public / "episodes" / "lithium-levels-in-practice.html").exists()
    assert not (public / "embed" / "lithium-levels-in-practice.html").exists()
    show = (public / "shows" / "podcast.html").read_text()
    assert "lithium-levels-in-practice" not in show
