"""Progress through the real CLI: lines on stderr as the work happens (not a terminal here), none with --quiet,
and stdout the same either way."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import NOW, copy_build, copy_catalog, ffmpeg_generate

SLUG = "lithium-levels-in-practice"
SECONDS = 480  # of programme: a few seconds of encoding on a small machine
ENCODE_LINE = re.compile(rf"^encode {SLUG}: (\d+)%$")


def with_long_master(project: Path) -> Path:
    """The sample catalog with one episode's master replaced by a new, long one (so that episode is encoded)."""
    master = project / "episodes" / SLUG / "long.flac"
    ffmpeg_generate(master, "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}", "-ac", "1", "-c:a", "flac")
    index = project / "episodes" / SLUG / "index.md"
    index.write_text(index.read_text().replace("media: audio.mp3", "media: long.flac"))
    return project


def publish_watched(project: Path, *options: str) -> tuple[list[tuple[float, str]], str, float, int]:
    """Run `mediafeed publish` and read stderr line by line as it arrives: ([(when, line)], stdout, when it exited,
    exit code). Times are time.monotonic() in this process."""
    command = [sys.executable, "-m", "mediafeed", "--project", str(project), *options, "--now", NOW, "publish"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(process.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    lines = [(time.monotonic(), line.rstrip("\n")) for line in process.stderr]
    code = process.wait()
    exited = time.monotonic()
    reader.join()
    return lines, "".join(out), exited, code


def test_publish_reports_encode_progress_while_it_encodes_and_nothing_with_quiet(tmp_path: Path, sample_build: Path) -> None:
    loud = with_long_master(copy_catalog(tmp_path / "loud" / "project"))
    copy_build(sample_build, loud)
    lines, stdout, exited, code = publish_watched(loud)
    text = "\n".join(line for _, line in lines)
    assert code == 0, text

    progress = [(when, int(m.group(1))) for when, line in lines if (m := ENCODE_LINE.match(line))]
    (done_at,) = [when for when, line in lines if line.startswith(f"prepared {SLUG} (encoded): ")]
    assert len(progress) >= 2, text
    times, percents = [when for when, _ in progress], [p for _, p in progress]
    assert percents == sorted(percents) and len(set(percents)) == len(percents), text
    assert len(set(times)) == len(times) and times[-1] - times[0] >= 0.5, text  # spread over the encode...
    assert all(0 < p < 100 for p in percents), text
    assert times[-1] <= done_at and done_at - times[0] >= 0.5, text  # ...seen before the encode finished
    assert exited - times[0] >= 1.0, text  # and long before the process exited, not all at once at the end
    # Plain lines, coarse: not one per ffmpeg tick (twice a second); episodes from the cache only counted.
    assert len(progress) <= 12, text
    assert "(cached)" not in text and "prepared 8 episode(s): 1 encoded, 7 cached" in text, text
    assert any(line.startswith("loaded the catalog: 9 episode(s)") for _, line in lines), text
    assert any(line.startswith("uploaded media: ") for _, line in lines), text
    assert "\x1b[" not in text  # no terminal control sequences in a log
    assert not any(ENCODE_LINE.match(line) or line.startswith(("prepared", "uploaded")) for line in stdout.splitlines())

    quiet = with_long_master(copy_catalog(tmp_path / "quiet" / "project"))
    copy_build(sample_build, quiet)
    quiet_lines, quiet_stdout, _, quiet_code = publish_watched(quiet, "--quiet")
    assert quiet_code == 0, quiet_lines
    assert quiet_lines == []  # the same encode, and not a line of progress
    assert quiet_stdout.replace(str(quiet), "PROJECT") == stdout.replace(str(loud), "PROJECT")  # results unchanged


def test_a_terminal_gets_live_bars_that_leave_only_the_outcome_lines(tmp_path: Path, sample_build: Path) -> None:
    """stderr on a pseudo-terminal: rich draws bars while encoding and clears them; results still go to stdout."""
    import os
    import pty

    project = copy_catalog(tmp_path / "project")
    copy_build(sample_build, project)
    master = project / "episodes" / SLUG / "short.flac"
    ffmpeg_generate(master, "-f", "lavfi", "-i", "sine=frequency=440:duration=60", "-ac", "1", "-c:a", "flac")
    index = project / "episodes" / SLUG / "index.md"
    index.write_text(index.read_text().replace("media: audio.mp3", "media: short.flac"))
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    command = [sys.executable, "-m", "mediafeed", "--project", str(project), "--now", NOW, "publish"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, env=env)
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed its end of the terminal
            break
        if not chunk:
            break
        screen += chunk
    stdout = process.stdout.read().decode()  # type: ignore[union-attr]
    assert process.wait() == 0, screen.decode(errors="replace")
    os.close(controller)
    drawn = screen.decode("utf-8", "replace")
    assert f"encode {SLUG}" in drawn and "━" in drawn  # a bar was drawn for the encode
    assert "\x1b[" in drawn  # redrawn in place (cursor movement), not printed line after line
    assert f"prepared {SLUG} (encoded): " in drawn and "prepared 8 episode(s): 1 encoded, 7 cached" in drawn
    assert "(cached)" not in drawn
    assert "\x1b" not in stdout and "wrote" in stdout and "Feeds:" in stdout  # results: plain, on stdout
