"""SQL of tiers and subscriptions (billing, which moves tokens, is `api.subscriptions.billing`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Db

_TIER = "id, creator_id, name, price, active, created_at, updated_at"
SUBSCRIPTION = (
    "s.id, s.subscriber_id, s.creator_id, s.tier_id, s.state, s.period, "
    "s.current_period_start, s.current_period_end, s.cancel_at_period_end, s.grace_until, "
    "s.access_until, s.next_attempt_at, s.created_at, s.ended_at, "
    "t.name AS tier_name, t.price AS tier_price, "
    "(SELECT c.price FROM subscription_charges c WHERE c.subscription_id = s.id "
    " ORDER BY c.period DESC LIMIT 1) AS last_price, "
    "u.handle AS subscriber_handle, cu.handle AS creator_handle"
)
_FROM = (
    "FROM subscriptions s JOIN subscription_tiers t ON t.id = s.tier_id "
    "JOIN users u ON u.id = s.subscriber_id JOIN users cu ON cu.id = s.creator_id"
)


@dataclass(frozen=True)
class Tier:
    id: uuid.UUID
    creator_id: uuid.UUID
    name: str
    price: int
    active: bool
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "creatorId": str(self.creator_id),
            "name": self.name,
            "price": self.price,
            "active": self.active,
        }


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    subscriber_id: uuid.UUID
    creator_id: uuid.UUID
    tier_id: uuid.UUID
    state: str
    period: int
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    grace_until: datetime | None
    access_until: datetime
    next_attempt_at: datetime
    created_at: datetime
    ended_at: datetime | None
    tier_name: str
    tier_price: int
    last_price: int | None
    subscriber_handle: str
    creator_handle: str

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "subscriberId": str(self.subscriber_id),
            "subscriberHandle": self.subscriber_handle,
            "creatorId": str(self.creator_id),
            "creatorHandle": self.creator_handle,
            "tier": {"id": str(self.tier_id), "name": self.tier_name, "price": self.tier_price},
            "state": self.state,
            "period": self.period,
            "pricePaid": self.last_price,
            "currentPeriodStart": self.current_period_start.isoformat(),
            "currentPeriodEnd": self.current_period_end.isoformat(),
            "cancelAtPeriodEnd": self.cancel_at_period_end,
            "graceUntil": self.grace_until.isoformat() if self.grace_until else None,
            "accessUntil": self.access_until.isoformat(),
            "createdAt": self.created_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
        }


def _sub(row: Any) -> Subscription:
    return Subscription(**{k: row[k] for k in Subscription.__dataclass_fields__})


# ---- tiers ------------------------------------------------------------------------------


async def tiers_of(db: Db, creator_id: uuid.UUID, *, include_inactive: bool) -> list[Tier]:
    rows = await db.fetch(
        f"SELECT {_TIER} FROM subscription_tiers WHERE creator_id = $1 AND (active OR $2) "
        "ORDER BY price, created_at",
        creator_id,
        include_inactive,
    )
    return [Tier(**dict(r)) for r in rows]


async def get_tier(db: Db, tier_id: uuid.UUID) -> Tier | None:
    row = await db.fetchrow(f"SELECT {_TIER} FROM subscription_tiers WHERE id = $1", tier_id)
    return Tier(**dict(row)) if row else None


async def create_tier(db: Db, creator_id: uuid.UUID, *, name: str, price: int) -> Tier:
    row = await db.fetchrow(
        "INSERT INTO subscription_tiers (id, creator_id, name, price) VALUES ($1, $2, $3, $4) "
        f"RETURNING {_TIER}",
        uuid.uuid4(),
        creator_id,
        name,
        price,
    )
    assert row is not None  # the query always returns a row
    return Tier(**dict(row))


async def update_tier(
    db: Db,
    tier_id: uuid.UUID,
    *,
    name: str | None = None,
    price: int | None = None,
    active: bool | None = None,
) -> Tier | None:
    """A price change applies to subscribers from their next renewal (each charge reads the
    price when it is made and records it)."""
    row = await db.fetchrow(
        "UPDATE subscription_tiers SET name = coalesce($2, name), price = coalesce($3, price), "
        "active = coalesce($4, active), updated_at = now() "
        f"WHERE id = $1 RETURNING {_TIER}",
        tier_id,
        name,
        price,
        active,
    )
    return Tier(**dict(row)) if row else None


# ---- subscriptions ----------------------------------------------------------------------


async def get(db: Db, subscription_id: uuid.UUID) -> Subscription | None:
    row = await db.fetchrow(f"SELECT {SUBSCRIPTION} {_FROM} WHERE s.id = $1", subscription_id)
    return _sub(row) if row else None


async def mine(
    db: Db, subscriber_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[Subscription]:
    """A viewer's subscriptions, newest first (keyset on (created_at, id))."""
    rows = await db.fetch(
        f"SELECT {SUBSCRIPTION} {_FROM} WHERE s.subscriber_id = $1 "
        "AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3)) "
        "ORDER BY s.created_at DESC, s.id DESC LIMIT $4",
        subscriber_id,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [_sub(r) for r in rows]


async def subscribers(
    db: Db, creator_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[Subscription]:
    """A creator's live (active or in grace) subscriptions, newest first."""
    rows = await db.fetch(
        f"SELECT {SUBSCRIPTION} {_FROM} WHERE s.creator_id = $1 "
        "AND s.state IN ('active', 'grace') "
        "AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3)) "
        "ORDER BY s.created_at DESC, s.id DESC LIMIT $4",
        creator_id,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [_sub(r) for r in rows]


async def subscriber_count(db: Db, creator_id: uuid.UUID) -> dict[str, int]:
    row = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE state = 'active') AS active, "
        "count(*) FILTER (WHERE state = 'grace') AS grace "
        "FROM subscriptions WHERE creator_id = $1 AND state IN ('active', 'grace') "
        "AND access_until > now()",
        creator_id,
    )
    assert row is not None  # the query always returns a row
    return {"active": row["active"], "grace": row["grace"], "total": row["active"] + row["grace"]}


async def cancel(db: Db, subscription_id: uuid.UUID) -> bool:
    """Stop renewing (access continues to the paid period's end); False if it has ended.

    In grace, nothing is paid beyond the period that failed, so access ends now.
    """
    status = await db.execute(
        "UPDATE subscriptions SET cancel_at_period_end = true, updated_at = now(), "
        "next_attempt_at = least(next_attempt_at, current_period_end), "
        "state = CASE WHEN state = 'grace' THEN 'ended' ELSE state END, "
        "ended_at = CASE WHEN state = 'grace' THEN now() END, "
        "grace_until = CASE WHEN state = 'grace' THEN NULL ELSE grace_until END, "
        "access_until = CASE WHEN state = 'grace' THEN now() ELSE current_period_end END "
        "WHERE id = $1 AND state IN ('active', 'grace')",
        subscription_id,
    )
    return status.endswith(" 1")


async def user_exists(db: Db, user_id: uuid.UUID) -> bool:
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))
