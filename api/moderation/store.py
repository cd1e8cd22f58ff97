"""SQL for trust and safety: stream safety state, moderation decisions and review flags.

Every function takes a pool or connection. Decisions are written in batches
(:func:`insert_decisions`), as a live stream makes one or more per second.

Retention is not handled yet: a live stream writes one decision per sample (about 1-4 a second).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from teezu.db import Db


@dataclass(frozen=True)
class StreamSafety:
    stream_id: uuid.UUID
    rating: str
    explicit: bool
    explicit_since: datetime | None
    frozen: bool
    frozen_reason: str | None
    frozen_at: datetime | None
    frozen_by: uuid.UUID | None


@dataclass(frozen=True)
class DecisionRow:
    """One decision, ready to insert."""

    id: uuid.UUID
    stream_id: uuid.UUID
    run: str | None
    sample_seq: int
    stream_time: float
    sample_reason: str
    rating: str
    audience: str
    detector: str
    policy_version: str
    action: str
    actions: list[str]
    detections: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    latency_ms: float
    inference_ms: float
    snapshot_key: str | None = None


_SAFETY = "stream_id, rating, explicit, explicit_since, frozen, frozen_reason, frozen_at, frozen_by"


async def get_safety(db: Db, stream_id: uuid.UUID) -> StreamSafety:
    """The stream's safety state (defaults when it never had any)."""
    row = await db.fetchrow(f"SELECT {_SAFETY} FROM stream_safety WHERE stream_id = $1", stream_id)
    if row is None:
        return StreamSafety(stream_id, "adult", False, None, False, None, None, None)
    return StreamSafety(**dict(row))


async def set_rating(db: Db, stream_id: uuid.UUID, rating: str) -> None:
    await db.execute(
        "INSERT INTO stream_safety (stream_id, rating) VALUES ($1, $2) "
        "ON CONFLICT (stream_id) DO UPDATE SET rating = $2, updated_at = now()",
        stream_id,
        rating,
    )


async def mark_explicit(db: Db, stream_id: uuid.UUID) -> bool:
    """Mark the stream explicit; True if it was not already."""
    row = await db.fetchrow(
        # The CTE reads the row as it was before this statement changed it.
        "WITH before AS (SELECT explicit FROM stream_safety WHERE stream_id = $1) "
        "INSERT INTO stream_safety (stream_id, explicit, explicit_since) VALUES ($1, true, now()) "
        "ON CONFLICT (stream_id) DO UPDATE SET explicit = true, "
        "explicit_since = coalesce(stream_safety.explicit_since, now()), updated_at = now() "
        "RETURNING NOT coalesce((SELECT explicit FROM before), false) AS changed",
        stream_id,
    )
    assert row is not None  # the query always returns a row
    return bool(row["changed"])


async def set_frozen(
    db: Db, stream_id: uuid.UUID, *, reason: str | None, by: uuid.UUID | None = None
) -> None:
    """Record a freeze (``reason``) or its end (``reason=None``)."""
    frozen = reason is not None
    await db.execute(
        "INSERT INTO stream_safety (stream_id, frozen, frozen_reason, frozen_at, frozen_by) "
        "VALUES ($1, $2, $3, CASE WHEN $2 THEN now() END, $4) "
        "ON CONFLICT (stream_id) DO UPDATE SET frozen = $2, frozen_reason = $3, "
        "frozen_at = CASE WHEN $2 THEN now() END, frozen_by = $4, updated_at = now()",
        stream_id,
        frozen,
        reason,
        by,
    )


async def insert_decisions(db: Db, rows: list[DecisionRow]) -> None:
    if not rows:
        return
    await db.executemany(
        "INSERT INTO moderation_decisions (id, stream_id, run, sample_seq, stream_time, "
        "sample_reason, rating, audience, detector, policy_version, action, actions, detections, "
        "matches, latency_ms, inference_ms, snapshot_key) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, "
        "$16, $17)",
        [
            (
                r.id,
                r.stream_id,
                r.run,
                r.sample_seq,
                r.stream_time,
                r.sample_reason,
                r.rating,
                r.audience,
                r.detector,
                r.policy_version,
                r.action,
                r.actions,
                json.dumps(r.detections),
                json.dumps(r.matches),
                r.latency_ms,
                r.inference_ms,
                r.snapshot_key,
            )
            for r in rows
        ],
    )


async def add_flag(
    db: Db,
    stream_id: uuid.UUID,
    *,
    kind: str,
    reason: str,
    snapshot_key: str | None,
    decision_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A flag for human review (``decision_id``, when given, must be written already)."""
    flag_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO moderation_flags (id, stream_id, decision_id, kind, reason, snapshot_key) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        flag_id,
        stream_id,
        decision_id,
        kind,
        reason,
        snapshot_key,
    )
    return flag_id


async def decisions_of(db: Db, stream_id: uuid.UUID) -> list[asyncpg.Record]:
    """A stream's decisions, oldest first (``detections``/``matches`` are JSON text)."""
    return await db.fetch(
        "SELECT * FROM moderation_decisions WHERE stream_id = $1 ORDER BY decided_at, sample_seq",
        stream_id,
    )


async def flags_of(db: Db, stream_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM moderation_flags WHERE stream_id = $1 ORDER BY created_at", stream_id
    )
