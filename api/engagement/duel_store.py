"""SQL for ``stream_duels`` (migration 0144).

The scores are read from the ledger (the tokens of the tips to each stream within the duel's
window), never kept as counters fed by events: a tip counts once whichever node committed it,
and a retried or replayed tip (same idempotency key) is one ledger transaction.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import asyncpg

from api.engagement.duels import Duel, EndedBy, Side, decide
from api.engagement.errors import DuelBusy
from teezu.db import Db

_COLUMNS = (
    "d.id, d.challenger_stream, d.opponent_stream, d.rule, d.seconds, d.state, d.invited_at, "
    "d.respond_by, d.started_at, d.deadline, d.ended_at, d.ended_by, d.winner"
)


def _score(stream: str) -> str:
    """SQL: the tokens tipped to ``stream`` (a column of ``d``) within the duel's window."""
    return (
        "(SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions t "
        f"JOIN ledger_entries e ON e.tx_id = t.id WHERE t.stream_id = d.{stream} "
        "AND t.kind = 'tip' AND e.amount > 0 AND d.started_at IS NOT NULL "
        "AND t.created_at >= d.started_at "
        "AND t.created_at < coalesce(d.ended_at, d.deadline))::bigint"
    )


_SCORES = (
    f"coalesce(d.challenger_score, {_score('challenger_stream')}) AS challenger_score, "
    f"coalesce(d.opponent_score, {_score('opponent_stream')}) AS opponent_score"
)
_SELECT = f"SELECT {_COLUMNS}, {_SCORES} FROM stream_duels d"


def _duel(row: Any) -> Duel:
    return Duel(**{k: row[k] for k in Duel.__dataclass_fields__})


# Busy: in a live duel, or in an invitation not yet answered (nor past its answer time).
_ACTIVE = "d.state = 'live' OR (d.state = 'invited' AND d.respond_by > now())"
_LIVE = "d.state = 'live'"


async def _lock(conn: Db, *streams: uuid.UUID) -> None:
    """Serialise duel changes touching these streams (in one order: no deadlock)."""
    for s in sorted(streams):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 1444))", str(s))


async def _busy(
    conn: Db, streams: tuple[uuid.UUID, ...], *, live_only: bool, but: Any = None
) -> uuid.UUID | None:
    busy: uuid.UUID | None = await conn.fetchval(
        "SELECT s FROM unnest($1::uuid[]) AS s WHERE EXISTS (SELECT 1 FROM stream_duels d "
        "WHERE (d.challenger_stream = s OR d.opponent_stream = s) AND d.id IS DISTINCT FROM $2 "
        f"AND ({_LIVE if live_only else _ACTIVE})) LIMIT 1",
        list(streams),
        but,
    )
    return busy


async def invite(
    pool: asyncpg.Pool,
    challenger: uuid.UUID,
    opponent: uuid.UUID,
    *,
    invited_by: uuid.UUID | None,
    rule: str,
    seconds: int,
    respond_seconds: float,
) -> Duel:
    """A new invitation; `DuelBusy` when either stream is in a duel or an open invitation."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, challenger, opponent)
        busy = await _busy(conn, (challenger, opponent), live_only=False)
        if busy is not None:
            raise DuelBusy("this stream is in a duel already", meta={"streamId": str(busy)})
        duel_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO stream_duels (id, challenger_stream, opponent_stream, invited_by, rule, "
            "seconds, respond_by) VALUES ($1, $2, $3, $4, $5, $6, "
            "now() + make_interval(secs => $7))",
            duel_id,
            challenger,
            opponent,
            invited_by,
            rule,
            seconds,
            respond_seconds,
        )
        row = await conn.fetchrow(f"{_SELECT} WHERE d.id = $1", duel_id)
    return _duel(row)


async def get(db: Db, duel_id: uuid.UUID) -> Duel | None:
    """The duel with its scores (counted now while live; as stored once ended)."""
    row = await db.fetchrow(f"{_SELECT} WHERE d.id = $1", duel_id)
    return _duel(row) if row else None


async def current(db: Db, stream_id: uuid.UUID) -> Duel | None:
    """The stream's live duel, else its open invitation, else its last duel, else None."""
    row = await db.fetchrow(
        f"{_SELECT} WHERE d.challenger_stream = $1 OR d.opponent_stream = $1 "
        "ORDER BY d.state = 'live' DESC, (d.state = 'invited' AND d.respond_by > now()) DESC, "
        "d.invited_at DESC LIMIT 1",
        stream_id,
    )
    return _duel(row) if row else None


async def live_of(db: Db, stream_id: uuid.UUID) -> Duel | None:
    """The stream's live duel, if any."""
    row = await db.fetchrow(
        f"{_SELECT} WHERE (d.challenger_stream = $1 OR d.opponent_stream = $1) "
        "AND d.state = 'live' LIMIT 1",
        stream_id,
    )
    return _duel(row) if row else None


