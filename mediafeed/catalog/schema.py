"""The shape of feeds/*.yaml and of an episode's front matter, as validation schemas (pydantic v2).

The loader (load.py) validates each mapping against these models, then does what needs more than the shape:
files on disk, topics listed in mediafeed.toml, artwork, chapter order, duplicate GUIDs. `mediafeed schema` writes
them as JSON Schemas for editors (see README: Editor support).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

from mediafeed.catalog.apple import CATEGORIES
from mediafeed.config_file import AudioSettings
from mediafeed.validation import Count, Filled, Flag, HttpUrl, PageSize, Schema, Text, bad, is_http_url, partial_model, words

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,4})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIMESTAMP = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d(?:\.\d+)?)$")
RRULE = re.compile(r"^FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[^;]+)*$")
DATE_HINT = "use ISO 8601 with a time and UTC offset, e.g. 2026-05-01T09:00:00-05:00"
PLACEHOLDER_NOTES = "Write the show notes here, in Markdown."  # what `new` and `init` leave for the producer

Kind = Literal["podcast", "webinar", "video"]
Role = Literal["host", "co-host", "guest", "producer", "editor", "reporter", "narrator"]
CATEGORY_NAMES = tuple(name for top, subs in CATEGORIES.items() for name in (top, *(f"{top} > {sub}" for sub in subs)))


def parse_published(value: object) -> tuple[datetime | None, str]:
    """A timezone-aware instant in UTC, or None and the reason. Dates reach here as text, never as YAML timestamps."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = re.sub(r"\s+(?=[+-]\d|Z$)", "", value.strip()).replace("Z", "+00:00")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return None, f"a date without a time and UTC offset ({text})"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            reason = str(exc) if "out of range" in str(exc) or "must be in" in str(exc) else ""
            return None, f"not a date ({value!r}{': ' + reason if reason else ''})"
    else:
        return None, f"not a date ({value!r})"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, f"no UTC offset ({moment.isoformat()})"
    try:
        return moment.astimezone(UTC), ""
    except OverflowError:
        return None, f"out of range ({value!r})"


def _moment(value: object) -> datetime:
    if value is None:
        raise bad("missing", DATE_HINT)
    moment, why = parse_published(value)
    if moment is None:
        raise bad(why, DATE_HINT)
    return moment


Moment = Annotated[datetime, BeforeValidator(_moment), Field(json_schema_extra={"format": "date-time"})]


def parse_timestamp(value: object) -> float | None:
    """Chapter start: seconds as a number, or 'MM:SS' / 'HH:MM:SS(.mmm)'."""
    import math

    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        match = TIMESTAMP.match(value.strip())
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def _start(value: object) -> float:
    seconds = parse_timestamp(value)
    if seconds is None:
        raise bad(f"not a time ({value!r})", 'quote it as "MM:SS" or "HH:MM:SS"')
    return seconds


def _slugs(value: object) -> object:
    value = words(value)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str) and not SLUG.match(item.strip()):
                raise bad(f"{item!r} is not a slug", "use lowercase letters, digits and hyphens, e.g. child-psychiatry")
    return value


