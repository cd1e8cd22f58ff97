"""SQL for ``room_polls`` and ``room_poll_votes`` (migration 0141)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import asyncpg

from api.engagement.errors import PollAlreadyOpen
from api.engagement.polls import OptionTally, Poll, decide, tally
from teezu.db import Db, connection

_COLUMNS = (
    "id, stream_id, kind, question, options, weighted, state, opened_at, deadline, "
    "closed_at, closed_by, tally, winner"
)


def _poll(row: Any, counted: Sequence[OptionTally] | None = None) -> Poll:
    if counted is None:
        stored = json.loads(row["tally"]) if row["tally"] else []
        counted = [OptionTally(t["option"], t["votes"], t["weight"]) for t in stored]
    return Poll(
        id=row["id"],
        stream_id=row["stream_id"],
        kind=row["kind"],
        question=row["question"],
        options=tuple(row["options"]),
        weighted=row["weighted"],
        state=row["state"],
        opened_at=row["opened_at"],
        deadline=row["deadline"],
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
        counted=tuple(counted),
        winner=row["winner"],
    )


async def _counted(db: Db, poll_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    rows = await db.fetch(
        "SELECT poll_id, option, count(*)::int AS votes, sum(weight)::bigint AS weight "
        "FROM room_poll_votes WHERE poll_id = ANY($1::uuid[]) GROUP BY poll_id, option",
        list(poll_ids),
    )
    out: dict[uuid.UUID, list[Any]] = {}
    for r in rows:
        out.setdefault(r["poll_id"], []).append((r["option"], r["votes"], r["weight"]))
    return out


async def open_poll(
    db: Db,
    stream_id: uuid.UUID,
    *,
    opened_by: uuid.UUID | None,
    kind: str,
    question: str,
    options: Sequence[str],
    weighted: bool,
    seconds: int,
) -> Poll:
    """Open a poll; `PollAlreadyOpen` while the stream has one."""
    try:
        row = await db.fetchrow(
            "INSERT INTO room_polls (id, stream_id, opened_by, kind, question, options, "
            "weighted, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            f"now() + make_interval(secs => $8)) RETURNING {_COLUMNS}",
            uuid.uuid4(),
            stream_id,
            opened_by,
            kind,
            question,
            list(options),
            weighted,
            seconds,
        )
    except asyncpg.UniqueViolationError:
        raise PollAlreadyOpen(
            "this room already has an open poll", meta={"streamId": str(stream_id)}
        ) from None
    assert row is not None
    return _poll(row, tally(len(row["options"]), []))


async def get(db: Db, poll_id: uuid.UUID) -> Poll | None:
    """A poll with its tally (counted now while open; as stored at its close)."""
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM room_polls WHERE id = $1", poll_id)
    if row is None:
        return None
    if row["state"] == "closed":
        return _poll(row)
    counted = (await _counted(db, [poll_id])).get(poll_id, [])
    return _poll(row, tally(len(row["options"]), counted))


async def current(db: Db, stream_id: uuid.UUID) -> Poll | None:
    """The stream's open poll, else its last closed one, else None."""
    poll_id = await db.fetchval(
        "SELECT id FROM room_polls WHERE stream_id = $1 "
        "ORDER BY state = 'open' DESC, opened_at DESC LIMIT 1",
        stream_id,
    )
    return await get(db, poll_id) if poll_id else None


async def recent(db: Db, stream_id: uuid.UUID, limit: int) -> list[Poll]:
    """The stream's polls, newest first (open ones with their tally so far)."""
    ids = await db.fetch(
        "SELECT id FROM room_polls WHERE stream_id = $1 ORDER BY opened_at DESC LIMIT $2",
        stream_id,
        limit,
    )
    polls = [await get(db, r["id"]) for r in ids]
    return [p for p in polls if p is not None]


VoteOutcome = Literal["added", "exists", "closed"]


async def add_vote(
    db: Db,
    poll_id: uuid.UUID,
    voter: uuid.UUID,
    option: int,
    *,
    weight: int,
    tip_id: int | None,
) -> VoteOutcome:
    """Count a vote while the poll is open: ``added``; ``exists`` when this voter's free vote
    (or this tip) was counted before; ``closed`` when the poll closed (or its deadline passed).

    The poll row is locked FOR SHARE: a concurrent close waits for this vote, and a vote
    waiting on a close sees the poll closed.
    """
    row = await db.fetchrow(
        "WITH poll AS (SELECT id FROM room_polls WHERE id = $1 AND state = 'open' "
        "AND deadline > now() FOR SHARE), "
        "ins AS (INSERT INTO room_poll_votes (poll_id, voter_id, option, weight, tip_id) "
        "SELECT id, $2, $3, $4, $5 FROM poll ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT (SELECT count(*) FROM poll) AS open, (SELECT count(*) FROM ins) AS added",
        poll_id,
        voter,
        option,
        weight,
        tip_id,
    )
    assert row is not None
    if row["added"]:
        return "added"
    return "exists" if row["open"] else "closed"


async def close(db: Db, *, poll_id: uuid.UUID | None = None, limit: int = 100) -> list[Poll]:
    """Close polls and write their result, each exactly once whichever node calls: with
    ``poll_id``, that poll if open (the creator's early close, ``closed_by = creator``);
    without, up to ``limit`` open polls past their deadline (skipping any another node is
    closing, or a vote is being added to: the next sweep takes them). Returns the polls this
    call closed, with their result. ``db`` may be a connection in a transaction: the close
    then commits with it."""
    async with connection(db) as conn, conn.transaction():
        if poll_id is not None:
            rows = await conn.fetch(
                "UPDATE room_polls SET state = 'closed', closed_at = now(), closed_by = 'creator' "
                f"WHERE id = $1 AND state = 'open' RETURNING {_COLUMNS}",
                poll_id,
            )
        else:
            rows = await conn.fetch(
                "UPDATE room_polls SET state = 'closed', closed_at = now(), "
                "closed_by = 'deadline' WHERE id IN (SELECT id FROM room_polls "
                "WHERE state = 'open' AND deadline <= now() ORDER BY deadline LIMIT $1 "
                f"FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}",
                limit,
            )
        if not rows:
            return []
        # A new statement, so a new snapshot: every vote committed before the UPDATE took the
        # rows is counted, and none can be added after it.
        counted = await _counted(conn, [r["id"] for r in rows])
        closed = []
        for r in rows:
            result = tally(len(r["options"]), counted.get(r["id"], []))
            winner = decide(result).winner
            await conn.execute(
                "UPDATE room_polls SET tally = $2::jsonb, winner = $3 WHERE id = $1",
                r["id"],
                json.dumps([t.wire() for t in result]),
                winner,
            )
            closed.append(_poll({**dict(r), "winner": winner, "tally": None}, result))
        return closed
