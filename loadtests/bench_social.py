"""Social benchmark: feed pages and likes on one hot post, each against a reference in the same
run, on a fresh database of the embedded PostgreSQL (or ``--dsn``).

* **Feed**: a member following ``--follows`` creators over ``--posts`` published posts; first
  pages of ``GET /content/feed`` as the route builds them (``api.feed.store.page``: relations,
  tiers, the pure ranking) timed ``--feed-runs`` times; reference: the bare newest-20 query
  (``ORDER BY created_at DESC LIMIT 20`` on the same table), same number of runs.
* **Likes**: ``--likers`` accounts like one post at once from ``--connections`` concurrent
  callers, through the node's `api.comments.likes.LikeBatcher` (what the route uses: concurrent
  likes share one statement and commit; the like rows and one of 16 counter slots); references
  on a fifth of them: one transaction per like (``api.comments.store.like``, the path before
  the batcher) and one counter row per like (the hot row the slots avoid). Afterwards the
  post's count must equal its like rows exactly.

Figures only: nothing here asserts a time (the smoke test checks the work was done).

    .venv/bin/python loadtests/bench_social.py            # 1,000,000 posts, 500 follows
    .venv/bin/python loadtests/bench_social.py --posts 20000 --likers 500 --feed-runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.comments import store as comments  # noqa: E402
from api.comments.likes import LikeBatcher  # noqa: E402
from api.feed import ranking  # noqa: E402
from api.feed import store as feed  # noqa: E402
from teezu.db import apply_migrations, create_pool  # noqa: E402
from teezu.embedded_pg import EmbeddedPostgres  # noqa: E402


async def seed(pool: asyncpg.Pool, *, creators: int, posts: int, likers: int, follows: int) -> Any:
    """Creators, their posts spread over the last 30 days, likers, one member following some."""
    await pool.execute(
        "INSERT INTO users (id, email, handle, password_hash, date_of_birth) "
        "SELECT gen_random_uuid(), 'u' || i || '@bench.test', 'b' || lpad(i::text, 8, '0'), 'x', "
        "'1990-01-01' "
        "FROM generate_series(1, $1) AS i",
        creators + likers + 1,
    )
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM users ORDER BY handle")]
    member, makers, fans = ids[0], ids[1 : creators + 1], ids[creators + 1 :]
    await pool.execute(
        "INSERT INTO posts (id, creator_id, kind, content_type, audience, rating, status, "
        "size_bytes, width, height, media_key, created_at, published_at) "
        "SELECT gen_random_uuid(), ($1::uuid[])[1 + (i % array_length($1::uuid[], 1))], "
        "'image', 'image/jpeg', CASE WHEN i % 10 = 0 THEN 'followers' ELSE 'public' END, "
        "'sfw', 'published', 1, 1, 1, 'k', now() - (i || ' seconds')::interval * 2.5, now() "
        "FROM generate_series(1, $2) AS i",
        makers,
        posts,
    )
    await pool.executemany(
        "INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2)",
        [(member, c) for c in makers[:follows]],
    )
    await pool.execute("ANALYZE")
    hot = await pool.fetchval("SELECT id FROM posts ORDER BY created_at DESC LIMIT 1")
    return member, fans, hot


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50_ms": round(statistics.median(s) * 1000, 2),
        "p95_ms": round(s[max(0, int(len(s) * 0.95) - 1)] * 1000, 2),
        "max_ms": round(s[-1] * 1000, 2),
    }


async def bench_feed(pool: asyncpg.Pool, member: uuid.UUID, runs: int) -> dict[str, Any]:
    ours: list[float] = []
    ref: list[float] = []
    items = 0
    for _ in range(runs):
        t = time.perf_counter()
        follows, subs, blocks = await feed.relations(pool, member)
        viewer = ranking.Viewer(
            user_id=member,
            follows=follows,
            subscriptions=subs,
            blocks=blocks,
            sharp_adult=True,
            sharp_explicit=True,
        )
        page, _ = await feed.page(pool, viewer, None, 20)
        await feed.post_counts(pool, [r.item.id for r in page], member)
        ours.append(time.perf_counter() - t)
        items = len(page)
        t = time.perf_counter()
        await pool.fetch(
            "SELECT id, creator_id, created_at FROM posts WHERE status = 'published' "
            "ORDER BY created_at DESC, id DESC LIMIT 20"
        )
        ref.append(time.perf_counter() - t)
    return {"items": items, "feed": percentiles(ours), "reference": percentiles(ref)}


async def bench_likes(
    pool: asyncpg.Pool, post: uuid.UUID, fans: list[uuid.UUID], connections: int
) -> dict[str, Any]:
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_hot_counter (post_id uuid PRIMARY KEY, likes bigint)"
    )
    await pool.execute("INSERT INTO bench_hot_counter VALUES ($1, 0) ON CONFLICT DO NOTHING", post)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_hot_likes (LIKE post_likes INCLUDING ALL)")

    async def run(like: Any, part: list[uuid.UUID], *, batched: bool = False) -> float:
        queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        for f in part:
            queue.put_nowait(f)

        async def worker() -> None:
            while not queue.empty():
                fan = queue.get_nowait()
                if batched:
                    await like(None, fan)
                    continue
                async with pool.acquire() as conn, conn.transaction():
                    await like(conn, fan)

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - t

    batcher = LikeBatcher(pool)

    async def batched(_conn: Any, fan: uuid.UUID) -> None:
        await batcher.like(post, fan)  # what PUT /posts/{id}/like does

    async def per_transaction(conn: Any, fan: uuid.UUID) -> None:
        await comments.like(conn, post, fan)  # one transaction per like (before the batcher)

    async def one_row(conn: Any, fan: uuid.UUID) -> None:
        await conn.execute(
            "INSERT INTO bench_hot_likes (post_id, user_id) VALUES ($1, $2)", post, fan
        )
        await conn.execute(
            "UPDATE bench_hot_counter SET likes = likes + 1 WHERE post_id = $1", post
        )

    # The reference and the unbatched path on a sample; every fan likes through the batcher.
    sample = fans[: max(1, len(fans) // 5)]
    ref_s = await run(one_row, sample)
    single_s = await run(per_transaction, sample)
    await pool.execute("DELETE FROM post_likes WHERE post_id = $1", post)
    await pool.execute("DELETE FROM post_counter_slots WHERE post_id = $1", post)
    ours_s = await run(batched, fans, batched=True)
    await batcher.close()
    counted, rows = await pool.fetchrow(
        "SELECT (SELECT sum(likes) FROM post_counter_slots WHERE post_id = $1), "
        "(SELECT count(*) FROM post_likes WHERE post_id = $1)",
        post,
    )
    return {
        "likes": len(fans),
        "likes_per_s": round(len(fans) / ours_s),
        "reference_likes_per_s": round(len(sample) / ref_s),
        "per_transaction_likes_per_s": round(len(sample) / single_s),
        "batches": batcher.batches,
        "counted": int(counted or 0),
        "rows": int(rows),
        "exact": int(counted or 0) == int(rows) == len(fans),
    }


async def main_async(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=2, max_size=args.connections + 2)
    try:
        await apply_migrations(pool)
        t = time.perf_counter()
        member, fans, hot = await seed(
            pool, creators=args.creators, posts=args.posts, likers=args.likers, follows=args.follows
        )
        seeded = time.perf_counter() - t
        feed_figures = await bench_feed(pool, member, args.feed_runs)
        likes = await bench_likes(pool, hot, fans, args.connections)
        return {"seed_s": round(seeded, 1), "feed": feed_figures, "likes": likes}
    finally:
        await pool.close()


async def _db(server_dsn: str, create: bool, dsn: str = "") -> str:
    from urllib.parse import urlsplit, urlunsplit

    conn = await asyncpg.connect(server_dsn)
    try:
        if create:
            name = f"bench_social_{uuid.uuid4().hex[:8]}"
            await conn.execute(f'CREATE DATABASE "{name}"')
            return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path.lstrip("/")}" WITH (FORCE)'
        )
        return dsn
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--creators", type=int, default=2000)
    ap.add_argument("--follows", type=int, default=500)
    ap.add_argument("--likers", type=int, default=5000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--feed-runs", type=int, default=200)
    ap.add_argument("--dsn", default="", help="a PostgreSQL server (default: embedded, fresh)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    pg: EmbeddedPostgres | None = None
    if args.dsn:
        server_dsn = args.dsn
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-social-")
        pg = EmbeddedPostgres(Path(tmp.name) / "pg")
        server_dsn = pg.start()
    dsn = asyncio.run(_db(server_dsn, True))
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"TeezU Live social benchmark: {args.posts} posts by {args.creators} creators, "
            f"a member following {args.follows}; {args.likers} likes over {args.connections} "
            f"connections; {os.cpu_count()} CPUs, load {load}",
            flush=True,
        )
        result = asyncio.run(main_async(dsn, args))
        f, lk = result["feed"], result["likes"]
        print(f"  seeded in {result['seed_s']} s")
        print(
            f"  feed first page ({f['items']} items): p50 {f['feed']['p50_ms']} ms, "
            f"p95 {f['feed']['p95_ms']} ms, max {f['feed']['max_ms']} ms (target p95 <= 50 ms)"
        )
        print(
            f"  reference newest-20 query:   p50 {f['reference']['p50_ms']} ms, "
            f"p95 {f['reference']['p95_ms']} ms"
        )
        print(
            f"  likes on one post: {lk['likes_per_s']}/s (target >= 2000/s; "
            f"{lk['batches']} batches); one transaction per like: "
            f"{lk['per_transaction_likes_per_s']}/s; one hot counter "
            f"row: {lk['reference_likes_per_s']}/s; ratio "
            f"{lk['likes_per_s'] / max(1, lk['reference_likes_per_s']):.2f}; count "
            f"{lk['counted']} = rows {lk['rows']}: {'exact' if lk['exact'] else 'MISMATCH'}"
        )
        print(f"  load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return 0 if lk["exact"] else 1
    finally:
        asyncio.run(_db(server_dsn, False, dsn))
        if pg is not None:
            pg.stop()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
