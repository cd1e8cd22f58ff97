"""The origin benchmark at smoke size: it runs end to end and prints its figures (no timing).

The nginx reference runs only when nginx is already installed: this test never installs it (the
benchmark itself does, when run by hand as root).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loadtests.bench_origin import find_nginx

ROOT = Path(__file__).resolve().parents[2]


def test_bench_origin_smoke(tmp_path):
    out = tmp_path / "bench.json"
    with_nginx = find_nginx() is not None
    cmd = [
        sys.executable,
        "loadtests/bench_origin.py",
        "--viewers",
        "50",
        "--seconds",
        "3",
        "--warmup",
        "1",
        "--fetch-seconds",
        "2",
        "--settle",
        "0",
        "--cache-dir",
        str(tmp_path),
        "--json",
        str(out),
        "--client",
        "lean",
    ]
    if not with_nginx:
        cmd.append("--no-nginx")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    # Both servers under test, on the same broadcast: the LL-HLS edge, then the aiohttp app.
    rows = result["viewers"]
    assert [r["server"] for r in rows] == ["edge", "app"]
    for row in rows:
        # The run completed and measured real deliveries (how fast is the benchmark's business).
        assert row["viewers"] == 50
        assert row["deliveries"] > 0
        assert row["part_delay"]["99"] >= 0
    assert set(result["max_viewers_meeting_target_by_server"]) == {"edge", "app"}
    assert "part p50" in proc.stdout
    assert "LL-HLS edge" in proc.stdout and "aiohttp app" in proc.stdout
    servers = [f["server"].split()[0] for f in result["fetch"]]
    # The origin, the bare-aiohttp floor (one route, FileResponse), then nginx when installed.
    assert servers == (["origin", "minimal", "nginx"] if with_nginx else ["origin", "minimal"])
    assert all(f["requests_per_s"] > 0 for f in result["fetch"])
    if with_nginx:
        assert result["fetch_ratio_origin_nginx"] > 0
        assert "ratio origin/nginx" in proc.stdout
    assert result["fetch_cpu_per_request_origin_minimal"] > 0
