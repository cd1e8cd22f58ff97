"""SQL for the ``streams`` table. Every function takes a pool or connection and returns rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ingest.tokens import new_publish_token
from teezu.db import Db

_COLUMNS = (
    "id, creator_handle, title, state, created_at, started_at, ended_at, publish_token_hash, "
    "visibility, recording, creator_id, access_epoch, tags, language, mood"
)
MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")
VISIBILITIES = ("public", "followers", "subscribers", "ticketed")


@dataclass(frozen=True)
class StreamRow:
    id: uuid.UUID
    creator_handle: str
    title: str
    state: str  # idle | live | ended
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    publish_token_hash: bytes
    visibility: str = "public"
    recording: bool = False
    creator_id: uuid.UUID | None = None  # None: made before accounts, or for a handle with none
    # Bumped by every change of who may watch (migration 0067); playback tokens carry it.
    access_epoch: int = 0
    tags: tuple[str, ...] = ()
    language: str | None = None  # ISO 639-1, as the creator says
    mood: str | None = None  # one of MOODS

    def public(self) -> dict[str, Any]:
        """The fields anyone may see (never the token hash)."""
        return {
            "id": str(self.id),
            "creatorHandle": self.creator_handle,
            "title": self.title,
            "state": self.state,
            "createdAt": self.created_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "visibility": self.visibility,
            "recording": self.recording,
        }


def _row(r: asyncpg.Record) -> StreamRow:
    d = dict(r)
    d["tags"] = tuple(d.get("tags") or ())
    return StreamRow(**d)


async def create_stream(
    db: Db,
    *,
    title: str,
    creator_handle: str,
    visibility: str = "public",
    recording: bool = False,
    creator_id: uuid.UUID | None = None,
) -> tuple[StreamRow, str]:
    """Create an idle stream; returns it with its publish token (shown once, stored hashed).

    Without ``creator_id`` the stream is linked to the account whose handle is
    ``creator_handle``, if there is one.
    """
    token, token_hash = new_publish_token()
    row = await db.fetchrow(
        "INSERT INTO streams "
        "(id, creator_handle, title, publish_token_hash, visibility, recording, creator_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, "
        "coalesce($7, (SELECT id FROM users WHERE handle = lower($2)))) "
        f"RETURNING {_COLUMNS}",
        uuid.uuid4(),
        creator_handle,
        title,
        token_hash,
        visibility,
        recording,
        creator_id,
    )
    assert row is not None  # the query always returns a row
    return _row(row), token


async def update_stream(
    db: Db,
    stream_id: uuid.UUID,
    *,
    title: str | None = None,
    visibility: str | None = None,
    recording: bool | None = None,
    tags: list[str] | None = None,
    language: str | None = None,
    mood: str | None = None,
    clear: frozenset[str] = frozenset(),
) -> StreamRow | None:
    """Change what is given (None: keep); ``clear`` names the optional fields to set to NULL
    (``language``, ``mood``)."""
    row = await db.fetchrow(
        "UPDATE streams SET title = coalesce($2, title), visibility = coalesce($3, visibility), "
        "recording = coalesce($4, recording), tags = coalesce($5, tags), "
        "language = CASE WHEN $8 THEN NULL ELSE coalesce($6, language) END, "
        "mood = CASE WHEN $9 THEN NULL ELSE coalesce($7, mood) END "
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        stream_id,
        title,
        visibility,
        recording,
        tags,
        language,
        mood,
        "language" in clear,
        "mood" in clear,
    )
    return _row(row) if row else None


async def rotate_publish_token(db: Db, stream_id: uuid.UUID) -> str:
    """A new publish token; the old one stops working (a live broadcast goes on)."""
    token, token_hash = new_publish_token()
    await db.execute(
        "UPDATE streams SET publish_token_hash = $2 WHERE id = $1", stream_id, token_hash
    )
    return token


async def get_stream(db: Db, stream_id: uuid.UUID) -> StreamRow | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM streams WHERE id = $1", stream_id)
    return _row(row) if row else None


async def list_streams(
    db: Db,
    *,
    state: str | None,
    limit: int,
    before: datetime | None,
    creator_handle: str | None = None,
    blocked_in: list[str] | None = None,
    search: str | None = None,
    tag: str | None = None,
    rating: str | None = None,
    language: str | None = None,
) -> list[StreamRow]:
    """Newest first; ``before`` is the keyset cursor (created_at of the last row seen).

    ``blocked_in``: leave out streams geo-blocked in any of these places (the viewer's country
    and country-region), so pages stay full. ``search``: words that must each appear in the
    title or the creator's handle (case-insensitive); ``tag``, ``rating`` (a stream without a
    safety row is 'adult', the platform's default) and ``language`` match exactly.
    """
    words = [f"%{_like_escape(w)}%" for w in (search or "").split()] or None
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM streams "
        "WHERE ($1::text IS NULL OR state = $1) AND ($2::timestamptz IS NULL OR created_at < $2) "
        "AND ($4::text IS NULL OR creator_handle = $4) "
        "AND ($5::text[] IS NULL OR NOT EXISTS (SELECT 1 FROM stream_geo_blocks g "
        "     WHERE g.stream_id = streams.id AND g.place = ANY($5::text[]))) "
        "AND ($6::text[] IS NULL OR (SELECT bool_and(title ILIKE w OR creator_handle ILIKE w) "
        "     FROM unnest($6::text[]) AS w)) "
        "AND ($7::text IS NULL OR tags @> ARRAY[$7::text]) "
        "AND ($8::text IS NULL OR coalesce((SELECT s.rating FROM stream_safety s "
        "     WHERE s.stream_id = streams.id), 'adult') = $8) "
        "AND ($9::text IS NULL OR language = $9) "
        "ORDER BY created_at DESC, id DESC LIMIT $3",
        state,
        before,
        limit,
        creator_handle,
        blocked_in,
        words,
        tag,
        rating,
        language,
    )
    return [_row(r) for r in rows]


def _like_escape(word: str) -> str:
    """``word`` as a literal inside an ILIKE pattern (its own % and _ match themselves)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def claim_live(db: Db, stream_id: uuid.UUID, *, node: str, stale_after: float) -> bool:
    """Atomically mark a stream live on ``node``; False if it is live elsewhere and fresh.

    A 'live' row whose heartbeat is older than ``stale_after`` seconds belonged to a node that
    died without ending it, and may be claimed again.
    """
    status = await db.execute(
        "UPDATE streams SET state = 'live', started_at = now(), ended_at = NULL, "
        "heartbeat_at = now(), ingest_node = $2 "
        "WHERE id = $1 AND (state <> 'live' OR heartbeat_at < now() - make_interval(secs => $3))",
        stream_id,
        node,
        stale_after,
    )
    return status == "UPDATE 1"