def is_uuid(value: object) -> bool:
    """A GUID as written: text that spells a UUID (with or without braces, urn:uuid: or hyphens)."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uuid(value: object) -> object:
    if value is not None and not is_uuid(value):
        raise bad(
            f"not a UUID ({value!r})",
            "GUIDs never change once published; restore the original or run `mediafeed check --fix` on a new episode",
        )
    return value


def same_guid(guid: str) -> str:
    """One spelling per GUID value, to find two episodes sharing one: a UUID with braces, urn:uuid: or no hyphens is
    the same UUID; other GUIDs compare without regard to case (apps compare them exactly, but two that differ only
    in case are surely one copied by hand)."""
    try:
        return str(uuid.UUID(guid))
    except ValueError:
        return guid.strip().lower()


MAX_GUID = 1000


def _episode_guid(value: object) -> object:
    """An episode's GUID: ours are UUIDs (`check --fix`); an imported episode keeps the text its old host published
    (`Buzzsprout-123`, a permalink URL), since apps recognise an episode by that exact text."""
    if value is None:
        return value
    if not isinstance(value, str):
        raise bad(f"not text ({value!r})", 'write the GUID in quotes: guid: "..."')
    text = value.strip()
    if not text or len(text) > MAX_GUID or any(unicodedata.category(c)[0] == "C" for c in text):
        raise bad(
            f"not a GUID ({value!r}): empty, longer than {MAX_GUID} characters, or with control characters",
            "GUIDs never change once published; restore the original or run `mediafeed check --fix` on a new episode",
        )
    return text


def _visible(value: str) -> str:
    if all(unicodedata.category(c)[0] in "CZ" for c in value):  # only zero-width, control or space characters
        raise bad(f"nothing visible ({value!r})", "write it out in words")
    return value


def _schedule_start(value: str) -> str:
    moment, why = parse_published(value)
    if moment is None:
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            raise bad(why, "e.g. dtstart: 2026-01-05T09:00:00-05:00") from None
    return value.strip()


def _language(value: str) -> str:
    if not LANGUAGE.match(value.strip().lower()):
        raise bad(f"not a language code ({value!r})", "use an ISO 639 code such as en or en-us")
    return value


def _email(value: str) -> str:
    if not EMAIL.match(value.strip()):
        raise bad(f"not an email address ({value!r})", "add an address the owner reads; apps send verification codes there")
    return value


def _category(value: str) -> str:
    parts = [" ".join(p.split()) for p in value.split(">")]
    name = " > ".join(parts)
    if name not in CATEGORY_NAMES:
        if len(parts) == 2 and parts[0] in CATEGORIES:
            choices = ", ".join(CATEGORIES[parts[0]]) or "none"
            raise bad(f"{parts[1]!r} is not a subcategory of {parts[0]!r}", f"use one of: {choices}")
        raise bad(
            f"{value!r} is not in Apple's category list",
            "use an Apple category such as 'Health & Fitness > Mental Health' (see README for the list)",
        )
    return name


def _rrule(value: str) -> str:
    if not RRULE.match(value):
        raise bad(f"not an iCalendar RRULE ({value!r})", "e.g. FREQ=WEEKLY;BYDAY=MO")
    return value


def _url_prefix(value: str) -> str:
    if not value.endswith("/"):
        raise bad(f"not a URL prefix ending in / ({value!r})", "e.g. enclosure_prefix: https://op3.dev/e/")
    return value


def _link(value: object) -> object:
    """A URL in the notes' sense: absolute http(s), or a path on the publisher's own site (starting with /)."""
    if isinstance(value, str) and any(c.isspace() or ord(c) < 32 for c in value.strip()):
        raise bad(f"has a space or line break inside ({value!r})", "write the address on one line; spaces are %20")
    if isinstance(value, str) and value.strip().startswith("/") and not value.strip().startswith("//"):
        return value.strip()
    if not is_http_url(value):
        raise bad(f"not an absolute http(s) URL ({value!r})", "write the full address, starting with https://")
    return str(value).strip()


Required = Annotated[Filled, AfterValidator(_visible)]  # not blank, and something in it shows
Slugs = Annotated[list[Text], BeforeValidator(_slugs)]
Words = Annotated[list[Text], BeforeValidator(words)]
EpisodeGuid = Annotated[str | None, BeforeValidator(_episode_guid)]
FilePath = Required
Access = Literal["public", "subscribers"]
ChapterStart = Annotated[float, BeforeValidator(_start), Field(json_schema_extra={"type": ["string", "number"]})]
SiteLink = Annotated[str, BeforeValidator(_link)]


def _hint(text: str) -> dict[str, Any]:
    return {"hint": text}


# ---- shared parts ----


class PersonIn(Schema):
    name: Required = Field(description="Full name.", json_schema_extra=_hint("write {name: Jane Doe, role: host}"))
    role: Annotated[Role, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)] = Field(
        "host", description="podcast:person role."
    )
    href: HttpUrl | None = Field(None, description="A page about the person.")
    img: HttpUrl | None = Field(None, description="A picture of the person.")


# ---- feeds/*.yaml ----


class OwnerIn(Schema):
    name: Required = Field(
        description="The person or company that owns the show.",
        json_schema_extra=_hint("add the name of the person or company that owns the show"),
    )
    email: Annotated[Text, AfterValidator(_email)] = Field(
        description="An address the owner reads; apps send verification codes there.",
        json_schema_extra=_hint("add an address the owner reads; apps send verification codes there"),
    )


class SelectIn(Schema):
    kinds: Annotated[list[Kind], BeforeValidator(words)] = Field(
        default_factory=list, description="Episode kinds this feed takes."
    )
    topics: Slugs = Field(default_factory=list, description="Topics this feed takes (empty = any).")


class FundingIn(Schema):
    url: HttpUrl = Field(description="Where listeners support the show.", json_schema_extra=_hint('write url: "https://..."'))
    text: Annotated[Text, Field(max_length=128)] = Field("Support the show", description="Link text.")


class TxtIn(Schema):
    purpose: Annotated[Text, Field(max_length=128)] | None = Field(None, description="e.g. applepodcastsverify")
    text: Annotated[Required, Field(max_length=4000)] = Field(
        description="The text, e.g. a verification code.",
        json_schema_extra=_hint("write txt: [{purpose: applepodcastsverify, text: <the code Apple gave you>}]"),
    )


class UpdateFrequencyIn(Schema):
    rrule: Annotated[Text, AfterValidator(_rrule)] | None = Field(None, description="iCalendar RRULE, e.g. FREQ=WEEKLY")
    label: Annotated[Text, Field(max_length=128)] | None = Field(None, description="What apps show, e.g. Weekly.")
    dtstart: Annotated[Text, AfterValidator(_schedule_start)] | None = Field(
        None, description="When the schedule starts (ISO 8601)."
    )
    complete: Flag = Field(False, description="true when no more episodes will come.")


def _directory_id(value: str, pattern: str, what: str) -> str:
    if not re.fullmatch(pattern, value.strip()):
        raise bad(f"not a directory id ({value!r})", f"write only {what}, not the whole address")
    return value.strip()


def _shaped(pattern: str, what: str) -> AfterValidator:
    """The id of a show in one directory, checked against the shape of that directory's ids."""
    return AfterValidator(lambda v: _directory_id(v, pattern, what))


