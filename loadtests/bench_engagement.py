#!/usr/bin/env python3
"""The mood strip under load: N voters in one room, each voting once a second.

One ``teezu api`` process (the API role, as deployed; the embedded PostgreSQL this script
starts unless ``TEEZU_DATABASE_URL`` is set) and ``--voters`` signed-up members, each a
python-socketio client over a real WebSocket in this process, joined to one room. Each voter
votes a random mood once a second (open loop, a random phase per voter), for ``--seconds``
after ``--warmup``. Printed:

* votes/s accepted (acked ok) and refused (by code);
* the strip's broadcast rate: ``mood:distribution`` events per second one member receives
  (the design: at most one per ``TEEZU_MOOD_INTERVAL``, 0.2 s, however many votes);
* the delay from a vote's send to the first broadcast that counts it (the ack's ``seq``
  against the broadcast's ``votes``), p50/p99 (the target: p99 <= 250 ms);
* the server's CPU per accepted vote.

The reference, in the same run and against the same process: the same clients sending
``mood:get`` at the same rate (an acknowledged request through the same Socket.IO and
membership checks that counts nothing), so the vote's own cost reads as a ratio to the
transport's. The generator's CPU is printed too: when it nears one core, it, not the server,
is the limit.

    .venv/bin/python loadtests/bench_engagement.py                         # 2,000 voters
    .venv/bin/python loadtests/bench_engagement.py --voters 40 --seconds 3  # smoke

The exit status is non-zero only on errors, never because of a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import socketio  # noqa: E402

from loadtests.bench_chat import BenchError, free_port, sign_up, stop, wait_http  # noqa: E402

MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")


def start_api(dsn: str, var: Path) -> tuple[str, subprocess.Popen[Any]]:
    from tests.apinode import TEST_SETTINGS

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEEZU_DATABASE_URL": dsn,
        "TEEZU_PORT": str(port),
        "TEEZU_VAR_DIR": str(var),
        "TEEZU_NODE_ID": "bench-engagement",
        "TEEZU_PLAYBACK_KEY": "bench",
        "TEEZU_LOG_LEVEL": "WARNING",
        # sign-ups of the voters: no sign-up limit, cheapest bcrypt (not what is measured)
        **{f"TEEZU_{k.upper()}": v for k, v in TEST_SETTINGS.items()},
    }
    log = open(var / "api.log", "w")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(
        [sys.executable, "-m", "teezu.cli", "api"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", proc, "the API process")
    return url, proc


def create_room(dsn: str) -> str:
    async def go() -> str:
        from api.streams import store
        from teezu.db import apply_migrations, create_pool

        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            await apply_migrations(pool)
            row, _ = await store.create_stream(
                pool, title="bench mood room", creator_handle="bench"
            )
            return str(row.id)
        finally:
            await pool.close()

    return asyncio.run(go())


def cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))]


class Voter:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.strips: list[tuple[float, int]] = []  # (arrival, votes) of each broadcast
        self.sio.on("mood:distribution", self._strip)

    async def _strip(self, data: dict[str, Any]) -> None:
        self.strips.append((time.monotonic(), int(data["votes"])))


async def connect_all(url: str, cookies: list[str], room: str) -> list[Voter]:
    gate = asyncio.Semaphore(50)

    async def one(cookie: str) -> Voter:
        v = Voter()
        async with gate:
            await v.sio.connect(
                url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=30
            )
            ack = await v.sio.call("chat:join", {"streamId": room}, timeout=30)
        if not ack.get("ok"):
            raise BenchError(f"join refused: {ack}")
        return v

    return list(await asyncio.gather(*(one(c) for c in cookies)))


async def run_phase(
    voters: list[Voter], room: str, event: str, seconds: float, warmup: float
) -> dict[str, Any]:
    """Each voter sends ``event`` once a second for warmup + seconds; figures for the window."""
    sent: list[tuple[float, int]] = []  # (send time, seq) of accepted votes in the window
    codes: Counter[str] = Counter()
    accepted = 0
    start = time.monotonic() + 0.5
    window = (start + warmup, start + warmup + seconds)

    async def loop(v: Voter) -> None:
        nonlocal accepted
        t = start + random.random()
        while t < window[1]:
            await asyncio.sleep(max(0.0, t - time.monotonic()))
            payload: dict[str, Any] = {"streamId": room}
            if event == "mood:vote":
                payload["mood"] = random.choice(MOODS)
            at = time.monotonic()
            try:
                ack = await v.sio.call(event, payload, timeout=30)
            except Exception as exc:  # noqa: BLE001 - a timeout counts as an error
                codes[type(exc).__name__] += 1
                t += 1.0
                continue
            inside = window[0] <= at < window[1]
            if ack.get("ok"):
                if inside:
                    accepted += 1
                    if "seq" in ack:
                        sent.append((at, int(ack["seq"])))
            elif inside:
                codes[str(ack.get("code"))] += 1
            t += 1.0

    await asyncio.gather(*(loop(v) for v in voters))
    await asyncio.sleep(1.0)  # the last broadcasts
    observer = voters[0]
    strips = [(t, n) for t, n in observer.strips if window[0] <= t < window[1] + 1.0]
    delays = []
    for at, seq in sent:
        first = next((t for t, n in strips if n >= seq and t >= at), None)
        if first is not None:
            delays.append((first - at) * 1000)
    in_window = [t for t, _ in strips if window[0] <= t < window[1]]
    return {
        "accepted": accepted,
        "accepted_per_s": accepted / seconds,
        "refused": dict(codes),
        "broadcasts_per_s": len(in_window) / seconds,
        "delay_ms": {"50": pct(delays, 50), "99": pct(delays, 99), "max": max(delays, default=0)},
        "unmatched": len(sent) - len(delays),
        "window": window,
    }


async def bench(
    url: str, cookies: list[str], room: str, args: argparse.Namespace, server: psutil.Process
) -> dict[str, Any]:
    voters = await connect_all(url, cookies, room)
    out: dict[str, Any] = {}
    try:
        for event in ("mood:get", "mood:vote"):  # the reference first, then the votes
            for v in voters:
                v.strips.clear()
            server_before, own_before = cpu(server), own_cpu()
            t0 = time.monotonic()
            figures = await run_phase(voters, room, event, args.seconds, args.warmup)
            wall = time.monotonic() - t0
            server_s, own_s = cpu(server) - server_before, own_cpu() - own_before
            # CPU over the whole phase (warm-up and drain included) per event sent in it
            events = len(voters) * (args.warmup + args.seconds + 1)
            figures.update(
                server_cpu_s=server_s,
                server_cpu_per_event_us=server_s / max(1, events) * 1e6,
                server_load=server_s / wall,
                generator_load=own_s / wall,
            )
            out[event] = figures
    finally:
        await asyncio.gather(*(v.sio.disconnect() for v in voters), return_exceptions=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voters", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="bench-engagement-"))
    pg = None
    proc = None
    try:
        dsn = os.environ.get("TEEZU_DATABASE_URL", "")
        if not dsn:
            from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

            pg = EmbeddedPostgres(default_data_dir(var))
            dsn = pg.start()
        room = create_room(dsn)
        url, proc = start_api(dsn, var)
        cookies = asyncio.run(sign_up(url, args.voters))
        result = asyncio.run(bench(url, cookies, room, args, psutil.Process(proc.pid)))
    finally:
        if proc is not None:
            stop(proc)
        if pg is not None:
            pg.stop()
    vote, ref = result["mood:vote"], result["mood:get"]
    load = os.getloadavg()
    print(
        f"TeezU Live engagement benchmark: {args.voters} voters, one vote/s each, "
        f"{args.seconds:g} s (+{args.warmup:g} s warm-up); {os.cpu_count()} CPUs, "
        f"load {load[0]:.2f}"
    )
    for name, f in (("mood:vote", vote), ("mood:get (reference)", ref)):
        print(
            f"  {name:22s} accepted {f['accepted_per_s']:8.1f}/s  refused {f['refused'] or '-'}"
            f"  server CPU {f['server_cpu_per_event_us']:7.1f} us/event"
            f" (load {f['server_load']:.2f})  generator load {f['generator_load']:.2f}"
        )
    print(
        f"  strip broadcasts {vote['broadcasts_per_s']:.2f}/s per member; delay vote -> strip "
        f"p50 {vote['delay_ms']['50']:.0f} ms, p99 {vote['delay_ms']['99']:.0f} ms "
        f"(target <= 250 ms), max {vote['delay_ms']['max']:.0f} ms, unmatched {vote['unmatched']}"
    )
    ratio = vote["server_cpu_per_event_us"] / max(1e-9, ref["server_cpu_per_event_us"])
    print(f"  ratio vote/get server CPU per event: {ratio:.2f}")
    if max(vote["generator_load"], ref["generator_load"]) > 0.85:
        print("  note: the generator neared one core; it may be the limit, not the server")
    if args.json:
        args.json.write_text(json.dumps({**result, "voters": args.voters, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench_engagement: {exc}", file=sys.stderr)
        sys.exit(1)
