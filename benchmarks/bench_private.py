"""`make bench` (private feeds, issue 18): subscribers' feed copies published to an S3-compatible server, against
`aws s3 sync` of the same files.

A small catalog (--episodes, default 30) with two private feeds (webinars, and bonus: a copy of it, both
`access: subscribers`) and a subscriber list of N subscribers (default 10,000) each reading both, so 2N feed copies
at `private/<token>/feeds/<id>.xml`, published to a moto server on 127.0.0.1. Measured, in one run against one
server:
  - first publish into an empty bucket (the public catalog too: reported separately), --repeat times;
  - `aws s3 sync` of the same 2N feed copies (downloaded from the bucket after a publish, `*/feeds/*.xml` under
    private/) into a second, emptied bucket, --repeat times (alternating which tool goes first);
  - no-op republish (--repeat times) and no-op sync (--repeat times), with the publish's bucket listed before and
    after (keys and ETags) to count what changed;
  - one subscriber added, one revoked (listing before/after: keys and ETags);
  - one new subscriber-only episode (its media prepared first with `mediafeed build --target s3`, not timed, as a CI
    job would): every feed copy rewritten once; its rate (copies/s) against the first sync's. --repeat times, one
    more new episode each time (the second bucket is emptied first: the server holds what it held during the first
    publish);
  - CPU seconds of the client process and of moto (this process's threads) for the best runs: on a 2-core machine
    both share the cores, so the wall times are close to (client + server CPU) / 2 and vary with other load.
Also reported: the manifest and the shared cache's receipt under _mediafeed/ change on each publish that changes
anything; a no-op publish answered by its receipt reports, in --json "private", the counts stored with the receipt
(those of the publish that made it), so 0 writes is checked on the bucket listing, not on those counts.
Targets (issue 18): first publish <= 1.0 x first sync (best against best); no-op <= 0.5 x no-op sync (median
against median) with 0 writes; one added -> exactly 2 writes; one revoked -> exactly 2 deletes and nothing else
(the manifest under _mediafeed/, which records the subscribers, is bookkeeping and is listed, not counted); new
private episode -> 2N feed writes at a rate no lower than the first sync's (best against best).
A missed target is printed as FAIL; the exit status is non-zero only when something crashed.

The media are prepared once (`mediafeed build --target s3`) before anything is timed; the catalog and its build/
are kept in --workdir (default build/bench-private) and reused. awscli is installed into its own throwaway
virtualenv (build/bench-awscli), never into the project's. The subprocesses get a fixed --now and a fixed secret.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_storage import awscli, empty, environment, free_port, listing, point_at, replace_tree, settle
from run import make_catalog

REPO = Path(__file__).resolve().parent.parent
MEDIAFEED = [sys.executable, "-m", "mediafeed"]
NOW = "2026-12-31T00:00:00Z"
SECRET = "bench-only-subscriber-secret-0123456789abcdefghijklmnop"  # fixed: the same tokens in every run
PRIVATE_FEEDS = ("webinars", "bonus")
BUCKET, SYNC_BUCKET = "bench-private", "bench-private-sync"
BOOKKEEPING = "_mediafeed/"


def subscriber_line(n: int) -> str:
    return f"s-{n:06d},subscriber{n:06d}@example.org,{' '.join(PRIVATE_FEEDS)},\n"


def subscribers_csv(count: int) -> str:
    return "id,email,feeds,expires\n" + "".join(subscriber_line(n) for n in range(count))


def drop_new_episodes(project: Path) -> None:
    for bundle in (project / "episodes").glob(f"{NEW}*"):
        shutil.rmtree(bundle)


def make_private_catalog(project: Path, episodes: int, subscribers: int) -> None:
    """The benchmark catalog of run.py, with webinars and a copy of it (bonus) for subscribers only."""
    make_catalog(project, episodes)
    webinars = project / "feeds" / "webinars.yaml"
    text = webinars.read_text() + "access: subscribers\n"
    webinars.write_text(text)
    (project / "feeds" / "bonus.yaml").write_text(
        text.replace("title: Northfield Psychiatry Webinars", "title: Northfield Psychiatry Bonus Webinars", 1)
    )
    (project / "private").mkdir()
    (project / "private" / "subscribers.csv").write_text(subscribers_csv(subscribers))
    toml = project / "mediafeed.toml"
    toml.write_text(toml.read_text() + '\n[subscribers]\nfile = "private/subscribers.csv"\n')


NEW = "episode-private-new-"  # the bundles of the new subscriber-only episodes


def private_episode(project: Path, number: int) -> Path:
    """A new subscriber-only webinar (distinct media), in both private feeds. Returns its bundle."""
    bundle = project / "episodes" / f"{NEW}{number}"
    bundle.mkdir(parents=True)
    tiny = (project / "tiny.mp3").read_bytes()
    (bundle / "audio.mp3").write_bytes(tiny + b"private-new" + number.to_bytes(4, "big"))
    (bundle / "index.md").write_text(
        "---\n"
        f"title: New webinar {number} for subscribers\n"
        f"guid: 00000000-0000-4000-8000-9999{number:08d}\n"
        "kind: webinar\naccess: subscribers\n"
        "topics: [general-psychiatry]\n"
        f"published: 2026-12-30T09:{number % 60:02d}:00-05:00\n"
        "media: audio.mp3\n"
        "---\n"
        "Subscriber-only **show notes**.\n"
    )
    return bundle


CPU: dict[str, float] = {"client": 0.0, "server": 0.0}  # of the last timed command: its CPU seconds, and this process's


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run `command`; its wall time and output. CPU["client"] becomes the command's CPU seconds, CPU["server"] this
    process's meanwhile: the moto server's threads (the main thread only waits)."""
    client, server = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    CPU.update(client=cpu(resource.RUSAGE_CHILDREN) - client, server=cpu(resource.RUSAGE_SELF) - server)
    if done.returncode:
        sys.exit(f"{' '.join(command[:6])} ... exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return seconds, done.stdout


def mediafeed(project: Path, env: dict[str, str], *args: str) -> tuple[float, dict]:
    seconds, out = timed([*MEDIAFEED, "--project", str(project), "-q", "--now", NOW, *args], env)
    return seconds, json.loads(out) if "--json" in args else {}


def publish(project: Path, env: dict[str, str]) -> tuple[float, dict]:
    return mediafeed(project, env, "publish", "--target", "s3", "--json")


def is_copy(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == "private" and parts[2] == "feeds" and parts[3].endswith(".xml")


class Diff:
    """What changed in a bucket between two listings (key -> ETag)."""

    def __init__(self, before: dict[str, str], after: dict[str, str]) -> None:
        self.added = sorted(after.keys() - before.keys())
        self.removed = sorted(before.keys() - after.keys())
        self.replaced = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])

    def of(self, keys: list[str], copies: bool) -> list[str]:
        return [k for k in keys if is_copy(k) == copies]

    def other(self) -> list[str]:
        """Objects changed that are not feed copies, the manifest aside."""
        keys = self.of(self.added + self.removed + self.replaced, copies=False)
        return [k for k in keys if not k.startswith(BOOKKEEPING)]

    def bookkeeping(self) -> list[str]:
        return [k for k in self.added + self.removed + self.replaced if k.startswith(BOOKKEEPING)]

    def describe(self) -> str:
        copies = (
            f"feed copies: {len(self.of(self.added, True))} added, {len(self.of(self.replaced, True))} replaced, "
            f"{len(self.of(self.removed, True))} removed"
        )
        others = self.other()
        more = f"; other objects changed: {len(others)} ({', '.join(others[:5])}{' ...' if len(others) > 5 else ''})"
        return f"{copies}{more}; under {BOOKKEEPING}: {', '.join(self.bookkeeping()) or 'nothing'}"