AppleId = Annotated[Text, _shaped(r"\d{5,15}", "the number after /id in its URL")]
SpotifyId = Annotated[Text, _shaped(r"[A-Za-z0-9]{22}", "the 22 characters after /show/")]
YoutubeId = Annotated[Text, _shaped(r"[A-Za-z0-9_-]{10,64}", "the list= value of the playlist URL")]
PocketCastsId = Annotated[Text, _shaped(r"[A-Za-z0-9]{4,32}", "the code after pca.st/")]
AmazonId = Annotated[Text, _shaped(r"[A-Za-z0-9-]{8,64}", "the id after /podcasts/")]


class DirectoriesIn(Schema):
    """Where the show is listed besides its feed: each is the show's id in that directory (the web pages link them)."""

    apple: AppleId | None = Field(
        None, description="Apple Podcasts id: the digits after `id` in the show's URL.", examples=["1234567890"]
    )
    spotify: SpotifyId | None = Field(
        None, description="Spotify show id: the 22 characters after /show/ in its URL.", examples=["4rOoJ6Egrf8K2IrywzwOMk"]
    )
    youtube: YoutubeId | None = Field(None, description="YouTube (Music) podcast playlist id: the list= value of its URL.")
    pocketcasts: PocketCastsId | None = Field(
        None, description="Pocket Casts share code: what follows pca.st/ in its share link."
    )
    overcast: AppleId | None = Field(None, description="Overcast: the show's Apple Podcasts id (Overcast links by it).")
    amazon: AmazonId | None = Field(None, description="Amazon Music podcast id: what follows /podcasts/ in its URL.")


