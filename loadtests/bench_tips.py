#!/usr/bin/env python3
"""Tips to one hot creator: committed tips per second, latency, and pgbench as the reference.

**Target: >= 3,000 tips/s to ONE creator on this 2-core machine.**

What runs:

* a PostgreSQL: the embedded one (``teezu.embedded_pg``, the server ``teezu serve`` runs, with
  its default settings: fsync and synchronous_commit on) in a fresh data directory, or
  ``--dsn``; a fresh database in it, migrated;
* one creator with one live stream, and ``--tippers`` viewers, each funded through the real
  purchase path (a pending purchase, then the confirmation a provider webhook triggers);
* ``--tippers`` asyncio tasks (worker processes with ``--procs``) that each tip the stream
  in a closed loop for ``--seconds`` after ``--warmup``, through ``api.wallet.service.Ledger.tip``
  exactly as ``POST /api/v1/streams/{id}/tip`` calls it: every tip has its own Idempotency-Key,
  is checked against the live stream, split under the fee schedule and committed as its own
  ledger transaction with its own stored outcome; concurrent tips share database commits (group
  commit, ``api.wallet.tip_batches``, as in the API; ``--compare-alone`` runs the same load
  again with one database transaction per tip), over an asyncpg pool of ``--connections`` per
  process. HTTP
  is not part of the figure: this measures the ledger and the database, which is where the
  hot-account problem lives;
* afterwards: ``teezu ledger check`` (run as the real CLI, against this database) must pass,
  and the number of tip transactions in the ledger must equal the tips the tippers saw
  committed;
* the reference, in the same run and database: ``pgbench -N`` (the "simple update" built-in:
  three statements on random rows plus an insert, one transaction each) with the same number
  of connections, protocol ``prepared`` (asyncpg also uses prepared statements), for the same
  duration, from the PostgreSQL binaries that serve the database. Printed: our tips/s, its
  TPS, and the ratio.

The machine is shared: the load average and the CPU every other process used during each
window are printed with the figures.

The exit status is non-zero on errors or when the ledger check fails, never because of a
figure.

    .venv/bin/python loadtests/bench_tips.py                     # 200 tippers, 30 s
    .venv/bin/python loadtests/bench_tips.py --seconds 3 --warmup 1 --tippers 20 \
        --pgbench-seconds 3                                      # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import psutil  # noqa: E402

from api.wallet.model import IdempotencyKey  # noqa: E402
from api.wallet.service import Ledger  # noqa: E402
from api.wallet.tips import TipRequest  # noqa: E402
from loadtests.common import write_report  # noqa: E402
from teezu.db import apply_migrations, create_pool  # noqa: E402
from teezu.embedded_pg import EmbeddedPostgres, _bundle_root  # noqa: E402

FUNDS = 10**12  # tokens per tipper: nobody runs dry; insufficient funds is tested elsewhere


class BenchError(Exception):
    pass


# ------------------------------------------------------------------------------ setup


async def prepare(dsn: str, tippers: int, creators: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """``creators`` creators with a live stream each, and funded tippers; returns
    (streams, tippers)."""
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        await apply_migrations(pool)
        ledger = Ledger(pool)
        streams = []
        for n in range(creators):
            stream, creator = uuid.uuid4(), uuid.uuid4()
            await pool.execute(  # an account that cannot sign in: it only receives tips
                "INSERT INTO users (id, email, handle, password_hash, date_of_birth) "
                "VALUES ($1, $2, $3, '!', '1990-01-01')",
                creator,
                f"bench_creator_{n}@example.org",
                f"bench_creator_{n}",
            )
            await pool.execute(
                "INSERT INTO streams (id, creator_handle, title, state, publish_token_hash, "
                "creator_id) VALUES ($1, $2, 'Tip benchmark', 'live', '\\x00', $3)",
                stream,
                f"bench_creator_{n}",
                creator,
            )
            streams.append(stream)
        await pool.execute(
            "INSERT INTO token_packages (id, tokens, price_minor, currency) "
            "VALUES ('bench', $1, 100, 'EUR') ON CONFLICT DO NOTHING",
            FUNDS,
        )
        viewers = [uuid.uuid4() for _ in range(tippers)]
        for viewer in viewers:
            created = await ledger.create_purchase(
                IdempotencyKey(viewer, "bench-funding"), "bench", "sandbox"
            )
            purchase = uuid.UUID(created.data["purchase"]["id"])
            async with pool.acquire() as conn, conn.transaction():
                if await ledger.confirm_purchase(conn, purchase) != "applied":
                    raise BenchError("funding purchase was not applied")
        return streams, viewers
    finally:
        await pool.close()


# ------------------------------------------------------------------------------ tipping


async def tip_loop(
    dsn: str,
    targets: list[tuple[uuid.UUID, uuid.UUID]],
    connections: int,
    warmup: float,
    seconds: float,
    start_at: float,
    run: str,
    group_commit: bool = True,
) -> dict[str, Any]:
    """Run one closed-loop tipper per (viewer, stream); returns counts and latencies of the
    window. Keys are unique per tip (``run`` keeps two runs' keys apart)."""
    pool = await create_pool(dsn, min_size=connections, max_size=connections)
    # Batches in flight: all but one of the pool's connections (as the API's ledger leaves
    # connections for other work).
    ledger = Ledger(pool, group_commit=group_commit, group_commit_inflight=max(1, connections - 1))
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0, "warmup_ok": 0}
    window_start = start_at + warmup
    window_end = window_start + seconds

    async def tipper(viewer: uuid.UUID, stream: uuid.UUID, n: int) -> None:
        i = 0
        while True:
            t0 = time.monotonic()
            if t0 >= window_end:
                return
            i += 1
            outcome = await ledger.tip(
                IdempotencyKey(viewer, f"{run}-{n}-{i}"), TipRequest(stream, 1 + (i * 7919) % 50)
            )
            t1 = time.monotonic()
            if not outcome.ok:
                counts["failed"] += 1
            elif window_start <= t0 and t1 <= window_end:
                counts["ok"] += 1
                latencies.append(t1 - t0)
            elif t1 <= window_end:
                counts["warmup_ok"] += 1
            else:
                counts["warmup_ok"] += 1  # committed, but straddles the end: not in the window

    delay = start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    cpu0 = time.process_time()
    try:
        async with asyncio.TaskGroup() as tg:
            for n, (viewer, stream) in enumerate(targets):
                tg.create_task(tipper(viewer, stream, n))
    finally:
        await ledger.close()
        await pool.close()
    b = ledger.batcher
    return {
        **counts,
        "latencies": latencies,
        "cpu_s": time.process_time() - cpu0,
        "batches": b.batches if b else 0,
        "batched_tips": b.batched_tips if b else 0,
        "fallbacks": b.fallbacks if b else 0,
    }


