"""The watch route's JavaScript budget (issue 14: at most 250 KB gzip): a byte count of a fresh
build, not a timing.

What the route loads, read from Vite's manifest: the entry chunk and everything it imports
statically, the watch screen's chunk and its static imports, and the two modules the screen
loads on demand once a stream plays — hls.js's light build and socket.io-client. Each file is
counted once, gzip -9 (as ``loadtests/bench_web.py`` counts what Chromium actually fetched).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.web.test_web_checks import BIN, run

WATCH_BUDGET_KB = 250
ON_DEMAND = ("node_modules/hls.js/", "node_modules/socket.io-client/")


def watch_route_files(manifest: dict[str, dict]) -> set[str]:
    start = [k for k, v in manifest.items() if v.get("isEntry")]
    start += [k for k in manifest if k.endswith("features/watch/WatchPage.tsx")]
    start += [k for k in manifest if k.startswith(ON_DEMAND) and manifest[k].get("isDynamicEntry")]
    seen: set[str] = set()
    stack = list(start)
    while stack:
        key = stack.pop()
        if key not in seen:
            seen.add(key)
            stack += manifest[key].get("imports", [])
    return {manifest[k]["file"] for k in seen}


def test_the_watch_route_fits_its_javascript_budget(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    r = run(str(BIN / "npx"), "--no-install", "vite", "build", "--outDir", str(out), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    manifest = json.loads((out / "asset-manifest.json").read_text(encoding="utf-8"))
    files = watch_route_files(manifest)
    assert any("hls" in f for f in files) and any("WatchPage" in f for f in files), files
    sizes = {f: len(gzip.compress((out / f).read_bytes(), 9)) / 1000 for f in files}
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda x: -x[1])
    listing = "\n".join(f"{kb:8.1f} KB  {f}" for f, kb in biggest)
    print(f"\nwatch route: {total:.1f} KB gzip (budget {WATCH_BUDGET_KB} KB)\n{listing}")
    assert total <= WATCH_BUDGET_KB, f"the watch route loads {total:.1f} KB gzip:\n{listing}"
