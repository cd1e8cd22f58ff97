"""The web benchmark at smoke size: it measures every route and prints both figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_web_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, "loadtests/bench_web.py", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "watch /watch/:id (until playing)" in out and "discover /" in out, out
    assert "the app's watch route" in out and "bare hls.js page (ref)" in out, out