async def heartbeat(db: Db, stream_id: uuid.UUID, *, node: str) -> None:
    await db.execute(
        "UPDATE streams SET heartbeat_at = now() WHERE id = $1 AND state = 'live' "
        "AND ingest_node = $2",
        stream_id,
        node,
    )


async def end_live(db: Db, stream_id: uuid.UUID, *, node: str) -> None:
    await db.execute(
        "UPDATE streams SET state = 'ended', ended_at = now(), heartbeat_at = NULL "
        "WHERE id = $1 AND state = 'live' AND ingest_node = $2",
        stream_id,
        node,
    )


async def release_claim(db: Db, stream_id: uuid.UUID, *, node: str, previous: str) -> None:
    """Undo :func:`claim_live` when negotiation failed before any media flowed."""
    await db.execute(
        "UPDATE streams SET state = $3, started_at = NULL, heartbeat_at = NULL, ingest_node = NULL "
        "WHERE id = $1 AND state = 'live' AND ingest_node = $2",
        stream_id,
        node,
        previous,
    )


async def end_lost(db: Db, stream_id: uuid.UUID, *, node: str) -> bool:
    """A stream live on ``node``, which stopped beating (the cluster's worker): ended; True if
    this call ended it (so whoever ends it runs the rest of the ending once)."""
    status = await db.execute(
        "UPDATE streams SET state = 'ended', ended_at = now(), heartbeat_at = NULL "
        "WHERE id = $1 AND state = 'live' AND ingest_node = $2",
        stream_id,
        node,
    )
    return status.split()[-1] == "1"


async def end_all_on_node(db: Db, *, node: str) -> int:
    """At start-up: streams this node had live before it stopped are over."""
    status = await db.execute(
        "UPDATE streams SET state = 'ended', ended_at = now(), heartbeat_at = NULL "
        "WHERE state = 'live' AND ingest_node = $1",
        node,
    )
    return int(status.split()[-1])
