#!/usr/bin/env python3
"""Chat fan-out: our Socket.IO chat against the reference Node.js socket.io server.

The same load (`loadtests/chatload.py`, one process) runs against each server in turn, on this
machine, in this run:

* **ours**: the API role (``teezu api``'s app: python-socketio on aiohttp, chat history in
  PostgreSQL, limits, moderation checks) as one process, with the embedded PostgreSQL this
  script starts (``teezu api``); senders are members signed up for the run (with bcrypt at its
  lowest cost and the sign-up limit lifted: not what is measured), readers anonymous. The
  per-sender chat rate limit is lifted for the run. ``--ours-batch`` lists fan-out tick lengths to
  try (``TEEZU_CHAT_BATCH_INTERVAL``; 0 sends one packet per message).
* **node**: ``loadtests/node/chat_server.js``: socket.io 4 with the same events, broadcasting
  one packet per message to the room, nothing stored, nothing checked.

Scenarios: **busy** (one room: ``--busy-members`` connections, ``--busy-senders`` of them
sending) and **small** (``--small-rooms`` rooms of ``--small-members``, ``--small-senders``
sending in each). Each sender sends ``--rates`` messages per second (open loop, acknowledged).
For each: delivered messages per second (chat messages received by all clients in the
``--seconds`` window), delivery latency p50/p99 (send → receipt by each member), ack latency,
deliveries that never arrived, CPU of the server (and of PostgreSQL for ours) and of the load
generator. When the generator's CPU nears one core, the line says so: then it, not the server,
may be the limit.

    .venv/bin/python loadtests/bench_chat.py                          # full run (~4 min)
    .venv/bin/python loadtests/bench_chat.py --seconds 2 --warmup 1 --busy-members 20 \\
        --busy-senders 4 --small-rooms 4 --small-members 5 --rates 2   # smoke

Before anything starts, an idle check samples the machine for ``--idle-seconds`` and prints its
load average and how many CPUs other processes kept busy (``--quiet-wait S`` first waits up
to S seconds for them to fall under ``--quiet-below``); each run's line ends with the load
average at its start. ``--profile`` runs py-spy on our server during each of its measured
windows and prints where a delivery's microseconds go (`loadtests/chat_profile.py`); the
sampling costs the server a little, so figures for the record come from a run without it.

The exit status is non-zero only on errors (a server failing to start, a load that could not
connect), never because of a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from loadtests import chat_profile  # noqa: E402
from loadtests.chatload import RESULT, WINDOW, LoadPlan, RoomPlan, plan_to_json  # noqa: E402
from loadtests.common import free_port, write_report  # noqa: E402

NODE_DIR = ROOT / "loadtests" / "node"


class BenchError(Exception):
    pass


def wait_http(url: str, proc: subprocess.Popen[Any], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not answer {url}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_of(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _busy() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)


def idle_check(seconds: float) -> dict[str, Any]:
    """The machine's load average, and the CPUs its processes kept busy over ``seconds``."""
    b0, t0 = _busy(), time.monotonic()
    time.sleep(seconds)
    busy = (_busy() - b0) / (time.monotonic() - t0)
    return {"load_avg": list(os.getloadavg()), "busy_cpus": busy, "seconds": seconds}


def fmt_idle(check: dict[str, Any]) -> str:
    one, five, fifteen = check["load_avg"]
    return (
        f"idle check: load average {one:.2f} {five:.2f} {fifteen:.2f}; other processes kept"
        f" {check['busy_cpus']:.2f} of {os.cpu_count()} CPUs busy over {check['seconds']:g} s"
    )


def wait_quiet(limit: float, below: float, seconds: float) -> dict[str, Any]:
    """Idle checks until the machine is under ``below`` busy CPUs or ``limit`` seconds passed."""
    deadline = time.monotonic() + limit
    while True:
        check = idle_check(seconds)
        if check["busy_cpus"] < below or time.monotonic() >= deadline:
            check["quiet"] = check["busy_cpus"] < below
            return check
        print(fmt_idle(check) + f": waiting for < {below:g}", flush=True)