def counts(report: dict) -> str:
    """The publish's own counts (--json): public writes, and the "private" object."""
    private = ", ".join(f"{k} {v}" for k, v in report.get("private", {}).items())
    return f"receipt {report.get('receipt')}, {report.get('written', 0)} public writes; private: {private}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000, help="subscribers, each reading 2 private feeds")
    parser.add_argument("--episodes", type=int, default=30, help="catalog size (a third of them are webinars)")
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="first publish and first sync are each timed this many times (alternating which goes first, each into "
        "an emptied bucket; best against best), the no-ops this many times (median against median), and a new "
        "subscriber-only episode is added this many times, one more each time (best against best); default 1: one "
        "run at 10,000 subscribers takes about 8 minutes on 2 cores, each more repeat about 4 more",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "build" / "bench-private",
        help="the catalog and its prepared media are kept here and reused (default build/bench-private)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="one more first publish (not counted) under cProfile; its stats and top 40 (cumulative) go into this folder",
    )  # fmt: skip
    options = parser.parse_args()
    n, repeat = options.subscribers, max(1, options.repeat)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    aws = awscli()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        root = options.workdir.resolve() / f"episodes-{options.episodes}"
        root.mkdir(parents=True, exist_ok=True)
        env = {**environment(root), "MEDIAFEED_SUBSCRIBER_SECRET": SECRET}
        project, ready, baseline = root / "project", root / "prepared", root / "build-before-publish"
        if not ready.exists():
            shutil.rmtree(project, ignore_errors=True)
            shutil.rmtree(baseline, ignore_errors=True)
            project.mkdir(parents=True)
            print(f"making a catalog of {options.episodes} episodes ...", file=sys.stderr)
            make_private_catalog(project, options.episodes, n)
        else:
            drop_new_episodes(project)
            if baseline.exists():  # a reused workdir: drop what the last run's publishes left in build/
                replace_tree(baseline, project / "build")
        csv = project / "private" / "subscribers.csv"
        csv.write_text(subscribers_csv(n))
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench-secret")  # fmt: skip
        for bucket in (BUCKET, SYNC_BUCKET):
            client.create_bucket(Bucket=bucket)
        point_at(project, endpoint, BUCKET)
        print("preparing media (mediafeed build --target s3) ...", file=sys.stderr)
        build_s, _ = mediafeed(project, env, "build", "--target", "s3")
        if not ready.exists():
            ready.write_text(f"{build_s}\n")
        build_s = float(ready.read_text())
        replace_tree(project / "build", baseline)

        def first_publish() -> tuple[float, dict]:
            empty(client, BUCKET)
            replace_tree(baseline, project / "build")  # no receipt, nothing rendered for the target yet
            mediafeed(project, env, "build", "--target", "s3")  # the caches learn the copy's files (new inodes)
            settle()
            return publish(project, env)

        with tempfile.TemporaryDirectory() as folder:
            tree = Path(folder) / "files"
            sync = [str(aws), "s3", "sync", str(tree), f"s3://{SYNC_BUCKET}/", "--endpoint-url", endpoint, "--only-show-errors"]

            def first_sync() -> float:
                empty(client, SYNC_BUCKET)
                settle()
                return timed(sync, env)[0]

            firsts: list[float] = []
            syncs: list[float] = []
            first_cpu: list[dict[str, float]] = []  # CPU of the client and of the server, per first publish
            sync_cpu: list[dict[str, float]] = []
            first: dict = {}
            for trial in range(repeat):
                print(f"first publish and first sync, trial {trial + 1} of {repeat} ...", file=sys.stderr)
                if trial % 2 and tree.exists():
                    syncs.append(first_sync())
                    sync_cpu.append(dict(CPU))
                seconds, first = first_publish()
                firsts.append(seconds)
                first_cpu.append(dict(CPU))
                print(f"  first publish {seconds:.2f} s", file=sys.stderr)
                if not tree.exists():  # the same files, laid out in a folder: what the publish put in the bucket
                    print("  downloading the feed copies for aws s3 sync (not timed) ...", file=sys.stderr)
                    download = [str(aws), "s3", "cp", "--recursive", f"s3://{BUCKET}/private/", str(tree / "private"),
                                "--exclude", "*", "--include", "*/feeds/*.xml",
                                "--endpoint-url", endpoint, "--only-show-errors"]  # fmt: skip
                    download_s, _ = timed(download, env)
                    print(f"  downloaded in {download_s:.2f} s", file=sys.stderr)
                if not trial % 2:
                    syncs.append(first_sync())
                    sync_cpu.append(dict(CPU))
                print(f"  first sync {syncs[-1]:.2f} s", file=sys.stderr)
            synced = sum(1 for p in tree.rglob("*") if p.is_file())
            synced_bytes = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
            after_first = listing(client, BUCKET)
            copies_in_bucket = sum(1 for k in after_first if is_copy(k))

            print(f"no-op republish, {repeat} times ...", file=sys.stderr)
            noops: list[float] = []
            noop_diffs: list[Diff] = []
            noop_reports: list[dict] = []
            for _ in range(repeat):
                before = listing(client, BUCKET)
                settle()
                seconds, report = publish(project, env)
                noops.append(seconds)
                noop_reports.append(report)
                noop_diffs.append(Diff(before, listing(client, BUCKET)))
            print(f"no-op sync, {repeat} times ...", file=sys.stderr)
            sync_noops = [timed(sync, env)[0] for _ in range(repeat)]

        print("one subscriber added, then revoked ...", file=sys.stderr)
        before = listing(client, BUCKET)
        csv.write_text(subscribers_csv(n) + subscriber_line(n))
        added_s, added = publish(project, env)
        middle = listing(client, BUCKET)
        added_diff = Diff(before, middle)
        csv.write_text(subscribers_csv(n))  # the one just added leaves the list
        revoked_s, revoked = publish(project, env)
        revoked_diff = Diff(middle, listing(client, BUCKET))

        empty(client, SYNC_BUCKET)  # no longer needed: the server holds what it held during the first publish
        episodes: list[float] = []  # each run adds one more new subscriber-only episode
        episode_cpu: list[dict[str, float]] = []
        episode_diffs: list[Diff] = []
        episode_reports: list[dict] = []
        new_builds: list[float] = []
        for number in range(1, repeat + 1):
            print(f"one new subscriber-only episode, {number} of {repeat} ...", file=sys.stderr)
            private_episode(project, number)
            new_builds.append(mediafeed(project, env, "build", "--target", "s3")[0])  # its media, as CI prepares them
            before = listing(client, BUCKET)
            settle()
            seconds, report = publish(project, env)
            episodes.append(seconds)
            episode_cpu.append(dict(CPU))
            episode_reports.append(report)
            episode_diffs.append(Diff(before, listing(client, BUCKET)))
            print(f"  {seconds:.2f} s", file=sys.stderr)

        if options.profile is not None:
            import pstats

            folder = options.profile.resolve()
            folder.mkdir(parents=True, exist_ok=True)
            drop_new_episodes(project)
            empty(client, BUCKET)
            replace_tree(baseline, project / "build")
            mediafeed(project, env, "build", "--target", "s3")
            settle()
            stats = folder / "private-first.prof"
            profiled = [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "mediafeed", "--project", str(project),
                        "-q", "--now", NOW, "publish", "--target", "s3", "--json"]  # fmt: skip
            print("first publish under cProfile ...", file=sys.stderr)
            profile_s, _ = timed(profiled, env)
            with (folder / "private-first-profile.txt").open("w") as out:
                out.write(f"first publish under cProfile: {profile_s:.2f} s\n")
                pstats.Stats(str(stats), stream=out).sort_stats("cumulative").print_stats(40)
                pstats.Stats(str(stats), stream=out).sort_stats("tottime").print_stats(25)
            print(f"profile written to {folder}", file=sys.stderr)
        drop_new_episodes(project)
    finally:
        server.stop()

    copies = 2 * n
    verdict = {True: "PASS", False: "FAIL"}
    first_s, sync_first_s = min(firsts), min(syncs)
    noop_s, sync_noop_s = statistics.median(noops), statistics.median(sync_noops)
    public_objects = len(after_first) - copies_in_bucket
    print(f"private feeds benchmark: {n} subscribers x {len(PRIVATE_FEEDS)} private feeds = {copies} feed copies "
          f"({synced_bytes / 1e6:.1f} MB), catalog of {options.episodes} episodes, moto on 127.0.0.1, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"  prepare media (mediafeed build, cold)   {build_s:8.2f} s   (when the catalog was made; not timed below)")
    print(f"  first publish (best of {len(firsts)})            {first_s:8.2f} s   {first['private']['write']} copies "
          f"written + {public_objects} public/bookkeeping objects (all: {', '.join(f'{t:.2f}' for t in firsts)})")  # fmt: skip
    print(f"  aws s3 sync first (best of {len(syncs)}, {synced} files) {sync_first_s:8.2f} s   "
          f"{synced / sync_first_s:.0f} files/s (all: {', '.join(f'{t:.2f}' for t in syncs)})")  # fmt: skip
    best, best_sync = first_cpu[firsts.index(first_s)], sync_cpu[syncs.index(sync_first_s)]
    print(f"      CPU seconds of the best runs: first publish {best['client']:.1f} (the mediafeed process) + "
          f"{best['server']:.1f} (moto); first sync {best_sync['client']:.1f} (aws) + {best_sync['server']:.1f} (moto); "
          f"{os.cpu_count()} CPUs shared by both sides")  # fmt: skip
    print(f"  no-op republish (median of {len(noops)})        {noop_s:8.2f} s   min {min(noops):.2f}; "
          f"{'/'.join(str(len(d.added + d.removed + d.replaced)) for d in noop_diffs)} objects changed in the bucket, "
          f"{'/'.join(str(r.get('written', 0)) for r in noop_reports)} public writes reported, receipt "
          f"{'/'.join('used' if r.get('receipt') else 'not used' for r in noop_reports)}")  # fmt: skip
    if any(r.get("receipt") for r in noop_reports):
        print(f"      publish --json \"private\" when the receipt is used: {counts(noop_reports[0])} -- the counts the "
              "receipt stored (those of the publish that made it), not this run's: the bucket listing counts")  # fmt: skip
    print(f"  aws s3 sync no-op (median of {len(sync_noops)})      {sync_noop_s:8.2f} s   min {min(sync_noops):.2f}")
    print(f"  one subscriber added                    {added_s:8.2f} s   {added_diff.describe()}")
    print(f"      publish --json: {counts(added)}")
    print(f"  one subscriber revoked                  {revoked_s:8.2f} s   {revoked_diff.describe()}")
    print(f"      publish --json: {counts(revoked)}")
    written = [len(d.of(d.replaced + d.added, copies=True)) for d in episode_diffs]
    episode_s = min(episodes)
    best_episode = episodes.index(episode_s)
    episode_written, ep_cpu = written[best_episode], episode_cpu[best_episode]
    print(f"  new subscriber-only episode (best of {len(episodes)}) {episode_s:8.2f} s   "
          f"{'/'.join(str(r['private']['write']) for r in episode_reports)} copies planned, "
          f"{'/'.join(map(str, written))} copies changed in the bucket, {episode_written / episode_s:.0f} copies/s "
          f"(all: {', '.join(f'{t:.2f}' for t in episodes)})")  # fmt: skip
    print(f"      other objects changed: {'/'.join(str(len(d.other())) for d in episode_diffs)} (its media, under "
          f"private/); CPU seconds of the best run: {ep_cpu['client']:.1f} (mediafeed) + {ep_cpu['server']:.1f} (moto); "
          f"build of its media first: {', '.join(f'{t:.2f}' for t in new_builds)} s, not timed")  # fmt: skip

    first_ratio, noop_ratio = first_s / sync_first_s, noop_s / sync_noop_s
    sync_rate, episode_rate = synced / sync_first_s, episode_written / episode_s
    # a receipt's "private" counts are those of the publish that stored it: trust them only when it was not used
    noop_writes = sum(r.get("written", 0) + (0 if r.get("receipt") else r["private"]["write"] + r["private"]["delete"])
                      for r in noop_reports)  # fmt: skip
    noop_changed = sum(len(d.added + d.removed + d.replaced) for d in noop_diffs)

    def only(diff: Diff, added: int, removed: int) -> bool:
        """Exactly `added` copies added and `removed` removed; no copy replaced, no other object (manifest aside)."""
        counts = (len(diff.of(diff.added, True)), len(diff.of(diff.removed, True)))
        return counts == (added, removed) and not diff.of(diff.replaced, True) and not diff.other()

    added_ok = only(added_diff, 2, 0) and (added["private"]["write"], added["private"]["delete"]) == (2, 0)
    revoked_ok = only(revoked_diff, 0, 2) and (revoked["private"]["write"], revoked["private"]["delete"]) == (0, 2)
    print("targets (issue 18):")
    print(f"  first publish / first sync          {first_ratio:6.2f}   target <= 1.0 (best against best)    "
          f"{verdict[first_ratio <= 1.0 and synced == copies]}")  # fmt: skip
    print(f"  no-op publish / no-op sync          {noop_ratio:6.2f}   target <= 0.5 (medians), 0 writes     "
          f"{verdict[noop_ratio <= 0.5 and noop_writes == 0 and noop_changed == 0]}")  # fmt: skip
    print(f"  one added: copies written           {len(added_diff.of(added_diff.added, True)):6d}   target exactly 2, "
          f"nothing else (manifest aside)   {verdict[added_ok]}")  # fmt: skip
    print(f"  one revoked: copies deleted         {len(revoked_diff.of(revoked_diff.removed, True)):6d}   target exactly 2, "
          f"nothing else (manifest aside)   {verdict[revoked_ok]}")  # fmt: skip
    print(f"  new episode: copies/s vs sync       {episode_rate / sync_rate:6.2f}   ({episode_rate:.0f} vs {sync_rate:.0f} "
          f"files/s) target >= 1.0 (best against best), {copies} copies written   "
          f"{verdict[episode_rate >= sync_rate and all(w == copies for w in written)]}")  # fmt: skip
    print("  (a FAIL is a missed target, not an error: the exit status is 0 unless something crashed)")


if __name__ == "__main__":
    main()
