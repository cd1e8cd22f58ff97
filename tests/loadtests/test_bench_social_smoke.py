"""The social benchmark at smoke size: it runs end to end and prints its figures (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_social_smoke(tmp_path, pg_dsn):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_social.py",
            "--dsn",
            pg_dsn,
            "--posts",
            "2000",
            "--creators",
            "60",
            "--follows",
            "50",
            "--likers",
            "100",
            "--connections",
            "4",
            "--feed-runs",
            "3",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[proc.stdout.find("TeezU Live social benchmark") :])
    result = json.loads(out.read_text())
    assert result["feed"]["items"] == 20
    assert result["likes"]["exact"] and result["likes"]["rows"] == 100
