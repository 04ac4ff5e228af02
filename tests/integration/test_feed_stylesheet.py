"""A browser opening a feed gets a readable page: every published feed document names our XSLT stylesheet, the
stylesheet is published beside it (content-addressed), and applying it gives an HTML page about the show in which
nothing from the feed ever becomes markup."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from mediafeed.content_types import IMMUTABLE, XSL_TYPE, headers_for
from mediafeed.feeds.rss import feed_stylesheet, render_feed_pages
from tests.conftest import LOCAL_BASE
from tests.integration.test_feed_tags import _items, big_feed
from tests.integration.test_secrets_and_hostile_content import XSS

PROLOGUE = re.compile(
    rb"\A<\?xml version='1\.0' encoding='UTF-8'\?>\n"
    rb'<\?xml-stylesheet type="text/xsl" href="(?P<href>[^"<&]+)"\?>\n<rss[ >]'
)
SAFE = etree.XMLParser(resolve_entities=False, no_network=True)
ACTIVE = ("script", "iframe", "object", "embed", "frame", "frameset", "form", "base", "meta", "svg", "math", "applet")


def assert_inert(page: lxml.html.HtmlElement) -> None:
    """No script, frame, form or other active element, no event handler or inline style, links only to http(s); the
    head holds only our own meta tags, title, icon and one <style>."""
    head, body = page.find("head"), page.find("body")
    assert head is not None and body is not None
    assert [e.tag for e in head] in ([*["meta"] * n, "title", "link", "style"] for n in (2, 3))
    assert not head.xpath("meta[@http-equiv][translate(@http-equiv, 'REFSH', 'refsh') = 'refresh']")
    for element in page.iter():
        if element is not head and head not in element.iterancestors():
            assert element.tag not in (*ACTIVE, "style", "link"), element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() not in ("style", "srcdoc"), (name, value)
            if name.lower() in ("href", "src", "action", "data", "formaction", "poster"):
                assert value.startswith(("https://", "http://")), (name, value)


def published_feeds(public: Path) -> list[Path]:
    return sorted((public / "feeds").glob("*.xml"))


def transform(feed: Path, public: Path) -> tuple[str, str]:
    """(the feed URL its stylesheet instruction names, the HTML the stylesheet makes of the feed)."""
    match = PROLOGUE.match(feed.read_bytes())
    assert match, feed.read_bytes()[:200]
    href = match["href"].decode()
    xslt = etree.XSLT(etree.parse(str(public / href.removeprefix(LOCAL_BASE)), SAFE))
    return href, str(xslt(etree.parse(str(feed), SAFE)))


def test_every_page_of_a_paged_feed_names_the_stylesheet() -> None:
    definition = big_feed()
    xsl = "https://m.example.org/assets/feed-0123abcd.xsl?a=1&b=2"
    pages = render_feed_pages(
        definition, _items(25), feed_url="https://m.example.org/feeds/big.xml", artwork_url="https://m.example.org/a.png",
        guid=str(uuid.uuid4()), url_for=lambda key: f"https://m.example.org/{key}", stylesheet_url=xsl,
    )  # fmt: skip
    assert len(pages) == 3
    for page in pages:
        assert page.data.startswith(
            b"<?xml version='1.0' encoding='UTF-8'?>\n"
            b'<?xml-stylesheet type="text/xsl" href="https://m.example.org/assets/feed-0123abcd.xsl?a=1&amp;b=2"?>\n<rss'
        )
        root = etree.fromstring(page.data, SAFE)
        assert root.getprevious() is not None and root.getprevious().target == "xml-stylesheet"
        html = lxml.html.document_fromstring(str(etree.XSLT(etree.fromstring(feed_stylesheet()))(root.getroottree())))
        assert html.xpath("//input[@readonly]/@value") == ["https://m.example.org/feeds/big.xml"]  # page 1's URL
        assert len(list(html.iter("h3"))) == len(page.episode_guids)
        nav = html.xpath("//nav//a/@href")
        assert nav and all(re.fullmatch(r"https://m\.example\.org/feeds/big(-page-\d)?\.xml", href) for href in nav)


def test_every_feed_names_the_published_stylesheet(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    public = sample_project / "public"
    feeds = published_feeds(public)
    assert len(feeds) == 4
    hrefs = set()
    for feed in feeds:
        match = PROLOGUE.match(feed.read_bytes())
        assert match, f"{feed.name}: {feed.read_bytes()[:200]!r}"
        hrefs.add(match["href"].decode())
    (href,) = hrefs  # one stylesheet for every feed, absolute and on the feeds' own origin
    assert re.fullmatch(re.escape(LOCAL_BASE) + r"assets/feed-[0-9a-f]{8}\.xsl", href)
    key = href.removeprefix(LOCAL_BASE)
    assert (public / key).read_bytes() == feed_stylesheet()
    assert headers_for(key).content_type == XSL_TYPE and headers_for(key).cache_control == IMMUTABLE
    manifest = (public / "_mediafeed" / "manifest.json").read_text()
    assert key in manifest  # recorded like any other file, so gc keeps it while feeds point at it
    for opml_or_json in ("feeds.opml", "related.json"):
        assert b"xml-stylesheet" not in (public / opml_or_json).read_bytes()


def test_the_stylesheet_turns_each_sample_feed_into_a_page_about_the_show(sample_project: Path, mediafeed) -> None:
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    public = sample_project / "public"
    feeds = published_feeds(public)
    assert len(feeds) == 4
    for feed in feeds:
        _href, html = transform(feed, public)
        channel = etree.parse(str(feed), SAFE).getroot().find("channel")
        assert channel is not None
        page = lxml.html.document_fromstring(html)
        text = " ".join(page.text_content().split())
        assert "This is a podcast feed" in text
        assert "podcast app" in text
        feed_url = LOCAL_BASE + "feeds/" + feed.name
        (field,) = page.xpath("//input[@readonly]")
        assert field.get("value") == feed_url
        assert feed_url in [" ".join(c.text_content().split()) for c in page.iter("code")]
        assert page.findtext(".//h1") == channel.findtext("title")
        artwork = channel.findtext("image/url")
        assert page.xpath("//link[@rel='icon']/@href") == [artwork]  # no favicon.ico request
        assert artwork in page.xpath("//img/@src")
        titles = [i.findtext("title") for i in channel.iter("item")]
        assert titles and [h.text_content() for h in page.iter("h3")] == titles
        audio = [e.get("url") for e in channel.iter("enclosure")]
        assert set(audio) <= set(page.xpath("//a/@href"))
        assert_inert(page)


def test_duration_and_date_read_as_people_write_them(sample_project: Path, mediafeed) -> None:
    assert mediafeed(sample_project, "publish").exit_code == 0
    public = sample_project / "public"
    _href, html = transform(public / "feeds" / "podcast.xml", public)
    meta = [" ".join(p.text_content().split()) for p in lxml.html.document_fromstring(html).find_class("meta")]
    assert meta and all(re.match(r"\d{1,2} [A-Z][a-z]{2} \d{4} · Duration \d+:\d\d", m) for m in meta), meta


@pytest.mark.parametrize("vector", XSS)
def test_hostile_titles_and_notes_stay_text_in_the_page(sample_project: Path, mediafeed, vector: str) -> None:
    index = sample_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    text = index.read_text()
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    title = "Welcome & <b>" + vector[:40]
    index.write_text(text.replace(title_line, f"title: {json.dumps(title)}", 1) + f"\n\n{vector}\n\nAfter it.\n")
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    public = sample_project / "public"
    _href, html = transform(public / "feeds" / "podcast.xml", public)
    page = lxml.html.document_fromstring(html)
    assert title in [h.text_content() for h in page.iter("h3")]  # shown as the text it is
    assert_inert(page)
    assert len(page.xpath("//img")) == 1  # the show's artwork, nothing from the notes


def test_the_stylesheet_is_plain_xslt_1_with_no_escape_hatch() -> None:
    xsl = etree.fromstring(feed_stylesheet(), SAFE)
    assert xsl.get("version") == "1.0"
    for element in xsl.iter(etree.Element):
        assert "disable-output-escaping" not in element.attrib, element.tag
        assert etree.QName(element).localname not in ("script", "copy-of")  # no script, no feed markup copied through
    assert not xsl.xpath("//*[local-name()='value-of' or local-name()='copy-of'][contains(@select, 'content:encoded')]")
