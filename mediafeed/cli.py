"""The `mediafeed` command: the only place that prints results and turns errors into exit codes.

Exit codes: 0 ok · 1 some episodes failed (the rest were published) · 2 usage · 3 invalid catalog ·
4 environment (ffmpeg missing, target unwritable) · 70 a bug (an unexpected exception; the traceback is printed) ·
141 the output pipe was closed (e.g. `| head`), as a shell reports SIGPIPE.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from mediafeed import __version__
from mediafeed.content_types import HOME_PAGE
from mediafeed.errors import CatalogError, EnvironmentProblem, MediaError, MediafeedError, StorageError, UsageError
from mediafeed.models import KINDS
from mediafeed.progress import Note, Reporter

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_CATALOG, EXIT_ENVIRONMENT, EXIT_BUG = 0, 1, 2, 3, 4, 70


class State:
    def __init__(self, project: Path, now: datetime, verbosity: int) -> None:
        self.project = project
        self.now = now
        self.verbosity = verbosity
        self._report: Reporter | None = None

    @property
    def report(self) -> Reporter:
        """Where the library reports progress: bars on a terminal, plain lines otherwise, nothing with --quiet
        (mediafeed.terminal); always on stderr, so stdout holds only results."""
        if self._report is None:
            from mediafeed.terminal import open_display

            self._report = open_display(self.verbosity, sys.stderr)
        return self._report

    def progress(self, message: str) -> None:
        self.report(Note(message))

    def close(self) -> None:
        """End the progress display (before results or errors are printed)."""
        if self._report is not None:
            from mediafeed.terminal import close_display

            close_display(self._report)


class Cli(click.Group):
    """Translates mediafeed's errors into messages and exit codes, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                if isinstance(ctx.obj, State):
                    ctx.obj.close()
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except CatalogError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{exc.message}; nothing was published", err=True)
            ctx.exit(EXIT_CATALOG)
        except MediafeedError as exc:
            for line in str(exc).splitlines():  # one problem a line (`new` checks every option at once)
                click.echo(f"error: {line}", err=True)
            ctx.exit(_exit_code(exc))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # output piped into `head` or a pager that quit: the work itself is done
            with contextlib.suppress(OSError, ValueError):  # so the interpreter's final flush stays quiet
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except OSError as exc:  # the file system or the machine refused something no stage translated: not a bug
            click.echo(f"error: {os_error_line(exc)}", err=True)
            ctx.exit(EXIT_ENVIRONMENT)
        except Exception:
            traceback.print_exc()
            click.echo("This is a bug in mediafeed: please report it with the traceback above.", err=True)
            ctx.exit(EXIT_BUG)


def os_error_line(exc: OSError) -> str:
    """`<path>: <what is wrong>; <how to fix it>` for an operating-system error that reached the CLI."""
    from mediafeed.files import environment_error

    return str(environment_error(exc, writing=True))


def _exit_code(exc: MediafeedError) -> int:
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, EnvironmentProblem | StorageError):
        return EXIT_ENVIRONMENT
    if isinstance(exc, MediaError):
        return EXIT_PARTIAL
    return EXIT_CATALOG


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date ({value!r}); e.g. 2026-11-25T09:00:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"needs a UTC offset ({value!r}); e.g. 2026-11-25T09:00:00Z or ...-05:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise click.BadParameter(f"out of range in UTC ({value!r}); use a date between years 1 and 9999") from None


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mediafeed")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project folder holding mediafeed.toml, feeds/ and episodes/.",
)
@click.option(
    "--now",
    "now_text",
    metavar="ISO8601",
    help="Pretend it is this moment (episodes dated later are held back). Default: the real time.",
)
@click.option("-v", "--verbose", count=True, help="Show progress for each episode.")
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.pass_context
def cli(ctx: click.Context, project: Path, now_text: str | None, verbose: int, quiet: bool) -> None:
    """Publish podcast and video feeds from a catalog of Markdown episodes.

    \b
    A project holds mediafeed.toml (site, targets), feeds/*.yaml (one per feed)
    and episodes/<slug>/index.md (front matter + show notes, media beside it).
    Typical use:  mediafeed check  →  mediafeed publish --dry-run  →  mediafeed publish
    """
    ctx.obj = State(project.resolve(), parse_now(now_text), -1 if quiet else verbose)


