"""SQL of provider services, their pricing tiers and slots (bookings: `api.services.bookings`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from teezu.db import Db

SERVICE = (
    "s.id, s.provider_id, u.handle AS provider_handle, s.title, s.description, s.time_zone, "
    "s.free_cancel_hours, s.late_cancel_percent, s.active, s.created_at"
)
_FROM = "FROM provider_services s JOIN users u ON u.id = s.provider_id"


async def create_service(
    pool: asyncpg.Pool,
    provider_id: uuid.UUID,
    *,
    title: str,
    description: str,
    time_zone: str,
    free_cancel_hours: int,
    late_cancel_percent: int,
    prices: list[tuple[str, int]],
) -> uuid.UUID:
    """A service and its pricing tiers, in one transaction."""
    service_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO provider_services (id, provider_id, title, description, time_zone, "
            "free_cancel_hours, late_cancel_percent) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            service_id,
            provider_id,
            title,
            description,
            time_zone,
            free_cancel_hours,
            late_cancel_percent,
        )
        await conn.executemany(
            "INSERT INTO service_prices (id, service_id, name, price, position) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(uuid.uuid4(), service_id, n, p, i) for i, (n, p) in enumerate(prices)],
        )
    return service_id


async def get_service(db: Db, service_id: uuid.UUID) -> Any:
    return await db.fetchrow(f"SELECT {SERVICE} {_FROM} WHERE s.id = $1", service_id)


async def list_services(db: Db, provider_id: uuid.UUID | None, *, limit: int) -> list[Any]:
    return await db.fetch(
        f"SELECT {SERVICE} {_FROM} WHERE s.active AND ($1::uuid IS NULL OR s.provider_id = $1) "
        "ORDER BY s.created_at DESC LIMIT $2",
        provider_id,
        limit,
    )


async def prices_of(db: Db, service_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    rows = await db.fetch(
        "SELECT id, service_id, name, price FROM service_prices WHERE service_id = ANY($1) "
        "ORDER BY service_id, position",
        service_ids,
    )
    out: dict[uuid.UUID, list[Any]] = {i: [] for i in service_ids}
    for r in rows:
        out[r["service_id"]].append(r)
    return out


async def set_active(db: Db, service_id: uuid.UUID, active: bool) -> None:
    await db.execute(
        "UPDATE provider_services SET active = $2, updated_at = now() WHERE id = $1",
        service_id,
        active,
    )


async def add_slots(
    pool: asyncpg.Pool, service_id: uuid.UUID, slots: list[tuple[datetime, datetime]]
) -> list[Any] | None:
    """Add slots all or none; None when one starts where another does."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            rows = []
            for start, end in slots:
                rows.append(
                    await conn.fetchrow(
                        "INSERT INTO service_slots (id, service_id, starts_at, ends_at) "
                        "VALUES ($1, $2, $3, $4) RETURNING id, starts_at, ends_at",
                        uuid.uuid4(),
                        service_id,
                        start,
                        end,
                    )
                )
            return rows
    except asyncpg.UniqueViolationError:
        return None


async def slots_of(
    db: Db, service_id: uuid.UUID, start: datetime, end: datetime, *, limit: int
) -> list[Any]:
    """Slots starting in [start, end), with whether a live booking takes each."""
    return await db.fetch(
        "SELECT t.id, t.starts_at, t.ends_at, EXISTS (SELECT 1 FROM service_bookings b "
        "WHERE b.slot_id = t.id AND b.state IN ('requested', 'accepted', 'completed')) AS booked "
        "FROM service_slots t WHERE t.service_id = $1 AND t.starts_at >= $2 AND t.starts_at < $3 "
        "ORDER BY t.starts_at LIMIT $4",
        service_id,
        start,
        end,
        limit,
    )
