"""The hub benchmark at smoke size in the suite, and at the issue's size behind ``soak``: it
runs end to end and prints its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(tmp_path: Path, pg_dsn: str, *size: str, timeout: float) -> dict:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "loadtests/bench_hub.py", "--dsn", pg_dsn, *size, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[proc.stdout.find("TeezU Live admin hub benchmark") :])
    return json.loads(out.read_text())


def test_bench_hub_smoke(tmp_path, pg_dsn):
    result = run_bench(
        tmp_path, pg_dsn, "--users", "1000", "--entries", "11000", "--sessions", "5000",
        "--days", "30", "--repeat", "3", "--raw-repeat", "1", "--scrapes", "20",
        timeout=600,
    )  # fmt: skip
    counts = result["counts"]
    assert counts["users"] >= 1000 and counts["viewing_sessions"] >= 5000
    assert counts["ledger_entries"] >= 11000
    assert set(result["refresh_seconds"]) >= {"hub_revenue_daily", "hub_growth_daily"}
    assert all(q["view_p95_ms"] > 0 and q["raw_p50_ms"] > 0 for q in result["queries"].values())
    assert result["metrics"]["scrape_cpu_ms"] > 0


@pytest.mark.soak
def test_bench_hub_at_the_issues_size(tmp_path, pg_dsn):
    result = run_bench(tmp_path, pg_dsn, timeout=3 * 3600)
    counts = result["counts"]
    assert counts["users"] >= 200_000 and counts["ledger_entries"] >= 5_000_000
    assert counts["viewing_sessions"] >= 2_000_000
