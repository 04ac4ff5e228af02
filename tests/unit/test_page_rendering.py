"""Web pages, rendered pure (feeds/pages.py): hostile titles and show notes stay text, JSON-LD cannot end its script,
the embed snippet is escaped twice, show pages are paged, and the same inputs give the same bytes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import lxml.html
import pytest

from mediafeed.catalog.notes import notes_without_related, render_notes
from mediafeed.feeds.pages import (
    CSP,
    Assets,
    Chapter,
    EpisodePage,
    Listed,
    Show,
    embed_snippet,
    json_ld,
    render_page,
)
from mediafeed.models import Article

BASE = "https://media.example.org"
SITE = "https://www.example.org"
ASSETS = Assets(
    css=f"{BASE}/assets/site-00000000.css",
    js=f"{BASE}/assets/site-00000000.js",
    plyr_js=f"{BASE}/assets/plyr-3.8.4-00000000.js",
    plyr_css=f"{BASE}/assets/plyr-3.8.4-00000000.css",
    plyr_svg=f"{BASE}/assets/plyr-3.8.4-00000000.svg",
)
XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    "<iframe src=https://evil.example></iframe>",
    "</script><script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "<!--<script>alert(1)</script>-->",
    "<base href=javascript:alert(1)//>",
    "</textarea><script>alert(1)</script>",
]


def show(**changes: Any) -> Show:
    base = Show(
        id="podcast",
        title="Northfield Rounds",
        description="A show.",
        link=f"{SITE}/podcast",
        language="en-us",
        author="Northfield",
        feed_url=f"{BASE}/feeds/podcast.xml",
        page_url=f"{BASE}/shows/podcast.html",
        thumbnail_url=f"{BASE}/artwork/thumbs/podcast-00000000.jpg",
        artwork_url=f"{BASE}/artwork/podcast-00000000.png",
        medium="audio",
        directories=(("Apple Podcasts", "https://podcasts.apple.com/podcast/id1234567890"),),
    )
    return replace(base, **changes)


def episode(title: str = "Lithium", notes: str = "Notes.", video: bool = False, **changes: Any) -> EpisodePage:
    articles = [Article("An <article> & more", f"{SITE}/articles/a")]
    _, content = render_notes(notes, SITE, articles)
    listed = Listed(
        slug="lithium",
        title=title,
        url=f"{BASE}/episodes/lithium.html",
        published="2026-06-16T13:00:00Z",
        published_label="June 16, 2026",
        duration=1830.0,
        season=1,
        episode=2,
        episode_type="full",
        kind="podcast",
        summary=title,
    )
    item = EpisodePage(
        listed=listed,
        page_url=listed.url,
        embed_url=f"{BASE}/embed/lithium.html",
        media_url=f"{BASE}/media/lithium-00000000.{'mp4' if video else 'mp3'}",
        media_type="video/mp4" if video else "audio/mpeg",
        video=video,
        width=640 if video else None,
        height=360 if video else None,
        size=2_000_000,
        audio_url=f"{BASE}/media/lithium-11111111.mp3" if video else None,
        audio_size=1_234_567 if video else None,
        thumbnail_url=f"{BASE}/artwork/thumbs/podcast-00000000.jpg",
        artwork_url=f"{BASE}/artwork/podcast-00000000.png",
        notes_html=notes_without_related(content, articles, SITE)[0],
        articles=tuple((a.title, a.url) for a in articles),
        persons=((f"Dr. {title}", "host", None),),
        chapters=(Chapter(0.0, "Intro " + title, None), Chapter(65.5, "Levels", f"{SITE}/articles/a#levels")),
        transcript=((0.0, "Hello " + title), (4.0, "Second cue")),
        captions_url=f"{BASE}/transcripts/lithium-00000000.vtt",
        keywords=("lithium",),
        shows=(show(),),
        language="en-us",
        embed_snippet=embed_snippet(f"{BASE}/embed/lithium.html", title, video),
    )
    return replace(item, **changes)


def render(name: str, **context: Any) -> str:
    return render_page(name, context, ASSETS, f"{BASE}/index.html", "Northfield <Review>", SITE).decode()


def episode_page(item: EpisodePage) -> str:
    return render("episode.html", item=item, url=item.page_url)


def show_page(episodes: list[Listed], number: int = 1, count: int = 1) -> str:
    return render(
        "show.html",
        show=show(),
        episodes=episodes,
        number=number,
        count=count,
        total=len(episodes),
        prev_url=f"{BASE}/shows/podcast.html" if number > 1 else None,
        next_url=f"{BASE}/shows/podcast/page-{number + 1}.html" if number < count else None,
        url=f"{BASE}/shows/podcast.html",
        opml_url=f"{BASE}/feeds.opml",
    )


OURS = {ASSETS.js, ASSETS.plyr_js}


def assert_inert(page: str) -> None:
    """Only our own script files and the JSON-LD block; no handler attributes, styles or foreign URL schemes."""
    tree = lxml.html.document_fromstring(page)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("style", "svg", "iframe", "object", "math", "form", "base", "embed"), element.tag
        if element.tag == "script":
            assert element.get("src") in OURS or element.get("type") == "application/ld+json", lxml.html.tostring(element)
        if element.tag == "meta" and element.get("http-equiv"):
            assert element.get("http-equiv") == "Content-Security-Policy" and element.get("content") == CSP
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() != "style", (name, value)
            if name.lower() in ("href", "src", "action", "data", "poster"):
                assert value.startswith(("https://", "http://", "mailto:")) or value == "#main", (name, value)


@pytest.mark.parametrize("vector", XSS)
def test_hostile_titles_and_notes_stay_text(vector: str) -> None:
    title = "Welcome & <b>" + vector
    item = episode(title=title, notes=f"{vector}\n\nAfter it.\n", video=True)
    page = episode_page(item)
    assert_inert(page)
    tree = lxml.html.document_fromstring(page)
    assert tree.findtext(".//h1") == title  # the title is text, shown as written
    # The snippet shows the iframe as text; pasted, it is one iframe whose title is the episode's, as text.
    snippet = tree.get_element_by_id("embed-snippet").text_content()
    (frame,) = lxml.html.fragment_fromstring(snippet, create_parent="div")
    assert frame.tag == "iframe" and frame.get("title") == title and frame.get("src") == item.embed_url
    (ld,) = tree.xpath("//script[@type='application/ld+json']")
    assert json.loads(ld.text)["name"] == title
    assert "<" not in ld.text and ">" not in ld.text and "&" not in ld.text
    assert_inert(render("embed.html", item=item, url=item.embed_url))
    assert_inert(show_page([item.listed]))


def test_json_ld_escapes_markup_characters() -> None:
    text = str(json_ld({"name": "</script><!-- & \u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><!-- & \u2028"}


def test_episode_page_element_contract() -> None:
    audio = lxml.html.document_fromstring(episode_page(episode()))
    player = audio.get_element_by_id("player")
    assert player.tag == "audio" and player.get("controls") is not None and player.get("preload") == "metadata"
    assert player.get("data-icon-url") == ASSETS.plyr_svg
    assert audio.get("lang") == "en-us"
    starts = [b.get("data-start") for b in audio.xpath("//button[@class='chapter']")]
    assert starts == ["0.0", "65.5"] and all(b.get("type") == "button" for b in audio.xpath("//button[@class='chapter']"))
    assert "Second cue" in audio.get_element_by_id("transcript").text_content()
    assert audio.xpath("//link[@rel='alternate'][@type='application/rss+xml']/@href") == [show().feed_url]
    assert audio.get_element_by_id("embed-snippet").get("readonly") is not None
    assert audio.xpath("//link[@rel='icon']/@href")
    assert audio.xpath("//meta[@property='og:title']/@content") == ["Lithium"]
    ld = json.loads(audio.xpath("//script[@type='application/ld+json']")[0].text)
    assert ld["@type"] == "PodcastEpisode" and ld["partOfSeries"]["@type"] == "PodcastSeries"
    assert ld["associatedMedia"]["contentUrl"].endswith(".mp3")
    assert not audio.xpath("//track")

    video = lxml.html.document_fromstring(episode_page(episode(video=True)))
    player = video.get_element_by_id("player")
    assert player.tag == "video" and player.get("playsinline") is not None and player.get("poster")
    (track,) = player.xpath("track")
    assert track.get("kind") == "captions" and track.get("srclang") == "en-us" and track.get("default") is not None
    (link,) = video.xpath("//p[@class='audio-only']/a")
    assert link.text_content() == "Listen to the audio only (MP3, 1.2 MB)"


def test_show_pages_link_pages_with_rel() -> None:
    items = [replace(episode().listed, slug=f"e{n}", title=f"Episode {n}") for n in range(3)]
    first = lxml.html.document_fromstring(show_page(items, 1, 2))
    assert first.xpath("//link[@rel='next']/@href") == [f"{BASE}/shows/podcast/page-2.html"]
    assert not first.xpath("//link[@rel='prev']")
    assert [a.text for a in first.xpath("//ol[@class='episode-list']//h3/a")] == ["Episode 0", "Episode 1", "Episode 2"]
    second = lxml.html.document_fromstring(show_page(items, 2, 2))
    assert second.xpath("//a[@rel='prev']/@href") == [f"{BASE}/shows/podcast.html"]
    ld = json.loads(second.xpath("//script[@type='application/ld+json']")[0].text)
    assert ld["@type"] == "PodcastSeries" and ld["webFeed"] == show().feed_url
    (field,) = first.xpath("//input[@class='feed-url']")
    assert field.get("readonly") is not None and field.value == show().feed_url
    assert first.xpath(f"//label[@for='{field.get('id')}']")
    (button,) = first.xpath("//button[@class='copy-feed-url']")
    assert button.get("type") == "button" and button.text == "Copy"


def test_same_inputs_same_bytes() -> None:
    assert episode_page(episode(video=True)) == episode_page(episode(video=True))
    shows = [show(), show(id="b", title="B")]
    home = render("home.html", shows=shows, opml_url=f"{BASE}/feeds.opml", url=f"{BASE}/index.html")
    assert home == render("home.html", shows=shows, opml_url=f"{BASE}/feeds.opml", url=f"{BASE}/index.html")
    tree = lxml.html.document_fromstring(home)
    assert len(tree.xpath("//input[@class='feed-url']")) == 2
    assert tree.xpath("//a[text()='Apple Podcasts']/@href") == ["https://podcasts.apple.com/podcast/id1234567890"] * 2
