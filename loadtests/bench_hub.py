#!/usr/bin/env python3
"""The admin hub at scale: view refresh times, endpoint p95 from the views, the same queries on
the raw tables (the ratio), and what the metrics cost.

**Targets (issue 18): each hub query's p95 <= 50 ms from the views; each view's refresh <= 10 s
at 200,000 users / 5,000,000 ledger entries / 2,000,000 viewing sessions over 90 days.**

What runs:

* a PostgreSQL: the embedded one (``teezu.embedded_pg``, default settings) in a fresh data
  directory, or ``--dsn``; a fresh database in it, migrated;
* a synthetic history over ``--days`` days: ``--users`` users (one in a hundred a creator with a
  stream and a broadcast a day), their follows, ``--sessions`` viewing sessions with QoE minutes,
  chat messages, reports, and ``--entries`` ledger entries (a purchase: 2 entries, a tip: 3, in a
  1:3 mix). Users, streams, sessions and messages are loaded with ``COPY``; the ledger with
  set-based ``INSERT ... SELECT`` (its ids are identity columns COPY cannot set), with triggers
  off for the load (``session_replication_role = replica``): the books are synthetic, not
  reconciled;
* each view refreshed ``CONCURRENTLY`` (the worker's statement), timed;
* each hub query (`api.analytics.hub`, what the endpoint runs before JSON) ``--repeat`` times
  over a 30-day period: p50/p95; then the same query with each view replaced by its definition
  (``pg_get_viewdef``), i.e. computed from the raw tables: p50 and the ratio raw / view;
* the metrics: CPU seconds per scrape of a registry holding ``--streams`` live streams with a
  three-rung ladder, and the instrumentation's cost per event (the encoder's timing, an edge
  response's status count, a part-delivery observation) times the events per second of the
  ladder and of the edge (``--edge-rps``): a share of one core.

The exit status is non-zero on errors, never because of a figure.

    .venv/bin/python loadtests/bench_hub.py                                  # the issue's size
    .venv/bin/python loadtests/bench_hub.py --users 2000 --entries 20000 \\
        --sessions 10000 --repeat 5                                         # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from api.analytics import hub  # noqa: E402
from api.analytics.period import Period  # noqa: E402
from api.analytics.views import VIEWS, refresh_view  # noqa: E402
from teezu.db import apply_migrations, create_pool  # noqa: E402
from teezu.embedded_pg import EmbeddedPostgres  # noqa: E402
from teezu.metrics import Metrics  # noqa: E402

COUNTRIES = ("NL", "DE", "US", "GB", "FR")
MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")


# ------------------------------------------------------------------------------ data


async def create_database(server_dsn: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    name = f"bench_hub_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))


def _at(now: datetime, days: int, rng: random.Random) -> datetime:
    return now - timedelta(seconds=rng.uniform(0, days * 86400))


async def build(conn: asyncpg.Connection, args: argparse.Namespace) -> dict[str, float]:
    """The synthetic history; returns seconds per step."""
    rng = random.Random(18)
    now = datetime.now(UTC)
    took: dict[str, float] = {}
    started = time.perf_counter()
    users = [uuid.uuid4() for _ in range(args.users)]
    created = [_at(now, args.days, rng) for _ in users]
    await conn.copy_records_to_table(
        "users",
        columns=["id", "email", "handle", "password_hash", "date_of_birth", "created_at"],
        records=[
            (u, f"b{u.hex[:24]}@example.org", f"b{u.hex[:24]}", "!", datetime(1990, 1, 1).date(), c)
            for u, c in zip(users, created, strict=True)
        ],
    )
    creators = users[: max(1, args.users // 100)]
    streams = [uuid.uuid4() for _ in creators]
    await conn.copy_records_to_table(
        "streams",
        columns=[
            "id",
            "creator_handle",
            "title",
            "state",
            "publish_token_hash",
            "creator_id",
            "mood",
            "created_at",
        ],  # fmt: skip
        records=[
            (
                s,
                f"b{c.hex[:24]}",
                f"Bench {i}",
                "ended",
                b"\x00",
                c,
                MOODS[i % 8],
                now - timedelta(days=args.days),
            )  # fmt: skip
            for i, (s, c) in enumerate(zip(streams, creators, strict=True))
        ],
    )
    broadcasts = []
    for s in streams:
        for d in range(args.days):
            start = now - timedelta(days=d, hours=rng.uniform(1, 20))
            broadcasts.append((uuid.uuid4(), s, f"{rng.getrandbits(32):08x}", False, start,
                               start + timedelta(hours=2), 7200.0))  # fmt: skip
    await conn.copy_records_to_table(
        "broadcasts",
        columns=[
            "id",
            "stream_id",
            "run",
            "recording",
            "started_at",
            "ended_at",
            "duration_seconds",
        ],  # fmt: skip
        records=broadcasts,
    )
    fans = {(rng.choice(users), rng.choice(creators)) for _ in range(args.users)}
    await conn.copy_records_to_table(
        "follows",
        columns=["follower_id", "creator_id"],
        records=[(f, c) for f, c in fans if f != c],
    )
    took["users, streams, broadcasts, follows (COPY)"] = time.perf_counter() - started

    started = time.perf_counter()
    sessions = []
    for _ in range(args.sessions):
        joined = _at(now, args.days, rng)
        watched = rng.uniform(10, 3600)
        viewer = rng.choice(users) if rng.random() < 0.7 else None
        sessions.append((uuid.uuid4(), rng.choice(streams), viewer, None if viewer else "anon",
                         "llhls" if rng.random() < 0.8 else "whep", rng.choice(COUNTRIES),
                         joined, joined + timedelta(seconds=watched),
                         joined + timedelta(seconds=watched), watched))  # fmt: skip
    await conn.copy_records_to_table(
        "stream_viewers",
        columns=[
            "id",
            "stream_id",
            "viewer_id",
            "anonymous_id",
            "kind",
            "country",
            "joined_at",
            "last_seen_at",
            "left_at",
            "watch_seconds",
        ],  # fmt: skip
        records=sessions,
    )
    minutes = {}
    for s in sessions[: max(1, len(sessions) // 10)]:
        key = (s[1], s[6].replace(second=0, microsecond=0))
        minutes[key] = (key[0], key[1], 3, 4.5, 3, 2.0, 1, 0.5, 0, 900.0, 1)
    await conn.copy_records_to_table(
        "stream_qoe_minutes",
        columns=[
            "stream_id",
            "minute",
            "beacons",
            "latency_sum",
            "latency_count",
            "latency_max",
            "stalls",
            "stall_seconds",
            "bitrate_switches",
            "startup_ms_sum",
            "startup_count",
        ],  # fmt: skip
        records=list(minutes.values()),
    )
    messages = [
        (uuid.uuid4(), rng.choice(streams), rng.choice(users), "u", "hi", _at(now, args.days, rng))
        for _ in range(max(1, args.sessions // 4))
    ]
    await conn.copy_records_to_table(
        "chat_messages",
        columns=["id", "stream_id", "user_id", "handle", "body", "sent_at"],
        records=messages,
    )
    reports = [
        (
            uuid.uuid4(),
            rng.choice(users),
            "user",
            str(rng.choice(users)),
            "spam",
            _at(now, args.days, rng),
        )  # fmt: skip
        for _ in range(max(1, args.users // 50))
    ]
    await conn.copy_records_to_table(
        "reports",
        columns=["id", "reporter_id", "target_type", "target_id", "reason", "created_at"],
        records=reports,
    )
    await conn.execute(
        "UPDATE reports SET status = 'resolved', resolution = 'warn', "
        "resolved_at = created_at + interval '30 hours' WHERE random() < 0.7"
    )
    took["viewing sessions, QoE, chat, reports (COPY)"] = time.perf_counter() - started

    started = time.perf_counter()
    purchases = max(1, args.entries // 11)
    total = purchases * 4  # one purchase in four transactions, three tips
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "CREATE TEMP TABLE bench_users AS SELECT row_number() OVER () AS n, id FROM users "
            "WHERE email LIKE 'b%@example.org'"
        )
        await conn.execute(
            "CREATE TEMP TABLE bench_streams AS SELECT row_number() OVER () AS n, id, creator_id "
            "FROM streams WHERE title LIKE 'Bench %'"
        )
        await conn.execute(
            "INSERT INTO ledger_accounts (kind, owner_id, balance) "
            "SELECT 'wallet', id, 0 FROM bench_users"
        )
        await conn.execute(
            "INSERT INTO ledger_accounts (kind, owner_id) "
            "SELECT 'earnings', creator_id FROM bench_streams"
        )
        await conn.execute(
            "CREATE TEMP TABLE bench_wallets AS SELECT u.n, a.id FROM bench_users u "
            "JOIN ledger_accounts a ON a.owner_id = u.id AND a.kind = 'wallet'"
        )
        await conn.execute(
            "CREATE TEMP TABLE bench_earnings AS SELECT s.n, s.id AS stream_id, a.id FROM "
            "bench_streams s JOIN ledger_accounts a ON a.owner_id = s.creator_id "
            "AND a.kind = 'earnings'"
        )
        for t in ("bench_users", "bench_streams", "bench_wallets", "bench_earnings"):
            await conn.execute(f"CREATE INDEX ON {t} (n)")
        users_n = await conn.fetchval("SELECT count(*) FROM bench_users")
        streams_n = await conn.fetchval("SELECT count(*) FROM bench_streams")
        base = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM ledger_transactions"))
        await conn.execute(
            "INSERT INTO ledger_transactions (id, kind, initiator_id, fee_schedule, stream_id, "
            "created_at) OVERRIDING SYSTEM VALUE "
            "SELECT $1 + g, CASE WHEN g % 4 = 0 THEN 'purchase' ELSE 'tip' END, u.id, "
            "CASE WHEN g % 4 = 0 THEN NULL ELSE '2026-01' END, "
            "CASE WHEN g % 4 = 0 THEN NULL ELSE s.id END, "
            "now() - random() * make_interval(days => $4) "
            "FROM generate_series(1, $2) g "
            "JOIN bench_users u ON u.n = 1 + (g::bigint * 7919) % $3 "
            "JOIN bench_streams s ON s.n = 1 + g % $5",
            base,
            total,
            users_n,
            args.days,
            streams_n,
        )
        sales = await conn.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'sales'")
        platform = await conn.fetchval("SELECT id FROM ledger_accounts WHERE kind = 'platform'")
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) "
            "SELECT $1 + g, w.id, CASE WHEN g % 4 = 0 THEN 400 ELSE -10 END "
            "FROM generate_series(1, $2) g "
            "JOIN bench_wallets w ON w.n = 1 + (g::bigint * 7919) % $3",
            base,
            total,
            users_n,
        )
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) "
            "SELECT $1 + g, $3, -400 FROM generate_series(4, $2, 4) g",
            base,
            total,
            sales,
        )
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) "
            "SELECT $1 + g, e.id, 8 FROM generate_series(1, $2) g "
            "JOIN bench_earnings e ON e.n = 1 + g % $3 WHERE g % 4 <> 0",
            base,
            total,
            streams_n,
        )
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) "
            "SELECT $1 + g, $3, 2 FROM generate_series(1, $2) g WHERE g % 4 <> 0",
            base,
            total,
            platform,
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_transactions', 'id'), "
            "(SELECT max(id) FROM ledger_transactions))"
        )
    took["ledger (INSERT ... SELECT)"] = time.perf_counter() - started
    started = time.perf_counter()
    await conn.execute("ANALYZE")
    took["ANALYZE"] = time.perf_counter() - started
    return took


# ------------------------------------------------------------------------------ measuring


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def raw_sql(conn: asyncpg.Connection, sql: str) -> str:
    """``sql`` with every hub view replaced by its definition (recursively): the raw tables."""
    keywords = {"where", "order", "group", "left", "join", "on", "limit", "union", "cross"}
    for _ in range(3):
        for view in VIEWS:
            if not re.search(rf"\b{view}\b", sql):
                continue
            definition = (await conn.fetchval("SELECT pg_get_viewdef($1::regclass)", view)).rstrip(
                "; \n"
            )

            def inline(m: re.Match[str], definition: str = definition, view: str = view) -> str:
                alias = m.group(3)
                if alias and alias.lower() not in keywords:
                    return f"{m.group(1)} ({definition}) {alias}"
                return f"{m.group(1)} ({definition}) {view}{m.group(2) or ''}"

            sql = re.sub(rf"\b(FROM|JOIN) {view}\b(\s+([A-Za-z_]+))?", inline, sql)
    return sql


QUERIES: dict[str, str] = {
    "growth": "SELECT day, signups, dau, wau, mau, creators_live FROM hub_growth_daily "
    "WHERE day BETWEEN $1 AND $2 ORDER BY day",
    "retention": "SELECT cohort, week_offset, cohort_size, active FROM hub_retention_weekly "
    "WHERE cohort BETWEEN date_trunc('week', $1::date)::date AND $2 ORDER BY cohort, week_offset",
    "revenue": "SELECT day, tx_kind, account_kind, total FROM hub_revenue_daily "
    "WHERE day BETWEEN $1 AND $2 ORDER BY day",
    "creators": "SELECT creator_id, handle, earned, watch_hours, followers, viewers, tippers, "
    "conversion FROM hub_creators WHERE $1::date IS NOT NULL AND $2::date IS NOT NULL "
    "ORDER BY earned DESC, creator_id LIMIT 50",
    "streams": "SELECT * FROM hub_streams WHERE started_at >= $1::date::timestamp AT TIME ZONE "
    "'UTC' AND started_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC' "
    "ORDER BY watch_seconds DESC, stream_id LIMIT 100",
    "mood": "SELECT day, mood, sum(sessions)::bigint AS sessions, sum(watch_seconds) AS seconds "
    "FROM hub_mood_daily WHERE day BETWEEN $1 AND $2 GROUP BY day, mood ORDER BY day, mood",
    "community": "SELECT * FROM hub_community_daily WHERE day BETWEEN $1 AND $2 ORDER BY day",
}


async def time_query(pool: asyncpg.Pool, sql: str, p: Period, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        await pool.fetch(sql, p.first, p.last)
        out.append((time.perf_counter() - started) * 1000)
    return out


def metrics_cost(streams: int, edge_rps: float, scrapes: int) -> dict[str, float]:
    """CPU per scrape, and the instrumentation's cost per event x events per second."""
    from prometheus_client.core import CounterMetricFamily

    metrics = Metrics()

    def ladder():  # what `api.metrics` yields per live stream and rung
        fam = CounterMetricFamily("teezu_bench_frames", "x", labels=["stream", "rendition"])
        for s in range(streams):
            for r in ("720p", "480p", "240p"):
                fam.add_metric([f"{s:036d}", r], 12345)
        yield fam

    for _ in range(6):  # the engine's six per-stream families
        metrics.add_collector(ladder)
    for code in (200, 304, 404, 403):
        metrics.app_statuses[code] = 1000
    cpu = time.process_time()
    for _ in range(scrapes):
        metrics.render()
    per_scrape = (time.process_time() - cpu) / scrapes

    n = 200_000
    stats: dict[str, float] = {}
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        stats["720p"] = stats.get("720p", 0.0) + (time.perf_counter() - t0)
    encode_timing = (time.perf_counter() - started) / n
    statuses: dict[bytes, int] = {}
    data = b"HTTP/1.1 200 OK\r\n"
    started = time.perf_counter()
    for _ in range(n):
        status = data[9:12]
        statuses[status] = statuses.get(status, 0) + 1
    edge_status = (time.perf_counter() - started) / n
    observe = metrics.part_delivery.labels("edge").observe
    started = time.perf_counter()
    for _ in range(n):
        observe(0.01)
    delivery = (time.perf_counter() - started) / n
    ladder_events = streams * 3 * 30  # frames encoded per second, every rung at 30 fps
    return {
        "scrape_cpu_ms": per_scrape * 1000,
        "encode_timing_ns": encode_timing * 1e9,
        "edge_status_ns": edge_status * 1e9,
        "delivery_observe_ns": delivery * 1e9,
        "ladder_core_share": encode_timing * ladder_events,
        "edge_core_share": (edge_status + delivery / 10) * edge_rps,
    }