class FeedFile(Schema):
    """feeds/<feed-id>.yaml: one podcast feed (RSS 2.0 + iTunes + Podcasting 2.0)."""

    title: Required = Field(description="The show's name.", examples=["Northfield Rounds"])
    description: Required = Field(description="What the show is about (plain text).", examples=["A short psychiatry podcast."])
    link: HttpUrl = Field(description="The show's page on the website.", json_schema_extra=_hint("add link: https://..."))
    language: Annotated[Text, AfterValidator(_language)] = Field(description="ISO 639 code.", examples=["en-us"])
    author: Required = Field(description="Shown as the show's author.", examples=["Northfield Psychiatry Review"])
    owner: OwnerIn = Field(
        description="Apple and Spotify verify the owner by email.",
        json_schema_extra=_hint("add owner: {name: Your Publisher, email: podcast@example.org} (Apple and Spotify verify it)"),
    )
    image: FilePath = Field(description="Square artwork, 1400–3000 px, JPEG or PNG.", examples=["artwork/podcast.png"])
    category: Annotated[Text, AfterValidator(_category)] = Field(
        description="An Apple category, 'Top' or 'Top > Sub'.",
        json_schema_extra={
            "hint": "use an Apple category such as 'Health & Fitness > Mental Health' (see README for the list)",
            "examples": list(CATEGORY_NAMES),
        },
    )
    explicit: Flag = Field(description="Apple requires it.", json_schema_extra=_hint("add explicit: false (Apple requires it)"))
    type: Literal["episodic", "serial"] = Field("episodic", description="Newest first (episodic) or in order (serial).")
    medium: Literal["audio", "video"] = Field(description="What the feed encloses.", examples=["audio"])
    select: SelectIn = Field(
        default_factory=SelectIn,
        description="Which episodes this feed takes.",
        json_schema_extra=_hint("write select: {kinds: [podcast], topics: []}"),
    )
    copyright: Text | None = Field(None, description="Copyright line.")
    locked: Flag = Field(False, description="podcast:locked: ask hosts not to import the feed.")
    access: Access = Field(
        "public",
        description="subscribers: a private feed, published only as each paying subscriber's own secret URL "
        "(see [subscribers] in mediafeed.toml).",
    )
    guid: Annotated[str | None, BeforeValidator(_uuid)] = Field(
        None,
        description="podcast:guid; leave it out to compute it from the feed URL.",
        json_schema_extra=_hint("remove it to compute the podcast:guid from the feed URL"),
    )
    audio: AudioSettings | None = Field(None, description="Overrides [audio] in mediafeed.toml for this feed.")
    intro: FilePath | None = Field(None, description="An audio file joined before every episode.")
    outro: FilePath | None = Field(None, description="An audio file joined after every episode.")
    persons: list[PersonIn] = Field(default_factory=list, description="Hosts and others on the show.")
    funding: Annotated[list[FundingIn], BeforeValidator(lambda v: [v] if isinstance(v, dict) else v)] = Field(
        default_factory=list, description="podcast:funding links."
    )
    txt: Annotated[list[TxtIn], BeforeValidator(lambda v: [v] if isinstance(v, dict) else v)] = Field(
        default_factory=list, description="podcast:txt records (e.g. Apple's verification code)."
    )
    update_frequency: UpdateFrequencyIn | None = Field(
        None,
        description="podcast:updateFrequency.",
        json_schema_extra=_hint("e.g. update_frequency: {rrule: FREQ=WEEKLY, label: Weekly}"),
    )
    new_feed_url: HttpUrl | None = Field(None, description="The feed has moved there (itunes:new-feed-url).")
    enclosure_prefix: Annotated[HttpUrl, AfterValidator(_url_prefix)] | None = Field(
        None, description="An analytics prefix put before every enclosure URL, ending in /."
    )
    page_size: PageSize | None = Field(
        None,
        description="Episodes per feed page; leave out to publish every episode in one feed.",
        json_schema_extra=_hint("remove it to publish every episode in one feed"),
    )
    directories: DirectoriesIn | None = Field(
        None,
        description="The show's ids in podcast directories (Apple, Spotify, ...): the web pages link them.",
        json_schema_extra=_hint('e.g. directories: {apple: "1234567890", spotify: 4rOoJ6Egrf8K2IrywzwOMk}'),
    )


# ---- episodes/<slug>/index.md front matter ----


class ArticleIn(Schema):
    title: Required = Field(
        description="The article's title as shown on the site.",
        json_schema_extra=_hint("give the article's title as shown on the site"),
    )
    url: SiteLink = Field(description="Its address, or a path on the site (/articles/...).", examples=["/articles/lithium"])


class ChapterIn(Schema):
    start: ChapterStart = Field(
        description='"MM:SS", "HH:MM:SS" or seconds.', json_schema_extra=_hint('quote it as "MM:SS" or "HH:MM:SS"')
    )
    title: Required = Field(description="Chapter title.", examples=["Introduction"])
    url: HttpUrl | None = Field(None, description="A page about this chapter.")
    img: HttpUrl | None = Field(None, description="A chapter image.")


def _chapters_form(value: object) -> str:
    return "none" if value is None else "str" if isinstance(value, str) else "list"


Chapters = Annotated[
    Annotated[list[ChapterIn], Tag("list")] | Annotated[FilePath, Tag("str")] | Annotated[None, Tag("none")],
    Discriminator(_chapters_form),
]


class WithdrawnIn(Schema):
    at: Moment = Field(description="When it was taken down.", json_schema_extra=_hint(DATE_HINT))
    reason: Required = Field(
        description="Why (kept in the manifest).", json_schema_extra=_hint('e.g. reason: "dosing table corrected"')
    )


