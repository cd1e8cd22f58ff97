#!/usr/bin/env bash
# Sets up everything TeezU Live needs on a Debian machine: system packages (when root and
# missing), the Python virtual environment, and the pages' npm packages.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --test   runtime + test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }

# --- system packages -------------------------------------------------------------------------
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # The WHIP interop tests drive GStreamer's webrtcbin from Debian's Python (python3-gi).
  for pkg in python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice \
             gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
             gstreamer1.0-plugins-ugly; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
  done
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]}" >&2
    echo "install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# --- Python ----------------------------------------------------------------------------------
python3 - <<'PY' || { echo "TeezU Live needs Python 3.11 or newer" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
[ -x .venv/bin/python ] || { say "creating .venv"; python3 -m venv .venv; }
extra=""; [ "$want_test" = 1 ] && extra="[test]"
stamp=".venv/.teezu-installed${extra:+-test}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python packages${extra:+ (with test extras)}"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extra}"
  touch "$stamp"
fi

# --- pages -----------------------------------------------------------------------------------
if [ ! -f web/node_modules/hls.js/dist/hls.min.js ] || [ web/package-lock.json -nt web/node_modules ]; then
  say "installing the pages' npm packages"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  touch web/node_modules
fi
if [ "$want_test" = 1 ]; then
  if [ ! -d loadtests/node/node_modules/socket.io ] || [ loadtests/node/package-lock.json -nt loadtests/node/node_modules ]; then
    say "installing the chat benchmark's reference server (socket.io, npm)"
    (cd loadtests/node && npm ci --no-audit --no-fund --loglevel=error)
    touch loadtests/node/node_modules
  fi
fi
say "setup done"