def run_loop(coro: Any, loop: str) -> Any:
    """Run ``coro`` on asyncio's default loop or on uvloop."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            coro.close()
            raise BenchError("--loop uvloop needs uvloop: .venv/bin/pip install uvloop") from None
        return uvloop.run(coro)
    return asyncio.run(coro)


def _proc_main(args: tuple[Any, ...], loop: str, out: Any) -> None:
    try:
        out.put(run_loop(tip_loop(*args), loop))
    except BaseException as exc:  # report, never hang the parent
        out.put({"error": repr(exc)})


def run_tippers(
    dsn: str,
    targets: list[tuple[uuid.UUID, uuid.UUID]],
    *,
    procs: int,
    connections: int,
    warmup: float,
    seconds: float,
    loop: str,
    run: str,
    group_commit: bool = True,
) -> dict[str, Any]:
    start_at = time.monotonic() + 1.0  # every process starts together
    if procs == 1:
        results = [
            run_loop(
                tip_loop(dsn, targets, connections, warmup, seconds, start_at, run, group_commit),
                loop,
            )
        ]
    else:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        start_at += 3.0  # spawn time
        workers = [
            ctx.Process(
                target=_proc_main,
                args=(
                    (
                        dsn,
                        targets[i::procs],
                        connections,
                        warmup,
                        seconds,
                        start_at,
                        f"{run}{i}",
                        group_commit,
                    ),
                    loop,
                    queue,
                ),
            )
            for i in range(procs)
        ]
        for w in workers:
            w.start()
        results = [queue.get(timeout=warmup + seconds + 120) for _ in workers]
        for w in workers:
            w.join(30)
    for r in results:
        if "error" in r:
            raise BenchError(f"a tipper process failed: {r['error']}")
    lat = sorted(x for r in results for x in r["latencies"])
    ok = sum(r["ok"] for r in results)
    return {
        "ok": ok,
        "failed": sum(r["failed"] for r in results),
        "committed_total": ok + sum(r["warmup_ok"] for r in results),
        "tips_per_s": ok / seconds,
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
        "max_ms": 1000 * lat[-1] if lat else None,
        "client_cpu_s": sum(r["cpu_s"] for r in results),
        "batches": sum(r["batches"] for r in results),
        "batched_tips": sum(r["batched_tips"] for r in results),
        "fallbacks": sum(r["fallbacks"] for r in results),
    }


# ------------------------------------------------------------------------------ measuring


class CpuWindow:
    """CPU used during a window: by the PostgreSQL server's processes, by us (this process and
    its children), and by everything else on the machine.

    Backends exit when their connection closes, taking their CPU times with them, so a thread
    samples the server's processes every 0.2 s and keeps each one's last reading.
    """

    def __init__(self, postmaster_pid: int | None) -> None:
        self.postmaster_pid = postmaster_pid
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        if self.postmaster_pid is None:
            return
        try:
            root = psutil.Process(self.postmaster_pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                used = t.user + t.system
                # A process born during the window counts from zero.
                self._first.setdefault(p.pid, used if not self._sampling else 0.0)
                self._last[p.pid] = used

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    @staticmethod
    def _ours() -> float:
        me = os.times()
        return me.user + me.system + me.children_user + me.children_system

    def __enter__(self) -> CpuWindow:
        self._sampling = False
        self._sample()
        self._sampling = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        t = psutil.cpu_times()
        self.t0 = time.monotonic()
        self.all0 = t.user + t.system + t.nice + t.irq + t.softirq
        self.ours0 = self._ours()
        self.load0 = os.getloadavg()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        t = psutil.cpu_times()
        self.wall = time.monotonic() - self.t0
        self.pg = sum(self._last[p] - self._first[p] for p in self._last)
        self.ours = self._ours() - self.ours0
        everything = t.user + t.system + t.nice + t.irq + t.softirq - self.all0
        self.other = max(0.0, everything - self.pg - self.ours)
        self.load1 = os.getloadavg()

    def summary(self) -> dict[str, Any]:
        pct = lambda s: round(100 * s / self.wall, 1)  # noqa: E731 - % of one core
        return {
            "postgres_cpu_pct": pct(self.pg),
            "client_cpu_pct": pct(self.ours),
            "other_cpu_pct": pct(self.other),
            "loadavg_start": " ".join(f"{x:.2f}" for x in self.load0),
            "loadavg_end": " ".join(f"{x:.2f}" for x in self.load1),
        }


async def postmaster_pid(dsn: str) -> int | None:
    """The server's postmaster, found as the parent of our own backend (a local server)."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        # While the connection is open: its backend exits with it.
        return psutil.Process(backend).ppid() or None
    except psutil.Error:
        return None  # a server on another machine: its CPU is not measured
    finally:
        await conn.close()


