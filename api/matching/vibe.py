"""Vibe search: live rooms, creators and posts found by what a free text means.

`VibeIndex.refresh` reads the text of every searchable thing (a stream's title, tags, mood
and language; a creator's name and bio; a public post's caption), embeds what is new or
changed, or was embedded by another model, in the embedding workers, and upserts it into
``ai_embeddings`` (HNSW, cosine); rows whose thing is gone are deleted. It runs every
``TEEZU_AI_VIBE_REFRESH`` seconds on nodes with the API. `VibeIndex.search` embeds the query
the same way and asks the index for the nearest things the caller may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from api.matching.vectors import to_pgvector
from workers.embeddings import EmbeddingPool

log = logging.getLogger(__name__)

# What each kind is searched by (one text per thing), and who owns it.
_SOURCES = {
    "stream": (
        "SELECT s.id AS ref_id, s.creator_id AS owner_id, concat_ws(' ', s.title, "
        "array_to_string(s.tags, ' '), s.mood, s.language) AS text FROM streams s "
        "WHERE s.visibility = 'public'"
    ),
    "creator": (
        "SELECT u.id AS ref_id, u.id AS owner_id, concat_ws(' ', coalesce(p.display_name, ''), "
        "coalesce(p.bio, '')) AS text FROM users u LEFT JOIN profiles p ON p.user_id = u.id "
        "WHERE u.status = 'active' AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id "
        "AND r.role IN ('creator', 'provider')) AND coalesce(p.display_name, '') || "
        "coalesce(p.bio, '') <> ''"
    ),
    "post": (
        "SELECT id AS ref_id, creator_id AS owner_id, caption AS text FROM posts "
        "WHERE status = 'published' AND audience = 'public' AND caption <> ''"
    ),
}
KINDS = tuple(_SOURCES)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Hit:
    kind: str
    id: uuid.UUID
    score: float  # cosine similarity to the query
    title: str
    handle: str | None
    live: bool


class VibeIndex:
    """The embeddings of everything searchable, kept in step by `refresh`."""

    def __init__(self, pool: asyncpg.Pool, embeddings: EmbeddingPool, *, interval: float) -> None:
        self.pool = pool
        self.embeddings = embeddings
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._refreshing = asyncio.Lock()

    async def refresh(self) -> int:
        """One pass over every kind; returns how many things were embedded."""
        async with self._refreshing:
            model, _dim = await self.embeddings.model()
            embedded = 0
            for kind, source in _SOURCES.items():
                rows = await self.pool.fetch(
                    f"SELECT src.ref_id, src.owner_id, src.text FROM ({source}) src "
                    "LEFT JOIN ai_embeddings e ON e.kind = $1 AND e.ref_id = src.ref_id "
                    "WHERE e.ref_id IS NULL OR e.model <> $2 OR e.text_hash <> "
                    "left(encode(sha256(convert_to(src.text, 'UTF8')), 'hex'), 32)",
                    kind,
                    model,
                )
                for start in range(0, len(rows), 256):
                    chunk = rows[start : start + 256]
                    vectors = await self.embeddings.embed([r["text"] for r in chunk])
                    await self.pool.executemany(
                        "INSERT INTO ai_embeddings (kind, ref_id, owner_id, model, text_hash, "
                        "embedding) VALUES ($1, $2, $3, $4, $5, $6::vector) "
                        "ON CONFLICT (kind, ref_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, "
                        "model = EXCLUDED.model, text_hash = EXCLUDED.text_hash, "
                        "embedding = EXCLUDED.embedding, updated_at = now()",
                        [
                            (
                                kind,
                                r["ref_id"],
                                r["owner_id"],
                                model,
                                text_hash(r["text"]),
                                to_pgvector(v),
                            )
                            for r, v in zip(chunk, vectors, strict=True)
                        ],
                    )
                    embedded += len(chunk)
                await self.pool.execute(
                    f"DELETE FROM ai_embeddings e WHERE e.kind = $1 AND NOT EXISTS "
                    f"(SELECT 1 FROM ({source}) src WHERE src.ref_id = e.ref_id)",
                    kind,
                )
            return embedded

    async def search(
        self, query: str, *, kinds: tuple[str, ...], live_only: bool, limit: int, offset: int
    ) -> list[Hit]:
        """The things nearest to ``query`` in meaning, best first (``kinds`` of `KINDS`)."""
        model, _dim = await self.embeddings.model()
        [vector] = await self.embeddings.embed([query])
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = await conn.fetch(
                "SELECT e.kind, e.ref_id, 1 - (e.embedding <=> $1::vector) AS score, "
                "coalesce(s.title, nullif(p.display_name, ''), u.handle, po.caption) AS title, "
                "u.handle, coalesce(s.state = 'live', false) AS live "
                "FROM ai_embeddings e "
                "LEFT JOIN streams s ON e.kind = 'stream' AND s.id = e.ref_id "
                "LEFT JOIN posts po ON e.kind = 'post' AND po.id = e.ref_id "
                "LEFT JOIN users u ON u.id = e.owner_id "
                "LEFT JOIN profiles p ON e.kind = 'creator' AND p.user_id = e.ref_id "
                "WHERE e.model = $2 AND e.kind = ANY($3) AND (u.id IS NULL OR u.status = 'active') "
                "AND (NOT $4 OR (e.kind = 'stream' AND s.state = 'live')) "
                "ORDER BY e.embedding <=> $1::vector LIMIT $5 OFFSET $6",
                to_pgvector(vector),
                model,
                list(kinds),
                live_only,
                limit,
                offset,
            )
        return [
            Hit(
                kind=r["kind"],
                id=r["ref_id"],
                score=round(float(r["score"]), 4),
                title=(r["title"] or "")[:200],
                handle=r["handle"],
                live=r["live"],
            )
            for r in rows
        ]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="vibe-index")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("vibe index refresh failed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.embeddings.close()


VIBE: web.AppKey[VibeIndex] = web.AppKey("vibe_index", VibeIndex)


def create_index(pool: asyncpg.Pool, *, embedder: str, workers: int, interval: float) -> VibeIndex:
    """The node's vibe index over its own embedding workers (started on first use)."""
    return VibeIndex(pool, EmbeddingPool(embedder, workers=workers), interval=interval)
