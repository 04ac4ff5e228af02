"""Lint rules as a table: one minimal bad feed per rule, each expected to raise that rule's code at its severity.

Every feed here is the good feed below with one change, and the good feed itself gives no finding at all, so each
row shows what one rule catches. A last check makes sure every rule in the table has a row.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from mediafeed.feeds.lint import RULES, RULES_BY_CODE, Finding, counts, lint_feed, parse_feed, rules_table, summary

NAMESPACES = (
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:podcast="https://podcastindex.org/namespace/1.0" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
)
WITHOUT_PODCAST_NS = NAMESPACES.replace('xmlns:podcast="https://podcastindex.org/namespace/1.0"', "")
MEDIA = "https://media.example.org"


def channel_parts() -> dict[str, str]:
    return {
        "atom": f'<atom:link href="{MEDIA}/feeds/podcast.xml" rel="self" type="application/rss+xml"/>',
        "title": "<title>Example Psychiatry Podcast</title>",
        "description": "<description>Short, practical episodes for clinicians.</description>",
        "link": "<link>https://www.example.org/podcast</link>",
        "language": "<language>en-us</language>",
        "image": f'<itunes:image href="{MEDIA}/artwork/podcast-1a2b3c4d.png"/>',
        "category": '<itunes:category text="Health &amp; Fitness"><itunes:category text="Mental Health"/></itunes:category>',
        "explicit": "<itunes:explicit>false</itunes:explicit>",
        "author": "<itunes:author>Example Publishing</itunes:author>",
        "owner": "<itunes:owner><itunes:name>Example Publishing</itunes:name>"
        "<itunes:email>podcast@example.org</itunes:email></itunes:owner>",
        "type": "<itunes:type>episodic</itunes:type>",
        "guid": "<podcast:guid>9b024349-ccf0-5f69-a609-6b82873eab3c</podcast:guid>",
        "locked": '<podcast:locked owner="podcast@example.org">no</podcast:locked>',
    }


def item_parts(n: int = 1) -> dict[str, str]:
    return {
        "title": f"<title>Episode {n}</title>",
        "guid": f'<guid isPermaLink="false">2b7f3f0e-5d4c-4f7e-9a53-0d3b8c1e6a{n:02d}</guid>',
        "pubDate": f"<pubDate>Mon, {n % 28 + 1:02d} Jun 2026 13:00:00 +0000</pubDate>",
        "enclosure": f'<enclosure url="{MEDIA}/media/episode-{n}-0a1b2c3d.mp3" length="123456" type="audio/mpeg"/>',
        "description": f"<description><![CDATA[<p>Episode {n} notes.</p>]]></description>",
        "explicit": "<itunes:explicit>false</itunes:explicit>",
        "duration": "<itunes:duration>600</itunes:duration>",
        "episodeType": "<itunes:episodeType>full</itunes:episodeType>",
        "episode": f"<itunes:episode>{n}</itunes:episode>",
    }


def rss(channel: dict[str, str] | None = None, items: list[dict[str, str]] | None = None, *, namespaces: str = NAMESPACES,
        extra: str = "") -> bytes:  # fmt: skip
    """A feed from channel/item parts; a part set to "" is left out."""
    channel = {**channel_parts(), **(channel or {})}
    items = [item_parts(1), item_parts(2)] if items is None else items
    body = "".join(channel.values()) + extra
    body += "".join("<item>" + "".join(parts.values()) + "</item>" for parts in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {namespaces}><channel>{body}</channel></rss>'.encode()


S1, E2 = "<itunes:season>1</itunes:season>", "<itunes:episode>2</itunes:episode>"


def item(n: int = 1, **changes: str) -> dict[str, str]:
    return {**item_parts(n), **changes}


def many_items(count: int) -> list[dict[str, str]]:
    return [item(n, description="", episode="") for n in range(1, count + 1)]


LONG_UTF8 = "é" * 2001  # 2001 characters, 4002 bytes: the limit is in bytes


def png_file(tmp: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    path = tmp / f"art-{size[0]}x{size[1]}-{mode}.png"
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


CASES = [
    # (id, feed bytes, expected code)
    ("not-xml", b"<rss><channel><title>x</channel></rss>", "xml-wellformed"),
    ("doctype", b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel/></rss>', "xml-doctype"),
    ("atom-root", b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>', "rss-structure"),
    ("no-channel", b'<rss version="2.0"></rss>', "rss-structure"),
    ("itunes-ns-wrong-case", rss(namespaces=NAMESPACES.replace("podcast-1.0.dtd", "Podcast-1.0.dtd")), "psp-namespaces"),
    ("no-podcast-ns", rss({"guid": "", "locked": ""}, namespaces=WITHOUT_PODCAST_NS),
     "psp-namespaces"),
    ("no-atom-self", rss({"atom": ""}), "psp-atom-self"),
    ("atom-self-no-href", rss({"atom": '<atom:link rel="self" type="application/rss+xml"/>'}), "psp-atom-self"),
    ("no-title", rss({"title": ""}), "apple-title"),
    ("empty-title", rss({"title": "<title>  </title>"}), "apple-title"),
    ("no-description", rss({"description": ""}), "apple-description"),
    ("no-link", rss({"link": ""}), "psp-link"),
    ("no-language", rss({"language": ""}), "apple-language"),
    ("bad-language", rss({"language": "<language>English</language>"}), "apple-language"),
    ("no-image", rss({"image": ""}), "apple-image"),
    ("image-gif", rss({"image": f'<itunes:image href="{MEDIA}/artwork/show.gif"/>'}), "apple-image-url"),
    ("item-image-webp", rss(items=[item(1, image=f'<itunes:image href="{MEDIA}/a.webp"/>')]), "apple-image-url"),
    ("no-category", rss({"category": ""}), "apple-category"),
    ("category-not-apple", rss({"category": '<itunes:category text="Health"/>'}), "apple-category-list"),
    ("subcategory-not-apple",
     rss({"category": '<itunes:category text="Health &amp; Fitness"><itunes:category text="Brains"/></itunes:category>'}),
     "apple-category-list"),
    ("no-explicit", rss({"explicit": ""}), "apple-explicit"),
    ("explicit-maybe", rss({"explicit": "<itunes:explicit>maybe</itunes:explicit>"}), "apple-explicit-value"),
    ("item-explicit-1", rss(items=[item(1, explicit="<itunes:explicit>1</itunes:explicit>")]), "apple-explicit-value"),
    ("explicit-clean", rss({"explicit": "<itunes:explicit>clean</itunes:explicit>"}), "apple-explicit-legacy"),
    ("explicit-True", rss(items=[item(1, explicit="<itunes:explicit>True</itunes:explicit>")]), "apple-explicit-legacy"),
    ("no-author", rss({"author": ""}), "apple-author"),
    ("no-owner", rss({"owner": ""}), "apple-owner-email"),
    ("owner-without-email", rss({"owner": "<itunes:owner><itunes:name>X</itunes:name></itunes:owner>"}), "apple-owner-email"),
    ("owner-bad-email", rss({"owner": "<itunes:owner><itunes:email>nobody</itunes:email></itunes:owner>"}),
     "apple-owner-email"),
    ("no-podcast-guid", rss({"guid": ""}), "psp-podcast-guid"),
    ("podcast-guid-not-uuid", rss({"guid": "<podcast:guid>my-show</podcast:guid>"}), "psp-podcast-guid-value"),
    ("no-podcast-locked", rss({"locked": ""}), "psp-podcast-locked"),
    ("podcast-locked-true", rss({"locked": "<podcast:locked>true</podcast:locked>"}), "psp-podcast-locked-value"),
    ("type-seasonal", rss({"type": "<itunes:type>seasonal</itunes:type>"}), "apple-type-value"),
    ("channel-description-4002-bytes", rss({"description": f"<description>{LONG_UTF8}</description>"}),
     "apple-description-length"),
    ("item-description-4002-bytes", rss(items=[item(1, description=f"<description>{LONG_UTF8}</description>")]),
     "apple-description-length"),
    ("title-256-characters", rss(items=[item(1, title=f"<title>{'x' * 256}</title>")]), "apple-value-length"),
    ("item-no-title", rss(items=[item(1, title="")]), "psp-item-title"),
    ("item-no-enclosure", rss(items=[item(1, enclosure="")]), "psp-item-enclosure"),
    ("enclosure-no-url", rss(items=[item(1, enclosure='<enclosure length="1" type="audio/mpeg"/>')]), "psp-item-enclosure"),
    ("item-no-guid", rss(items=[item(1, guid="")]), "psp-item-guid"),
    ("duplicate-guid", rss(items=[item(1), item(2, guid=item_parts(1)["guid"])]), "apple-duplicate-guid"),
    ("duplicate-enclosure", rss(items=[item(1), item(2, enclosure=item_parts(1)["enclosure"])]), "apple-duplicate-enclosure"),
    ("enclosure-length-0", rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/a.mp3" length="0" type="audio/mpeg"/>')]),
     "apple-enclosure-length"),
    ("enclosure-no-length", rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/a.mp3" type="audio/mpeg"/>')]),
     "apple-enclosure-length"),
    ("enclosure-length-12kb",
     rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/a.mp3" length="12kb" type="audio/mpeg"/>')]),
     "apple-enclosure-length"),
    ("enclosure-no-type", rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/a.mp3" length="9"/>')]),
     "apple-enclosure-type"),
    ("enclosure-ogg", rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/a.ogg" length="9" type="audio/ogg"/>')]),
     "apple-enclosure-format"),
    ("no-pubdate", rss(items=[item(1, pubDate="")]), "apple-pubdate"),
    ("iso-pubdate", rss(items=[item(1, pubDate="<pubDate>2026-06-01T09:00:00Z</pubDate>")]), "apple-pubdate"),
    ("enclosure-non-ascii",
     rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/épisode.mp3" length="9" type="audio/mpeg"/>')]),
     "media-url-ascii"),
    ("enclosure-space",
     rss(items=[item(1, enclosure=f'<enclosure url="{MEDIA}/my episode.mp3" length="9" type="audio/mpeg"/>')]),
     "media-url-ascii"),
    ("enclosure-http",
     rss(items=[item(1, enclosure='<enclosure url="http://media.example.org/a.mp3" length="9" type="audio/mpeg"/>')]),
     "media-http"),
    ("image-http", rss({"image": '<itunes:image href="http://media.example.org/show.png"/>'}), "media-http"),
    ("enclosure-http-127",
     rss(items=[item(1, enclosure='<enclosure url="http://127.0.0.1:8000/a.mp3" length="9" type="audio/mpeg"/>')]),
     "media-http-local"),
    ("image-http-localhost", rss({"image": '<itunes:image href="http://localhost:8000/show.png"/>'}), "media-http-local"),
    ("serial-without-numbers", rss({"type": "<itunes:type>serial</itunes:type>"}, [item(1), item(2, episode="")]),
     "apple-serial-episode"),
    ("episode-0", rss(items=[item(1, episode="<itunes:episode>0</itunes:episode>")]), "apple-episode-number"),
    ("duplicate-numbers", rss(items=[item(n, season=S1, episode=E2) for n in (1, 2)]), "mediafeed-duplicate-numbers"),
    ("season-two", rss(items=[item(1, season="<itunes:season>two</itunes:season>")]), "apple-episode-number"),
    ("episode-type-teaser", rss(items=[item(1, episodeType="<itunes:episodeType>teaser</itunes:episodeType>")]),
     "apple-episode-type"),
    ("trailer-with-number",
     rss(items=[item(1), item(2, episodeType="<itunes:episodeType>trailer</itunes:episodeType>",
                              episode="<itunes:episode>3</itunes:episode>")]),
     "apple-trailer-number"),
    ("trailer-of-a-published-episode",
     rss(items=[item(1), item(2, episodeType="<itunes:episodeType>trailer</itunes:episodeType>",
                              episode="<itunes:episode>1</itunes:episode>")]),
     "apple-trailer-replaced"),
    ("podcast-trailer-without-pubdate",
     rss(extra=f'<podcast:trailer url="{MEDIA}/trailer.mp3" length="9" type="audio/mpeg">Coming soon</podcast:trailer>'),
     "p20-trailer"),
    ("feed-600-kb", rss(extra=f"<!-- {'x' * 600_000} -->"), "feed-size"),
    ("feed-1001-items", rss(items=many_items(1001)), "feed-items"),
]  # fmt: skip


def codes(findings: list[Finding]) -> dict[str, str]:
    return {f.code: f.severity for f in findings}


def test_the_good_feed_has_no_findings() -> None:
    assert lint_feed(rss()) == []


def test_a_serial_show_with_numbered_episodes_and_show_trailer_is_fine() -> None:
    trailer = item(3, episodeType="<itunes:episodeType>trailer</itunes:episodeType>", episode="")
    season_trailer = item(4, episodeType="<itunes:episodeType>trailer</itunes:episodeType>", episode="",
                          season="<itunes:season>2</itunes:season>")  # fmt: skip
    bonus = item(5, episodeType="<itunes:episodeType>bonus</itunes:episodeType>", episode="")
    feed = rss({"type": "<itunes:type>serial</itunes:type>"}, [item(1), item(2), trailer, season_trailer, bonus])
    assert lint_feed(feed) == []


@pytest.mark.parametrize(("data", "code"), [pytest.param(data, code, id=name) for name, data, code in CASES])
def test_each_rule_catches_its_bad_feed(data: bytes, code: str) -> None:
    findings = lint_feed(data)
    assert code in codes(findings), findings
    assert codes(findings)[code] == RULES_BY_CODE[code].severity
    for finding in findings:
        assert finding.message and finding.hint, finding


def test_artwork_files_are_checked_when_the_models_are_given(tmp_path: Path) -> None:
    feed = SimpleNamespace(file="feeds/podcast.yaml", image=png_file(tmp_path, (1400, 1400)))
    episode = SimpleNamespace(file="episodes/one/index.md", image=png_file(tmp_path, (800, 800), "RGBA"))
    assert lint_feed(rss(), feed=feed) == []  # type: ignore[arg-type]
    findings = lint_feed(rss(), feed=feed, episodes=[episode])  # type: ignore[list-item]
    assert {f.code for f in findings} == {"apple-artwork-file"}
    assert all(f.severity == "error" and f.message.startswith("episodes/one/index.md: art-800x800") for f in findings)
    assert "mediafeed artwork --fix" in findings[0].hint


def test_every_rule_has_a_row() -> None:
    # Checked from the models a feed was rendered from: test_fs_gate.py (the sample's mixed topic feed).
    covered = {code for _, _, code in CASES} | {"apple-artwork-file", "mediafeed-numbers-left-out"}
    assert covered == set(RULES_BY_CODE)


def test_the_table_is_well_formed() -> None:
    for rule in RULES:
        assert rule.severity in ("error", "warning", "info")
        assert rule.checks and rule.hint and rule.source
    assert len(rules_table()) == len(RULES)


def test_a_finding_line_names_file_severity_code_and_fix() -> None:
    (finding,) = [f for f in lint_feed(rss({"owner": ""})) if f.code == "apple-owner-email"]
    line = finding.line("feeds/podcast.xml")
    assert line.startswith("feeds/podcast.xml: ERROR apple-owner-email: channel has no <itunes:owner>; set owner:")
    assert finding.as_dict("x")["severity"] == "error"


def test_items_are_named_by_title_in_messages() -> None:
    findings = lint_feed(rss(items=[item(1), item(2, enclosure="")]))
    assert [f.message for f in findings] == ["item 2 ('Episode 2') has no <enclosure>"]


def test_http_media_urls_are_summarized_once_per_feed() -> None:
    local = [item(n, enclosure=f'<enclosure url="http://127.0.0.1:8000/{n}.mp3" length="9" type="audio/mpeg"/>')
             for n in (1, 2, 3)]  # fmt: skip
    findings = lint_feed(rss(items=local))
    assert [f.code for f in findings] == ["media-http-local"]
    assert findings[0].message.startswith("3 media URL(s)")


def test_counts_and_summary() -> None:
    findings = lint_feed(rss({"owner": "", "author": ""}))
    assert counts(findings) == {"error": 1, "warning": 1, "info": 0}
    assert summary(findings, 1) == "1 feed(s): 1 error(s), 1 warning(s), 0 info"


# --- hostile XML ----------------------------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&secret;</title></channel></rss>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">
<rss version="2.0"><channel><title>x</title></channel></rss>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<rss version="2.0"><channel><title>x</title></channel></rss>"""


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
                         ids=["xxe-file", "billion-laughs", "external-dtd", "parameter-entity"])  # fmt: skip
def test_hostile_xml_is_refused_without_expanding_anything(data: bytes) -> None:
    started = time.monotonic()
    root, findings = parse_feed(data)
    assert time.monotonic() - started < 2
    assert root is None
    assert [f.code for f in findings] in (["xml-doctype"], ["xml-wellformed"])
    assert all(f.severity == "error" for f in findings)
    text = " ".join(f.message for f in lint_feed(data))
    assert "root:" not in text and "lollol" not in text


def test_a_document_with_an_external_entity_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = XXE.replace(b"file:///etc/passwd", secret.as_uri().encode())
    findings = lint_feed(data)
    assert [f.code for f in findings] == ["xml-doctype"]
    assert "TOP-SECRET" not in repr(findings)