def pg_bin(name: str) -> str:
    bundled = _bundle_root() / "bin" / name
    if bundled.is_file():
        return str(bundled)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name} not found")
    return found


def libpq_args(dsn: str) -> tuple[list[str], str]:
    """(connection options, database name) for the PostgreSQL command-line tools."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    port = str(query.get("port", [parts.port or 5432])[0])
    args = ["-h", host, "-p", port, "-U", parts.username or "postgres"]
    return args, parts.path.lstrip("/")


def run_pgbench(dsn: str, clients: int, seconds: float, scale: int = 10) -> dict[str, Any]:
    conn_args, db = libpq_args(dsn)
    env = {**os.environ}
    parts = __import__("urllib.parse").parse.urlsplit(dsn)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    init = subprocess.run(
        [pg_bin("pgbench"), *conn_args, "-i", "-s", str(scale), "-q", db],
        capture_output=True,
        text=True,
        env=env,
    )
    if init.returncode:
        raise BenchError(f"pgbench -i failed: {init.stderr[-2000:]}")
    try:
        proc = subprocess.run(
            [
                pg_bin("pgbench"),
                *conn_args,
                "-N",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(max(1, round(seconds))),
                db,
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode:
            raise BenchError(f"pgbench failed: {proc.stderr[-2000:]}")
        tps = re.search(r"tps = ([0-9.]+)", proc.stdout)
        lat = re.search(r"latency average = ([0-9.]+) ms", proc.stdout)
        if not tps:
            raise BenchError(f"no tps in pgbench output: {proc.stdout[-2000:]}")
        return {"tps": float(tps.group(1)), "latency_avg_ms": float(lat.group(1)) if lat else None}
    finally:
        subprocess.run(
            [pg_bin("pgbench"), *conn_args, "-i", "-I", "d", db],
            capture_output=True,
            env=env,
        )


def ledger_check(dsn: str) -> tuple[int, str]:
    env = {**os.environ, "TEEZU_DATABASE_URL": dsn, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "teezu.cli", "ledger", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return proc.returncode, proc.stdout + proc.stderr


async def count_tips(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM ledger_transactions WHERE kind = 'tip'")
        )
    finally:
        await conn.close()


async def create_database(server_dsn: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    name = f"bench_tips_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))


async def drop_database(server_dsn: str, dsn: str) -> None:
    from urllib.parse import urlsplit

    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path.lstrip("/")}" WITH (FORCE)'
        )
    finally:
        await conn.close()


# ------------------------------------------------------------------------------ main


def _cpu_line(cpu: CpuWindow, client: str) -> str:
    c = cpu.summary()
    return (
        f"  CPU (% of one core):       postgres {c['postgres_cpu_pct']}, {client} "
        f"{c['client_cpu_pct']}, other processes {c['other_cpu_pct']}; load "
        f"{c['loadavg_start']} -> {c['loadavg_end']}"
    )


def _tips_line(label: str, tips: dict[str, Any]) -> str:
    line = (
        f"{label:<28}{tips['tips_per_s']:8.0f}   (p50 {tips['p50_ms']:.1f} ms, "
        f"p99 {tips['p99_ms']:.1f} ms, max {tips['max_ms']:.1f} ms; {tips['ok']} in the window, "
        f"{tips['failed']} refused)"
    )
    if tips["batches"]:
        line += (
            f"\n  group commit:              {tips['batched_tips'] / tips['batches']:.1f} tips "
            f"per batched commit ({tips['batches']} batches, {tips['fallbacks']} fell back)"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tippers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--connections", type=int, default=8, help="asyncpg pool size per process")
    ap.add_argument(
        "--procs", type=int, default=2, help="tipper processes (like API workers, one per core)"
    )
    ap.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio", help="tippers' event loop"
    )
    ap.add_argument("--pgbench-seconds", type=float, default=None, help="default: --seconds")
    ap.add_argument(
        "--pgbench-scale", type=int, default=10, help="pgbench -i -s (10: 1M accounts rows)"
    )
    ap.add_argument(
        "--compare-spread",
        action="store_true",
        help="also run the same load spread over one creator per tipper (no hot account)",
    )
    ap.add_argument(
        "--compare-alone",
        action="store_true",
        help="also run the hot load with one commit per tip (group commit off)",
    )
    ap.add_argument("--dsn", default="", help="a PostgreSQL server (default: embedded, fresh)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)

    tmp: tempfile.TemporaryDirectory[str] | None = None
    pg: EmbeddedPostgres | None = None
    if args.dsn:
        server_dsn = args.dsn
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-tips-")
        pg = EmbeddedPostgres(Path(tmp.name) / "pg")
        server_dsn = pg.start()
    try:
        dsn = asyncio.run(create_database(server_dsn))
        streams, viewers = asyncio.run(
            prepare(dsn, args.tippers, 1 + (args.tippers if args.compare_spread else 0))
        )
        pg_pid = asyncio.run(postmaster_pid(dsn))
        print(
            f"TeezU Live tip benchmark: {args.tippers} tippers -> 1 creator, "
            f"{args.seconds:g} s (+{args.warmup:g} s warm-up), {args.procs} process(es) x "
            f"{args.connections} connections, {args.loop} loop; "
            f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )
        run = {
            "procs": args.procs,
            "connections": args.connections,
            "warmup": args.warmup,
            "seconds": args.seconds,
            "loop": args.loop,
        }
        with CpuWindow(pg_pid) as cpu_tips:
            tips = run_tippers(dsn, [(v, streams[0]) for v in viewers], run="hot", **run)
        alone = cpu_alone = None
        if args.compare_alone:
            with CpuWindow(pg_pid) as cpu_alone:
                alone = run_tippers(
                    dsn,
                    [(v, streams[0]) for v in viewers],
                    run="alone",
                    group_commit=False,
                    **run,
                )
        spread = cpu_spread = None
        if args.compare_spread:
            with CpuWindow(pg_pid) as cpu_spread:
                spread = run_tippers(
                    dsn, list(zip(viewers, streams[1:], strict=True)), run="spread", **run
                )
        in_ledger = asyncio.run(count_tips(dsn))
        committed = sum(r["committed_total"] for r in (tips, alone, spread) if r)
        check_rc, check_out = ledger_check(dsn)
        clients = args.connections * args.procs
        with CpuWindow(pg_pid) as cpu_pgbench:
            pgbench = run_pgbench(
                dsn, clients, args.pgbench_seconds or args.seconds, args.pgbench_scale
            )
        ratio = tips["tips_per_s"] / pgbench["tps"] if pgbench["tps"] else 0.0
        result = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "tips": tips,
            "tips_cpu": cpu_tips.summary(),
            "alone": alone,
            "alone_cpu": cpu_alone.summary() if cpu_alone else None,
            "spread": spread,
            "spread_cpu": cpu_spread.summary() if cpu_spread else None,
            "tips_in_ledger": in_ledger,
            "tips_committed": committed,
            "ledger_check_exit": check_rc,
            "pgbench": pgbench,
            "pgbench_cpu": cpu_pgbench.summary(),
            "ratio": ratio,
            "cpus": os.cpu_count(),
        }
        for r in (tips, alone, spread):
            if r:
                r.pop("latencies", None)
        lines = ["", _tips_line("tips/s to ONE creator:", tips), _cpu_line(cpu_tips, "tippers")]
        if alone and cpu_alone:
            lines += [
                _tips_line("same, one commit per tip:", alone),
                _cpu_line(cpu_alone, "tippers"),
                f"group commit / one each:    {tips['tips_per_s'] / alone['tips_per_s']:8.2f}",
            ]
        if spread and cpu_spread:
            lines += [
                _tips_line("tips/s, 1 creator each:", spread),
                _cpu_line(cpu_spread, "tippers"),
                f"hot / spread:               {tips['tips_per_s'] / spread['tips_per_s']:8.2f}",
            ]
        lines += [
            f"pgbench -N TPS:             {pgbench['tps']:8.0f}   ({clients} clients, "
            f"-M prepared, latency avg {pgbench['latency_avg_ms']} ms)",
            _cpu_line(cpu_pgbench, "pgbench"),
            f"ratio tips/s / pgbench TPS: {ratio:8.2f}",
            f"tip transactions in the ledger: {in_ledger} (tippers saw {committed} committed)",
            f"teezu ledger check: exit {check_rc}",
        ]
        print("\n".join(lines))
        print(
            "  " + "\n  ".join(line for line in check_out.strip().splitlines() if "[" not in line)
        )
        write_report(args.json, result)
        if check_rc != 0:
            print("FAILED: the ledger check did not pass", file=sys.stderr)
            return 1
        if in_ledger != committed:
            print("FAILED: the ledger does not hold every committed tip", file=sys.stderr)
            return 1
        if not args.keep:
            asyncio.run(drop_database(server_dsn, dsn))
        return 0
    finally:
        if pg is not None:
            pg.stop()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