async def run(args: argparse.Namespace, dsn: str) -> dict[str, Any]:
    migrate = await create_pool(dsn, min_size=1, max_size=1)
    try:
        await apply_migrations(migrate)
    finally:
        await migrate.close()
    conn = await asyncpg.connect(dsn)
    try:
        load = await build(conn, args)
        for step, seconds in load.items():
            print(f"  built {step}: {seconds:.1f} s", flush=True)
        refresh: dict[str, float] = {}
        for view in VIEWS:
            refresh[view] = await refresh_view(conn, view)
            print(f"  refreshed {view}: {refresh[view]:.2f} s", flush=True)
        counts = {
            "users": await conn.fetchval("SELECT count(*) FROM users"),
            "ledger_entries": await conn.fetchval("SELECT count(*) FROM ledger_entries"),
            "viewing_sessions": await conn.fetchval("SELECT count(*) FROM stream_viewers"),
        }
        raws = {name: await raw_sql(conn, sql) for name, sql in QUERIES.items()}
    finally:
        await conn.close()
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        today = datetime.now(UTC).date()
        p = Period(today - timedelta(days=29), today)
        # the endpoints' own code once, so a query and its shaping both work at this size
        await hub.growth(pool, p)
        await hub.revenue(pool, p)
        await hub.community(pool, p)
        queries = {}
        for name, sql in QUERIES.items():
            view_ms = await time_query(pool, sql, p, args.repeat)
            raw_ms = await time_query(pool, raws[name], p, max(1, args.raw_repeat))
            print(
                f"  {name}: view p95 {pct(view_ms, 0.95):.2f} ms, "
                f"raw p50 {pct(raw_ms, 0.5):.1f} ms",
                flush=True,
            )
            queries[name] = {
                "view_p50_ms": pct(view_ms, 0.5),
                "view_p95_ms": pct(view_ms, 0.95),
                "raw_p50_ms": pct(raw_ms, 0.5),
                "ratio_raw_over_view": pct(raw_ms, 0.5) / max(pct(view_ms, 0.5), 1e-6),
            }
    finally:
        await pool.close()
    return {"counts": counts, "load_seconds": load, "refresh_seconds": refresh, "queries": queries}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--entries", type=int, default=5_000_000)
    ap.add_argument("--sessions", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=50, help="runs of each query on the views")
    ap.add_argument("--raw-repeat", type=int, default=3, help="runs on the raw tables")
    ap.add_argument("--streams", type=int, default=50, help="live streams for the metrics cost")
    ap.add_argument("--edge-rps", type=float, default=20_000, help="edge responses per second")
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--dsn", default="", help="a PostgreSQL server (default: embedded, fresh)")
    ap.add_argument("--json", default="", help="also write the figures here")
    args = ap.parse_args()

    tmp: tempfile.TemporaryDirectory[str] | None = None
    pg: EmbeddedPostgres | None = None
    if args.dsn:
        server_dsn = args.dsn
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-hub-")
        pg = EmbeddedPostgres(Path(tmp.name) / "pg")
        server_dsn = pg.start()
    try:
        load_before = os.getloadavg()
        dsn = asyncio.run(create_database(server_dsn))
        result = asyncio.run(run(args, dsn))
        result["metrics"] = metrics_cost(args.streams, args.edge_rps, args.scrapes)
        result["loadavg"] = {"before": load_before, "after": os.getloadavg()}
    finally:
        if pg is not None:
            pg.stop()
        if tmp is not None:
            tmp.cleanup()

    c = result["counts"]
    print("TeezU Live admin hub benchmark")
    print(
        f"history: {c['users']:,} users, {c['ledger_entries']:,} ledger entries, "
        f"{c['viewing_sessions']:,} viewing sessions over {args.days} days "
        f"(load average {result['loadavg']['before'][0]:.2f} -> "
        f"{result['loadavg']['after'][0]:.2f})"
    )
    for step, seconds in result["load_seconds"].items():
        print(f"  built {step}: {seconds:.1f} s")
    print("\nview refresh (CONCURRENTLY; target <= 10 s each):")
    for view, seconds in result["refresh_seconds"].items():
        print(f"  {view:24s} {seconds:8.2f} s")
    print(f"\nqueries over 30 days, {args.repeat} runs (target p95 <= 50 ms from the views):")
    print(
        f"  {'endpoint':10s} {'view p50':>10s} {'view p95':>10s} {'raw p50':>11s} {'raw/view':>10s}"
    )
    for name, q in result["queries"].items():
        print(
            f"  {name:10s} {q['view_p50_ms']:8.2f}ms {q['view_p95_ms']:8.2f}ms "
            f"{q['raw_p50_ms']:9.1f}ms {q['ratio_raw_over_view']:9.0f}x"
        )
    m = result["metrics"]
    print(
        f"\nmetrics: {m['scrape_cpu_ms']:.2f} ms CPU per scrape "
        f"({args.streams} streams x 3 rungs); "
        f"encode timing {m['encode_timing_ns']:.0f} ns/frame -> "
        f"{m['ladder_core_share'] * 100:.3f}% of a core at {args.streams * 90} frames/s; "
        f"edge status count {m['edge_status_ns']:.0f} ns/response, part-delivery observe "
        f"{m['delivery_observe_ns']:.0f} ns -> {m['edge_core_share'] * 100:.3f}% of a core at "
        f"{args.edge_rps:,.0f} responses/s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
