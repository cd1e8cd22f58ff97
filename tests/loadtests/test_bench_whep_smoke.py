"""The WHEP benchmark at smoke size: it runs end to end and prints its figure (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_whep_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_whep.py",
            "--viewers",
            "2",
            "--seconds",
            "3",
            "--warmup",
            "2",
            "--encode-seconds",
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
    print(proc.stdout[proc.stdout.find("TeezU Live WHEP benchmark") :])
    result = json.loads(out.read_text())
    # Real work on both sides of the figure; its value is the benchmark's business.
    assert result["encode_720p"]["per_media_s"] > 0
    assert min(result["viewer_fps"]) > 0 and result["deleted"] == 2
    assert "ratio (2-viewer increment)/(2 encodes)" in proc.stdout
