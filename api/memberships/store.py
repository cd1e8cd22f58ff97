"""SQL of memberships (billing, which moves tokens, is `api.memberships.billing`)."""

from __future__ import annotations

import uuid
from typing import Any

from teezu.db import Db

_COLUMNS = (
    "id, user_id, plan, kind, state, period, current_period_start, current_period_end, "
    "cancel_at_period_end, grace_until, access_until, created_at, ended_at"
)


def public(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "plan": row["plan"],
        "kind": row["kind"],
        "state": row["state"],
        "period": row["period"],
        "currentPeriodStart": row["current_period_start"],
        "currentPeriodEnd": row["current_period_end"],
        "cancelAtPeriodEnd": row["cancel_at_period_end"],
        "graceUntil": row["grace_until"],
        "accessUntil": row["access_until"],
        "createdAt": row["created_at"],
        "endedAt": row["ended_at"],
    }


async def mine(db: Db, user_id: uuid.UUID, *, limit: int = 50) -> list[Any]:
    return await db.fetch(
        f"SELECT {_COLUMNS} FROM memberships WHERE user_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT $2",
        user_id,
        limit,
    )


async def get(db: Db, membership_id: uuid.UUID) -> Any:
    return await db.fetchrow(f"SELECT {_COLUMNS} FROM memberships WHERE id = $1", membership_id)


async def live_plans(db: Db, user_id: uuid.UUID) -> list[str]:
    """The plans whose memberships grant access now (what a session reads too)."""
    rows = await db.fetch(
        "SELECT plan FROM memberships WHERE user_id = $1 AND state IN ('active', 'grace') "
        "AND access_until > now()",
        user_id,
    )
    return [r["plan"] for r in rows]


async def cancel(db: Db, membership_id: uuid.UUID) -> Any:
    """Stop renewing (access to the paid period's end; in grace it ends now). The row after."""
    await db.execute(
        "UPDATE memberships SET cancel_at_period_end = true, updated_at = now(), "
        "next_attempt_at = least(next_attempt_at, current_period_end), "
        "state = CASE WHEN state = 'grace' THEN 'ended' ELSE state END, "
        "ended_at = CASE WHEN state = 'grace' THEN now() END, "
        "grace_until = CASE WHEN state = 'grace' THEN NULL ELSE grace_until END, "
        "access_until = CASE WHEN state = 'grace' THEN now() ELSE current_period_end END "
        "WHERE id = $1 AND state IN ('active', 'grace') AND NOT cancel_at_period_end",
        membership_id,
    )
    return await get(db, membership_id)
