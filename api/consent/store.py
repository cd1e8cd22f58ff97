"""Performers and consent check-ins in PostgreSQL, and the go-live check WHIP calls."""

from __future__ import annotations

import uuid

from api.consent.gate import PerformerState, check_ready
from api.streams.store import StreamRow
from api.verification import store as identity
from teezu.db import Db

# The current session began when the stream's last broadcast ended.
_SESSION_START = (
    "coalesce((SELECT max(ended_at) FROM broadcasts WHERE stream_id = $1), '-infinity')"
)


async def co_performers(db: Db, stream_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = await db.fetch(
        "SELECT u.id, u.handle FROM stream_performers p JOIN users u ON u.id = p.user_id "
        "WHERE p.stream_id = $1 ORDER BY p.added_at",
        stream_id,
    )
    return [(r["id"], r["handle"]) for r in rows]


async def add_performer(
    db: Db, stream_id: uuid.UUID, user_id: uuid.UUID, added_by: uuid.UUID | None
) -> bool:
    """Invite ``user_id``; False if they already perform on the stream."""
    status: str = await db.execute(
        "INSERT INTO stream_performers (stream_id, user_id, added_by) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        stream_id,
        user_id,
        added_by,
    )
    return status.endswith(" 1")


async def remove_performer(db: Db, stream_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Uninvite a co-performer (their check-ins stay in the append-only log)."""
    status: str = await db.execute(
        "DELETE FROM stream_performers WHERE stream_id = $1 AND user_id = $2", stream_id, user_id
    )
    return status == "DELETE 1"


async def record(
    db: Db, stream_id: uuid.UUID, user_id: uuid.UUID, action: str, ip: str | None
) -> None:
    await db.execute(
        "INSERT INTO consent_checkins (stream_id, user_id, action, ip) VALUES ($1, $2, $3, $4)",
        stream_id,
        user_id,
        action,
        ip,
    )


async def checked_in(db: Db, stream_id: uuid.UUID) -> set[uuid.UUID]:
    """Performers whose newest action this session is 'confirm'."""
    rows = await db.fetch(
        "SELECT DISTINCT ON (user_id) user_id, action FROM consent_checkins "
        f"WHERE stream_id = $1 AND at > {_SESSION_START} ORDER BY user_id, id DESC",
        stream_id,
    )
    return {r["user_id"] for r in rows if r["action"] == "confirm"}


async def revoked(db: Db, stream_id: uuid.UUID) -> set[uuid.UUID]:
    """Performers whose newest action this session is 'revoke' (they withdrew consent)."""
    rows = await db.fetch(
        "SELECT DISTINCT ON (user_id) user_id, action FROM consent_checkins "
        f"WHERE stream_id = $1 AND at > {_SESSION_START} ORDER BY user_id, id DESC",
        stream_id,
    )
    return {r["user_id"] for r in rows if r["action"] == "revoke"}


async def performers(db: Db, stream: StreamRow) -> list[PerformerState]:
    """The creator first, then co-performers, each with verification and check-in state."""
    people: list[tuple[uuid.UUID | None, str, str]] = [
        (stream.creator_id, stream.creator_handle, "creator")
    ]
    people += [(uid, h, "co_performer") for uid, h in await co_performers(db, stream.id)]
    ids = [uid for uid, _, _ in people if uid is not None]
    verified = await identity.verified(db, ids)
    present = await checked_in(db, stream.id)
    return [
        PerformerState(uid, handle, role, uid in verified, uid in present)
        for uid, handle, role in people
    ]


async def is_performer(db: Db, stream: StreamRow, user_id: uuid.UUID | None) -> bool:
    if user_id is None:
        return False
    if stream.creator_id == user_id:
        return True
    found = await db.fetchval(
        "SELECT 1 FROM stream_performers WHERE stream_id = $1 AND user_id = $2",
        stream.id,
        user_id,
    )
    return found is not None


async def ensure_ready(db: Db, stream: StreamRow) -> None:
    """Refuse go-live (403 envelope) unless every performer is verified and checked in."""
    check_ready(await performers(db, stream))
