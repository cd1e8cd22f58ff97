"""SQL of the age gate: rules, viewers' declarations and age level, geo-blocks, and the
per-stream :class:`hls.gate.StreamAccess` the media servers cache."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import asyncpg

from hls.access import MAX_LIFETIME
from hls.gate import DEFAULT, AgeRules, StreamAccess
from teezu.db import Db


@dataclass(frozen=True)
class Rule:
    country: str
    region: str
    requirement: str
    updated_at: datetime


async def list_rules(db: Db, *, limit: int, offset: int) -> list[Rule]:
    rows = await db.fetch(
        "SELECT country, region, requirement, updated_at FROM age_gate_rules "
        "ORDER BY country = '*' DESC, country, region LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    return [Rule(**dict(r)) for r in rows]


async def set_rule(
    db: Db, country: str, region: str, requirement: str, by: uuid.UUID | None
) -> Rule:
    row = await db.fetchrow(
        "INSERT INTO age_gate_rules (country, region, requirement, updated_by) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (country, region) DO UPDATE "
        "SET requirement = $3, updated_by = $4, updated_at = now() "
        "RETURNING country, region, requirement, updated_at",
        country,
        region,
        requirement,
        by,
    )
    assert row is not None  # the query always returns a row
    return Rule(**dict(row))


async def load_rules(db: Db) -> AgeRules:
    rows = await db.fetch("SELECT country, region, requirement FROM age_gate_rules")
    rules = {(r["country"], r["region"]): r["requirement"] for r in rows}
    rules.setdefault(DEFAULT, "none")
    return AgeRules(MappingProxyType(rules))


async def declare_adult(
    db: Db, user_id: uuid.UUID, *, ip: str, place: str, statement: str
) -> datetime:
    country, _, region = place.partition("-")
    return await db.fetchval(
        "INSERT INTO age_declarations (user_id, ip, country, region, statement) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING declared_at",
        user_id,
        ip,
        country,
        region,
        statement,
    )


async def age_level(db: Db, user_id: uuid.UUID | None) -> str:
    """``verified`` (an approved identity record), ``self_declared`` (a declaration) or
    ``none``, in one query."""
    if user_id is None:
        return "none"
    row = await db.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM identity_records r "
        "  JOIN LATERAL (SELECT status FROM identity_reviews WHERE record_id = r.id "
        "                ORDER BY id DESC LIMIT 1) v ON v.status = 'approved' "
        "  WHERE r.user_id = $1) AS verified, "
        "EXISTS (SELECT 1 FROM age_declarations WHERE user_id = $1) AS declared",
        user_id,
    )
    assert row is not None  # the query always returns a row
    if row["verified"]:
        return "verified"
    return "self_declared" if row["declared"] else "none"


async def geo_blocks(db: Db, stream_id: uuid.UUID) -> list[str]:
    rows = await db.fetch(
        "SELECT place FROM stream_geo_blocks WHERE stream_id = $1 ORDER BY place", stream_id
    )
    return [r["place"] for r in rows]


async def replace_geo_blocks(
    db: asyncpg.Pool, stream_id: uuid.UUID, places: list[str]
) -> list[str]:
    """Make ``places`` the stream's whole block list, in one transaction."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM stream_geo_blocks WHERE stream_id = $1", stream_id)
        await conn.executemany(
            "INSERT INTO stream_geo_blocks (stream_id, place) VALUES ($1, $2)",
            [(stream_id, p) for p in sorted(set(places))],
        )
    return sorted(set(places))


async def stream_access(
    db: Db, stream_id: uuid.UUID, *, rules: AgeRules | None
) -> StreamAccess | None:
    """What the media servers and the API check for this stream (None: no such stream).

    ``rules`` None: the age gate is off on this node (no stream is age-gated).
    """
    row = await db.fetchrow(
        # While a ticket show runs the stream is 'ticketed' (api.wallet.ticket_shows): only
        # signed tokens play, and the token route gives them to ticket holders.
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM ticket_shows t WHERE t.stream_id = s.id "
        "AND t.state = 'running') THEN 'ticketed' ELSE s.visibility END AS visibility, "
        "coalesce(x.rating, 'adult') AS rating, "
        "coalesce(x.explicit, false) AS explicit, "
        "ARRAY(SELECT place FROM stream_geo_blocks WHERE stream_id = s.id) AS blocked, "
        # Tokens voided by a change (migration 0067): older revocations than the floor, or
        # than any token can live, void nothing more.
        "s.access_floor, ARRAY(SELECT ARRAY[r.viewer, r.epoch::text] "
        "FROM playback_revocations r WHERE r.stream_id = s.id AND r.epoch > s.access_floor "
        "AND r.at > now() - make_interval(secs => $2)) AS revoked "
        "FROM streams s LEFT JOIN stream_safety x ON x.stream_id = s.id WHERE s.id = $1",
        stream_id,
        float(MAX_LIFETIME + 300),
    )
    if row is None:
        return None
    adult = rules is not None and (row["rating"] == "adult" or row["explicit"])
    return StreamAccess(
        visibility=row["visibility"],
        adult=adult,
        blocked=frozenset(row["blocked"]),
        rules=rules if rules is not None else AgeRules(),
        floor=row["access_floor"],
        revoked=MappingProxyType({viewer: int(epoch) for viewer, epoch in row["revoked"]}),
    )
