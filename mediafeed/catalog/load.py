"""Load feeds/ and episodes/ into frozen models, normalizing as we go and collecting every problem.

A producer fixing a catalog wants the whole list at once, so nothing here stops at the first error: each field
reader records a Problem (file, field, what is wrong, how to fix it) and returns a fallback, and `load_catalog`
raises one CatalogError at the end if anything was recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import yaml

from mediafeed import files as fs
from mediafeed.catalog.artwork import usable_artwork
from mediafeed.catalog.chapters import parse_json_chapters, timestamps_html
from mediafeed.catalog.listing import episode_files, feed_files
from mediafeed.catalog.notes import clean_line, render_notes
from mediafeed.catalog.schema import (
    DATE_HINT,
    PLACEHOLDER_NOTES,
    SLUG,
    EpisodeFront,
    EpisodeFrontPartial,
    FeedFile,
    FeedFilePartial,
    PersonIn,
    parse_published,
    parse_timestamp,
    same_guid,
)
from mediafeed.catalog.transcripts import TranscriptError, parse_cues
from mediafeed.config import Config
from mediafeed.config_file import load_config
from mediafeed.errors import CatalogError, Problem
from mediafeed.models import (
    DIRECTORIES,
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
from mediafeed.validation import validate_collecting

__all__ = ["DATE_HINT", "SLUG", "parse_published", "parse_timestamp"]

FENCE = re.compile(r"(?m)^[ \t]*(?:---|\.\.\.)[ \t]*\r?$")  # a front-matter delimiter line
EMPTY_GUID_LINE = re.compile(r"(?m)^guid:[ \t]*(?:null|Null|NULL|~)?[ \t]*(?:#[^\r\n]*)?\r?\n")
FRONT_MATTER_LIMIT = 256 * 1024  # characters; YAML this large is a mistake (or an attack), not metadata


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as a producer means it: dates stay text (the schema checks them, so 2026-02-30 is a message, not a
    crash), a key written twice is an error (YAML would keep the last silently), and aliases (`*name`) are refused
    (a few lines of them expand to billions of values)."""

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_aliases(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):  # front matter keys are plain words: compare them as written
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {key_node.value!r} is written twice (YAML would keep only the last)",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_aliases(root: yaml.Node) -> None:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported here: write the value out", node.start_mark
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)

LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")


def _as_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """`episode: 010` is ten, as a producer means it (YAML 1.1 would read eight, as octal)."""
    text = str(loader.construct_scalar(node))
    if LEADING_ZERO.fullmatch(text):
        return int(text.replace("_", ""), 10)
    return int(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))


_Loader.add_constructor("tag:yaml.org,2002:int", _as_int)
RESERVED_FEED_ID = re.compile(r".*-page-\d+$")  # the keys of a paged feed's later pages (feeds/<id>-page-N.xml)


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
    """The checks that need more than a schema (files on disk), recording a Problem for each failure."""

    def __init__(self, file: str, problems: list[Problem], files: list[FileUse] | None = None) -> None:
        self.file = file
        self.problems = problems
        self.files = files if files is not None else []  # every file read through project_file

    def bad(self, field: str, message: str, hint: str) -> None:
        self.problems.append(Problem(self.file, field, message, hint))

    def project_file(self, field: str, value: object, base: Path, config: Config, *, required: bool) -> Path | None:
        """A file that must exist inside the project or under a [media] root, symlinks resolved."""
        if value is None:
            if required:
                self.bad(field, "missing", f"add {field}: with a file name")
            return None
        if not isinstance(value, str) or not value.strip():
            self.bad(field, f"must be a file path ({value!r})", f"write {field}: file-name.ext")
            return None
        try:
            candidate = fs.resolve(base / value.strip(), self.file, field)
        except fs.UnreadableFile as exc:
            self.bad(field, f"{value.strip()!r}: {exc.problem.message}", exc.problem.hint)
            return None
        self.files.append(FileUse(base, value.strip(), candidate))
        allowed = (config.project.resolve(), *config.media_roots)
        if not any(candidate.is_relative_to(root) for root in allowed):
            self.bad(
                field,
                f"{value!r} is outside the project",
                "put the file in the episode folder, or add its folder to [media] roots in mediafeed.toml",
            )
            return None
        found = _is_file(self, field, candidate)
        if found is None:
            return None
        if not found:
            self.bad(field, f"file not found ({value!r})", f"put the file at {candidate} or correct the name")
            return None
        return candidate


