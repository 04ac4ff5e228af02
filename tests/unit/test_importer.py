"""catalog/importer.py: mapping a feed to catalog files, and the report of what it cannot carry (no I/O)."""

from __future__ import annotations

import pytest
import yaml

from mediafeed.catalog.importer import (
    PODCAST,
    ImportedEpisode,
    ImportError_,
    Note,
    html_to_markdown,
    import_feed,
    open_feed,
    recorded_guid,
)

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Show</title><description>About</description><link>https://example.net/</link>"""


def feed(*items: str, channel: str = "") -> bytes:
    return (HEAD + channel + "".join(items) + "</channel></rss>").encode()


def item(title: str, guid: str | None = "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a01", extra: str = "",
         date: str = "Wed, 06 Mar 2024 10:00:00 GMT") -> str:  # fmt: skip
    guid_xml = f'<guid isPermaLink="false">{guid}</guid>' if guid is not None else ""
    return (
        f"<item><title>{title}</title>{guid_xml}<pubDate>{date}</pubDate>"
        f'<enclosure url="https://example.net/{title}.mp3" length="10" type="audio/mpeg"/>{extra}</item>'
    )


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
    assert ("perma", "guid") not in found  # any GUID text is carried, isPermaLink too
    assert ("perma", "podcast:transcript") in found  # no type: not one the format holds
    assert ("channel", "category") in found
    assert ("channel", "podcast:funding") in found  # not an http(s) URL


@pytest.mark.parametrize(
    ("guid_xml", "guid", "permalink"),
    [
        ('<guid isPermaLink="false">tag:example.net,2024:1</guid>', "tag:example.net,2024:1", False),
        ("<guid>https://example.net/ep/1#audio</guid>", "https://example.net/ep/1#audio", True),  # RSS: true by default
        ('<guid isPermaLink="true">  Buzzsprout-123 \n</guid>', "Buzzsprout-123", True),
        (
            '<guid isPermaLink="FALSE">{5B0E7A36-6A8C-4D0B-9D35-0C3C0E4B8A01}</guid>',
            "{5B0E7A36-6A8C-4D0B-9D35-0C3C0E4B8A01}",
            False,
        ),
    ],
    ids=["tag", "url-default-permalink", "padded", "braced-uuid"],
)
def test_the_guid_is_written_exactly_as_published(guid_xml: str, guid: str, permalink: bool) -> None:
    from mediafeed.catalog.schema import EpisodeFront

    data = feed(item("Tagged", None, extra=guid_xml))
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    [episode] = result.episodes
    front_matter = yaml.safe_load(episode.index_text.split("---")[1])
    assert front_matter["guid"] == guid and front_matter.get("guid_permalink", False) is permalink
    assert EpisodeFront.model_validate(front_matter).guid == guid
    assert recorded_guid(episode.index_text) == guid
    assert not [n for n in result.notes if n.field == "guid"]


