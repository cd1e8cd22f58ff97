"""The ladder benchmark at smoke size: it runs and passes its own checks (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ladder_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_ladder.py",
            "--seconds",
            "5",
            "--runs",
            "1",
            "--no-extra",
            "--cache-dir",
            str(tmp_path),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    # Figures were produced from real work on both paths (their values are the benchmark's).
    assert result["ratio_ours_ffmpeg"] > 0
    assert set(result["rows"]) == {"ours", "ffmpeg"}
    assert "ratio ours/ffmpeg" in proc.stdout
