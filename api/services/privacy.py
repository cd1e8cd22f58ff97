"""Personal data of provider services: the services a provider publishes (with prices and
slots) and the bookings between members and providers.

Bookings are financial records (each has a ledger hold, captured or released), kept for the
statutory period like the ledger. Erasure stops what is live: the account's services take no
more bookings, their open (unbooked) future slots go, and its live bookings (as member or as
provider) are cancelled with nothing charged; their holds are released by the ledger worker
at the latest when they expire (`api.services.policy.COMPLETION_GRACE` after the slot).
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

_REASON = "financial record (bookkeeping and tax retention)"
_PARTY = "member_id = $1 OR provider_id = $1"


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    services = await conn.fetch(
        "SELECT id, title, description, time_zone, free_cancel_hours, late_cancel_percent, "
        "active, created_at FROM provider_services WHERE provider_id = $1 ORDER BY created_at",
        uid,
    )
    prices = await conn.fetch(
        "SELECT p.service_id, p.name, p.price FROM service_prices p JOIN provider_services s "
        "ON s.id = p.service_id WHERE s.provider_id = $1 ORDER BY p.service_id, p.position",
        uid,
    )
    slots = await conn.fetch(
        "SELECT t.service_id, t.starts_at, t.ends_at FROM service_slots t "
        "JOIN provider_services s ON s.id = t.service_id WHERE s.provider_id = $1 "
        "ORDER BY t.starts_at",
        uid,
    )
    # The other party appears by id only (their handle is their own data).
    bookings = await conn.fetch(
        "SELECT b.id, b.service_id, b.member_id, b.provider_id, t.starts_at, t.ends_at, b.price, "
        "b.state, b.charged, b.hold_id, b.free_cancel_hours, b.late_cancel_percent, "
        "b.created_at FROM service_bookings b JOIN service_slots t ON t.id = b.slot_id "
        f"WHERE b.{_PARTY.replace(' OR ', ' OR b.')} ORDER BY b.created_at",
        uid,
    )
    return {
        "services.json": {
            "services": [dict(s) for s in services],
            "prices": [dict(p) for p in prices],
            "slots": [dict(t) for t in slots],
            "bookings": [dict(b) for b in bookings],
        }
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute(
        "UPDATE provider_services SET active = false, updated_at = now() WHERE provider_id = $1",
        uid,
    )
    await conn.execute(
        "DELETE FROM service_slots t USING provider_services s WHERE s.id = t.service_id "
        "AND s.provider_id = $1 AND t.starts_at > now() AND NOT EXISTS "
        "(SELECT 1 FROM service_bookings b WHERE b.slot_id = t.id)",
        uid,
    )
    await conn.execute(
        "UPDATE service_bookings SET state = 'cancelled', charged = 0, cancelled_by = $1, "
        f"updated_at = now() WHERE ({_PARTY}) AND state IN ('requested', 'accepted')",
        uid,
    )


REGISTRY.register(
    PersonalData(
        name="services",
        tables=("provider_services", "service_prices", "service_slots", "service_bookings"),
        export=export,
        erase=erase,
        retained=(
            Retained("provider_services", "provider_id = $1", _REASON),
            Retained(
                "service_prices",
                "service_id IN (SELECT id FROM provider_services WHERE provider_id = $1)",
                _REASON,
            ),
            Retained(
                "service_slots",
                "service_id IN (SELECT id FROM provider_services WHERE provider_id = $1)",
                _REASON,
            ),
            Retained("service_bookings", _PARTY, _REASON),
        ),
        order=32,
    )
)