# ================================================================================ servers


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[Any]
    cookies: list[str]  # one per sender (ours: signed-in members; node: none needed)
    database_pid: int | None = None  # the embedded PostgreSQL's postmaster, for ours

    def close(self) -> None:
        stop(self.proc)


async def sign_up(url: str, n: int) -> list[str]:
    """``n`` new member accounts through ``POST /api/v1/auth/signup``; their session cookies."""
    import aiohttp

    gate = asyncio.Semaphore(8)
    run = uuid.uuid4().hex[:8]

    async def one(session: aiohttp.ClientSession, i: int) -> str:
        handle = f"b{run}_{i}"
        body = {
            "email": f"{handle}@bench.example.org",
            "handle": handle,
            "password": "bench password 1",
            "dateOfBirth": "1990-01-01",
        }
        async with gate, session.post(f"{url}/api/v1/auth/signup", json=body) as res:
            if res.status != 201:
                raise BenchError(f"sign-up refused: {res.status} {await res.text()}")
            return f"session={res.cookies['session'].value}"

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        return list(await asyncio.gather(*(one(session, i) for i in range(n))))


def start_ours(
    dsn: str,
    var: Path,
    batch: float,
    senders: int,
    pg: int | None,
    redis_url: str,
    mood: bool = True,
) -> Server:
    """``teezu api`` with its real session authenticator; senders are new signed-up members."""
    from tests.apinode import TEST_SETTINGS

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEEZU_DATABASE_URL": dsn,
        "TEEZU_PORT": str(port),
        "TEEZU_VAR_DIR": str(var),
        "TEEZU_NODE_ID": "bench-api",
        "TEEZU_PLAYBACK_KEY": "bench",
        "TEEZU_LOG_LEVEL": "WARNING",
        "TEEZU_CHAT_BATCH_INTERVAL": str(batch),
        "TEEZU_CHAT_RATE_LIMIT": "1000000000",
        "TEEZU_REDIS_URL": redis_url,
        "TEEZU_MOOD_ENABLED": "true" if mood else "false",
        # sign-ups of the senders: no sign-up limit, cheapest bcrypt (not what is measured)
        **{f"TEEZU_{k.upper()}": v for k, v in TEST_SETTINGS.items()},
    }
    log = open(var / f"ours-{batch}-{mood}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "teezu.cli", "api"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", proc, "our API process")
    try:
        cookies = asyncio.run(sign_up(url, senders))
    except BaseException:
        stop(proc)
        raise
    label = f"ours batch={int(batch * 1000)}ms" + (" +redis" if redis_url else "")
    label += "" if mood else " mood=off"
    return Server(label, url, proc, cookies, pg)


def start_node(var: Path) -> Server:
    node = shutil.which("node")
    if node is None:
        raise BenchError("node is missing: run scripts/setup.sh --test")
    if not (NODE_DIR / "node_modules" / "socket.io").is_dir():
        raise BenchError("loadtests/node has no node_modules: run scripts/setup.sh --test")
    port = free_port()
    log = open(var / "node.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [node, str(NODE_DIR / "chat_server.js"), str(port)], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/socket.io/?EIO=4&transport=polling", proc, "the node server")
    return Server("node socket.io", url, proc, [])


def start_redis(var: Path) -> tuple[str, subprocess.Popen[Any]]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise BenchError("redis-server missing: run scripts/setup.sh")
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(var),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            return f"redis://127.0.0.1:{port}/0", proc
        time.sleep(0.05)
    raise BenchError("redis-server did not start")


# ================================================================================ database


def create_rooms(dsn: str, n: int) -> list[str]:
    async def go() -> list[str]:
        from api.streams import store
        from teezu.db import apply_migrations, create_pool

        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            await apply_migrations(pool)
            ids = []
            for i in range(n):
                row, _ = await store.create_stream(
                    pool, title=f"bench room {i}", creator_handle="bench"
                )
                ids.append(str(row.id))
            return ids
        finally:
            await pool.close()

    return asyncio.run(go())