class EpisodeFront(Schema):
    """The YAML front matter of episodes/<slug>/index.md; the Markdown after it is the show notes."""

    title: Required = Field(description="Episode title.", examples=["Lithium Levels in Practice"])
    guid: EpisodeGuid = Field(
        None,
        description="Permanent GUID, published exactly as written: `mediafeed check --fix` assigns a UUID; an imported "
        "episode keeps the GUID its old host published. Never change it once published.",
        json_schema_extra=_hint("run `mediafeed check --fix` to assign a permanent GUID"),
    )
    guid_permalink: Flag = Field(
        False,
        description='true publishes the GUID with isPermaLink="true" (it is the episode\'s web address); import sets '
        "it when the old feed did.",
    )
    kind: Kind = Field(description="Which feeds take it.", examples=["podcast"])
    topics: Slugs = Field(default_factory=list, description="Newsletter topics (slugs).", examples=["[general-psychiatry]"])
    published: Moment = Field(description="Release time with a UTC offset.", json_schema_extra=_hint(DATE_HINT))
    media: FilePath = Field(
        description="The master: a file in the episode folder, under a [media] root, or s3://bucket/key.",
        json_schema_extra=_hint("add media: with a file name"),
    )
    image: FilePath | None = Field(None, description="Episode artwork (square, 1400–3000 px).")
    transcript: FilePath | None = Field(None, description="A .vtt or .srt transcript.")
    persons: list[PersonIn] = Field(default_factory=list, description="Hosts and guests.")
    articles: list[ArticleIn] = Field(default_factory=list, description="Articles on the site this episode discusses.")
    chapters: Chapters = Field(
        None,
        description="A list of chapters, or a Podcasting 2.0 JSON chapters file beside the episode.",
        json_schema_extra=_hint('write chapters: [{start: "00:00", title: Introduction}]'),
    )
    season: Count | None = Field(None, description="Season number.", examples=[1])
    episode: Count | None = Field(None, description="Episode number.", examples=[3])
    episode_type: Literal["full", "trailer", "bonus"] = Field("full", description="itunes:episodeType.")
    explicit: Flag = Field(False, description="itunes:explicit.")
    keywords: Words = Field(default_factory=list, description="Search keywords.")
    summary: Annotated[Text, Field(max_length=1000)] | None = Field(
        None,
        description="One or two plain sentences (the description inside the media file's tags).",
        json_schema_extra=_hint("keep the summary to a sentence or two (under 1000 characters)"),
    )
    draft: Flag = Field(False, description="true keeps the episode out of every feed (what `mediafeed new` writes).")
    access: Access = Field(
        "public",
        description="subscribers: only private feeds carry it; no public feed, page or index names it.",
    )
    withdrawn: WithdrawnIn | None = Field(
        None,
        description="Taken down: leaves every feed and its files are deleted at the next publish (`mediafeed withdraw`).",
        json_schema_extra=_hint("write withdrawn: {at: 2026-11-30T09:00:00-05:00, reason: ...}"),
    )
    process: Flag = Field(
        True,
        description="false publishes the media: file byte for byte in every feed (no loudness normalization, re-encode, "
        "bumpers or tags; its loudness is measured and reported). It must be MP3, AAC (M4A) or H.264 MP4 and match "
        "the medium of every feed that carries it.",
        json_schema_extra=_hint("write process: false to publish the file as it is, or process: true (the default)"),
    )


FeedFilePartial = partial_model(FeedFile)
EpisodeFrontPartial = partial_model(EpisodeFront)

SCHEMAS = {"feed": FeedFile, "episode": EpisodeFront}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Each schema as a JSON Schema document, by file name (what `mediafeed schema` writes into schemas/)."""
    from mediafeed.config_file import ConfigFile

    documents = {}
    for name, model in (
        ("mediafeed.schema.json", ConfigFile),
        ("feed.schema.json", FeedFile),
        ("episode.schema.json", EpisodeFront),
    ):
        schema = _without_hints(model.model_json_schema(mode="validation"))
        documents[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://mediafeed.example/schemas/{name}",
            **schema,
        }
    return documents


def _without_hints(node: Any) -> Any:
    """Our error-message hints are not JSON Schema keywords: editors get descriptions and examples instead."""
    if isinstance(node, dict):
        return {k: _without_hints(v) for k, v in node.items() if k != "hint"}
    if isinstance(node, list):
        return [_without_hints(v) for v in node]
    return node
