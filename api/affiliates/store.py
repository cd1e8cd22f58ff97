"""SQL for affiliate codes, clicks, referrals (migration 0082) and the stats read from the ledger.

Stats never come from a counter of their own: clicks and sign-ups are rows here, conversions
are the referred accounts' first purchases in the ledger, and earnings are the entries on the
affiliate's earnings account of transactions that name them as referrer (or reverse one that
did), so the stats add up to the ledger by construction.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from api.affiliates.attribution import Decision, Touch
from teezu.db import Connection, Db

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


async def code_of(db: Db, owner: uuid.UUID) -> str | None:
    code: str | None = await db.fetchval(
        "SELECT code FROM affiliate_codes WHERE owner_id = $1", owner
    )
    return code


async def ensure_code(db: Db, owner: uuid.UUID) -> tuple[str, bool]:
    """The owner's code, made if they have none; (code, made now)."""
    for _ in range(5):
        try:
            made = await db.fetchval(
                "INSERT INTO affiliate_codes (owner_id, code) VALUES ($1, $2) "
                "ON CONFLICT (owner_id) DO NOTHING RETURNING code",
                owner,
                new_code(),
            )
        except asyncpg.UniqueViolationError:  # the random code is someone else's: draw again
            continue
        if made is not None:
            return str(made), True
        existing = await code_of(db, owner)
        assert existing is not None
        return existing, False
    raise RuntimeError("could not draw a free affiliate code")


async def touch_of_code(db: Db, code: str) -> Touch | None:
    row = await db.fetchrow(
        "SELECT c.owner_id, u.email FROM affiliate_codes c JOIN users u ON u.id = c.owner_id "
        "WHERE c.code = $1",
        code.strip().upper(),
    )
    return Touch(row["owner_id"], row["email"]) if row else None


async def touch_of_click(db: Db, click_id: uuid.UUID) -> Touch | None:
    row = await db.fetchrow(
        "SELECT k.id, k.clicked_at, k.owner_id, u.email FROM affiliate_clicks k "
        "JOIN users u ON u.id = k.owner_id WHERE k.id = $1",
        click_id,
    )
    if row is None:
        return None
    return Touch(row["owner_id"], row["email"], row["id"], row["clicked_at"])


async def record_click(db: Db, owner: uuid.UUID) -> tuple[uuid.UUID, datetime]:
    row = await db.fetchrow(
        "INSERT INTO affiliate_clicks (id, owner_id) VALUES ($1, $2) RETURNING id, clicked_at",
        uuid.uuid4(),
        owner,
    )
    assert row is not None
    return row["id"], row["clicked_at"]


async def refer(conn: Connection, referred: uuid.UUID, decision: Decision) -> None:
    """Record the referral (in the sign-up's transaction); first touch: never replaced."""
    if decision.referrer is None:
        return
    await conn.execute(
        "INSERT INTO affiliate_referrals (referred_id, referrer_id, click_id, via) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (referred_id) DO NOTHING",
        referred,
        decision.referrer,
        decision.click_id,
        decision.via,
    )


async def is_affiliate(db: Db, user_id: uuid.UUID) -> bool:
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM affiliate_codes WHERE owner_id = $1)", user_id
        )
    )


@dataclass(frozen=True)
class PeriodStats:
    start: datetime
    clicks: int
    signups: int
    conversions: int  # referred accounts whose first token purchase fell in the period
    earnings: int  # tokens credited (less reversed) as the referral share


_STATS = """
WITH periods AS (
    SELECT g AS start, g + ('1 ' || $2)::interval AS stop
    FROM generate_series(date_trunc($2, $3::timestamptz, 'UTC'),
                         $4::timestamptz - interval '1 microsecond',
                         ('1 ' || $2)::interval) AS g
),
acct AS (SELECT id FROM ledger_accounts WHERE kind = 'earnings' AND owner_id = $1),
earned AS (
    SELECT t.created_at AS at, e.amount
    FROM ledger_entries e
    JOIN ledger_transactions t ON t.id = e.tx_id
    LEFT JOIN ledger_transactions o ON o.id = t.reverses
    WHERE e.account_id IN (SELECT id FROM acct)
      AND (t.memo->>'referrer' = $1::text OR o.memo->>'referrer' = $1::text)
      AND t.created_at >= $3 AND t.created_at < $4
),
converted AS (
    SELECT min(t.created_at) AS at
    FROM affiliate_referrals r
    JOIN ledger_transactions t ON t.initiator_id = r.referred_id AND t.kind = 'purchase'
    WHERE r.referrer_id = $1
    GROUP BY r.referred_id
)
SELECT p.start,
    (SELECT count(*) FROM affiliate_clicks k
     WHERE k.owner_id = $1 AND k.clicked_at >= greatest(p.start, $3)
       AND k.clicked_at < least(p.stop, $4)) AS clicks,
    (SELECT count(*) FROM affiliate_referrals r
     WHERE r.referrer_id = $1 AND r.created_at >= greatest(p.start, $3)
       AND r.created_at < least(p.stop, $4)) AS signups,
    (SELECT count(*) FROM converted c
     WHERE c.at >= greatest(p.start, $3) AND c.at < least(p.stop, $4)) AS conversions,
    (SELECT coalesce(sum(amount), 0) FROM earned x
     WHERE x.at >= p.start AND x.at < p.stop) AS earnings
FROM periods p ORDER BY p.start
"""


async def stats(
    db: Db, affiliate: uuid.UUID, *, period: str, since: datetime, until: datetime
) -> list[PeriodStats]:
    """Per ``period`` ('day' | 'week' | 'month', UTC) in [``since``, ``until``)."""
    rows = await db.fetch(_STATS, affiliate, period, since, until)
    return [
        PeriodStats(
            start=r["start"],
            clicks=int(r["clicks"]),
            signups=int(r["signups"]),
            conversions=int(r["conversions"]),
            earnings=int(r["earnings"]),
        )
        for r in rows
    ]
