"""The tip benchmark at smoke size: it runs end to end and prints its figures (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_tips_smoke(tmp_path, pg_dsn):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_tips.py",
            "--dsn",
            pg_dsn,
            "--tippers",
            "20",
            "--procs",
            "1",
            "--seconds",
            "2",
            "--warmup",
            "0.5",
            "--pgbench-seconds",
            "1",
            "--pgbench-scale",
            "1",
            "--compare-alone",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[proc.stdout.find("TeezU Live tip benchmark") :])
    result = json.loads(out.read_text())
    # Real work on every side of the figures; their values are the benchmark's business.
    assert result["tips"]["ok"] > 0 and result["alone"]["ok"] > 0
    assert result["tips"]["failed"] == 0
    assert result["tips_in_ledger"] == result["tips_committed"] > 0
    assert result["ledger_check_exit"] == 0
    assert result["pgbench"]["tps"] > 0 and result["ratio"] > 0
    assert "ratio tips/s / pgbench TPS" in proc.stdout
