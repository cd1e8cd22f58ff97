"""The chat benchmark at smoke size: both servers run the same load and it prints figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_chat_smoke(tmp_path, pg_dsn):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "loadtests/bench_chat.py",
            "--seconds",
            "2",
            "--warmup",
            "1",
            "--drain",
            "1",
            "--busy-members",
            "12",
            "--busy-senders",
            "3",
            "--small-rooms",
            "3",
            "--small-members",
            "4",
            "--small-senders",
            "1",
            "--rates",
            "2",
            "--ours-batch",
            "0.05",  # one of our batch settings is enough for a smoke run
            "--idle-seconds",
            "1",
            "--profile",  # py-spy (a test dependency) on our server in each window
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "TEEZU_DATABASE_URL": pg_dsn},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[proc.stdout.find("TeezU Live chat benchmark") :])
    result = json.loads(out.read_text())
    runs = {(r["server"], r["scenario"]) for r in result["runs"]}
    assert runs == {
        (server, scenario)
        for server in ("ours batch=50ms", "node socket.io")
        for scenario in ("busy", "small")
    }
    for run in result["runs"]:
        # real deliveries, every acked message reached every member; speed is not asserted
        assert run["delivered"] > 0 and run["acked"] > 0, run
        assert run["missing"] == 0 and run["send_errors"] == {}, run
        assert run["latency_ms"]["99"] >= run["latency_ms"]["50"] >= 0
        assert run["generator_cpu"] > 0 and run["server_cpu"] >= 0
    assert {r["scenario"] for r in result["ratios"]} == {"busy", "small"}
    assert "ratio ours/node delivered/s" in proc.stdout
    assert len(result["ratios"]) == 2  # ours against node, per scenario
    # the machine's load before the run and at each run's start
    assert "idle check: load average" in proc.stdout
    assert len(result["idle_check"]["load_avg"]) == 3 and result["idle_check"]["busy_cpus"] >= 0
    assert all(len(r["load_avg"]) == 3 for r in result["runs"])
    # where our server's time went, per delivery
    profiled = [r for r in result["runs"] if r["server"].startswith("ours")]
    assert profiled and all("µs per delivery" in r["profile"] for r in profiled), proc.stdout