def now_option(command: Any) -> Any:
    """--now is accepted after the subcommand too (`mediafeed publish --now ...`), as scheduled jobs write it."""

    def override(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(State)
            ctx.find_object(State).now = parse_now(value)  # type: ignore[union-attr]

    return click.option(
        "--now",
        metavar="ISO8601",
        expose_value=False,
        callback=override,
        help="Pretend it is this moment (episodes dated later are held back).",
    )(command)


@cli.command()
@now_option
@click.option("--fix", is_flag=True, help="Write a permanent GUID into episodes that have none (the only change it makes).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-media", is_flag=True, help="Skip probing media files with ffprobe (and so the lint of rendered feeds).")
@click.option("--no-lint", is_flag=True, help="Skip rendering the feeds and linting them (see `mediafeed lint`).")
@click.option("--target", help="Render the feeds as they would be published to this target, and read its shared cache "
              "(so a fresh CI runner prepares nothing another runner made). Default: [publish] target.")  # fmt: skip
@click.pass_obj
def check(state: State, fix: bool, as_json: bool, no_media: bool, no_lint: bool, target: str | None) -> None:
    """Validate the whole catalog and report every problem.

    Each problem is printed as `file: field: what is wrong; how to fix it`.
    Then the feeds a publish would write are rendered (media prepared into
    build/ as `build` does, reused afterwards) and linted like `mediafeed lint`.
    Exit 3 when the catalog is invalid or a feed has a lint error, 1 when only
    media files are broken.
    """
    from mediafeed.catalog.load import unselected_episodes
    from mediafeed.pipeline import check as run_check

    checked = run_check(state.project, state.now, state.report, fix=fix, media=not no_media, lint=not no_lint,
                        target_name=target)  # fmt: skip
    state.close()
    fixed, catalog, lint_report = checked.fixed, checked.catalog, checked.lint
    if catalog is None:
        if as_json:
            click.echo(json.dumps({"ok": False, "fixed": fixed, "problems": [p.as_dict() for p in checked.problems]}, indent=2))
        else:
            for path in fixed:
                click.echo(f"fixed: {path}: guid: assigned a permanent GUID")
            for problem in checked.problems:
                click.echo(str(problem))
            click.echo(f"{CatalogError(checked.problems).message}", err=True)
        raise click.exceptions.Exit(EXIT_CATALOG)
    media_problems = [problem.as_dict() for problem in checked.media]
    lint_errors = sum(finding.severity == "error" for _, finding in lint_report)
    notes = [f"{e.file}: not selected by any feed (it will not be published)" for e in unselected_episodes(catalog)]
    warnings = checked.warnings
    scheduled = [e for e in catalog.episodes if e.is_scheduled(state.now)]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not media_problems and not lint_errors,
                    "fixed": fixed,
                    "problems": media_problems,
                    "lint": [finding.as_dict(file) for file, finding in lint_report],
                    "notes": notes,
                    "warnings": [w.as_dict() for w in warnings],
                    "feeds": [f.id for f in catalog.feeds],
                    "episodes": len(catalog.episodes),
                    "scheduled": [e.slug for e in scheduled],
                },
                indent=2,
            )
        )
    else:
        for path in fixed:
            click.echo(f"fixed: {path}: guid: assigned a permanent GUID")
        for problem in checked.media:
            click.echo(str(problem))
        hidden = 0
        for file, finding in lint_report:
            if finding.severity == "info" and state.verbosity < 1:
                hidden += 1  # informational only (e.g. http:// URLs of a local preview): shown with -v
                continue
            click.echo(finding.line(file))
        if hidden:
            click.echo(f"({hidden} informational lint note(s); `mediafeed -v check` or `mediafeed lint` shows them)")
        for warning in warnings:
            click.echo(f"warning: {warning}")
        for note in notes:
            click.echo(f"note: {note}")
        status = "ok" if not media_problems else f"{len(media_problems)} media problem(s)"
        status = f"{lint_errors} feed lint error(s)" if lint_errors else status
        click.echo(f"{status}: {len(catalog.feeds)} feeds, {len(catalog.episodes)} episodes ({len(scheduled)} scheduled)")
    if lint_errors:
        raise click.exceptions.Exit(EXIT_CATALOG)
    if media_problems:
        raise click.exceptions.Exit(EXIT_PARTIAL)


@cli.command()
@now_option
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--title", help="The publisher's (and the first feed's) name. Default: made from DIR's name.")
@click.option("--site-url", metavar="URL", help="The publisher's website. Default: https://www.example.org.")
@click.pass_obj
def init(state: State, folder: Path, title: str | None, site_url: str | None) -> None:
    """Create a new project in DIR (made when missing) that passes `mediafeed check`.

    \b
    Writes a commented mediafeed.toml, one feed (feeds/podcast.yaml) with
    placeholder artwork, and one draft episode with a short placeholder tone.
    Refuses a DIR that already holds mediafeed.toml or a non-empty episodes/
    or feeds/ (exit 2; nothing is written).
    """
    from mediafeed.pipeline import init_project

    created = init_project(folder, title, site_url, state.now)
    click.echo(f"created a mediafeed project in {created.project}:")
    for relative in created.files:
        click.echo(f"  {relative}")
    where = "" if created.project == Path.cwd() else f"--project {_shell_word(str(created.project))} "
    click.echo("next:")
    click.echo(f"  mediafeed {where}check      # validate it (it passes as it is)")
    click.echo(f"  mediafeed {where}new TITLE --kind podcast --media FILE   # add an episode")
    click.echo(f"  mediafeed {where}publish    # write the feeds and media into public/")


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


@cli.command()
@now_option
@click.argument("title")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the episode is; feeds select episodes by kind.")
@click.option(
    "--media",
    "media",
    type=click.Path(path_type=Path),
    required=True,
    help="The master (audio or video ffprobe can read). Copied into the bundle unless it already lives in the "
    "project or a [media] root.",
)
@click.option("--published", metavar="ISO8601", help="Release time with UTC offset (future = scheduled). Default: --now.")
@click.option("--slug", help="Folder name under episodes/. Default: made from the title.")
@click.option("--topic", "topics", multiple=True, help="A topic slug (repeatable).")
@click.pass_obj
def new(
    state: State, title: str, kind: str, media: Path, published: str | None, slug: str | None, topics: tuple[str, ...]
) -> None:
    """Scaffold episodes/<slug>/index.md: a draft with a fresh permanent GUID and placeholder show notes.

    \b
    The master is checked first (it exists, is not empty, and ffprobe reads it
    as audio or video) and so are the topics (against [catalog] topics in
    mediafeed.toml); when any option is wrong nothing is written (exit 2).
    The episode stays out of every feed until you delete its `draft: true` line.
    """
    from mediafeed.pipeline import new_episode

    moment = parse_now(published) if published else state.now.replace(microsecond=0)
    index = new_episode(state.project, title, kind, media, moment, slug, topics)
    created = index.relative_to(state.project).as_posix()
    click.echo(f"created {created} (a draft)")
    click.echo(f"next: write the show notes in {created}, delete its `draft: true` line, then `mediafeed check`")


class ShardType(click.ParamType):
    name = "K/N"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        k, slash, n = str(value).strip().partition("/")
        if slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
            return int(k), int(n)
        self.fail(
            f"{value!r} is not K/N with 1 <= K <= N: write e.g. --shard 2/4 (a 0-based index I, such as "
            "JOB_COMPLETION_INDEX, is --shard $((I + 1))/N)",
            param,
            ctx,
        )


@cli.command()
@now_option
@click.option("--target", help="Target whose feed URLs go into the tags, and whose bucket holds the shared cache. "
              "Default: [publish] target.")  # fmt: skip
@click.option(
    "--shard",
    type=ShardType(),
    envvar="MEDIAFEED_SHARD",
    help="Prepare only the K-th of N parts of the media work (K from 1 to N), e.g. one part per CI runner; the parts "
    "are split by duration, the same on every runner. Env: MEDIAFEED_SHARD.",
)
@click.pass_obj
def build(state: State, target: str | None, shard: tuple[int, int] | None) -> None:
    """Normalize, encode and tag every episode's media into the cache (nothing is published).

    \b
    Scheduled episodes are prepared too, so a release needs no encoding. A second
    run on an unchanged catalog runs no ffmpeg at all. What is made goes to
    build/ and to the cache's shared tier (the target's bucket under
    _mediafeed/cache/, or [cache] url), where any runner's publish finds it:
    run `build --shard K/N` on N runners, then one `publish`.
    """
    from mediafeed.pipeline import build as run_build

    outcome = run_build(state.project, state.report, target, state.now, shard)
    state.close()
    for failure in outcome.failures:
        click.echo(f"{failure.file}: {failure.field}: {failure.message}", err=True)
    part = f"shard {shard[0]}/{shard[1]}: " if shard else ""
    click.echo(f"{part}prepared {len(outcome.prepared)} episode(s), {len(outcome.failures)} failed")
    if outcome.failures:
        raise click.exceptions.Exit(EXIT_PARTIAL)