def _is_file(r: FieldReader, field: str, candidate: Path) -> bool | None:
    """Whether a named file is there; None (and a problem of its own, not 'not found') when it cannot be looked at."""
    try:
        return fs.is_file(candidate, r.file, field)
    except fs.UnreadableFile as exc:
        r.bad(field, f"{candidate.name}: {exc.problem.message}", exc.problem.hint)
        return None


EpisodeLoader = Callable[[Path, str, Config, list[Problem], list[FileUse]], "Episode | None"]


def load_catalog(
    project: Path,
    config: Config | None = None,
    *,
    load_one: EpisodeLoader | None = None,
    read: list[FileUse] | None = None,
    published: Mapping[str, str] | None = None,
) -> tuple[Config, Catalog]:
    """The validated catalog: files in, models out; raises one CatalogError listing every problem.

    `load_one` loads one episode (default: load_episode; a caller may wrap it, e.g. to cache by content);
    `read`, when given, receives every file the catalog was built from (feeds, episodes and the files they name);
    `published` maps the GUIDs targets have published to their slugs (a copy never takes a published GUID).
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
    _check_cross_references(episodes, problems, published or {})
    if problems:
        raise CatalogError(problems)  # an invalid catalog touches nothing, build/ included
    return config, Catalog(
        feeds=tuple(feeds), episodes=tuple(sorted(episodes, key=lambda e: (e.published, e.slug), reverse=True))
    )


def read_yaml(path: Path, rel: str, problems: list[Problem], text: str | None = None, first_line: int = 1) -> Any:
    try:
        source = text if text is not None else fs.read_text(path, rel)
    except fs.UnreadableFile as exc:
        problems.append(exc.problem)
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8"))
        return None
    try:
        return yaml.load(source, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + first_line}" if mark is not None else "YAML"
        problems.append(Problem(rel, line, f"YAML error: {exc.problem or exc.context}", "fix the YAML there"))
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, "", f"YAML error: {exc}", "fix the YAML syntax"))
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value YAML cannot build (!!int x, !!binary)
        problems.append(Problem(rel, "", f"YAML value error: {exc}", "remove the !!tag or fix the value"))
    except RecursionError:
        problems.append(Problem(rel, "", "YAML nested too deeply", "front matter is a flat list of fields"))
    return None


def _load_feeds(config: Config, problems: list[Problem], read: list[FileUse]) -> list[Feed]:
    folder = config.project / "feeds"
    files = feed_files(config.project)
    if not files:
        problems.append(Problem("feeds/", "", "no feed definitions", "add feeds/<feed-id>.yaml (see README: Content format)"))
    feeds = []
    ids: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(config.project).as_posix()
        read.append(FileUse(folder, path.name, path))
        if path.stem in ids:  # feeds/x.yaml and feeds/x.yml would both publish feeds/x.xml
            problems.append(Problem(rel, "", f"same feed id as {ids[path.stem]} (both would publish feeds/{path.stem}.xml)",
                                    "rename or remove one of the two files"))  # fmt: skip
            continue
        ids[path.stem] = rel
        if RESERVED_FEED_ID.match(path.stem):
            problems.append(Problem(rel, "", f"feed id {path.stem!r} looks like a page of a paged feed",
                                    "rename the file: ids ending in -page-<number> are kept for feed pages"))  # fmt: skip
            continue
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
    f: Any = validate_collecting(FeedFile, FeedFilePartial, data, rel, problems)
    r = FieldReader(rel, problems, files)
    if not SLUG.match(feed_id):
        r.bad("", f"feed id {feed_id!r} (the file name) is not a slug", "rename the file to lowercase-with-hyphens.yaml")
    image = r.project_file("image", f.image, config.project, config, required=False)
    if image is not None:
        original = image
        image, artwork_issues = usable_artwork(original, config.project / "build")  # a fixed copy when one was made
        for message, hint in artwork_issues:
            r.bad("image", f"{original.name}: {message}", hint)
    topics = tuple(f.select.topics) if f.select else ()
    _known_topics(r, "select.topics", topics, config)
    bumpers = {}
    for field in ("intro", "outro"):
        bumper = r.project_file(field, getattr(f, field), config.project, config, required=False)
        if bumper is not None and bumper.suffix.lower() not in BUMPER_TYPES:
            r.bad(field, f"{bumper.name} is not an audio file", f"use one of: {', '.join(BUMPER_TYPES)}")
        elif bumper is not None and f.medium == "video":
            r.bad(field, "bumpers are joined to audio deliveries; a video feed encloses MP4s", f"move {field} to an audio feed")
        bumpers[field] = bumper
    if len(problems) > before:
        return None
    assert image is not None
    category, _, subcategory = f.category.partition(" > ")
    frequency = f.update_frequency
    if frequency is not None and not (frequency.rrule or frequency.complete):
        r.bad(
            "update_frequency", "needs an rrule (or complete: true)", "e.g. update_frequency: {rrule: FREQ=WEEKLY, label: Weekly}"
        )
        return None
    return Feed(
        id=feed_id,
        file=rel,
        title=clean_line(f.title),
        description=clean_line(f.description),
        link=f.link,
        language=f.language.strip().lower(),
        author=clean_line(f.author),
        owner=Owner(clean_line(f.owner.name), f.owner.email.strip()),
        image=image,
        category=category,
        subcategory=subcategory or None,
        explicit=f.explicit,
        type=f.type,
        medium=f.medium,
        kinds=tuple(f.select.kinds),
        topics=topics,
        copyright=clean_line(f.copyright) if f.copyright else None,
        locked=f.locked,
        access=f.access,
        guid=f.guid,
        audio=f.audio.over(config.audio) if f.audio is not None else None,
        intro=bumpers.get("intro"),
        outro=bumpers.get("outro"),
        persons=_persons(f.persons),
        funding=tuple((item.url, clean_line(item.text)[:128]) for item in f.funding),
        txt=tuple((item.purpose or None, item.text.strip()) for item in f.txt),
        update_frequency=(
            UpdateFrequency(
                clean_line(frequency.label or ("Complete" if frequency.complete else frequency.rrule or ""))[:128],
                frequency.rrule or None,
                frequency.dtstart or None,
                frequency.complete,
            )
            if frequency is not None
            else None
        ),
        new_feed_url=f.new_feed_url,
        enclosure_prefix=f.enclosure_prefix,
        page_size=f.page_size,
        directories=tuple(
            (name, str(getattr(f.directories, name))) for name in DIRECTORIES if f.directories and getattr(f.directories, name)
        ),
    )


def _known_topics(r: FieldReader, field: str, topics: tuple[str, ...], config: Config) -> None:
    for topic in topics:
        if config.topics and topic not in config.topics:
            r.bad(field, f"unknown topic {topic!r}", f"use topics listed in mediafeed.toml [catalog]: {', '.join(config.topics)}")


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
        text = fs.read_text(index, rel)
    except fs.UnreadableFile as exc:
        problems.append(exc.problem)
        return None
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
    e: Any = validate_collecting(EpisodeFront, EpisodeFrontPartial, data, rel, problems)
    r = FieldReader(rel, problems, files)
    if ("guid" in data and data["guid"] is None) or "guid" not in data:
        r.bad("guid", "missing", "run `mediafeed check --fix` to assign a permanent GUID")
    topics = tuple(e.topics or ())
    _known_topics(r, "topics", topics, config)
    media = _media_source(r, e.media, index.parent, config)
    image = r.project_file("image", e.image, index.parent, config, required=False)
    if image is not None:
        original = image
        image, artwork_issues = usable_artwork(original, config.project / "build")  # a fixed copy when one was made
        for message, hint in artwork_issues:
            r.bad("image", f"{original.name}: {message}", hint)
        if image != original:
            r.files.append(FileUse(image.parent, image.name, image))
    transcript = r.project_file("transcript", e.transcript, index.parent, config, required=False)
    if transcript is not None and transcript.suffix.lower() not in (".vtt", ".srt"):
        r.bad("transcript", f"{transcript.name} is not a .vtt or .srt file", "use WebVTT (.vtt) or SubRip (.srt)")
    elif transcript is not None:
        try:
            parse_cues(fs.read_text(transcript, transcript.name))
        except fs.UnreadableFile as exc:
            r.bad("transcript", f"{exc.problem.file}: {exc.problem.message}", exc.problem.hint)
        except (UnicodeDecodeError, TranscriptError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            r.bad("transcript", f"{transcript.name}: {reason}", "export the transcript again as WebVTT or SubRip (UTF-8)")
    articles = tuple(
        Article(clean_line(a.title), urljoin(config.site_url + "/", a.url) if a.url.startswith("/") else a.url)
        for a in e.articles or ()
    )
    chapters = _chapters(r, e.chapters, index.parent, config)
    if len(problems) > before:
        return None
    assert e.title and e.published and media and e.guid
    # Room for the chapter timestamps the feed puts in front (an intro bumper may add one more line).
    reserve = len(timestamps_html(chapters).encode()) + (64 if chapters else 0)
    description_html, content_html = render_notes(body, config.site_url, articles, reserve)
    return Episode(
        slug=slug,
        file=rel,
        title=clean_line(e.title),
        guid=e.guid,
        guid_permalink=bool(e.guid_permalink),
        kind=e.kind,
        topics=topics,
        published=e.published,
        media=media,
        description_html=description_html,
        content_html=content_html,
        image=image,
        season=e.season,
        episode=e.episode,
        episode_type=e.episode_type,
        explicit=e.explicit,
        persons=_persons(e.persons),
        articles=articles,
        chapters=chapters,
        transcript=transcript,
        keywords=tuple(clean_line(k) for k in e.keywords),
        summary=clean_line(e.summary) if e.summary else None,
        draft=e.draft,
        access=e.access,
        placeholder=PLACEHOLDER_NOTES in body,
        withdrawn=Withdrawal(e.withdrawn.at, clean_line(e.withdrawn.reason)) if e.withdrawn else None,
        process=e.process,
    )


def _media_source(r: FieldReader, value: str | None, bundle: Path, config: Config) -> str | None:
    if value is not None and value.strip().startswith("s3://"):
        uri = value.strip()
        if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", uri):
            r.bad("media", f"not an s3://bucket/key URI ({uri!r})", "write media: s3://bucket/path/to/master.wav")
            return None
        return uri
    path = r.project_file("media", value, bundle, config, required=False)
    return str(path) if path else None


def _persons(persons: list[PersonIn] | None) -> tuple[Person, ...]:
    return tuple(Person(clean_line(p.name), p.role, p.href, p.img) for p in persons or ())


def _chapters(r: FieldReader, value: object, bundle: Path, config: Config) -> tuple[Chapter, ...]:
    if isinstance(value, str):  # a Podcasting 2.0 JSON chapters file beside the episode
        chapters_file = r.project_file("chapters", value, bundle, config, required=True)
        if chapters_file is None:
            return ()
        parsed, why = parse_json_chapters(chapters_file)
        if why:
            r.bad(
                "chapters", f"{chapters_file.name}: {why}", "use the Podcasting 2.0 JSON chapters format, or list chapters here"
            )
            return ()
        chapters = tuple(parsed)
    elif isinstance(value, list):
        chapters = tuple(Chapter(c.start, clean_line(c.title), c.url, c.img) for c in value)
    else:
        return ()
    starts = [c.start for c in chapters]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        r.bad("chapters", "start times must increase", "list chapters in order, each starting after the previous one")
    elif chapters and chapters[0].start != 0:
        r.bad("chapters[0].start", "the first chapter must start at 00:00", 'add {start: "00:00", title: Introduction}')
    return chapters


def _check_cross_references(episodes: list[Episode], problems: list[Problem], published: Mapping[str, str]) -> None:
    """One GUID, one episode. When two files share one (a copied folder), the one a target published keeps it (else
    the first by path), and the message goes on the other file: following its advice never re-assigns a GUID
    subscribers already have."""
    by_guid: dict[str, list[Episode]] = {}
    for episode in episodes:
        # Compare GUID values, not spellings: a copy edited to braces, urn:uuid: or no hyphens is still the same GUID.
        by_guid.setdefault(same_guid(episode.guid), []).append(episode)
    known = {same_guid(g): slug for g, slug in published.items()}
    spelled = {same_guid(g): g for g in published}
    for episode in episodes:
        # Apps compare GUIDs exactly: a published GUID respelled (case, braces) would be a new episode to them.
        was = spelled.get(same_guid(episode.guid))
        if was is not None and was != episode.guid and known.get(same_guid(episode.guid)) == episode.slug:
            problems.append(
                Problem(
                    episode.file,
                    "guid",
                    f"published as {was!r}, now written {episode.guid!r}: podcast apps would see a new episode",
                    f"write it exactly as published: guid: {json.dumps(was)}",
                )
            )
    for key, sharing in by_guid.items():
        if len(sharing) < 2:
            continue
        owner_slug = known.get(key)
        keeper = next((e for e in sharing if e.slug == owner_slug), min(sharing, key=lambda e: e.file))
        why = "published" if keeper.slug == owner_slug else "listed first"
        for episode in sharing:
            if episode is not keeper:
                problems.append(
                    Problem(
                        episode.file,
                        "guid",
                        f"same GUID as {keeper.file} ({why}, so it keeps it)",
                        "this file needs its own GUID: delete its guid line and run `mediafeed check --fix`",
                    )
                )
    # Episodes no feed selects are legal (drafts for a later feed) but worth knowing; reported by `check` as notes.


def _folders_without_index(project: Path) -> list[Problem]:
    """Folders under episodes/ that the catalog skips because they hold no index.md (a misnamed file, a stray copy)."""
    folder = project / "episodes"
    found = []
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    for entry in entries:
        if (entry / "index.md").exists():
            continue
        try:
            near = sorted(p.name for p in entry.iterdir() if p.suffix.lower() in (".md", ".markdown"))
        except OSError:
            near = []
        also = f" (found {', '.join(near)})" if near else ""
        found.append(Problem(f"episodes/{entry.name}/", "", f"no index.md{also}: the folder is not an episode",
                             "name the episode's file index.md, or move the folder out of episodes/"))  # fmt: skip
    return found


def unselected_episodes(catalog: Catalog) -> list[Episode]:
    return [e for e in catalog.episodes if not any(f.selects(e) for f in catalog.feeds)]


PLACEHOLDER_REFUSAL = (
    "still the placeholder show notes `mediafeed new` (or `init`) wrote, so the episode is not released; "
    "write the notes (or keep draft: true)"
)


def catalog_warnings(catalog: Catalog, project: Path | None = None) -> list[Problem]:
    """What `check` points out without failing: drafts, placeholder notes, withdrawn episodes, feeds that select no
    episode, and (given the project) folders under episodes/ that hold no index.md."""
    warnings = [] if project is None else _folders_without_index(project)
    for feed in catalog.feeds:
        if not any(feed.selects(e) and not e.draft and e.withdrawn is None for e in catalog.episodes):
            warnings.append(Problem(feed.file, "select", "selects no episode: the feed would be published empty",
                                    "check select: kinds and topics against the episodes' kind and topics"))  # fmt: skip
    for e in catalog.episodes:
        if e.placeholder:
            state = "a draft" if e.draft else "NOT a draft: publish will refuse to release it"
            warnings.append(Problem(e.file, "notes", f"still the placeholder show notes from `mediafeed new` or `init` ({state})",
                                    "write the show notes below the front matter"))  # fmt: skip
        elif e.draft:
            warnings.append(Problem(e.file, "draft", "a draft: in no feed", "remove `draft: true` to publish it"))
        if e.withdrawn is not None:
            warnings.append(Problem(e.file, "withdrawn", f"withdrawn ({e.withdrawn.reason}): in no feed",
                                    "its files leave the target at the next publish"))  # fmt: skip
    return warnings


def find_missing_guids(project: Path) -> list[Path]:
    """Episode files whose front matter has no guid line at all (what `check --fix` may fill in)."""
    missing = []
    for index in sorted((project / "episodes").glob("*/index.md")):
        try:
            parts = split_front_matter(index.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError):  # unreadable: the loader reports it (exit 3), --fix leaves it alone
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


def front_matter_parts(text: str) -> tuple[str, str, str]:
    """(everything up to and including the opening `---` line, the front matter, the rest from the closing fence on):
    joined, they are the text again, byte for byte (a BOM included). Only the middle part is ever edited: a `guid:`
    line in the show notes is the producer's text."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    first_break = text.index("\n", len(bom)) + 1
    rest = text[first_break:]
    closing = FENCE.search(rest)
    end = closing.start() if closing else len(rest)
    return text[:first_break], rest[:end], rest[end:]


def insert_guid(text: str, guid: str) -> str:
    """Add `guid:` as the first front-matter field, leaving every other byte of the file as it was."""
    newline = "\r\n" if "\r\n" in text else "\n"
    opening, front, rest = front_matter_parts(text)
    # An empty guid line (null, ~, or nothing, perhaps with a comment) must go, or YAML's last-key-wins keeps it null.
    return opening + f"guid: {guid}{newline}" + EMPTY_GUID_LINE.sub("", front, count=1) + rest


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
            reader = FieldReader(rel, ignored)
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
            image = FieldReader(rel, ignored).project_file("image", data.get("image"), index.parent, config, required=False)
            if image is not None:
                found.append((rel, image))
    return found
