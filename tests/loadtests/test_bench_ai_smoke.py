"""The AI benchmark at smoke size: real model, real PostgreSQL with an HNSW index (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ai_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "loadtests/bench_ai.py", "--profiles", "3000", "--queries", "20",
         "--seconds", "0.5", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["embeddings"]["per_second"] > 0 and result["mood"]["per_second"] > 0
    s = result["suggestions"]
    assert s["profiles"] == 3000 and "Index Scan" in s["plan"], s["plan"]  # the HNSW index
    assert 0 < s["recall_at_10"] <= 1
