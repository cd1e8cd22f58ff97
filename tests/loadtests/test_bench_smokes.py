"""Every benchmark at smoke size, through its own CLI: it runs end to end, produces its figures
from real work on every side, and prints them. No timing is asserted (the figures' values are
the benchmarks' business, recorded in docs/benchmarks.md); the checks are what must hold for any
run to mean something.

The nginx reference of the origin benchmark runs only when nginx is already installed: this test
never installs it (the benchmark itself does, when run by hand as root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench_origin import find_nginx

ROOT = Path(__file__).resolve().parents[2]
WITH_NGINX = find_nginx() is not None


def check_transcode(r: dict[str, Any], out: str) -> None:
    assert r["ratio_ours_ffmpeg"] > 0  # real work on both paths
    assert "ratio ours/ffmpeg" in out


def check_ladder(r: dict[str, Any], out: str) -> None:
    assert r["ratio_ours_ffmpeg"] > 0
    assert set(r["rows"]) == {"ours", "ffmpeg"}
    assert "ratio ours/ffmpeg" in out


def check_latency(r: dict[str, Any], out: str) -> None:
    phases = r["phases"]
    assert set(phases) == {"ll-hls", "whep", "loopback"}
    for name, p in phases.items():
        # Frames were played and the painted clock read back from them, on every path.
        assert p["samples"] > 0 and p["p50"] > 0, (name, p)
        assert p["heights"] and all(h in (240, 270, 360, 480, 540, 720) for h in p["heights"]), p
    assert "glass-to-glass latency" in out


def check_moderation(r: dict[str, Any], out: str) -> None:
    (t,) = r["throughput"]
    assert t["workers"] == 1 and t["judged"] > 0 and t["per_worker"]
    live = r["live"]
    assert live["streams"] == 3 and live["errors"] == []
    # Every stream was sampled at least once (its first frame) and judged.
    assert live["decisions"] >= 3 and all(live["actions"].values())
    assert live["latency_p99_ms"] >= live["latency_p50_ms"] > 0
    assert "frame entered pipeline -> decision p50" in out


def check_origin(r: dict[str, Any], out: str) -> None:
    # Both servers under test, on the same broadcast: the LL-HLS edge, then the aiohttp app.
    rows = r["viewers"]
    assert [row["server"] for row in rows] == ["edge", "app"]
    for row in rows:
        assert row["viewers"] == 50 and row["deliveries"] > 0
        # Every delivery was timed against its part's publication, which came first.
        delay = row["part_delay"]
        assert delay["max"] >= delay["99"] >= delay["50"] > 0, row
    assert set(r["max_viewers_meeting_target_by_server"]) == {"edge", "app"}
    assert "part p50" in out and "LL-HLS edge" in out and "aiohttp app" in out
    servers = [f["server"].split()[0] for f in r["fetch"]]
    # The origin, the bare-aiohttp floor (one route, FileResponse), then nginx when installed.
    assert servers == (["origin", "minimal", "nginx"] if WITH_NGINX else ["origin", "minimal"])
    assert all(f["requests_per_s"] > 0 for f in r["fetch"])
    if WITH_NGINX:
        assert r["fetch_ratio_origin_nginx"] > 0 and "ratio origin/nginx" in out
    assert r["fetch_cpu_per_request_origin_minimal"] > 0


def check_tips(r: dict[str, Any], out: str) -> None:
    assert r["tips"]["ok"] > 0 and r["alone"]["ok"] > 0 and r["tips"]["failed"] == 0
    assert r["tips_in_ledger"] == r["tips_committed"] > 0
    assert r["ledger_check_exit"] == 0
    assert r["pgbench"]["tps"] > 0 and r["ratio"] > 0
    assert "ratio tips/s / pgbench TPS" in out


def check_whep(r: dict[str, Any], out: str) -> None:
    assert r["encode_720p"]["per_media_s"] > 0
    assert min(r["viewer_fps"]) > 0 and r["deleted"] == 2
    assert "ratio (2-viewer increment)/(2 encodes)" in out


def check_chat(r: dict[str, Any], out: str) -> None:
    runs = {(run["server"], run["scenario"]) for run in r["runs"]}
    assert runs == {
        (server, scenario)
        for server in ("ours batch=50ms", "node socket.io")
        for scenario in ("busy", "small")
    }
    for run in r["runs"]:
        # Real deliveries: every acked message reached every member.
        assert run["delivered"] > 0 and run["acked"] > 0, run
        assert run["missing"] == 0 and run["send_errors"] == {}, run
        # Every delivery was timed, and both processes did measurable work.
        assert run["latency_ms"]["99"] >= run["latency_ms"]["50"] > 0, run
        assert run["generator_cpu"] > 0 and run["server_cpu"] > 0, run
    assert {x["scenario"] for x in r["ratios"]} == {"busy", "small"} and len(r["ratios"]) == 2
    assert "ratio ours/node delivered/s" in out
    # The machine's load before the run and at each run's start.
    assert "idle check: load average" in out
    idle = r["idle_check"]
    assert len(idle["load_avg"]) == 3 and 0 <= idle["busy_cpus"] <= (os.cpu_count() or 1)
    assert all(len(run["load_avg"]) == 3 for run in r["runs"])
    # Where our server's time went, per delivery.
    profiled = [run for run in r["runs"] if run["server"].startswith("ours")]
    assert profiled and all("µs per delivery" in run["profile"] for run in profiled), out


def check_web(r: dict[str, Any] | None, out: str) -> None:
    assert "watch /watch/:id (until playing)" in out and "discover /" in out, out
    assert "the app's watch route" in out and "bare hls.js page (ref)" in out, out


def check_ai(r: dict[str, Any], out: str) -> None:
    assert r["embeddings"]["per_second"] > 0 and r["mood"]["per_second"] > 0
    s = r["suggestions"]
    assert s["profiles"] == 3000 and "Index Scan" in s["plan"], s["plan"]  # the HNSW index
    assert 0 < s["recall_at_10"] <= 1


def check_social(r: dict[str, Any], out: str) -> None:
    assert "TeezU Live social benchmark" in out
    assert r["feed"]["items"] == 20
    assert r["likes"]["exact"] and r["likes"]["rows"] == 100


def check_hub(r: dict[str, Any], out: str, users: int = 1000) -> None:
    assert "TeezU Live admin hub benchmark" in out
    counts = r["counts"]
    assert counts["users"] >= users and counts["viewing_sessions"] >= 5 * users
    assert counts["ledger_entries"] >= 11 * users
    assert set(r["refresh_seconds"]) >= {"hub_revenue_daily", "hub_growth_daily"}
    assert all(q["view_p95_ms"] > 0 and q["raw_p50_ms"] > 0 for q in r["queries"].values())
    assert r["metrics"]["scrape_cpu_ms"] > 0


def check_engagement(r: dict[str, Any], out: str, voters: int = 30) -> None:
    assert "ratio vote/get server CPU per event" in out
    vote, ref = r["mood:vote"], r["mood:get"]
    assert r["voters"] == voters
    assert vote["accepted"] > 0 and ref["accepted"] > 0
    # Every accepted vote was seen counted by a broadcast; broadcasts are aggregated, not one
    # per vote (the design allows one per 0.2 s tick).
    assert vote["unmatched"] == 0, vote
    assert 0 < vote["broadcasts_per_s"] <= 5.5, vote
    assert vote["delay_ms"]["99"] >= vote["delay_ms"]["50"] > 0
    assert vote["server_cpu_s"] > 0 and r["ratio"] > 0


@dataclass(frozen=True)
class Bench:
    script: str
    args: Callable[[Path, str], list[str]]  # (tmp dir, database URL) -> arguments
    check: Callable[[Any, str], None]
    json: bool = True  # writes --json


BENCHES = {
    "transcode": Bench(
        "bench_transcode.py",
        lambda tmp, dsn: ["--seconds", "5", "--runs", "1", "--no-extra", "--cache-dir", str(tmp)],
        check_transcode,
    ),
    "ladder": Bench(
        "bench_ladder.py",
        lambda tmp, dsn: ["--seconds", "5", "--runs", "1", "--no-extra", "--cache-dir", str(tmp)],
        check_ladder,
    ),
    "latency": Bench(
        "bench_latency.py",
        # The overload phases (a core burnt) are the benchmark's, not the smoke's: on this
        # 2-core machine their players do not start yet (issue 12's open point).
        lambda tmp, dsn: ["--seconds", "3", "--warmup", "2", "--phases", "ll-hls,whep,loopback"],
        check_latency,
    ),
    "moderation": Bench(
        "bench_moderation.py",
        lambda tmp, dsn: [
            "--seconds",
            "2",
            "--throughput-seconds",
            "2",
            "--streams",
            "3",
            "--rungs",
            "240p",
            "--workers",
            "1",
            "--cache-dir",
            str(tmp),
        ],  # fmt: skip
        check_moderation,
    ),
    "origin": Bench(
        "bench_origin.py",
        lambda tmp, dsn: [
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
            str(tmp),
            "--client",
            "lean",
            *([] if WITH_NGINX else ["--no-nginx"]),
        ],  # fmt: skip
        check_origin,
    ),
    "tips": Bench(
        "bench_tips.py",
        lambda tmp, dsn: [
            "--dsn",
            dsn,
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
        ],  # fmt: skip
        check_tips,
    ),
    "whep": Bench(
        "bench_whep.py",
        lambda tmp, dsn: [
            "--viewers",
            "2",
            "--seconds",
            "3",
            "--warmup",
            "2",
            "--encode-seconds",
            "2",
        ],  # fmt: skip
        check_whep,
    ),
    "chat": Bench(
        "bench_chat.py",
        lambda tmp, dsn: [
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
            "--profile",
        ],  # fmt: skip
        check_chat,
    ),
    "web": Bench("bench_web.py", lambda tmp, dsn: ["--runs", "1"], check_web, json=False),
    "ai": Bench(
        "bench_ai.py",
        lambda tmp, dsn: ["--profiles", "3000", "--queries", "20", "--seconds", "0.5"],
        check_ai,
    ),
    "social": Bench(
        "bench_social.py",
        lambda tmp, dsn: [
            "--dsn",
            dsn,
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
        ],  # fmt: skip
        check_social,
    ),
    "hub": Bench(
        "bench_hub.py",
        lambda tmp, dsn: [
            "--dsn",
            dsn,
            "--users",
            "1000",
            "--entries",
            "11000",
            "--sessions",
            "5000",
            "--days",
            "30",
            "--repeat",
            "3",
            "--raw-repeat",
            "1",
            "--scrapes",
            "20",
        ],  # fmt: skip
        check_hub,
    ),
    "engagement": Bench(
        "bench_engagement.py",
        lambda tmp, dsn: ["--voters", "30", "--seconds", "3", "--warmup", "1"],
        check_engagement,
    ),
}

# The database-backed benchmarks use the session's embedded PostgreSQL.
NEEDS_DATABASE = {"tips", "chat", "social", "hub", "engagement"}

# The issue's sizes, behind the soak marker (hours on this machine).
SOAK = {
    "hub": Bench(
        "bench_hub.py",
        lambda tmp, dsn: ["--dsn", dsn],
        lambda r, out: check_hub(r, out, users=200_000),
    ),
    "engagement": Bench(
        "bench_engagement.py",
        lambda tmp, dsn: ["--voters", "2000", "--seconds", "20"],
        lambda r, out: check_engagement(r, out, voters=2000),
    ),
}


def run_bench(bench: Bench, tmp_path: Path, dsn: str, timeout: float) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, f"loadtests/{bench.script}", *bench.args(tmp_path, dsn)]
    if bench.json:
        cmd += ["--json", str(out)]
    env = {**os.environ, **({"TEEZU_DATABASE_URL": dsn} if dsn else {})}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[-4000:])
    bench.check(json.loads(out.read_text()) if bench.json else None, proc.stdout)


@pytest.mark.parametrize("name", list(BENCHES))
def test_bench_smoke(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("pg_dsn") if name in NEEDS_DATABASE else ""
    # Under the test's own timeout (pytest-timeout): a hung benchmark is killed here first.
    run_bench(BENCHES[name], tmp_path, dsn, timeout=540)


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
@pytest.mark.parametrize("name", list(SOAK))
def test_bench_at_the_issues_size(name: str, tmp_path: Path, pg_dsn: str) -> None:
    run_bench(SOAK[name], tmp_path, pg_dsn, timeout=3 * 3600)