def wait_option(command: Any) -> Any:
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        is_flag=False,
        flag_value=float("inf"),
        default=None,
        metavar="[=SECONDS]",
        help="If another publish (or gc) holds the target, wait for it (at most SECONDS; --wait alone: as long as it "
        "takes) instead of stopping with exit 4.",
    )(command)


def _publish(state: State, target: str | None, dry_run: bool, as_json: bool, **flags: Any) -> None:
    from mediafeed.pipeline import publish as run_publish
    from mediafeed.publish.plan import PublishOptions

    options = PublishOptions(dry_run=dry_run, **flags)
    outcome = run_publish(state.project, target, state.now, dry_run=dry_run, progress=state.report, options=options)
    if outcome.reused:
        state.progress(f"nothing changed since the last publish to {outcome.target.name} (its receipt): nothing to do")
    state.close()
    plan = outcome.plan
    if as_json:
        payload = {"target": outcome.target.name, "dry_run": dry_run, "now": state.now.isoformat(), **plan.as_dict()}
        payload["receipt"] = outcome.reused  # true: nothing changed since the last publish, nothing was loaded
        payload["files_read"] = outcome.files_read  # hashed to identify them (git and the cache vouch for the rest)
        payload["feeds"] = {fid: {"url": url, "episodes": outcome.feed_counts[fid]} for fid, url in outcome.feed_urls.items()}
        if outcome.private is not None:
            payload["private"] = outcome.private  # counts only: keys and URLs are secret
        if outcome.result is not None:
            payload["written"] = len(outcome.result.written)
            payload["bytes_written"] = outcome.result.bytes_written
            payload["replans"] = outcome.result.replans
        payload["loudness"] = list(outcome.loudness)  # episodes published as they are (process: false), as measured
        click.echo(json.dumps(payload, indent=2))
    else:
        _print_plan(state, outcome, dry_run)
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    for failure in plan.failures:
        click.echo(f"{failure.file}: {failure.field}: {failure.message}", err=True)
    if plan.refusals:
        for refusal in plan.refusals:
            field = "guid: " if refusal.kind in ("guid-change", "retired-guid") else ""
            click.echo(f"refused: {refusal.file}: {field}{refusal.message}; {refusal.hint}", err=True)
        click.echo(f"{len(plan.refusals)} guard(s) refused this plan; nothing was published", err=True)
        raise click.exceptions.Exit(EXIT_CATALOG)
    if plan.failures:
        raise click.exceptions.Exit(EXIT_PARTIAL)


def _print_plan(state: State, outcome: Any, dry_run: bool) -> None:
    plan, target = outcome.plan, outcome.target
    bucket = f"s3://{target.bucket}/{target.prefix}" + (f" at {target.endpoint_url}" if target.endpoint_url else "")
    where = f"{target.name} ({target.path})" if target.path else f"{target.name} ({bucket})"
    verb = "would write" if dry_run or plan.refusals else "wrote"
    if plan.verify is not None:
        report = plan.verify
        click.echo(
            f"verify: {report['listed']} object(s) listed; {len(report['missing'])} missing, "
            f"{len(report['size_mismatch'])} with another size, {len(report['changed'])} changed, "
            f"{len(report['adopted'])} adopted into the manifest, {len(report['untracked'])} not in the manifest"
        )
        for key in report["missing"] + report["size_mismatch"] + report["changed"]:
            click.echo(f"  repair {key}")
    if dry_run or state.verbosity > 0:
        for write in plan.uploads:
            click.echo(f"  {'upload' if dry_run else 'wrote '} {write.key}  {_size(write.size)}")
    for held in plan.held_back:
        click.echo(f"  held back until {held.published:%Y-%m-%d %H:%M} UTC: {held.slug}")
    for refusal in plan.refusals:
        click.echo(f"  refused: {refusal.message}")
    if outcome.result is not None and outcome.result.replans:
        click.echo(f"  another publish wrote the target meanwhile: re-planned {outcome.result.replans} time(s)")
    if not plan.uploads and not plan.manifest_changed:
        why = "; nothing changed since the last publish" if outcome.reused else ""
        click.echo(f"{where}: up to date; {verb} nothing ({len(plan.unchanged)} files unchanged{why})")
    else:
        feeds = [w.key for w in plan.uploads if w.stage == "feed"]
        click.echo(
            f"{where}: {verb} {len(plan.uploads)} file(s), {_size(plan.upload_bytes)}; "
            f"{len(plan.unchanged)} unchanged; {len(feeds)} feed(s) rewritten"
        )
    if any(w.key == HOME_PAGE for w in (*plan.uploads, *plan.unchanged)):
        click.echo(f"Web pages: {target.url_for(HOME_PAGE)}")
    click.echo("Feeds:")
    for feed_id, url in outcome.feed_urls.items():
        local = f"  {target.path}/feeds/{feed_id}.xml" if target.path else ""
        click.echo(f"  {feed_id:<22} {outcome.feed_counts[feed_id]:>3} episode(s)  {url}{local}")
    if outcome.private is not None:
        counts = outcome.private
        verb = "would write" if dry_run else "wrote"
        gone = "would delete" if dry_run else "deleted"
        click.echo(
            f"Private feeds: {counts['subscribers']} active subscriber(s), {counts['copies']} feed copies; {verb} "
            f"{counts['write']}, {gone} {counts['delete']} ({counts['added']} new, {counts['revoked']} revoked, "
            f"{counts['rotated']} rotated); `mediafeed subscribers url ID` prints a subscriber's URLs"
        )
    _print_loudness(outcome.loudness, "Loudness of the media published as is (process: false):")


