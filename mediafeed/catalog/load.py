"""Load feeds/ and episodes/ into frozen models, normalizing as we go and collecting every problem.

A producer fixing a catalog wants the whole list at once, so nothing here stops at the first error: each field
reader records a Problem (file, field, what is wrong, how to fix it) and returns a fallback, and `load_catalog`
raises one CatalogError at the end if anything was recorded.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import yaml

from mediafeed.catalog.apple import CATEGORIES
from mediafeed.catalog.artwork import usable_artwork
from mediafeed.catalog.chapters import parse_json_chapters, timestamps_html
from mediafeed.catalog.listing import episode_files, feed_files
from mediafeed.catalog.notes import clean_line, render_notes
from mediafeed.catalog.transcripts import TranscriptError, parse_cues
from mediafeed.config import Config, audio_profile_from, is_http_url, load_config
from mediafeed.errors import CatalogError, Problem
from mediafeed.models import (
    EPISODE_TYPES,
    FEED_TYPES,
    KINDS,
    MEDIUMS,
    PERSON_ROLES,
    Article,
    Catalog,
    Chapter,
    Episode,
    Feed,
    Owner,
    Person,
    UpdateFrequency,
    Withdrawal,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,4})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIMESTAMP = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d(?:\.\d+)?)$")
FENCE = re.compile(r"(?m)^[ \t]*(?:---|\.\.\.)[ \t]*\r?$")  # a front-matter delimiter line
EMPTY_GUID_LINE = re.compile(r"(?m)^guid:[ \t]*(?:null|Null|NULL|~)?[ \t]*(?:#[^\r\n]*)?\r?\n")
DATE_HINT = "use ISO 8601 with a time and UTC offset, e.g. 2026-05-01T09:00:00-05:00"
MISSING = object()
FRONT_MATTER_LIMIT = 256 * 1024  # characters; YAML this large is a mistake (or an attack), not metadata


class FileUse(NamedTuple):
    """A file an entry was built from: the folder and name as written, and what they resolved to.

    What was read is reported to the caller (see load_catalog's `read`), which may cache by it: both spellings
    matter, so that a swapped symlink or an edited file shows.
    """

    base: Path
    written: str
    resolved: Path


BUMPER_TYPES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".aiff")


def slugify(title: str) -> str:
    """Lowercase ASCII words joined by hyphens; accents are folded, everything else dropped."""
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")


def parse_timestamp(value: object) -> float | None:
    """Chapter start: seconds as a number, or 'MM:SS' / 'HH:MM:SS(.mmm)'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # YAML reads `.inf` and `.nan` as floats; neither is a point in the media.
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        match = TIMESTAMP.match(value.strip())
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def parse_published(value: object) -> tuple[datetime | None, str]:
    """A timezone-aware instant in UTC, or None and the reason."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return None, f"a date without a time and UTC offset ({value.isoformat()})"
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None, f"not a date ({value!r})"
    else:
        return None, f"not a date ({value!r})"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, f"no UTC offset ({moment.isoformat()})"
    return moment.astimezone(UTC), ""


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(yaml, markdown body, line number where the YAML starts) or None without a front-matter block."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), 2
    return None


class FieldReader:
    """Reads typed fields from one YAML mapping, recording a Problem for each bad one."""

    def __init__(self, file: str, data: dict[str, Any], problems: list[Problem], files: list[FileUse] | None = None) -> None:
        self.file = file
        self.data = data
        self.problems = problems
        self.files = files if files is not None else []  # every file read through project_file

    def bad(self, field: str, message: str, hint: str) -> None:
        self.problems.append(Problem(self.file, field, message, hint))

    def text(self, field: str, *, required: bool = True, hint: str = "") -> str | None:
        value = self.data.get(field, MISSING)
        if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.bad(field, "missing", hint or f"add `{field}: ...` to the front matter")
            return None
        if isinstance(value, bool | list | dict):
            self.bad(field, f"must be text, not {type(value).__name__}", hint or f'quote it: {field}: "..."')
            return None
        return clean_line(str(value))

    def choice(self, field: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.text(field, required=default is None, hint=f"set {field}: one of {', '.join(choices)}")
        if value is None:
            return default
        if value not in choices:
            self.bad(field, f"unknown value {value!r}", f"use one of: {', '.join(choices)}")
            return default
        return value

    def flag(self, field: str, default: bool) -> bool:
        value = self.data.get(field, MISSING)
        if value is MISSING or value is None:
            return default
        if not isinstance(value, bool):
            self.bad(field, f"must be true or false ({value!r})", f"write {field}: true or {field}: false")
            return default
        return value

    def number(self, field: str) -> int | None:
        value = self.data.get(field, MISSING)
        if value is MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.bad(field, f"must be a whole number from 1 up ({value!r})", f"e.g. {field}: 3")
            return None
        return value

    def words(self, field: str, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = self.data.get(field, MISSING)
        if value is MISSING or value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
            self.bad(field, "must be a list of words", f"e.g. {field}: [first, second]")
            return ()
        items = tuple(clean_line(str(v)) for v in value)
        if pattern is not None:
            for item in items:
                if not pattern.match(item):
                    self.bad(field, f"{item!r} is not a slug", "use lowercase letters, digits and hyphens, e.g. child-psychiatry")
        return items

    def url(self, field: str, value: object, *, required: bool = True) -> str | None:
        if value is None or value is MISSING:
            if required:
                self.bad(field, "missing", f"add {field}: https://...")
            return None
        if not is_http_url(value):
            self.bad(field, f"not an absolute http(s) URL ({value!r})", "write the full address, starting with https://")
            return None
        return str(value).strip()

    def project_file(self, field: str, value: object, base: Path, config: Config, *, required: bool) -> Path | None:
        """A file that must exist inside the project or under a [media] root, symlinks resolved."""
        if value is None or value is MISSING:
            if required:
                self.bad(field, "missing", f"add {field}: with a file name")
            return None
        if not isinstance(value, str) or not value.strip():
            self.bad(field, f"must be a file path ({value!r})", f"write {field}: file-name.ext")
            return None
        candidate = (base / value.strip()).resolve()
        self.files.append(FileUse(base, value.strip(), candidate))
        allowed = (config.project.resolve(), *config.media_roots)
        if not any(candidate.is_relative_to(root) for root in allowed):
            self.bad(
                field,
                f"{value!r} is outside the project",
                "put the file in the episode folder, or add its folder to [media] roots in mediafeed.toml",
            )
            return None
        if not candidate.is_file():
            self.bad(field, f"file not found ({value!r})", f"put the file at {candidate} or correct the name")
            return None
        return candidate


EpisodeLoader = Callable[[Path, str, Config, list[Problem], list[FileUse]], "Episode | None"]


def load_catalog(
    project: Path,
    config: Config | None = None,
    *,
    load_one: EpisodeLoader | None = None,
    read: list[FileUse] | None = None,
) -> tuple[Config, Catalog]:
    """The validated catalog: files in, models out; raises one CatalogError listing every problem.

    `load_one` loads one episode (default: load_episode; a caller may wrap it, e.g. to cache by content);
    `read`, when given, receives every file the catalog was built from (feeds, episodes and the files they name).
    """
    config = config or load_config(project)
    read = read if read is not None else []
    problems: list[Problem] = []
    feeds = _load_feeds(config, problems, read)
    episodes = []
    for index in episode_files(config.project):
        rel = index.relative_to(config.project).as_posix()
        files: list[FileUse] = [FileUse(index.parent, index.name, index)]
        episode = (load_one or load_episode)(index, rel, config, problems, files)
        read.extend(files)
        if episode is not None:
            episodes.append(episode)
    _check_cross_references(config, feeds, episodes, problems)
    if problems:
        raise CatalogError(problems)  # an invalid catalog touches nothing, build/ included
    return config, Catalog(
        feeds=tuple(feeds), episodes=tuple(sorted(episodes, key=lambda e: (e.published, e.slug), reverse=True))
    )


def read_yaml(path: Path, rel: str, problems: list[Problem], text: str | None = None, first_line: int = 1) -> Any:
    try:
        source = text if text is not None else path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8"))
        return None
    try:
        return yaml.load(source, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + first_line}" if mark is not None else "YAML"
        problems.append(Problem(rel, line, f"YAML syntax error: {exc.problem}", "fix the indentation or quoting there"))
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, "", f"YAML error: {exc}", "fix the YAML syntax"))
    return None


def _load_feeds(config: Config, problems: list[Problem], read: list[FileUse]) -> list[Feed]:
    folder = config.project / "feeds"
    files = feed_files(config.project)
    if not files:
        problems.append(Problem("feeds/", "", "no feed definitions", "add feeds/<feed-id>.yaml (see README: Content format)"))
    feeds = []
    for path in files:
        rel = path.relative_to(config.project).as_posix()
        read.append(FileUse(folder, path.name, path))
        data = read_yaml(path, rel, problems)
        if data is None and not any(p.file == rel for p in problems):
            problems.append(Problem(rel, "", "empty feed definition", "add title, description, link, ... (see README)"))
        if not isinstance(data, dict):
            if data is not None:
                problems.append(Problem(rel, "", "must be a YAML mapping of fields", "write `title: ...` lines"))
            continue
        feed = _feed_from(path.stem, rel, data, config, problems, read)
        if feed is not None:
            feeds.append(feed)
            if feed.image.is_file():
                read.append(FileUse(feed.image.parent, feed.image.name, feed.image))  # a fixed copy in build/artwork
    return feeds


def _feed_from(
    feed_id: str, rel: str, data: dict[str, Any], config: Config, problems: list[Problem], files: list[FileUse] | None = None
) -> Feed | None:
    before = len(problems)
    r = FieldReader(rel, data, problems, files)
    if not SLUG.match(feed_id):
        r.bad("", f"feed id {feed_id!r} (the file name) is not a slug", "rename the file to lowercase-with-hyphens.yaml")
    title = r.text("title")
    description = r.text("description")
    link = r.url("link", data.get("link", MISSING))
    language = r.text("language", hint="e.g. language: en-us")
    if language and not LANGUAGE.match(language.lower()):
        r.bad("language", f"not a language code ({language!r})", "use an ISO 639 code such as en or en-us")
    author = r.text("author")
    owner = data.get("owner")
    owner_model = None
    if not isinstance(owner, dict):
        r.bad("owner", "missing", "add owner: {name: Your Publisher, email: podcast@example.org} (Apple and Spotify verify it)")
    else:
        name, email = owner.get("name"), owner.get("email")
        if not isinstance(name, str) or not name.strip():
            r.bad("owner.name", "missing", "add the name of the person or company that owns the show")
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            r.bad(
                "owner.email",
                f"not an email address ({email!r})",
                "add an address the owner reads; apps send verification codes there",
            )
        elif isinstance(name, str) and name.strip():
            owner_model = Owner(clean_line(name), email.strip())
    image = r.project_file("image", data.get("image"), config.project, config, required=True)
    if image is not None:
        original = image
        image, artwork_issues = usable_artwork(original, config.project / "build")  # a fixed copy when one was made
        for message, hint in artwork_issues:
            r.bad("image", f"{original.name}: {message}", hint)
    category, subcategory = _category(r, data.get("category"))
    explicit = data.get("explicit", MISSING)
    if not isinstance(explicit, bool):
        r.bad(
            "explicit",
            "missing" if explicit is MISSING else f"must be true or false ({explicit!r})",
            "add explicit: false (Apple requires it)",
        )
    feed_type = r.choice("type", FEED_TYPES, "episodic")
    medium = r.choice("medium", MEDIUMS, None)
    select = data.get("select", {}) or {}
    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    if not isinstance(select, dict):
        r.bad("select", "must be a mapping", "write select: {kinds: [podcast], topics: []}")
    else:
        s = FieldReader(rel, select, problems)
        kinds = s.words("kinds")
        topics = s.words("topics", pattern=SLUG)
        for kind in kinds:
            if kind not in KINDS:
                r.bad("select.kinds", f"unknown kind {kind!r}", f"use some of: {', '.join(KINDS)}")
        if config.topics:
            for topic in topics:
                if topic not in config.topics:
                    r.bad(
                        "select.topics",
                        f"unknown topic {topic!r}",
                        f"use topics listed in mediafeed.toml [catalog]: {', '.join(config.topics)}",
                    )
    guid = data.get("guid")
    if guid is not None and not _is_uuid(guid):
        r.bad("guid", f"not a UUID ({guid!r})", "remove it to compute the podcast:guid from the feed URL")
    audio = None
    if "audio" in data:
        if not isinstance(data["audio"], dict):
            r.bad("audio", "must be a mapping", "write audio: {loudness_stereo: -16, loudness_mono: -19}")
        else:
            audio = audio_profile_from(data["audio"], config.audio, r.bad, "audio")
    bumpers = {}
    for field in ("intro", "outro"):
        bumper = r.project_file(field, data.get(field), config.project, config, required=False)
        if bumper is not None and bumper.suffix.lower() not in BUMPER_TYPES:
            r.bad(field, f"{bumper.name} is not an audio file", f"use one of: {', '.join(BUMPER_TYPES)}")
        elif bumper is not None and medium == "video":
            r.bad(field, "bumpers are joined to audio deliveries; a video feed encloses MP4s", f"move {field} to an audio feed")
        bumpers[field] = bumper
    extras = _feed_extras(r, data)
    if len(problems) > before:
        return None
    assert title and description and link and language and author and owner_model and image and medium
    return Feed(
        id=feed_id,
        file=rel,
        title=title,
        description=description,
        link=link,
        language=language.lower(),
        author=author,
        owner=owner_model,
        image=image,
        category=category or "",
        subcategory=subcategory,
        explicit=bool(explicit),
        type=feed_type or "episodic",
        medium=medium,
        kinds=kinds,
        topics=topics,
        copyright=r.text("copyright", required=False),
        locked=r.flag("locked", False),
        guid=str(guid) if guid else None,
        audio=audio,
        intro=bumpers.get("intro"),
        outro=bumpers.get("outro"),
        **extras,
    )


def _feed_extras(r: FieldReader, data: dict[str, Any]) -> dict[str, Any]:
    """The optional channel fields: persons, funding, txt, update frequency, feed move, analytics prefix, paging."""
    extras: dict[str, Any] = {"persons": _persons(r, data.get("persons"))}
    funding = []
    for i, item in enumerate(_as_list(data.get("funding"))):
        if not isinstance(item, dict):
            r.bad(f"funding[{i}]", "must be {url, text}", 'write funding: [{url: "https://...", text: "Support the show"}]')
            continue
        url = r.url(f"funding[{i}].url", item.get("url"))
        text = clean_line(str(item.get("text") or "Support the show"))[:128]
        if url:
            funding.append((url, text))
    extras["funding"] = tuple(funding)
    txt = []
    for i, item in enumerate(_as_list(data.get("txt"))):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            r.bad(f"txt[{i}]", "needs text", "write txt: [{purpose: applepodcastsverify, text: <the code Apple gave you>}]")
            continue
        purpose = item.get("purpose")
        if len(item["text"]) > 4000 or (purpose is not None and len(str(purpose)) > 128):
            r.bad(f"txt[{i}]", "too long (text ≤ 4000, purpose ≤ 128 characters)", "shorten it")
            continue
        txt.append((str(purpose) if purpose else None, item["text"].strip()))
    extras["txt"] = tuple(txt)
    frequency = data.get("update_frequency")
    if frequency is not None:
        if not isinstance(frequency, dict) or not (frequency.get("rrule") or frequency.get("complete")):
            r.bad(
                "update_frequency",
                "needs an rrule (or complete: true)",
                "e.g. update_frequency: {rrule: FREQ=WEEKLY, label: Weekly}",
            )
        elif frequency.get("rrule") and not re.match(
            r"^FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[^;]+)*$", str(frequency["rrule"])
        ):
            r.bad("update_frequency.rrule", f"not an iCalendar RRULE ({frequency['rrule']!r})", "e.g. FREQ=WEEKLY;BYDAY=MO")
        else:
            complete = frequency.get("complete", False)
            label = clean_line(str(frequency.get("label") or ("Complete" if complete else frequency.get("rrule"))))[:128]
            dtstart = frequency.get("dtstart")
            extras["update_frequency"] = UpdateFrequency(
                label,
                str(frequency["rrule"]) if frequency.get("rrule") else None,
                dtstart.isoformat() if isinstance(dtstart, date) else (str(dtstart) if dtstart else None),
                bool(complete),
            )
    extras["new_feed_url"] = r.url("new_feed_url", data.get("new_feed_url"), required=False)
    prefix = data.get("enclosure_prefix")
    if prefix is not None:
        if not isinstance(prefix, str) or not is_http_url(prefix) or not prefix.endswith("/"):
            r.bad("enclosure_prefix", f"not a URL prefix ending in / ({prefix!r})", "e.g. enclosure_prefix: https://op3.dev/e/")
        else:
            extras["enclosure_prefix"] = prefix
    page_size = data.get("page_size")
    if page_size is not None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 10:
            r.bad(
                "page_size",
                f"must be a whole number of at least 10 ({page_size!r})",
                "remove it to publish every episode in one feed",
            )
        else:
            extras["page_size"] = page_size
    return extras


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _category(r: FieldReader, value: object) -> tuple[str | None, str | None]:
    hint = "use an Apple category such as 'Health & Fitness > Mental Health' (see README for the list)"
    if not isinstance(value, str) or not value.strip():
        r.bad("category", "missing", hint)
        return None, None
    parts = [clean_line(p) for p in value.split(">")]
    if len(parts) > 2 or parts[0] not in CATEGORIES:
        r.bad("category", f"{value!r} is not in Apple's category list", hint)
        return None, None
    sub = parts[1] if len(parts) == 2 else None
    if sub is not None and sub not in CATEGORIES[parts[0]]:
        choices = ", ".join(CATEGORIES[parts[0]]) or "none"
        r.bad("category", f"{sub!r} is not a subcategory of {parts[0]!r}", f"use one of: {choices}")
        return None, None
    return parts[0], sub


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def load_episode(
    index: Path, rel: str, config: Config, problems: list[Problem], files: list[FileUse] | None = None
) -> Episode | None:
    """One episode from its index.md; `files` collects every file it was built from."""
    before = len(problems)
    slug = index.parent.name
    if not SLUG.match(slug):
        problems.append(
            Problem(rel, "", f"folder name {slug!r} is not a slug", f"rename the folder to {slugify(slug) or 'a-lowercase-name'}")
        )
    try:
        text = index.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8"))
        return None
    parts = split_front_matter(text)
    if parts is None:
        problems.append(
            Problem(rel, "", "no front matter", "start the file with a `---` line, the YAML fields, and another `---` line")
        )
        return None
    front, body, first_line = parts
    if len(front) > FRONT_MATTER_LIMIT:
        problems.append(
            Problem(
                rel, "", f"front matter is {len(front) // 1024} KB", "keep it under 256 KB: long text belongs in the show notes"
            )
        )
        return None
    data = read_yaml(index, rel, problems, text=front, first_line=first_line)
    if not isinstance(data, dict):
        if len(problems) == before:
            problems.append(
                Problem(rel, "", "front matter must be YAML fields", "write `title: ...` lines between the `---` lines")
            )
        return None
    r = FieldReader(rel, data, problems, files)
    title = r.text("title")
    guid = data.get("guid")
    if guid is None:
        r.bad("guid", "missing", "run `mediafeed check --fix` to assign a permanent GUID")
    elif not _is_uuid(guid):
        r.bad(
            "guid",
            f"not a UUID ({guid!r})",
            "GUIDs never change once published; restore the original or run `mediafeed check --fix` on a new episode",
        )
    kind = r.choice("kind", KINDS, None)
    topics = r.words("topics", pattern=SLUG)
    if config.topics:
        for topic in topics:
            if topic not in config.topics:
                r.bad(
                    "topics",
                    f"unknown topic {topic!r}",
                    f"use topics listed in mediafeed.toml [catalog]: {', '.join(config.topics)}",
                )
    published = None
    raw_published = data.get("published", MISSING)
    if raw_published is MISSING or raw_published is None:
        r.bad("published", "missing", DATE_HINT)
    else:
        published, why = parse_published(raw_published)
        if published is None:
            r.bad("published", why, DATE_HINT)
    media = _media_source(r, data.get("media"), index.parent, config)
    image = r.project_file("image", data.get("image"), index.parent, config, required=False)
    if image is not None:
        original = image
        image, artwork_issues = usable_artwork(original, config.project / "build")  # a fixed copy when one was made
        for message, hint in artwork_issues:
            r.bad("image", f"{original.name}: {message}", hint)
        if image != original:
            r.files.append(FileUse(image.parent, image.name, image))
    transcript = r.project_file("transcript", data.get("transcript"), index.parent, config, required=False)
    if transcript is not None and transcript.suffix.lower() not in (".vtt", ".srt"):
        r.bad("transcript", f"{transcript.name} is not a .vtt or .srt file", "use WebVTT (.vtt) or SubRip (.srt)")
    elif transcript is not None:
        try:
            parse_cues(transcript.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, TranscriptError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            r.bad("transcript", f"{transcript.name}: {reason}", "export the transcript again as WebVTT or SubRip (UTF-8)")
    persons = _persons(r, data.get("persons"))
    articles = _articles(r, data.get("articles"), config)
    raw_chapters = data.get("chapters")
    if isinstance(raw_chapters, str):  # a Podcasting 2.0 JSON chapters file beside the episode
        chapters_file = r.project_file("chapters", raw_chapters, index.parent, config, required=True)
        raw_chapters = None
        if chapters_file is not None:
            parsed, why = parse_json_chapters(chapters_file)
            if why:
                r.bad(
                    "chapters",
                    f"{chapters_file.name}: {why}",
                    "use the Podcasting 2.0 JSON chapters format, or list chapters here",
                )
            else:
                raw_chapters = [{"start": c.start, "title": c.title, "url": c.url, "img": c.image} for c in parsed]
    chapters = _chapters(r, raw_chapters)
    season = r.number("season")
    number = r.number("episode")
    episode_type = r.choice("episode_type", EPISODE_TYPES, "full")
    explicit = r.flag("explicit", False)
    keywords = r.words("keywords")
    summary = r.text("summary", required=False)
    if summary and len(summary) > 1000:
        r.bad("summary", f"{len(summary)} characters", "keep the summary to a sentence or two (under 1000 characters)")
    withdrawn = _withdrawn(r, data.get("withdrawn"))
    if len(problems) > before:
        return None
    assert title and kind and published and media
    # Room for the chapter timestamps the feed puts in front (an intro bumper may add one more line).
    reserve = len(timestamps_html(chapters).encode()) + (64 if chapters else 0)
    description_html, content_html = render_notes(body, config.site_url, articles, reserve)
    return Episode(
        slug=slug,
        file=rel,
        title=title,
        guid=str(guid).lower(),
        kind=kind,
        topics=topics,
        published=published,
        media=media,
        description_html=description_html,
        content_html=content_html,
        image=image,
        season=season,
        episode=number,
        episode_type=episode_type or "full",
        explicit=explicit,
        persons=persons,
        articles=articles,
        chapters=chapters,
        transcript=transcript,
        keywords=keywords,
        summary=summary,
        withdrawn=withdrawn,
    )


def _withdrawn(r: FieldReader, value: object) -> Withdrawal | None:
    """`withdrawn: {at: <date with UTC offset>, reason: <text>}`: the episode is taken down (see catalog/withdraw.py)."""
    if value is None:
        return None
    hint = 'write withdrawn: {at: 2026-05-01T09:00:00-05:00, reason: "why"} (or run `mediafeed withdraw SLUG --reason ...`)'
    if not isinstance(value, dict):
        r.bad("withdrawn", f"must be a mapping with at and reason ({value!r})", hint)
        return None
    at, why = parse_published(value.get("at"))
    if at is None:
        r.bad("withdrawn.at", why if value.get("at") is not None else "missing", DATE_HINT)
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        r.bad("withdrawn.reason", "missing", 'say why the episode was taken down, e.g. reason: "guest withdrew consent"')
        return None
    unknown = sorted(str(k) for k in value if k not in ("at", "reason"))
    if unknown:
        r.bad("withdrawn", f"unknown field(s): {', '.join(unknown)}", "withdrawn takes only at and reason")
    return Withdrawal(at, clean_line(reason)) if at is not None and not unknown else None


def _media_source(r: FieldReader, value: object, bundle: Path, config: Config) -> str | None:
    if isinstance(value, str) and value.strip().startswith("s3://"):
        uri = value.strip()
        if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", uri):
            r.bad("media", f"not an s3://bucket/key URI ({uri!r})", "write media: s3://bucket/path/to/master.wav")
            return None
        return uri
    path = r.project_file("media", value, bundle, config, required=True)
    return str(path) if path else None


def _persons(r: FieldReader, value: object) -> tuple[Person, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.bad("persons", "must be a list", "write persons: [{name: Jane Doe, role: host}]")
        return ()
    persons = []
    for i, item in enumerate(value):
        where = f"persons[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            r.bad(where, "needs a name", "write {name: Jane Doe, role: host}")
            continue
        role = str(item.get("role", "host")).lower()
        if role not in PERSON_ROLES:
            r.bad(f"{where}.role", f"unknown role {role!r}", f"use one of: {', '.join(PERSON_ROLES)}")
            continue
        href = r.url(f"{where}.href", item.get("href"), required=False)
        img = r.url(f"{where}.img", item.get("img"), required=False)
        persons.append(Person(clean_line(item["name"]), role, href, img))
    return tuple(persons)


def _articles(r: FieldReader, value: object, config: Config) -> tuple[Article, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.bad("articles", "must be a list", 'write articles: [{title: "...", url: "https://..."}]')
        return ()
    articles = []
    for i, item in enumerate(value):
        where = f"articles[{i}]"
        if not isinstance(item, dict):
            r.bad(where, "must be {title, url}", 'write {title: "Article title", url: "https://www.example.org/articles/..."}')
            continue
        title = item.get("title")
        raw_url = item.get("url")
        if isinstance(raw_url, str) and raw_url.startswith("/"):
            raw_url = urljoin(config.site_url + "/", raw_url)  # a path on the publisher's own site, as notes resolve it
        url = r.url(f"{where}.url", raw_url)
        if not isinstance(title, str) or not title.strip():
            r.bad(f"{where}.title", "missing", "give the article's title as shown on the site")
            continue
        if url:
            articles.append(Article(clean_line(title), url))
    return tuple(articles)


def _chapters(r: FieldReader, value: object) -> tuple[Chapter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.bad("chapters", "must be a list", 'write chapters: [{start: "00:00", title: Introduction}]')
        return ()
    chapters = []
    first_read = False
    for i, item in enumerate(value):
        where = f"chapters[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            r.bad(where, "needs start and title", 'write {start: "04:10", title: "What the gene does"}')
            continue
        start = parse_timestamp(item.get("start"))
        if start is None:
            r.bad(f"{where}.start", f"not a time ({item.get('start')!r})", 'quote it as "MM:SS" or "HH:MM:SS"')
            continue
        url = r.url(f"{where}.url", item.get("url"), required=False)
        image = r.url(f"{where}.img", item.get("img"), required=False)
        chapters.append(Chapter(start, clean_line(item["title"]), url, image))
        first_read = first_read or i == 0
    starts = [c.start for c in chapters]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        r.bad("chapters", "start times must increase", "list chapters in order, each starting after the previous one")
    elif chapters and chapters[0].start != 0 and first_read:
        # Only when chapters[0] itself was read: an unreadable one is already reported, and the next would be misnamed.
        r.bad("chapters[0].start", "the first chapter must start at 00:00", 'add {start: "00:00", title: Introduction}')
    return tuple(chapters)


def _check_cross_references(config: Config, feeds: list[Feed], episodes: list[Episode], problems: list[Problem]) -> None:
    seen: dict[uuid.UUID, str] = {}
    for episode in episodes:
        # Compare UUID values, not spellings: a copy edited to braces, urn:uuid: or no hyphens is still the same GUID.
        key = uuid.UUID(episode.guid)
        if key in seen:
            problems.append(
                Problem(
                    episode.file,
                    "guid",
                    f"same GUID as {seen[key]}",
                    "a copied episode needs its own GUID: delete the line and run `mediafeed check --fix`",
                )
            )
        seen.setdefault(key, episode.file)
    # Episodes no feed selects are legal (drafts for a later feed) but worth knowing; reported by `check` as notes.


def unselected_episodes(catalog: Catalog) -> list[Episode]:
    return [e for e in catalog.episodes if not any(f.selects(e) for f in catalog.feeds)]


def find_missing_guids(project: Path) -> list[Path]:
    """Episode files whose front matter has no guid line at all (what `check --fix` may fill in)."""
    missing = []
    for index in sorted((project / "episodes").glob("*/index.md")):
        try:
            parts = split_front_matter(index.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError:
            continue
        if parts is None:
            continue
        try:
            data = yaml.load(parts[0], Loader=_Loader)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and data.get("guid") is None:
            missing.append(index)
    return missing


def insert_guid(text: str, guid: str) -> str:
    """Add `guid:` as the first front-matter field, leaving every other byte of the file as it was."""
    newline = "\r\n" if "\r\n" in text else "\n"
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    first_break = body.index("\n") + 1
    rest = body[first_break:]
    # Only the front matter may change: a `guid:` line in the show notes is the producer's text.
    closing = FENCE.search(rest)
    end = closing.start() if closing else len(rest)
    # An empty guid line (null, ~, or nothing, perhaps with a comment) must go, or YAML's last-key-wins keeps it null.
    front = EMPTY_GUID_LINE.sub("", rest[:end], count=1)
    return bom + body[:first_break] + f"guid: {guid}{newline}" + front + rest[end:]


def catalog_images(config: Config) -> list[tuple[str, Path]]:
    """(file that names it, image path) for every feed's and episode's artwork, resolved as the catalog does.

    Reads only the `image` fields, so it works on a catalog that does not load yet (bad artwork makes it invalid).
    Paths outside the project or missing files are left to `mediafeed check` to report.
    """
    found: list[tuple[str, Path]] = []
    ignored: list[Problem] = []
    folder = config.project / "feeds"
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        rel = path.relative_to(config.project).as_posix()
        data = read_yaml(path, rel, ignored)
        if isinstance(data, dict):
            reader = FieldReader(rel, data, ignored)
            image = reader.project_file("image", data.get("image"), config.project, config, required=False)
            if image is not None:
                found.append((rel, image))
    for index in sorted((config.project / "episodes").glob("*/index.md")):
        rel = index.relative_to(config.project).as_posix()
        try:
            parts = split_front_matter(index.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            continue
        data = read_yaml(index, rel, ignored, text=parts[0]) if parts else None
        if isinstance(data, dict):
            image = FieldReader(rel, data, ignored).project_file("image", data.get("image"), index.parent, config, required=False)
            if image is not None:
                found.append((rel, image))
    return found
