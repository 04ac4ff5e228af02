"""catalog/importer.py: mapping a feed to catalog files, and the report of what it cannot carry (no I/O)."""

from __future__ import annotations

import pytest

from mediafeed.catalog.importer import ImportError_, html_to_markdown, import_feed, recorded_guid

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Show</title><description>About</description><link>https://example.net/</link>"""


def feed(*items: str, channel: str = "") -> bytes:
    return (HEAD + channel + "".join(items) + "</channel></rss>").encode()


def item(title: str, guid: str | None = "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a01", extra: str = "",
         date: str = "Wed, 06 Mar 2024 10:00:00 GMT") -> str:  # fmt: skip
    guid_xml = f'<guid isPermaLink="false">{guid}</guid>' if guid is not None else ""
    return (f"<item><title>{title}</title>{guid_xml}<pubDate>{date}</pubDate>"
            f'<enclosure url="https://example.net/{title}.mp3" length="10" type="audio/mpeg"/>{extra}</item>')  # fmt: skip


def notes(data: bytes) -> set[tuple[str, str]]:
    return {(n.where, n.field) for n in import_feed(data, "f.xml", feed_id="show", kind="podcast").notes}


def test_html_notes_become_markdown_without_scripts() -> None:
    text = html_to_markdown("<p>Hi <b>there</b></p><script>evil()</script><style>p{}</style><ol><li>one</li></ol>")
    assert text == "Hi **there**\n\n1. one"


def test_same_titles_get_distinct_slugs_and_an_existing_folder_is_matched_by_guid() -> None:
    data = feed(item("Same", "a1b2c3d4-0000-4000-8000-000000000001"), item("Same", "a1b2c3d4-0000-4000-8000-000000000002"))
    slugs = [e.slug for e in import_feed(data, "f.xml", feed_id="show", kind="podcast").episodes]
    assert slugs == ["same", "same-2"]
    existing: dict[str, str | None] = {"same": "0b0b0b0b-0000-4000-8000-000000000000",
                                       "renamed": "a1b2c3d4-0000-4000-8000-000000000002"}  # fmt: skip
    slugs = [e.slug for e in import_feed(data, "f.xml", feed_id="show", kind="podcast", existing=existing).episodes]
    assert slugs == ["same-2", "renamed"]


def test_what_cannot_be_carried_is_reported() -> None:
    found = notes(
        feed(
            item("NoGuid", None),
            item("BadDate", date="yesterday"),
            item("Perma", "https://example.net/p/1", extra='<podcast:transcript url="https://example.net/t.vtt"/>'),
            channel='<itunes:category text="History"/><itunes:category text="Arts"/><podcast:funding url="x">y</podcast:funding>',
        )
    )
    assert ("noguid", "guid") in found
    assert ("baddate", "pubDate") in found
    assert ("perma", "guid") in found  # not a UUID (and isPermaLink not false is reported too)
    assert ("perma", "podcast:transcript") in found  # no type: not one the format holds
    assert ("channel", "category") in found
    assert ("channel", "podcast:funding") in found  # not an http(s) URL


def test_a_guid_that_is_not_a_uuid_is_recorded_in_a_comment() -> None:
    data = feed(item("Tagged", "tag:example.net,2024:1"))
    [episode] = import_feed(data, "f.xml", feed_id="show", kind="podcast").episodes
    assert "\nguid:" not in episode.index_text
    assert recorded_guid(episode.index_text) == "tag:example.net,2024:1"


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel/></rss>',
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>Atom</title></feed>",
        b"",
    ],
    ids=["entity", "atom", "empty"],
)
def test_refused_documents(document: bytes) -> None:
    with pytest.raises(ImportError_, match=r"f\.xml"):
        import_feed(document, "f.xml", feed_id=None, kind="podcast")


def test_an_enclosure_never_lands_on_the_bundles_own_files() -> None:
    data = feed(item("Sneaky").replace("Sneaky.mp3", "index.md"))
    [episode] = import_feed(data, "f.xml", feed_id="show", kind="podcast").episodes
    assert episode.enclosure is not None and episode.enclosure.file_name == "media-index.md.mp3"