def _print_loudness(entries: Any, heading: str) -> None:
    """The measured loudness of each episode published as it is, and whether it is off the target."""
    from mediafeed.media.published import summary

    if entries:
        off = sum(not entry["on_target"] for entry in entries)
        click.echo(f"{heading} {off} of {len(entries)} off target")
        for entry in entries:
            click.echo(f"  {entry['slug']:<30} {summary(entry)}")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


def guard_options(command: Any) -> Any:
    command = click.option(
        "--verify",
        is_flag=True,
        help="Compare the manifest with a real listing of the target (and object hashes) and repair what differs.",
    )(command)
    command = click.option(
        "--force",
        is_flag=True,
        help="Publish even though this checkout lacks the git commit the target was last published from.",
    )(command)
    command = click.option("--allow-guid-change", is_flag=True, help="Publish even though a published episode's GUID changed.")(
        command
    )
    return click.option(
        "--allow-removal", is_flag=True, help="Publish even though feeds would drop episodes they already published."
    )(command)


@cli.command()
@now_option
@click.option("--target", help="Target name from mediafeed.toml. Default: [publish] target.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@guard_options
@click.pass_obj
def plan(state: State, target: str | None, as_json: bool, **flags: bool) -> None:
    """Show what a publish would upload, leave unchanged and hold back (writes nothing).

    Also shows refusals: feeds that would drop published episodes, changed GUIDs (exit 3 then, as publish would).
    """
    _publish(state, target, dry_run=True, as_json=as_json, **flags)


@cli.command()
@now_option
@click.option("--target", help="Target name from mediafeed.toml. Default: [publish] target.")
@click.option("--dry-run", is_flag=True, help="Show the plan without writing anything.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@guard_options
@wait_option
@click.pass_obj
def publish(state: State, target: str | None, dry_run: bool, as_json: bool, **flags: Any) -> None:
    """Prepare media, render feeds, and upload whatever changed.

    Media and artwork go first, feeds after them, the manifest last, so a podcast
    app never sees a feed pointing at a missing file. Episodes dated after --now
    are held back. Exit 1 if some episodes failed (the others are published);
    exit 3 if a guard refused the plan, or this checkout lacks the git commit the
    target was last published from ("pull first"; --force overrides): nothing is
    written; exit 4 if the target cannot be reached or written (credentials,
    bucket, endpoint), its manifest is damaged (see --verify), or another publish
    holds its lease (see --wait).
    """
    _publish(state, target, dry_run=dry_run, as_json=as_json, **flags)


@cli.command()
@now_option
@click.option("--target", help="Target name from mediafeed.toml. Default: [publish] target.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--history", is_flag=True, help="Also list what went live when (kept in the target's manifest).")
@click.pass_obj
def status(state: State, target: str | None, as_json: bool, history: bool) -> None:
    """Show what is live, what goes live next, what changed but is unpublished, and what failed.

    Writes nothing (it plans a publish without doing it). Use --now to ask about another moment.
    """
    from mediafeed.pipeline import status as run_status
    from mediafeed.publish.status import until

    report = run_status(state.project, target, state.now, progress=state.report)
    state.close()
    if as_json:
        payload = report.as_dict()
        if not history:
            payload.pop("history")
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"target {report.target} at {report.now:%Y-%m-%d %H:%M} UTC")
    distinct = len({e["guid"] for entries in report.live.values() for e in entries})
    feeds = ", ".join(f"{fid} {len(v)}" for fid, v in report.live.items()) or "nothing published yet"
    click.echo(f"live:       {distinct} episode(s) in {len(report.live)} feed(s) ({feeds})")
    if report.scheduled:
        first = report.scheduled[0]
        click.echo(f'next:       {first["slug"]} "{first["title"]}" {until(first["seconds_until"])} ({first["published"]})')
        for later in report.scheduled[1:]:
            click.echo(f"            {later['slug']} {until(later['seconds_until'])} ({later['published']})")
    else:
        click.echo("next:       nothing scheduled")
    if report.due:
        click.echo(f"due:        {', '.join(d['slug'] for d in report.due)} (not yet published: run `mediafeed publish`)")
    pending = report.pending
    if pending["files"]:
        click.echo(
            f"unpublished: {pending['files']} file(s), {_size(pending['bytes'])}; "
            f"feeds to rewrite: {', '.join(pending['feeds']) or 'none'} (run `mediafeed publish`)"
        )
    else:
        click.echo("unpublished: nothing; the target is up to date")
    for refusal in pending["refusals"]:
        click.echo(f"refused:    {refusal}")
    click.echo(f"failed:     {', '.join(f['slug'] for f in report.failed) or 'none'}")
    for gone in report.withdrawn:
        state_of = "still live: run `mediafeed publish`" if gone["live"] else "taken down"
        click.echo(f"withdrawn:  {gone['slug']} at {gone['at']} ({gone['reason']}; {state_of})")
    for failure in report.failed:
        click.echo(f"            {failure['file']}: {failure['error']}")
    _print_loudness(report.loudness, "loudness:   published as is (process: false),")
    if report.private is not None:
        counts = report.private
        click.echo(
            f"private:    {counts['subscribers']} active subscriber(s), {counts['copies']} feed copies; a publish would "
            f"write {counts['write']} and delete {counts['delete']} ({counts['added']} new, {counts['revoked']} revoked, "
            f"{counts['rotated']} rotated)"
        )
    if history:
        click.echo("history:")
        for entry in report.history[-50:]:
            click.echo(f"  {entry.get('at')}  {entry.get('feed'):<22} {entry.get('slug')}")


@cli.command()
@now_option
@click.argument("slug")
@click.option("--reason", required=True, help="Why the episode is taken down (kept in its front matter and the manifest).")
@click.pass_obj
def withdraw(state: State, slug: str, reason: str) -> None:
    """Take an episode down: record `withdrawn: {at, reason}` in its front matter.

    \b
    The next publish removes it from every feed, feeds.opml and related.json,
    then deletes its media, artwork, chapters and transcripts from the target
    and retires its GUID for good. Only the front matter changes (one line).
    """
    from mediafeed.pipeline import withdraw as run_withdraw

    index = run_withdraw(state.project, slug, reason, state.now)
    click.echo(f"withdrew {slug}: {index.relative_to(state.project).as_posix()} (publish to take it down)")


def parse_grace(value: str) -> Any:
    """7d, 36h, 90m, 0 (a number alone is days)."""
    from datetime import timedelta

    text = value.strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    unit = units.get(text[-1:], "days")
    number = text[:-1] if text[-1:] in units else text
    try:
        amount = float(number)
    except ValueError:
        raise click.BadParameter(f"not a duration ({value!r}); e.g. 7d, 36h, 90m") from None
    if amount < 0:
        raise click.BadParameter(f"a grace period cannot be negative ({value!r})")
    return timedelta(**{unit: amount})


@cli.command(name="gc")
@now_option
@click.option("--target", help="Target name from mediafeed.toml. Default: [publish] target.")
@click.option("--grace", default="7d", show_default=True, help="Keep unreferenced objects this long (7d, 36h, 90m).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted, with sizes, and delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@wait_option
@click.pass_obj
def gc_command(state: State, target: str | None, grace: str, dry_run: bool, as_json: bool, wait: float | None) -> None:
    """Delete objects no feed or index has referenced for longer than --grace.

    \b
    Only media/, artwork/, chapters/ and transcripts/ objects are collected;
    feeds, indexes and the manifest never are. An object the manifest never
    recorded (a crashed run's upload) older than --grace is first marked stale
    and deleted by a later gc. Safe to run while a publish runs.
    """
    from mediafeed.pipeline import gc as run_gc

    result = run_gc(state.project, target, state.now, grace=parse_grace(grace), dry_run=dry_run, progress=state.report, wait=wait)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    if dry_run:
        for garbage in result.plan.delete:
            click.echo(f"  {garbage.key}  {_size(garbage.size)}  ({garbage.why})")
    adopted = f"; {len(result.plan.adopt)} untracked object(s) marked stale" if result.plan.adopt else ""
    kept = len(result.plan.waiting)
    click.echo(
        f"{result.target}: {verb} {len(result.plan.delete)} object(s), {_size(result.bytes)} in total; "
        f"{kept} unreferenced object(s) still within the grace period{adopted}"
    )


@cli.group()
def cache() -> None:
    """The cache: build/ on this machine, and its tier shared by every runner.

    \b
    The shared tier lives in the S3 target's bucket under _mediafeed/cache/
    (never public), or where [cache] url says (s3://bucket/prefix or a folder).
    Entries are keyed by content and code, and immutable: nothing in it ever
    needs invalidating; prune only reclaims space.
    """


@cache.command(name="status")
@now_option
@click.option("--target", help="Target whose shared tier to describe. Default: [publish] target.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def cache_status_command(state: State, target: str | None, as_json: bool) -> None:
    """Entries and bytes in each tier, and how the last run's lookups were answered."""
    from mediafeed.pipeline import cache_status

    local, shared, last = cache_status(state.project, target, state.now)
    tiers = [("build/", local)] + ([("shared", shared)] if shared is not None else [])
    if as_json:
        described = {name: {"where": t.where, "entries": t.entries, "bytes": t.bytes} for name, t in tiers}
        if last is not None:
            answers = {w: last.total(w) for w in ("local", "shared", "missed", "damaged", "written")}
            described["last_run"] = {"at": last.at, "lookups": last.lookups, "hit_rate": last.hit_rate, **answers}
        click.echo(json.dumps(described, indent=2))
        return
    for name, tier in tiers:
        click.echo(f"{name} {tier.where}: {tier.total_entries} entries, {_size(tier.total_bytes)}")
        for what, count in tier.entries.items():
            click.echo(f"  {what:<22}{count:>8}  {_size(tier.bytes[what]):>10}")
    if shared is None:
        click.echo("shared: none (a local target without [cache] url; see README: Many runners)")
    if last is None:
        click.echo("last run: no lookups recorded yet")
    else:
        rate = f"{last.hit_rate:.0%}" if last.hit_rate is not None else "n/a"
        click.echo(
            f"last run ({last.at}): {last.lookups} lookups, hit rate {rate}: {last.total('local')} in build/, "
            f"{last.total('shared')} in the shared tier, {last.total('missed')} missed, {last.total('damaged')} damaged; "
            f"{last.total('written')} written to the shared tier"
        )


@cache.command(name="prune")
@now_option
@click.option("--target", help="Target whose shared tier to prune. Default: [publish] target.")
@click.option("--older-than", required=True, help="Remove entries older than this (30d, 36h) that the catalog does not use.")
@click.option("--dry-run", is_flag=True, help="List what would be removed, and remove nothing.")
@click.pass_obj
def cache_prune_command(state: State, target: str | None, older_than: str, dry_run: bool) -> None:
    """Reclaim space in the shared tier.

    \b
    Removes entries older than --older-than that the catalog at this checkout
    does not use: kept are its prepared deliveries and their files, the
    receipt of the manifest the target holds, and tool versions. Intermediate
    entries (probe facts, encodes before tagging) go once old, so a later
    change of tags may encode again. Blob packs are merged into one.
    """
    from mediafeed.pipeline import cache_prune

    result = cache_prune(state.project, target, state.now, parse_grace(older_than), dry_run=dry_run, progress=state.report)
    verb = "would remove" if dry_run else "removed"
    if dry_run:
        for entry in result.removed:
            click.echo(f"  {entry.name}  {_size(entry.size)}")
    packs = f"; blob packs {result.packs[0]} → {result.packs[1]}" if result.packs[0] > 1 else ""
    click.echo(
        f"{result.where}: {verb} {len(result.removed)} entr{'y' if len(result.removed) == 1 else 'ies'}, "
        f"{_size(result.removed_bytes)}; kept {result.kept_in_use} old but in use, {result.kept_recent} newer than "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC{packs}"
    )


@cache.command(name="verify")
@now_option
@click.option("--target", help="Target whose shared tier to verify. Default: [publish] target.")
@click.option("--sample", type=click.IntRange(min=1), default=50, show_default=True, help="How many entries to re-hash.")
@click.pass_obj
def cache_verify_command(state: State, target: str | None, sample: int) -> None:
    """Re-hash a sample of shared entries; a damaged one is removed (made again when next needed). Exit 1 if any."""
    from mediafeed.pipeline import cache_verify

    result = cache_verify(state.project, target, state.now, sample)
    for name in result.damaged:
        click.echo(f"damaged, removed: {name}")
    click.echo(f"{result.where}: checked {result.checked} of {result.of} entries, {len(result.damaged)} damaged")
    if result.damaged:
        raise click.exceptions.Exit(EXIT_PARTIAL)


@cli.command()
@click.option("--target", help='A local target (type = "local") from mediafeed.toml. Default: [publish] target.')
@click.option(
    "--host", help="Address to listen on. Default: the public_url's host when it is 127.0.0.1/localhost, else 127.0.0.1."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port to listen on. Default: the public_url's port when it is local, else 8000."
)
@click.option(
    "--rewrite",
    is_flag=True,
    help="Replace the public_url in feeds, pages and lists with this server's address as they are sent.",
)
@click.pass_obj
def serve(state: State, target: str | None, host: str | None, port: int | None, rewrite: bool) -> None:
    """Preview a local target over HTTP, answered the way the real host answers.

    \b
    Serves the target's folder (what `mediafeed publish` wrote) so a podcast
    app or browser on this machine can subscribe to the feeds before they go
    live. Each file is sent with the same Content-Type and Cache-Control as
    the S3 target gives it, with byte ranges (206, 416; Apple's bytes=0-1
    probe), ETag and Last-Modified (304), HTTP/1.1 keep-alive, the bucket's
    CORS rule (Access-Control-Allow-Origin: * and preflights), and gzip for
    feeds, pages and other text when the client asks (never media).

    \b
    Never served (404): _mediafeed/ bookkeeping, the lock file, dot files,
    folders (no listings; / is index.html when there is one) and anything
    outside the folder. Only GET, HEAD and OPTIONS (others: 405).

    \b
    The feeds' URLs start with the target's public_url. When that is not this
    server's address (another --port, or a CDN URL), apps would fetch the
    media from there: --rewrite replaces the public_url with this server's
    address in every text response as it is sent (nothing on disk changes).
    Ctrl-C stops the server. -v logs one line per request on stderr.
    A port already in use exits 4 with a message; choose another with --port N.
    """
    from mediafeed.pipeline import serve as serve_target

    log = (lambda line: click.echo(line, err=True)) if state.verbosity >= 1 else None
    serve_target(state.project, target, host=host, port=port, rewrite=rewrite, started=_serving, log_line=log)


def _serving(started: Any) -> None:
    """The start-up lines of `serve`: where, what to open, and whether the feeds' URLs point here."""
    address = started.address
    everywhere = " (and on every interface of this machine)" if address.host in ("0.0.0.0", "::") else ""
    click.echo(f"serving {started.folder} at {address.origin}/{everywhere} (Ctrl-C to stop)")
    if started.rewrite:
        click.echo(f"rewriting {address.public_url} to this server's address in feeds, pages and lists (not on disk)")
    elif not address.matches_public_url:
        click.echo(
            f"warning: the feeds' and pages' URLs point at {address.public_url}, not at this server: podcast apps "
            f"and browsers will fetch media, artwork, the pages' styles and player from there (or nowhere); use "
            f"--rewrite to point them here while previewing",
            err=True,
        )
    elif everywhere and address.public_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        click.echo(
            f"warning: the feeds' and pages' URLs say {address.public_url}, which another device (a phone) cannot "
            f"reach; use --rewrite to give each device URLs at the address it asked by",
            err=True,
        )
    if started.home:
        click.echo(f"  home page: {started.home}")
    for url in started.feeds:
        click.echo(f"  feed: {url}")
    if not started.home and not started.feeds:
        click.echo(f"warning: nothing is published in {started.folder} yet: run `mediafeed publish` first", err=True)
    sys.stdout.flush()


# --- lint and artwork (issue 5) ------------------------------------------------------------------------------------


LINT_FILE_LIMIT = 256 * 1024 * 1024  # bytes; a feed file beyond this is refused unread


@cli.command()
@now_option
@click.option("--target", help="Target whose URLs the rendered feeds carry. Default: [publish] target.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--rules", "show_rules", is_flag=True, help="Print the table of rules (code, severity, source, what) and exit.")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def lint(state: State, target: str | None, as_json: bool, show_rules: bool, files: tuple[Path, ...]) -> None:
    """Check feeds against Apple's and PSP-1's rules; each finding says how to fix it.

    \b
    Without FILE: render the feeds a publish would write (nothing is published)
    and lint those. With FILE...: lint those RSS files.
    Each finding is printed as `file: SEVERITY code: what is wrong; how to fix it`.
    Exit 3 when any finding is an error; warnings and info are printed only.
    """
    from mediafeed.feeds.lint import lint_feed, rules_table, summary

    if show_rules:
        for line in rules_table():
            click.echo(line)
        return
    failures: Any = ()
    if files:
        report = []
        for path in files:
            if path.stat().st_size > LINT_FILE_LIMIT:
                raise UsageError(f"{path}: larger than {LINT_FILE_LIMIT // 2**20} MB", hint="this is not a podcast feed")
            report += [(str(path), finding) for finding in lint_feed(path.read_bytes())]
        count = len(files)
    else:
        from mediafeed.pipeline import lint_rendered

        report, count, failures = lint_rendered(state.project, target, state.now, state.report)
        state.close()
    findings = [finding for _, finding in report]
    errors = sum(finding.severity == "error" for finding in findings)
    if as_json:
        payload = {"ok": not errors, "feeds": count, "findings": [finding.as_dict(file) for file, finding in report]}
        click.echo(json.dumps(payload, indent=2))
    else:
        for file, finding in report:
            click.echo(finding.line(file))
        click.echo(summary(findings, count))
    for failure in failures:
        click.echo(f"{failure.file}: {failure.field}: {failure.message}", err=True)
    if errors:
        raise click.exceptions.Exit(EXIT_CATALOG)
    if failures:
        raise click.exceptions.Exit(EXIT_PARTIAL)


@cli.command()
@click.option("--fix", is_flag=True, help="Write a compliant copy of each failing image into build/artwork/ (originals kept).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def artwork(state: State, fix: bool, as_json: bool) -> None:
    """Check every feed's and episode's artwork (square, 1400–3000 px, RGB JPEG/PNG).

    \b
    Each problem is printed as `file: image: what is wrong; how to fix it`.
    With --fix, a compliant copy (RGB, centre-cropped square, scaled into
    1400–3000 px, JPEG or PNG like the original) is written to
    build/artwork/<sha256 of the original>.<ext>; the catalog then publishes
    that copy for as long as the original is unchanged.
    Exit 3 while some artwork has problems and no fixed copy, 0 otherwise.
    """
    from mediafeed.catalog.scaffold import review_artwork

    entries = review_artwork(state.project, fix)
    unfixed = [e for e in entries if not e["fixed"]]
    if as_json:
        click.echo(json.dumps({"ok": not unfixed, "images": entries}, indent=2))
    else:
        for entry in entries:
            for problem in entry["problems"]:
                click.echo(f"{entry['file']}: image: {Path(entry['image']).name}: {problem['message']}; {problem['hint']}")
            if entry["fixed"]:
                click.echo(f"fixed: {entry['file']}: image: {entry['image']} → {entry['fixed']} (published instead)")
            elif entry["error"]:
                click.echo(f"not fixed: {entry['file']}: image: {entry['image']}: {entry['error']}; export it again")
        hint = "" if fix or not unfixed else "; run `mediafeed artwork --fix` to write compliant copies"
        click.echo(f"{len(entries)} image(s) with problems, {len(unfixed)} without a fixed copy{hint}")
    if unfixed:
        raise click.exceptions.Exit(EXIT_CATALOG)


# A command holds a large, long-lived object graph (10,000 episodes, their deliveries, rendered feeds) and makes
# little cyclic garbage. With CPython's default thresholds (700, 10, 10) the collector walked that whole graph 8
# times in a 10,000-episode `publish --dry-run`: 1.0 s of its 3.6 s. Young objects are still collected, just in
# bigger batches; full collections become rare.
GC_THRESHOLDS = (100_000, 50, 100)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.pass_obj
def schema(state: State, folder: Path | None) -> None:
    """Write the JSON Schemas of mediafeed.toml, feeds and episode front matter (default: schemas/ in the project).

    Editors use them to complete and check what you type: see README, "Editor support". The files are generated
    from the same schemas `mediafeed check` validates with, so they never disagree.
    """
    from mediafeed.pipeline import write_schemas

    target = folder if folder is not None else state.project / "schemas"
    written = write_schemas(target)
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo(f"up to date: {target}")


@cli.group(name="target")
def target_group() -> None:
    """Set up where a target publishes (an S3 bucket's access and CORS)."""


@target_group.command(name="setup")
@click.argument("name")
@click.option("--public-read/--no-public-read", default=True, show_default=True,
              help="Let anyone GET the published keys (a bucket policy; _mediafeed/ stays private).")  # fmt: skip
@click.option("--cors/--no-cors", default=True, show_default=True, help="Apply the CORS rule browsers' players need.")
@click.option("--dry-run", is_flag=True, help="Print the JSON that would be applied, and change nothing.")
@click.pass_obj
def target_setup(state: State, name: str, public_read: bool, cors: bool, dry_run: bool) -> None:
    """Make the S3 target NAME's bucket serve what a publish writes.

    \b
    Adds (or replaces) the bucket policy statement mediafeedPublicRead: anonymous
    s3:GetObject on media/, artwork/, chapters/, transcripts/, assets/, feeds/,
    shows/, episodes/, embed/, private/ (subscribers' secret keys; with
    private_media = "presigned" only private/*/feeds/), index.html, feeds.opml
    and related.json only; never _mediafeed/; other statements are kept. When the bucket's Block Public Access refuses public
    policies, that part of it (not the ACL part) is turned off first. Then sets
    the CORS rule. Settings already in place are not written again. A local
    target has no bucket: serve it with `mediafeed serve` or a web server.
    """
    from mediafeed.pipeline import setup_target

    result = setup_target(state.project, name, public_read=public_read, cors=cors, dry_run=dry_run, progress=state.report)
    state.close()
    if dry_run:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    for step in result.steps:
        click.echo(f"{result.where}: {step.what}: {'applied' if step.changed else 'already in place'} ({step.note})")
    if not result.steps:
        click.echo(f"{result.where}: nothing asked (--no-public-read --no-cors)")


@cli.group(name="subscribers")
def subscribers_group() -> None:
    """Paying subscribers: who reads which private feed, at which secret URL.

    \b
    The list is the store's CSV export named by [subscribers] file in
    mediafeed.toml (id,email,feeds,expires; keep it out of git). Each
    subscriber's URL is derived from MEDIAFEED_SUBSCRIBER_SECRET (from the
    environment, never a file), the subscriber id and a generation that
    `rotate` bumps. Nothing here prints an address except `export`, whose
    output is meant for a mailer.
    """


def _subscribers_options(command: Any) -> Any:
    command = click.option("--target", help="Target whose URLs to print. Default: [publish] target.")(command)
    return now_option(command)


@subscribers_group.command(name="list")
@_subscribers_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def subscribers_list(state: State, target: str | None, as_json: bool) -> None:
    """Who has what: id, private feeds, expiry and token generation (no addresses, no URLs)."""
    from mediafeed.pipeline import subscribers

    found = subscribers(state.project, target, state.now)
    rows = [
        {
            "id": s.id,
            "feeds": list(s.feeds),
            "expires": s.expires.isoformat() if s.expires else None,
            "active": s.active(state.now),
            "generation": found.generation(s),
        }
        for s in found.subscribers
    ]
    if as_json:
        click.echo(json.dumps({"private_feeds": list(found.private_feeds), "subscribers": rows}, indent=2))
        return
    for row in rows:
        until = f"until {row['expires']}" if row["expires"] else "no expiry"
        state_of = "active" if row["active"] else "EXPIRED"
        click.echo(f"{row['id']:<24} {state_of:<8} {until:<17} gen {row['generation']}  {' '.join(row['feeds']) or '-'}")
    active = sum(1 for r in rows if r["active"])
    click.echo(f"{len(rows)} subscriber(s), {active} active; private feeds: {', '.join(found.private_feeds) or 'none'}")


@subscribers_group.command(name="url")
@_subscribers_options
@click.argument("subscriber_id", metavar="ID")
@click.pass_obj
def subscribers_url(state: State, target: str | None, subscriber_id: str) -> None:
    """Print one subscriber's private feed URLs (secret: send them only to that subscriber)."""
    from mediafeed.pipeline import subscribers

    found = subscribers(state.project, target, state.now)
    subscriber = found.find(subscriber_id)
    if not subscriber.active(state.now):
        click.echo(
            f"note: subscriber {subscriber_id} expired on {subscriber.expires}; these URLs stop working at the next publish",
            err=True,
        )
    for feed_id, url in found.urls_of(subscriber):
        click.echo(f"{feed_id}\t{url}")


@subscribers_group.command(name="rotate")
@now_option
@click.argument("subscriber_id", metavar="ID")
@click.pass_obj
def subscribers_rotate(state: State, subscriber_id: str) -> None:
    """Give one subscriber a new secret URL (a leaked URL, a shared login).

    \b
    Bumps the subscriber's generation in the rotations file (commit it). The
    next publish writes their feeds at the new URL and deletes the old ones;
    print the new URLs with `mediafeed subscribers url ID`.
    """
    from mediafeed.pipeline import rotate_subscriber

    found, subscriber = rotate_subscriber(state.project, subscriber_id, state.now)
    click.echo(
        f"rotated {subscriber_id}: generation {found.generation(subscriber)}; publish to move their feeds to the new URL "
        f"(the old one stops working then); `mediafeed subscribers url {subscriber_id}` prints it"
    )


@subscribers_group.command(name="export")
@_subscribers_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here (default: standard output)."
)
@click.pass_obj
def subscribers_export(state: State, target: str | None, output: Path | None) -> None:
    """CSV for a mailer: id,email,feed,url, one line per active subscriber and private feed."""
    from mediafeed.pipeline import export_subscribers

    text = export_subscribers(state.project, target, state.now, output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    cli(prog_name="mediafeed")


@cli.command(name="import")
@click.argument("source", metavar="FILE_OR_URL")
@click.option("--feed", "feed_id", help="Feed id (feeds/<ID>.yaml). Default: made from the show's title.")
@click.option("--kind", type=click.Choice(KINDS), default="podcast", show_default=True, help="The episodes' kind.")
@click.option("--dry-run", is_flag=True, help="Show what would be written and write nothing (downloads nothing).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--check",
    "migration",
    is_flag=True,
    help="Write nothing: compare the old feed with the one published on --target (after the first publish).",
)
@click.option("--target", help="With --check: the target our feed was published to. Default: [publish] target.")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Fetch from private, loopback and link-local addresses too (a host on your own network); "
    "MEDIAFEED_IMPORT_ALLOW_PRIVATE=1 in the environment does the same.",
)
@click.option(
    "--process",
    is_flag=True,
    help="Put the imported media through our loudness and encoding pipeline when published. Default: publish "
    "each file byte for byte as the old host served it (process: false), only measured.",
)
@click.pass_obj
def import_command(state: State, source: str, feed_id: str | None, kind: str, dry_run: bool, as_json: bool,
                   migration: bool, target: str | None, allow_private: bool, process: bool) -> None:  # fmt: skip
    """Import an existing podcast from its RSS feed (a file or an http(s) URL).

    \b
    Writes feeds/<id>.yaml and episodes/<slug>/index.md per item, downloads each
    enclosure into its episode folder (byte-for-byte) and the show artwork into
    artwork/. Imported episodes are published as the old host served them
    (process: false) unless --process; each file's loudness is measured and
    reported against the [audio] targets. Running it again changes nothing; an
    episode you edited is kept. Whatever the content format cannot hold is
    listed, never dropped silently.

    \b
    With --check (after publishing the imported show): every old GUID must be in
    our feed with the same date and title, every enclosure of ours reachable
    with its declared size, the channel's podcast:guid kept; GUIDs only in ours
    are warnings. Exit 3 when a check fails, 0 when the move is safe.
    """
    if migration:
        _import_check(state, source, feed_id, target, as_json, allow_private or None)
        return
    from mediafeed.pipeline import import_show

    report = import_show(
        state.project,
        source,
        feed_id=feed_id,
        kind=kind,
        dry_run=dry_run,
        allow_private=allow_private or None,  # None: MEDIAFEED_IMPORT_ALLOW_PRIVATE decides
        progress=state.report,
        process=process,
    )
    state.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        verb = "would write" if dry_run else "wrote"
        for rel in report.written:
            click.echo(f"{verb} {rel}")
        for rel in report.downloaded:
            click.echo(f"downloaded {rel}")
        for rel in report.kept:
            click.echo(f"kept {rel} (edited locally; not overwritten)")
        for rel in report.failed:
            click.echo(f"failed {rel}")
        for note in report.notes:
            click.echo(f"not carried: {note}")
        off = [m for m in report.loudness if m.get("on_target") is False]
        for m in off:
            click.echo(
                f"loudness {m['file']}: {m['integrated_lufs']:.1f} LUFS, {m['true_peak_dbtp']:.1f} dBTP (target "
                f"{m['target_lufs']:.1f} LUFS, true peak <= {m['ceiling_dbtp']:.1f} dBTP)"
            )
        if report.loudness:
            where = "published as is" if not process else "normalized when published"
            click.echo(f"loudness: {len(off)} of {len(report.loudness)} file(s) off target ({where})")
        click.echo(
            f"{report.feed_file}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.kept)} kept, {len(report.downloaded)} downloaded, {len(report.failed)} failed"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)


def _import_check(
    state: State, source: str, feed_id: str | None, target: str | None, as_json: bool, allow_private: bool | None
) -> None:
    from mediafeed.pipeline import import_check

    state.progress(f"comparing {source} with the published feed")
    report = import_check(state.project, source, feed_id=feed_id, target_name=target, allow_private=allow_private)
    state.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"old:  {report.old_source}")
        click.echo(f"ours: {report.ours_source}")
        click.echo(f"{'':<6} {'GUID':<38} {'DATE':<8} {'TITLE':<8} {'MEDIA':<7} EPISODE")
        for row in report.rows:
            mark = "extra" if not row.in_old else "MISSING" if not row.in_ours else "ok"
            failed = (mark == "ok" and "differs" in (row.date, row.title_check)) or row.enclosure in ("failed", "none")
            mark = "FAIL" if failed else mark
            guid = row.guid if len(row.guid) <= 38 else row.guid[:35] + "..."
            click.echo(f"{mark:<6} {guid:<38} {row.date:<8} {row.title_check:<8} {row.enclosure:<7} {row.title}")
        for finding in report.findings:
            click.echo(finding.line())
        counts = report.counts
        verdict = "passed" if report.ok else "FAILED"
        click.echo(
            f"migration check {verdict}: {counts['old_items']} old item(s), {counts['our_items']} in ours, "
            f"{counts['enclosures_probed']} enclosure(s) probed; {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s)"
        )
    if not report.ok:
        raise click.exceptions.Exit(EXIT_CATALOG)
