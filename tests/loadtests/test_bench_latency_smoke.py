"""The glass-to-glass latency benchmark at smoke size: every path decodes the clock (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_latency_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_latency.py",
            "--seconds",
            "3",
            "--warmup",
            "2",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    phases = json.loads(out.read_text())["phases"]
    assert set(phases) == {"ll-hls", "whep", "loopback"}
    for name, p in phases.items():
        # Frames were played and the painted clock read back from them, on every path.
        assert p["samples"] > 0 and p["p50"] > 0, (name, p)
        assert p["heights"] and all(h in (240, 270, 360, 480, 540, 720) for h in p["heights"]), p
    assert "glass-to-glass latency" in proc.stdout