@pytest.mark.parametrize(
    ("line", "guid"),
    [
        ('guid: "a#b"  # kept', "a#b"),
        ("guid: 'it''s'", "it's"),
        ("guid: https://example.net/p#x # a comment", "https://example.net/p#x"),
        ("guid: 5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a01", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a01"),
    ],
)
def test_recorded_guid_reads_what_a_producer_may_write(line: str, guid: str) -> None:
    assert recorded_guid(f"---\ntitle: T\n{line}\n---\nnotes\n") == guid


def test_guids_differing_only_in_case_are_one_episode() -> None:
    data = feed(item("One", "tag:Example,2024:1"), item("Two", "TAG:example,2024:1"))
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert [e.slug for e in result.episodes] == ["one"]
    assert "repeats the GUID" in _notes(result.notes)[("two", "guid")].message


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


def _notes(entries: tuple[Note, ...] | list[Note]) -> dict[tuple[str, str], Note]:
    return {(n.where, n.field): n for n in entries}


BAD_ITEMS = [
    # (the item, where/field of the note, words in it, imported?)
    (
        item("Zone", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a11", date="Tue, 05 Mar 2024 07:30:15 -0000"),
        ("zone", "pubDate"),
        "read as UTC",
        True,
    ),
    (
        item("Linked", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a12", extra="<link>https://old.example/ep/1</link>"),
        ("linked", "link"),
        "https://old.example/ep/1",
        True,
    ),
    (item("Twin", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a01"), ("twin", "guid"), "repeats the GUID", False),
    (item("Nameless", None), ("nameless", "guid"), "has no <guid>", False),
    (item("Late", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a10", date="31/02/2024"), ("late", "pubDate"), "not an RFC 822 date", False),
    (
        item("Silent", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a09").replace(
            '<enclosure url="https://example.net/Silent.mp3" length="10" type="audio/mpeg"/>', ""
        ),
        ("silent", "enclosure"),
        "has no enclosure",
        False,
    ),
    (
        item("Near", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a02").replace("https://example.net/Near.mp3", "media/near.mp3"),
        ("near", "enclosure"),
        "resolved against the feed's URL: https://feeds.example.net/show/media/near.mp3",
        True,
    ),
    (
        item("Badge", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a03", extra='<itunes:image href="/art/badge.png"/>'),
        ("badge", "itunes:image"),
        "https://feeds.example.net/art/badge.png",
        True,
    ),
    (
        item("Numbers", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a04", extra="<itunes:season>one</itunes:season>"),
        ("numbers", "itunes:season"),
        "not a whole number",
        True,
    ),
    (
        item("Crew", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a05", extra='<podcast:person role="Cover Art">Kim</podcast:person>'),
        ("crew", "podcast:person"),
        "'cover art' is not one",
        True,
    ),
    (
        item(
            "Ads",
            "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a06",
            extra='<podcast:alternateEnclosure type="audio/opus"/><podcast:value type="lightning"/>',
        ),
        ("ads", "{https://podcastindex.org/namespace/1.0}alternateEnclosure"),
        "not carried",
        True,
    ),
    (
        item("Odd", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a07", extra='<x:ad xmlns:x="urn:ads">midroll</x:ad>'),
        ("odd", "{urn:ads}ad"),
        "unknown namespace",
        True,
    ),
    (
        item("Blocked", "5b0e7a36-6a8c-4d0b-9d35-0c3c0e4b8a08", extra="<itunes:block>Yes</itunes:block>"),
        ("blocked", "{http://www.itunes.com/dtds/podcast-1.0.dtd}block"),
        "no field",
        True,
    ),
]


@pytest.mark.parametrize(("bad", "key", "words", "imported"), BAD_ITEMS, ids=[k[1] + ":" + k[0] for _, k, _, _ in BAD_ITEMS])
def test_bad_items_are_reported_with_the_item_and_a_fix(bad: str, key: tuple[str, str], words: str, imported: bool) -> None:
    first = item("First")  # the GUID "Twin" repeats
    result = import_feed(feed(first, bad), "https://feeds.example.net/show/feed.xml", feed_id="show", kind="podcast")
    found = _notes(result.notes)
    assert key in found, sorted(found)
    assert words in found[key].message
    if not imported:
        assert found[key].hint  # how to fix it
    assert [e.slug for e in result.episodes] == (["first", key[0]] if imported else ["first"])


def test_a_relative_url_in_a_saved_file_is_reported_and_not_carried() -> None:
    data = feed(item("Near").replace("https://example.net/Near.mp3", "near.mp3"))
    _header, items = open_feed(data, "saved.xml", feed_id="show", kind="podcast")
    [entry] = list(items)
    assert isinstance(entry, Note) and entry.field == "enclosure" and "relative enclosure URL" in entry.message
    assert "Near" in entry.message and "http(s) URL" in entry.hint


FULL_CHANNEL = """<itunes:category text="Arts"/><itunes:category text="Not A Category"/>
<itunes:image href="https://cdn.example.net/show.jpg"/>
<itunes:owner><itunes:name>Ada</itunes:name><itunes:email>ada@example.net</itunes:email></itunes:owner>
<podcast:locked>yes</podcast:locked><podcast:medium>video</podcast:medium>
<podcast:person role="host" img="https://example.net/ada.jpg">Ada Lane</podcast:person>
<podcast:funding url="https://example.net/give">Give</podcast:funding>
<podcast:txt purpose="applepodcastsverify">abc123</podcast:txt>
<podcast:updateFrequency rrule="FREQ=WEEKLY">Weekly</podcast:updateFrequency>
<podcast:trailer url="https://example.net/Full.mp3">T</podcast:trailer>
<podcast:trailer url="https://example.net/gone.mp3">T</podcast:trailer>"""
FULL_ITEM = """<itunes:image href="https://cdn.example.net/ep.png"/>
<itunes:summary>Short &lt;b&gt;summary&lt;/b&gt;.</itunes:summary><itunes:keywords>a, b ,c</itunes:keywords>
<podcast:person role="guest" href="https://example.net/tom">Tom</podcast:person>
<podcast:chapters url="https://cdn.example.net/ch.json" type="application/json+chapters"/>
<psc:chapters xmlns:psc="http://podlove.org/simple-chapters"><psc:chapter start="0" title="A"/></psc:chapters>
<podcast:transcript url="https://cdn.example.net/t.srt" type="application/x-subrip"/>
<podcast:transcript url="https://cdn.example.net/t.json" type="application/json"/>
<description><![CDATA[<p>See <a href="https://www.example.net/articles/x">the article</a>,
<a href="https://elsewhere.org/y">elsewhere</a> and <a href="/articles/z">z</a>.</p>]]></description>"""


def test_everything_the_content_format_holds_is_carried_and_validates() -> None:
    from mediafeed.catalog.schema import EpisodeFront, FeedFile

    result = import_feed(feed(item("Full", extra=FULL_ITEM), channel=FULL_CHANNEL), "f.xml", feed_id="show", kind="podcast")
    channel = yaml.safe_load(result.feed_text)
    FeedFile.model_validate(channel)
    assert channel["category"] == "Arts" and channel["locked"] is True and channel["medium"] == "video"
    assert channel["persons"] == [{"name": "Ada Lane", "role": "host", "img": "https://example.net/ada.jpg"}]
    assert channel["funding"] == [{"url": "https://example.net/give", "text": "Give"}]
    assert channel["txt"] == [{"purpose": "applepodcastsverify", "text": "abc123"}]
    assert channel["update_frequency"] == {"rrule": "FREQ=WEEKLY", "label": "Weekly"}
    assert [d.what for d in result.downloads] == ["artwork"]
    [episode] = result.episodes
    front_matter = yaml.safe_load(episode.index_text.split("---")[1])
    EpisodeFront.model_validate(front_matter)
    assert front_matter["image"] == "cover.png" and front_matter["summary"] == "Short **summary**."
    assert front_matter["keywords"] == ["a", "b", "c"]
    assert front_matter["persons"] == [{"name": "Tom", "role": "guest", "href": "https://example.net/tom"}]
    assert front_matter["chapters"] == "chapters.json" and front_matter["transcript"] == "transcript.srt"
    assert front_matter["articles"] == [
        {"title": "the article", "url": "https://www.example.net/articles/x"},
        {"title": "z", "url": "https://example.net/articles/z"},
    ]
    assert [(d.what, d.dest) for d in episode.downloads] == [
        ("enclosure", "episodes/full/Full.mp3"),
        ("image", "episodes/full/cover.png"),
        ("chapters", "episodes/full/chapters.json"),
        ("transcript", "episodes/full/transcript.srt"),
    ]
    assert episode.downloads[0].length == 10
    found = _notes(result.notes)
    assert "Not A Category" in found[("channel", "category")].message
    assert "gone.mp3" in found[("channel", "podcast:trailer")].message  # names no item
    assert ("full", "podcast:trailer") not in found or "kept full" in found[("full", "podcast:trailer")].message
    assert "t.json" in found[("full", "podcast:transcript")].message
    assert ("full", "psc:chapters") in found  # the JSON file is carried instead


@pytest.mark.parametrize(
    ("declared", "body", "expected"),
    [
        ('<?xml version="1.0" encoding="ISO-8859-1"?>', "Café".encode(), "Café"),  # UTF-8 bytes, declared Latin-1
        ('<?xml version="1.0"?>', "Café".encode("latin-1"), "Café"),  # Latin-1 bytes, no declaration (UTF-8)
        ('<?xml version="1.0" encoding="utf-8"?>', "Café".encode("cp1252"), "Café"),  # declared UTF-8, is not
        ('<?xml version="1.0" encoding="utf-8"?>', "Café ".encode() + "naïve – ok".encode("cp1252"), "Café naïve – ok"),
    ],
    ids=["utf8-declared-latin1", "latin1-undeclared", "cp1252-declared-utf8", "mixed"],
)
def test_a_wrong_declared_encoding_is_recovered_and_reported(declared: str, body: bytes, expected: str) -> None:
    data = feed(item("Cafe")).replace(b"<title>Show</title>", b"<title>" + body + b"</title>")
    data = declared.encode() + data.split(b"?>", 1)[1]
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert yaml.safe_load(result.feed_text)["title"] == expected
    assert ("channel", "encoding") in _notes(result.notes)


def test_a_correct_latin1_declaration_is_not_reported() -> None:
    data = feed(item("Cafe")).replace(b"<title>Show</title>", "<title>Café</title>".encode("latin-1"))
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + data.split(b"?>", 1)[1]
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert yaml.safe_load(result.feed_text)["title"] == "Café"
    assert ("channel", "encoding") not in _notes(result.notes)


def test_items_stream_one_at_a_time() -> None:
    """open_feed maps an item only when asked for it: a huge feed is never mapped (nor held) at once."""
    data = feed(*(item(f"E{i}", f"5b0e7a36-6a8c-4d0b-9d35-{i:012d}") for i in range(50)))
    header, items = open_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert header.feed_id == "show"
    first = next(items)
    assert isinstance(first, ImportedEpisode) and first.slug == "e0"
    assert sum(1 for _ in items) == 49


def test_a_moved_feed_and_the_short_description_beside_full_notes() -> None:
    short = item(
        "Both",
        extra="<description>Short one.</description><content:encoded xmlns:content="
        '"http://purl.org/rss/1.0/modules/content/">&lt;p&gt;Long notes.&lt;/p&gt;</content:encoded>',
    )
    result = import_feed(
        feed(short, channel="<itunes:new-feed-url>https://new.example/feed.xml</itunes:new-feed-url>"),
        "f.xml",
        feed_id="show",
        kind="podcast",
    )
    assert "https://new.example/feed.xml" in _notes(result.notes)[("channel", "itunes:new-feed-url")].message
    assert "new_feed_url" not in result.feed_text  # ours would send apps away
    [episode] = result.episodes
    front_matter = yaml.safe_load(episode.index_text.split("---")[1])
    assert front_matter["summary"] == "Short one." and episode.index_text.rstrip().endswith("Long notes.")


def test_a_retired_subcategory_falls_back_to_its_top_category() -> None:
    channel = '<itunes:category text="Technology"><itunes:category text="Podcasting"/></itunes:category>'
    result = import_feed(feed(item("One"), channel=channel), "f.xml", feed_id="show", kind="podcast")
    assert yaml.safe_load(result.feed_text)["category"] == "Technology"
    assert "Technology > Podcasting" in _notes(result.notes)[("channel", "category")].message


def test_what_is_not_carried_says_what_it_was() -> None:
    extra = (
        '<podcast:alternateEnclosure type="audio/opus"><podcast:source uri="https://example.net/a.opus"/>'
        '</podcast:alternateEnclosure><podcast:soundbite startTime="3" duration="2">Best bit</podcast:soundbite>'
    )
    found = _notes(import_feed(feed(item("Alt", extra=extra)), "f.xml", feed_id="show", kind="podcast").notes)
    assert found[("alt", f"{{{PODCAST}}}alternateEnclosure")].message.endswith("(audio/opus https://example.net/a.opus)")
    assert found[("alt", f"{{{PODCAST}}}soundbite")].message.endswith("(Best bit)")


def test_the_early_podcasting_namespace_uri_is_read() -> None:
    early = b"https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
    data = feed(item("Early", extra='<podcast:person role="guest">Kim</podcast:person>'))
    data = data.replace(PODCAST.encode(), early)
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert 'persons: [{name: "Kim", role: "guest"}]' in result.episodes[0].index_text
    assert ("channel", "namespace") in _notes(result.notes)


def test_blank_lines_before_the_declaration_and_podcast_numbers() -> None:
    extra = '<podcast:season name="Supper">2</podcast:season><podcast:episode display="Ten">10</podcast:episode>'
    data = b"\n  " + feed(item("Numbered", extra=extra))
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    front_matter = yaml.safe_load(result.episodes[0].index_text.split("---")[1])
    assert (front_matter["season"], front_matter["episode"]) == (2, 10)
    found = _notes(result.notes)
    assert ("channel", "document") in found and "'Supper'" in found[("numbered", "podcast:season")].message


def test_an_unnumbered_episode_of_a_serial_show_is_reported() -> None:
    data = feed(item("Loose"), channel="<itunes:type>serial</itunes:type>")
    result = import_feed(data, "f.xml", feed_id="show", kind="podcast")
    assert "type: serial" in result.feed_text
    assert "episode: N" in _notes(result.notes)[("loose", "itunes:episode")].hint
