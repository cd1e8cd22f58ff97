"""The moderation benchmark at smoke size: it runs real workers and live pipelines (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_moderation_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_moderation.py",
            "--seconds", "2",
            "--throughput-seconds", "2",
            "--streams", "3",
            "--rungs", "240p",
            "--workers", "1",
            "--cache-dir", str(tmp_path),
            "--json", str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    (t,) = result["throughput"]
    assert t["workers"] == 1 and t["judged"] > 0 and t["per_worker"]
    live = result["live"]
    assert live["streams"] == 3 and live["errors"] == []
    # Every stream was sampled at least once (its first frame) and judged.
    assert live["decisions"] >= 3 and all(live["actions"].values())
    assert live["latency_p50_ms"] > 0
    assert "frame entered pipeline -> decision p50" in proc.stdout
