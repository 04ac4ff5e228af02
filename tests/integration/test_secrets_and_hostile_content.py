"""Secrets never leak into anything mediafeed prints or writes; hostile show notes never reach a feed as markup."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import podcastparser
import pytest
from lxml import etree

from tests.integration.conftest import SECRET

PODPING_TOKEN = "podping-token-SENTINEL-0b7e"


def everything_written(project: Path) -> bytes:
    """Every file under the project's public/ and build/ (manifests, feeds, indexes, caches)."""
    chunks = []
    for folder in ("public", "build"):
        for path in sorted((project / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".mp3", ".mp4", ".wav", ".png", ".jpg"):
                chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def test_credentials_appear_in_no_output_log_feed_or_manifest(s3_project: Path, mediafeed, monkeypatch) -> None:
    monkeypatch.setenv("MEDIAFEED_PODPING_TOKEN", PODPING_TOKEN)
    toml = s3_project / "mediafeed.toml"
    toml.write_text(toml.read_text() + '\n[notify]\npodping_url = "http://127.0.0.1:9/ping"\n')  # refused port: fails
    outputs = []
    for args in (
        ("-v", "check"), ("-v", "build"), ("-v", "plan", "--target", "s3"), ("-v", "publish", "--target", "s3"),
        ("-v", "publish", "--target", "s3", "--json"), ("-v", "publish", "--target", "s3", "--verify"),
        ("-v", "status", "--target", "s3", "--json", "--history"), ("-v", "lint", "--target", "s3"), ("artwork",),
        ("-v", "publish"),
    ):  # fmt: skip
        result = mediafeed(s3_project, *args)
        outputs.append(result.output)
        assert result.exit_code in (0, 1), (args, result.output)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEYSENTINEL")  # an error path prints the target, not the key
    failing = mediafeed(s3_project, "publish", "--target", "s3", "--verify")
    outputs.append(failing.output)
    text = "\n".join(outputs)
    assert "warning: notification failed" in text  # the ping was attempted (with the token) and failed
    for secret in (SECRET, PODPING_TOKEN, "AKIAWRONGKEYSENTINEL"):
        assert secret not in text
        assert secret.encode() not in everything_written(s3_project)


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "<iframe src=https://evil.example></iframe>",
    '<div style="width:expression(alert(1))">css</div>',
    "<scr<script>ipt>alert(1)</script>",
    '<a href="https://www.example.org/ok" onclick="alert(1)">ok link</a>',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<object data=javascript:alert(1)></object>",
    "<!--<script>alert(1)</script>-->",
    "]]><script>alert(1)</script><![CDATA[",
    '<form action="javascript:alert(1)"><input type=submit></form>',
    "<body onload=alert(1)>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
]


def assert_inert(html: str) -> None:
    if not html.strip():
        return
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in tree.iter():
        assert element.tag not in ("script", "style", "svg", "iframe", "object", "math", "form", "meta", "base", "img", "body"), (
            html
        )
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() != "style", html
            if name.lower() in ("href", "src", "action", "data"):
                assert value.startswith(("https://", "http://", "mailto:")), (name, value)


@pytest.mark.parametrize("vector", XSS)
def test_hostile_show_notes_titles_and_links_stay_inert(sample_project: Path, mediafeed, vector: str) -> None:
    index = sample_project / "episodes" / "welcome-to-northfield-rounds" / "index.md"
    text = index.read_text()
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    text = text.replace(title_line, f"title: {json.dumps('Welcome & <b>' + vector[:40])}", 1)
    index.write_text(text + f"\n\n{vector}\n\nAfter it.\n")
    result = mediafeed(sample_project, "publish")
    assert result.exit_code == 0, result.output
    public = sample_project / "public"
    feed_path = public / "feeds" / "podcast.xml"
    root = etree.parse(str(feed_path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    (item,) = [i for i in root.iter("item") if (i.findtext("title") or "").startswith("Welcome & ")]
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    assert_inert(item.findtext("description") or "")
    assert_inert(item.findtext("content:encoded", namespaces=ns) or "")
    parsed = podcastparser.parse("http://127.0.0.1:8000/feeds/podcast.xml", feed_path.open("rb"))
    titles = [e["title"] for e in parsed["episodes"]]
    assert any(t.startswith("Welcome & <b>") for t in titles)  # the title is text for apps, never markup
    for name in ("feeds.opml", "related.json"):
        assert b"<script" not in (public / name).read_bytes().lower()
    # The web pages show the same sanitized notes, and the title only as text.
    page = lxml.html.document_fromstring((public / "episodes" / "welcome-to-northfield-rounds.html").read_bytes())
    notes = page.xpath("//section[@class='notes']")[0]
    assert_inert(lxml.html.tostring(notes, encoding="unicode"))
    assert (page.findtext(".//h1") or "").startswith("Welcome & <b>")
    for key in ("episodes/welcome-to-northfield-rounds.html", "embed/welcome-to-northfield-rounds.html", "shows/podcast.html"):
        tree = lxml.html.document_fromstring((public / key).read_bytes())
        assert all(s.get("src") or s.get("type") == "application/ld+json" for s in tree.iter("script")), key
        assert not [a for e in tree.iter() if isinstance(e.tag, str) for a in e.attrib if a.lower().startswith("on")], key
