"""Time -> xid checkpoints: a lower bound on the entries that can be younger than a moment.

Entries carry the xid of the database transaction that wrote them, and the (account_id, xid)
index orders an account's history by it; their age is their transaction's ``created_at`` (the
database transaction's start). A checkpoint ``(at, xid)`` takes ``xid`` as the xmin of a
snapshot taken no later than ``at``: every transaction with a lower xid had finished by
``at``, so it started, and its ledger transactions were created, before ``at``. Hence

    every entry created after ``at`` has ``xid >= checkpoint.xid``,

and a question about the entries created after some moment (immature earnings, a statement's
lines and the part of the balance after its opening) reads only the entries from the latest
checkpoint at or before that moment on: a few days of a creator's history, not all of it.
"""

from __future__ import annotations

from datetime import datetime

from teezu.db import Db

# The ledger worker writes at most one checkpoint per this many seconds.
EVERY_SECONDS = 600

_CHECKPOINT = """
INSERT INTO ledger_xid_clock (at, xid)
SELECT clock_timestamp(), pg_snapshot_xmin(pg_current_snapshot())
WHERE NOT EXISTS (
    SELECT 1 FROM ledger_xid_clock WHERE at > now() - make_interval(secs => $1::int)
)
ON CONFLICT DO NOTHING
"""


async def checkpoint(db: Db, *, every_seconds: int = EVERY_SECONDS) -> bool:
    """Record a checkpoint unless one is younger than ``every_seconds``; True if written.

    ``clock_timestamp()`` is read while the statement runs, after its snapshot was taken, so
    the recorded moment is never before the snapshot.
    """
    status = await db.execute(_CHECKPOINT, every_seconds)
    return status.endswith(" 1")


async def xid_floor(db: Db, at: datetime) -> int:
    """An xid such that every entry created after ``at`` has an xid at least this (0: none)."""
    value = await db.fetchval(
        "SELECT xid::text::bigint FROM ledger_xid_clock WHERE at <= $1 ORDER BY at DESC LIMIT 1",
        at,
    )
    return int(value or 0)