async def accept(pool: asyncpg.Pool, duel: Duel) -> Duel | None:
    """Start an invited duel now; None when it is no longer waiting for an answer.
    `DuelBusy` when either stream went into another live duel meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, *duel.streams)
        busy = await _busy(conn, duel.streams, live_only=True, but=duel.id)
        if busy is not None:
            raise DuelBusy("this stream is in a duel already", meta={"streamId": str(busy)})
        row = await conn.fetchrow(
            "UPDATE stream_duels d SET state = 'live', started_at = now(), "
            "deadline = now() + make_interval(secs => d.seconds) "
            "WHERE d.id = $1 AND d.state = 'invited' AND d.respond_by > now() "
            f"RETURNING {_COLUMNS}, 0::bigint AS challenger_score, 0::bigint AS opponent_score",
            duel.id,
        )
    return _duel(row) if row else None


async def decline(db: Db, duel_id: uuid.UUID) -> Duel | None:
    """Decline an invitation; None when it is no longer waiting for an answer."""
    row = await db.fetchrow(
        "UPDATE stream_duels d SET state = 'declined' WHERE d.id = $1 AND d.state = 'invited' "
        f"RETURNING {_COLUMNS}, 0::bigint AS challenger_score, 0::bigint AS opponent_score",
        duel_id,
    )
    return _duel(row) if row else None


async def expire(db: Db, limit: int = 100) -> list[Duel]:
    """Invitations past their answer time, marked expired (each returned by one call)."""
    rows = await db.fetch(
        "UPDATE stream_duels d SET state = 'expired' WHERE d.id IN (SELECT id FROM stream_duels "
        "WHERE state = 'invited' AND respond_by <= now() LIMIT $1 FOR UPDATE SKIP LOCKED) "
        f"RETURNING {_COLUMNS}, 0::bigint AS challenger_score, 0::bigint AS opponent_score",
        limit,
    )
    return [_duel(r) for r in rows]


_OFF = "(({s}.state <> 'live') OR coalesce({f}.frozen, false))"


async def end(
    pool: asyncpg.Pool,
    *,
    duel_id: uuid.UUID | None = None,
    by: Side | None = None,
    limit: int = 100,
) -> list[Duel]:
    """End duels and write their scores and winner, each exactly once whichever node calls:
    with ``duel_id`` and ``by``, that duel if live (a creator's early end: a forfeit); without,
    up to ``limit`` live duels past their deadline or with a side no longer live (skipping any
    another node is ending). Returns the duels this call ended, with their result."""
    c_off = _OFF.format(s="cs", f="cf")
    o_off = _OFF.format(s="os", f="of_")
    async with pool.acquire() as conn, conn.transaction():
        if duel_id is not None:
            rows = await conn.fetch(
                "UPDATE stream_duels d SET state = 'ended', ended_at = now(), ended_by = $2 "
                "WHERE d.id = $1 AND d.state = 'live' "
                "RETURNING d.id, false AS c_off, false AS o_off",
                duel_id,
                by,
            )
        else:
            rows = await conn.fetch(
                "WITH due AS (SELECT d.id, d.deadline <= now() AS timed_out, "
                f"{c_off} AS c_off, {o_off} AS o_off FROM stream_duels d "
                "JOIN streams cs ON cs.id = d.challenger_stream "
                "JOIN streams os ON os.id = d.opponent_stream "
                "LEFT JOIN stream_safety cf ON cf.stream_id = cs.id "
                "LEFT JOIN stream_safety of_ ON of_.stream_id = os.id "
                f"WHERE d.state = 'live' AND (d.deadline <= now() OR {c_off} OR {o_off}) "
                "ORDER BY d.deadline LIMIT $1 FOR UPDATE OF d SKIP LOCKED) "
                "UPDATE stream_duels d SET state = 'ended', "
                "ended_at = least(now(), d.deadline), "
                "ended_by = CASE WHEN due.timed_out THEN 'deadline' ELSE 'offline' END "
                "FROM due WHERE d.id = due.id "
                "RETURNING d.id, due.c_off AND NOT due.timed_out AS c_off, "
                "due.o_off AND NOT due.timed_out AS o_off",
                limit,
            )
        ended = []
        for r in rows:
            # A new statement, so a new snapshot: every tip committed before the UPDATE is read.
            duel = _duel(await conn.fetchrow(f"{_SELECT} WHERE d.id = $1", r["id"]))
            sides: tuple[tuple[Side, bool], ...] = (
                ("challenger", r["c_off"]),
                ("opponent", r["o_off"]),
            )
            offline = frozenset(side for side, off in sides if off)
            outcome = decide(
                duel.challenger_score,
                duel.opponent_score,
                ended_by=cast(EndedBy, duel.ended_by),
                offline=offline,
            )
            row = await conn.fetchrow(
                "UPDATE stream_duels d SET challenger_score = $2, opponent_score = $3, "
                f"winner = $4 WHERE d.id = $1 RETURNING {_COLUMNS}, "
                "d.challenger_score, d.opponent_score",
                duel.id,
                duel.challenger_score,
                duel.opponent_score,
                outcome.winner,
            )
            ended.append(_duel(row))
        return ended