def process_tree_cpu(pid: int | None) -> dict[int, float]:
    """CPU seconds of a process and each of its children, by pid (PostgreSQL's backends)."""
    if pid is None:
        return {}
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


# ================================================================================ one load


def run_generator(
    plan: LoadPlan, server: Server, var: Path, profile: Path | None = None
) -> dict[str, Any]:
    """One load against ``server``; with ``profile``, py-spy records the server's window there."""
    load_avg = list(os.getloadavg())
    path = var / f"plan-{uuid.uuid4().hex[:8]}.json"
    path.write_text(plan_to_json(plan))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "loadtests" / "chatload.py"), str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    main = [psutil.Process(server.proc.pid)]
    samples: dict[str, tuple[float, float, dict[int, float], float]] = {}
    result: dict[str, Any] = {}
    spy: list[subprocess.Popen[bytes]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(WINDOW):
                what = line[len(WINDOW) :].strip()
                if what == "start" and profile is not None:
                    started = chat_profile.record(server.proc.pid, plan.seconds, profile)
                    spy.extend([started] if started else [])
                samples[what] = (
                    time.monotonic(),
                    cpu_of(main),
                    process_tree_cpu(server.database_pid),
                    _busy(),
                )
            elif line.startswith(RESULT):
                result.update(json.loads(line[len(RESULT) :]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=plan.warmup + plan.seconds + plan.drain + 300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise BenchError("the load generator did not finish") from None
    reader.join(10)
    for p in spy:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
    if proc.returncode != 0 or not result:
        err = proc.stderr.read() if proc.stderr else ""
        raise BenchError(f"load generator failed ({proc.returncode}): {err[-3000:]}")
    if "start" in samples and "end" in samples:
        (t0, c0, e0, b0), (t1, c1, e1, b1) = samples["start"], samples["end"]
        result["server_cpu"] = (c1 - c0) / (t1 - t0)
        # backends born during the window count whole; one that ended in it is missed
        result["database_cpu"] = sum(c - e0.get(pid, 0.0) for pid, c in e1.items()) / (t1 - t0)
        result["machine_busy_cpus"] = (b1 - b0) / (t1 - t0)
    result["load_avg"] = load_avg
    if profile is not None and spy and profile.exists():
        result["profile"] = chat_profile.summarize(profile, result["delivered"], result["sent"])
    return result


# ================================================================================ report


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose delivered/s is the median (the lower one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["delivered_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def cost_per_k(r: dict[str, Any]) -> float:
    """Server CPU (with its database) per 1000 deliveries: what a delivery costs, whoever else
    competed for the CPUs meanwhile."""
    cpu = r.get("server_cpu", 0.0) + r.get("database_cpu", 0.0)
    return 1e6 * cpu / max(r["delivered_per_s"], 1e-9)


def fmt_line(server: str, r: dict[str, Any]) -> str:
    lat, ack = r["latency_ms"], r["ack_ms"]
    gen = r["generator_cpu"]
    warn = "  <- generator near one core" if gen > 0.85 else ""
    # CPU the rest of the machine used meanwhile: other processes compete for the 2 cores
    others = (
        r.get("machine_busy_cpus", 0.0)
        - r.get("server_cpu", 0.0)
        - r.get("database_cpu", 0.0)
        - gen
    )
    db = f" db {r['database_cpu']:.2f}" if r.get("database_cpu") else ""
    return (
        f"  {server:<22} {r['delivered_per_s']:>9.0f}/s  of {r['offered_deliveries_per_s']:>8.0f}"
        f"  p50 {lat['50']:>6.1f}  p99 {lat['99']:>7.1f} ms  ack p50 {ack['50']:>6.1f}"
        f" p99 {ack['99']:>7.1f}  missing {r['missing']:>6}  pkts {r['packets_per_s']:>7.0f}/s"
        f"  cpu server {r.get('server_cpu', float('nan')):.2f}{db}  gen {gen:.2f}"
        f"  ({cost_per_k(r):.1f} server ms/1k)"
        f"  others {others:.2f}"
        + (f"  load {r['load_avg'][0]:.2f}" if "load_avg" in r else "")
        + (f"  errors {r['send_errors']}" if r["send_errors"] else "")
        + warn
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenarios", default="busy,small")
    ap.add_argument("--busy-members", type=int, default=500)
    ap.add_argument("--busy-senders", type=int, default=50)
    ap.add_argument("--small-rooms", type=int, default=50)
    ap.add_argument("--small-members", type=int, default=10)
    ap.add_argument("--small-senders", type=int, default=2)
    ap.add_argument("--rates", default="1,4", help="messages/s per sender, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--drain", type=float, default=2.0)
    ap.add_argument("--servers", default="ours,node")
    ap.add_argument("--ours-batch", default="0.05,0", help="fan-out tick(s) in s; 0: per message")
    ap.add_argument("--redis", action="store_true", help="ours with the Redis manager")
    ap.add_argument(
        "--ours-mood",
        default="on",
        help="ours with the chat's mood analysis on, off, or both (on,off): its effect on delivery",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per server and load (summary: the median)"
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument("--profile", action="store_true", help="py-spy our server in each window")
    ap.add_argument("--idle-seconds", type=float, default=5.0, help="the idle check's length")
    ap.add_argument(
        "--quiet-wait", type=float, default=0.0, help="wait up to this many s for a quiet machine"
    )
    ap.add_argument("--quiet-below", type=float, default=0.3, help="busy CPUs counted as quiet")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rates = [float(r) for r in args.rates.split(",")]
    scenarios = [s.strip() for s in args.scenarios.split(",")]
    servers = [s.strip() for s in args.servers.split(",")]
    batches = [float(b) for b in args.ours_batch.split(",")]

    var = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    pg = None
    redis_proc = None
    out: dict[str, Any] = {"runs": [], "machine": {"cpus": os.cpu_count()}}
    try:
        dsn = os.environ.get("TEEZU_DATABASE_URL", "")
        if not dsn and "ours" in servers:
            from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

            pg = EmbeddedPostgres(default_data_dir(var))
            dsn = pg.start()
        redis_url = ""
        if args.redis:
            redis_url, redis_proc = start_redis(var)
        n_rooms = 1 + args.small_rooms
        rooms = create_rooms(dsn, n_rooms) if dsn else [str(uuid.uuid4()) for _ in range(n_rooms)]
        plans: dict[str, list[RoomPlan]] = {
            "busy": [RoomPlan(rooms[0], args.busy_members, args.busy_senders)],
            "small": [RoomPlan(r, args.small_members, args.small_senders) for r in rooms[1:]],
        }
        max_senders = max(sum(r.senders for r in plans[s]) for s in scenarios)
        pg_pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0]) if pg else None

        variants: list[tuple[str, Any]] = []
        for s in servers:
            if s == "ours":
                moods = [m.strip() == "on" for m in args.ours_mood.split(",")]
                variants += [("ours", (b, m)) for b in batches for m in moods]
            elif s == "node":
                variants.append(("node", None))
            else:
                raise BenchError(f"unknown server {s}")

        node_version = subprocess.run(["node", "--version"], capture_output=True, text=True)
        print(
            f"TeezU Live chat benchmark: {os.cpu_count()} CPUs, python {sys.version.split()[0]},"
            f" node {node_version.stdout.strip()}",
            flush=True,
        )
        # Nothing of ours runs yet (the database is idle): what is busy now is someone else's.
        idle = wait_quiet(args.quiet_wait, args.quiet_below, args.idle_seconds)
        out["idle_check"] = idle
        print(
            fmt_idle(idle) + ("" if idle["quiet"] else "  <- NOT quiet: figures are contended"),
            flush=True,
        )
        # Servers take turns on each load (started afresh), so whatever else the machine runs
        # meanwhile falls on both alike rather than on whichever ran in a busy minute.
        runs: dict[tuple[str, float], dict[str, list[dict[str, Any]]]] = {}
        for scenario in scenarios:
            for rate in rates:
                print(f"[{scenario} {rate:g}/s per sender]", flush=True)
                for rep in range(args.repeat):
                    # alternate the order, so no server always runs first or last
                    for kind, batch in variants if rep % 2 == 0 else variants[::-1]:
                        server = (
                            start_ours(dsn, var, batch[0], max_senders, pg_pid, redis_url, batch[1])
                            if kind == "ours"
                            else start_node(var)
                        )
                        try:
                            plan = LoadPlan(
                                url=server.url,
                                rooms=plans[scenario],
                                rate=rate,
                                seconds=args.seconds,
                                warmup=args.warmup,
                                drain=args.drain,
                                sender_cookies=server.cookies
                                or [""] * sum(r.senders for r in plans[scenario]),
                            )
                            spy = (
                                var / f"profile-{scenario}-{rate:g}-{rep}.raw"
                                if args.profile and kind == "ours"
                                else None
                            )
                            r = run_generator(plan, server, var, spy)
                        finally:
                            server.close()
                        r.update(server=server.name, scenario=scenario, rate=rate, repeat=rep)
                        out["runs"].append(r)
                        runs.setdefault((scenario, rate), {}).setdefault(server.name, []).append(r)
                        print(fmt_line(server.name, r), flush=True)
                        if "profile" in r:
                            print(r["profile"], flush=True)
        # With --repeat, each server's figures are the run of median delivered/s.
        table = {
            load: {name: median_run(rs) for name, rs in by_server.items()}
            for load, by_server in runs.items()
        }

        print(
            "\nSummary (delivered messages/s; latency send -> every member's receipt"
            + (f"; the median of {args.repeat} runs" if args.repeat > 1 else "")
            + ")"
        )
        ratios = []
        for (scenario, rate), by_server in table.items():
            plan_rooms = plans[scenario]
            members = sum(r.members for r in plan_rooms)
            senders = sum(r.senders for r in plan_rooms)
            print(
                f"\n{scenario}: {len(plan_rooms)} room(s), {members} connections, {senders}"
                f" senders x {rate:g} msg/s"
            )
            for name, r in by_server.items():
                print(fmt_line(name, r))
            node = by_server.get("node socket.io")
            ours = {k: v for k, v in by_server.items() if k.startswith("ours")}
            for name, r in ours.items() if node else ():
                ratio = r["delivered_per_s"] / max(node["delivered_per_s"], 1e-9)
                # CPU times tick in 10 ms: a figure from a few ticks means nothing
                node_cost = cost_per_k(node) if node.get("server_cpu", 0) >= 0.05 else 0.0
                cost_ratio = cost_per_k(r) / node_cost if node_cost else float("nan")
                ratios.append(
                    {
                        "scenario": scenario,
                        "rate": rate,
                        "ours": name,
                        "ratio_delivered": ratio,
                        "ratio_cost_per_delivery": cost_ratio,
                        "ours_p99_ms": r["latency_ms"]["99"],
                        "node_p99_ms": node["latency_ms"]["99"],
                    }
                )
                print(
                    f"  {name}: ratio ours/node delivered/s = {ratio:.2f}, server CPU per"
                    f" delivery {cost_ratio:.2f}x node's; p99 {r['latency_ms']['99']:.1f} ms"
                    f" (node {node['latency_ms']['99']:.1f} ms)"
                )
        out["ratios"] = ratios
        write_report(args.json, out)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for log in sorted(var.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
        return 1
    finally:
        if redis_proc is not None:
            stop(redis_proc)
        if pg is not None:
            pg.stop()
        shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
