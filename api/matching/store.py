"""SQL of matching: Erotic DNA rows, swipes, matches, blocks, and the suggestion candidates."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.matching import compat
from api.matching.vectors import from_pgvector, to_pgvector
from teezu.db import Connection, Db

# An account that may be suggested: active, or its suspension over.
STANDING_OK = (
    "(u.status = 'active' OR (u.status = 'suspended' AND u.suspended_until IS NOT NULL "
    "AND u.suspended_until <= now()))"
)


@dataclass(frozen=True)
class Dna:
    user_id: uuid.UUID
    answers: dict[str, int]
    profile: list[float]
    languages: list[str]
    country: str | None
    discoverable: bool
    updated_at: datetime


def _dna(r: Any) -> Dna:
    answers = r["answers"]
    return Dna(
        user_id=r["user_id"],
        answers=json.loads(answers) if isinstance(answers, str) else dict(answers),
        profile=from_pgvector(r["profile"]),
        languages=list(r["languages"]),
        country=r["country"],
        discoverable=r["discoverable"],
        updated_at=r["updated_at"],
    )


_DNA_COLUMNS = (
    "user_id, answers, profile::text AS profile, languages, country, discoverable, updated_at"
)


async def get_dna(db: Db, user_id: uuid.UUID) -> Dna | None:
    r = await db.fetchrow(f"SELECT {_DNA_COLUMNS} FROM erotic_dna WHERE user_id = $1", user_id)
    return _dna(r) if r else None


async def put_dna(
    db: Db,
    user_id: uuid.UUID,
    *,
    answers: dict[str, int],
    profile: list[float],
    languages: list[str],
    country: str | None,
    discoverable: bool,
) -> Dna:
    r = await db.fetchrow(
        "INSERT INTO erotic_dna (user_id, answers, profile, languages, country, discoverable) "
        "VALUES ($1, $2::jsonb, $3::vector, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET "
        "answers = EXCLUDED.answers, profile = EXCLUDED.profile, languages = EXCLUDED.languages, "
        "country = EXCLUDED.country, discoverable = EXCLUDED.discoverable, updated_at = now() "
        f"RETURNING {_DNA_COLUMNS}",
        user_id,
        json.dumps(answers),
        to_pgvector(profile),
        languages,
        country,
        discoverable,
    )
    assert r is not None
    return _dna(r)


async def delete_dna(db: Db, user_id: uuid.UUID) -> bool:
    return bool(
        await db.execute("DELETE FROM erotic_dna WHERE user_id = $1", user_id) == "DELETE 1"
    )


@dataclass(frozen=True)
class Candidate:
    dna: Dna
    handle: str
    creator: bool
    distance: float  # cosine distance of the mood profiles (what the HNSW index ranks by)


async def candidates(
    conn: Connection,
    me: Dna,
    *,
    limit: int,
    countries: Sequence[str] | None,
    languages: Sequence[str] | None,
    kind: str,
) -> list[Candidate]:
    """The nearest profiles to ``me`` that may be suggested: discoverable, in good standing,
    not ``me``, not blocked either way, not swiped already; within the filters. Runs in a
    transaction (the HNSW scan goes on past filtered-out rows: ``hnsw.iterative_scan``)."""
    await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    rows = await conn.fetch(
        f"SELECT d.user_id, d.answers, d.profile::text AS profile, d.languages, d.country, "
        f"d.discoverable, d.updated_at, u.handle, "
        f"EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = d.user_id "
        f"        AND r.role IN ('creator', 'provider')) AS creator, "
        f"d.profile <=> $2::vector AS distance "
        f"FROM erotic_dna d JOIN users u ON u.id = d.user_id "
        f"WHERE d.user_id <> $1 AND d.discoverable AND {STANDING_OK} "
        f"AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND "
        f"    b.blocked_id = d.user_id) OR (b.blocker_id = d.user_id AND b.blocked_id = $1)) "
        f"AND NOT EXISTS (SELECT 1 FROM match_swipes s WHERE s.swiper_id = $1 "
        f"    AND s.target_id = d.user_id) "
        f"AND ($3::text[] IS NULL OR d.country = ANY($3)) "
        f"AND ($4::text[] IS NULL OR d.languages && $4) "
        f"AND ($5 = 'any' OR ($5 = 'creator') = EXISTS (SELECT 1 FROM user_roles r "
        f"    WHERE r.user_id = d.user_id AND r.role IN ('creator', 'provider'))) "
        f"ORDER BY d.profile <=> $2::vector LIMIT $6",
        me.user_id,
        to_pgvector(me.profile),
        list(countries) if countries else None,
        list(languages) if languages else None,
        kind,
        limit,
    )
    return [Candidate(_dna(r), r["handle"], r["creator"], float(r["distance"])) for r in rows]


async def user_id_of(db: Db, handle: str) -> uuid.UUID | None:
    """An account that can be swiped or blocked (not erased)."""
    v = await db.fetchval(
        "SELECT id FROM users WHERE handle = $1 AND status <> 'erased'", handle.lower()
    )
    return v if isinstance(v, uuid.UUID) else None


async def blocked_either_way(db: Db, a: uuid.UUID, b: uuid.UUID) -> bool:
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM user_blocks WHERE (blocker_id = $1 AND blocked_id = $2) "
            "OR (blocker_id = $2 AND blocked_id = $1))",
            a,
            b,
        )
    )


@dataclass(frozen=True)
class Match:
    id: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID
    match_score: float
    matched_at: datetime
    status: str


async def swipe(
    conn: Connection, me: uuid.UUID, target: uuid.UUID, action: str
) -> tuple[Match | None, bool]:
    """Record a swipe (a later one replaces the earlier); a like that meets the other's like
    makes the pair's match. Returns ``(match or None, created now)``.

    Both swipes of a pair take the pair's transaction lock first, so two likes at the same
    moment are ordered: the second sees the first and makes the match, exactly once.
    """
    a, b = sorted((me, target))
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 17))", f"{a}:{b}")
        await conn.execute(
            "INSERT INTO match_swipes (swiper_id, target_id, action) VALUES ($1, $2, $3) "
            "ON CONFLICT (swiper_id, target_id) DO UPDATE SET action = EXCLUDED.action, "
            "created_at = now()",
            me,
            target,
            action,
        )
        existing = await conn.fetchrow(
            "SELECT * FROM matches WHERE user_a = $1 AND user_b = $2", a, b
        )
        if action != "like":
            return (Match(**dict(existing)) if existing else None), False
        theirs = await conn.fetchval(
            "SELECT action FROM match_swipes WHERE swiper_id = $1 AND target_id = $2", target, me
        )
        if theirs != "like":
            return None, False
        if existing is not None:
            if existing["status"] == "active":
                return Match(**dict(existing)), False
            r = await conn.fetchrow(
                "UPDATE matches SET status = 'active', matched_at = now() WHERE id = $1 "
                "RETURNING *",
                existing["id"],
            )
            assert r is not None  # the row was locked above
            return Match(**dict(r)), True
        dna_a, dna_b = await get_dna(conn, a), await get_dna(conn, b)
        score = (
            compat.match_score(
                dna_a.answers,
                dna_a.profile,
                dna_a.languages,
                dna_b.answers,
                dna_b.profile,
                dna_b.languages,
            )
            if dna_a and dna_b
            else 0.0
        )
        r = await conn.fetchrow(
            "INSERT INTO matches (id, user_a, user_b, match_score) VALUES ($1, $2, $3, $4) "
            "RETURNING *",
            uuid.uuid4(),
            a,
            b,
            score,
        )
        assert r is not None  # INSERT ... RETURNING
        return Match(**dict(r)), True


async def my_matches(db: Db, me: uuid.UUID, *, limit: int, offset: int) -> list[tuple[Match, str]]:
    """My active matches, newest first, each with the other member's handle."""
    rows = await db.fetch(
        "SELECT m.*, u.handle FROM matches m JOIN users u ON u.id = "
        "CASE WHEN m.user_a = $1 THEN m.user_b ELSE m.user_a END "
        "WHERE (m.user_a = $1 OR m.user_b = $1) AND m.status = 'active' AND u.status <> 'erased' "
        "ORDER BY m.matched_at DESC, m.id LIMIT $2 OFFSET $3",
        me,
        limit,
        offset,
    )
    out = []
    for r in rows:
        d = dict(r)
        handle = d.pop("handle")
        out.append((Match(**d), handle))
    return out


async def unmatch(db: Db, me: uuid.UUID, match_id: uuid.UUID) -> bool:
    status = await db.execute(
        "UPDATE matches SET status = 'unmatched' WHERE id = $2 AND (user_a = $1 OR user_b = $1) "
        "AND status = 'active'",
        me,
        match_id,
    )
    return bool(status == "UPDATE 1")
