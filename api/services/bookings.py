"""Bookings of provider services: a hold reserves the price, then one of accept, decline,
cancel, complete moves the booking on and settles the hold exactly once.

* **Book**: the member's tokens are reserved first (a ``booking`` hold, idempotent per the
  caller's ``Idempotency-Key``), then the booking row claims the slot; the partial unique index
  on live bookings per slot (0095) is the one gate, so of any number of concurrent bookings
  of a slot one wins and the others' holds are released at once (``SLOT_TAKEN``). A crash
  between the two leaves a hold with no booking: it expires (to the slot's end plus
  `policy.COMPLETION_GRACE`) and the ledger worker releases it.
* **State changes** are single conditional UPDATEs from the expected state, which also fix
  ``charged``; the hold is then captured for ``charged`` (the provider's split under the fee
  schedule, like a tip) or released. Two racing calls: one moves it, the other gets
  ``BOOKING_STATE_CONFLICT`` (or the same result again when it asked for the same change).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from api.services import policy
from api.services.errors import (
    BookingStateConflict,
    NotBookingParty,
    OutsideBookedSlot,
    PriceNotFound,
    SelfBooking,
    ServiceNotAvailable,
    ServiceNotFound,
    SlotInPast,
    SlotNotFound,
    SlotTaken,
    TooEarlyToComplete,
)
from api.wallet.errors import HoldNotActive
from api.wallet.model import HoldPurpose, IdempotencyKey, Outcome
from api.wallet.service import Ledger
from teezu.db import Db

log = logging.getLogger(__name__)

BOOKING = (
    "b.id, b.service_id, s.title AS service_title, s.time_zone, b.slot_id, t.starts_at, "
    "t.ends_at, b.price_id, p.name AS price_name, b.member_id, mu.handle AS member_handle, "
    "b.provider_id, pu.handle AS provider_handle, b.price, b.hold_id, b.state, "
    "b.free_cancel_hours, b.late_cancel_percent, b.charged, b.cancelled_by, b.created_at, "
    "b.updated_at"
)
_FROM = (
    "FROM service_bookings b JOIN provider_services s ON s.id = b.service_id "
    "JOIN service_slots t ON t.id = b.slot_id JOIN service_prices p ON p.id = b.price_id "
    "JOIN users mu ON mu.id = b.member_id JOIN users pu ON pu.id = b.provider_id"
)


def public(row: Any, tz: ZoneInfo) -> dict[str, Any]:
    """The booking as the API shows it; ``tz`` is its service's zone, loaded."""
    return {
        "id": row["id"],
        "serviceId": row["service_id"],
        "serviceTitle": row["service_title"],
        "slotId": row["slot_id"],
        "startsAt": row["starts_at"],
        "endsAt": row["ends_at"],
        "startsLocal": policy.local_time(row["starts_at"], tz),
        "timeZone": row["time_zone"],
        "priceId": row["price_id"],
        "priceName": row["price_name"],
        "memberId": row["member_id"],
        "memberHandle": row["member_handle"],
        "providerId": row["provider_id"],
        "providerHandle": row["provider_handle"],
        "price": row["price"],
        "holdId": row["hold_id"],
        "state": row["state"],
        "cancellation": {
            "freeCancelHours": row["free_cancel_hours"],
            "lateCancelPercent": row["late_cancel_percent"],
        },
        "charged": row["charged"],
        "createdAt": row["created_at"],
    }


async def get(db: Db, booking_id: uuid.UUID) -> Any:
    return await db.fetchrow(f"SELECT {BOOKING} {_FROM} WHERE b.id = $1", booking_id)


async def mine(db: Db, user_id: uuid.UUID, *, as_provider: bool, limit: int) -> list[Any]:
    who = "b.provider_id" if as_provider else "b.member_id"
    return await db.fetch(
        f"SELECT {BOOKING} {_FROM} WHERE {who} = $1 ORDER BY t.starts_at DESC LIMIT $2",
        user_id,
        limit,
    )


class Bookings:
    """The booking flow over the ledger's holds."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def pool(self) -> asyncpg.Pool:
        return self.ledger.pool

    async def book(
        self,
        key: IdempotencyKey,
        service_id: uuid.UUID,
        slot_id: uuid.UUID,
        price_id: uuid.UUID,
        *,
        request_id: str | None = None,
    ) -> tuple[Outcome, Any]:
        """Reserve the price and claim the slot: (the hold's outcome, the booking row or None
        when the outcome is an error such as ``INSUFFICIENT_FUNDS``)."""
        member = key.owner_id
        found = await self.pool.fetchrow(
            "SELECT s.provider_id, s.active, s.free_cancel_hours, s.late_cancel_percent, "
            "t.id AS slot, t.starts_at, t.ends_at, p.price, now() AS now "
            "FROM provider_services s "
            "LEFT JOIN service_slots t ON t.id = $2 AND t.service_id = s.id "
            "LEFT JOIN service_prices p ON p.id = $3 AND p.service_id = s.id WHERE s.id = $1",
            service_id,
            slot_id,
            price_id,
        )
        if found is None:
            raise ServiceNotFound("no such service", meta={"id": str(service_id)})
        if found["slot"] is None:
            raise SlotNotFound("no such slot of this service", meta={"slotId": str(slot_id)})
        if found["price"] is None:
            raise PriceNotFound("no such price of this service", meta={"priceId": str(price_id)})
        if found["provider_id"] == member:
            raise SelfBooking("providers cannot book their own services")
        if not found["active"]:
            raise ServiceNotAvailable("this service takes no bookings now")
        now: datetime = found["now"]
        if found["starts_at"] <= now:
            raise SlotInPast(
                "this slot has already begun", meta={"startsAt": found["starts_at"].isoformat()}
            )
        taken_by = await self.pool.fetchval(
            "SELECT member_id FROM service_bookings WHERE slot_id = $1 "
            "AND state IN ('requested', 'accepted', 'completed')",
            slot_id,
        )
        if taken_by is not None and taken_by != member:
            raise SlotTaken("this slot is booked", meta={"slotId": str(slot_id)})
        outcome = await self.ledger.reserve(
            IdempotencyKey(member, f"booking:{key.key}"),
            amount=found["price"],
            purpose=HoldPurpose.BOOKING,
            ttl_seconds=policy.hold_ttl_seconds(now, found["ends_at"]),
            payee_id=found["provider_id"],
            ref_id=slot_id,
            request_id=request_id,
        )
        if not outcome.ok:
            return outcome, None
        hold_id = uuid.UUID(outcome.data["holdId"])
        try:
            await self.pool.execute(
                "INSERT INTO service_bookings (id, service_id, slot_id, price_id, member_id, "
                "provider_id, price, hold_id, free_cancel_hours, late_cancel_percent) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                uuid.uuid4(),
                service_id,
                slot_id,
                price_id,
                member,
                found["provider_id"],
                found["price"],
                hold_id,
                found["free_cancel_hours"],
                found["late_cancel_percent"],
            )
        except asyncpg.UniqueViolationError:
            pass  # the slot is taken, or this hold already booked it (a retry)
        row = await self.pool.fetchrow(f"SELECT {BOOKING} {_FROM} WHERE b.hold_id = $1", hold_id)
        if row is None:
            await self._release(hold_id)
            raise SlotTaken("this slot is booked", meta={"slotId": str(slot_id)})
        return outcome, row

    async def _release(self, hold_id: uuid.UUID) -> None:
        try:
            await self.ledger.release(hold_id)
        except HoldNotActive:
            log.warning("booking hold already ended", extra={"hold_id": str(hold_id)})

    async def _capture(self, hold_id: uuid.UUID, amount: int) -> None:
        try:
            if amount:
                await self.ledger.capture(hold_id, amount)
            else:
                await self.ledger.release(hold_id)
        except HoldNotActive:
            log.warning("booking hold already ended", extra={"hold_id": str(hold_id)})

    async def _move(
        self, row: Any, to: str, *, frm: tuple[str, ...], charged: int | None, by: uuid.UUID
    ) -> Any:
        """One conditional UPDATE from ``frm`` to ``to``; the row after, or a conflict."""
        moved = await self.pool.fetchval(
            "UPDATE service_bookings SET state = $2, charged = $3, updated_at = now(), "
            "cancelled_by = CASE WHEN $2 IN ('cancelled', 'declined') THEN $4::uuid END "
            "WHERE id = $1 AND state = ANY($5::text[]) RETURNING id",
            row["id"],
            to,
            charged,
            by,
            list(frm),
        )
        after = await get(self.pool, row["id"])
        if moved is None:
            if after is not None and after["state"] == to:
                return after  # a retry of the same change
            raise BookingStateConflict(
                f"the booking is {after['state'] if after else 'gone'}",
                meta={"state": after["state"] if after else None},
            )
        return after

    async def accept(self, row: Any, by: uuid.UUID) -> Any:
        if by != row["provider_id"]:
            raise NotBookingParty("only the provider accepts a booking")
        return await self._move(row, "accepted", frm=("requested",), charged=None, by=by)

    async def decline(self, row: Any, by: uuid.UUID) -> Any:
        if by != row["provider_id"]:
            raise NotBookingParty("only the provider declines a booking")
        after = await self._move(row, "declined", frm=("requested",), charged=0, by=by)
        await self._release(row["hold_id"])
        return after

    async def cancel(self, row: Any, by: uuid.UUID, now: datetime) -> Any:
        """Either side; the member pays the policy's late fee on an accepted booking."""
        if by not in (row["member_id"], row["provider_id"]):
            raise NotBookingParty("only the booking's member and provider cancel it")
        charge = policy.cancellation_charge(
            policy.CancellationPolicy(row["free_cancel_hours"], row["late_cancel_percent"]),
            row["price"],
            now=now,
            starts_at=row["starts_at"],
            by_member=by == row["member_id"],
            accepted=row["state"] == "accepted",
        )
        if row["state"] not in ("requested", "accepted"):
            return await self._move(row, "cancelled", frm=(), charged=None, by=by)
        after = await self._move(row, "cancelled", frm=(row["state"],), charged=charge, by=by)
        await self._capture(row["hold_id"], after["charged"] or 0)
        return after

    async def complete(self, row: Any, by: uuid.UUID, now: datetime) -> Any:
        if by != row["provider_id"]:
            raise NotBookingParty("only the provider completes a booking")
        if row["state"] == "accepted" and not policy.may_complete(now, row["starts_at"]):
            raise TooEarlyToComplete(
                "the session has not begun", meta={"startsAt": row["starts_at"].isoformat()}
            )
        after = await self._move(row, "completed", frm=("accepted",), charged=row["price"], by=by)
        await self._capture(row["hold_id"], row["price"])
        return after

    async def go_live(self, row: Any, by: uuid.UUID, now: datetime) -> Any:
        """The provider's check before streaming for this booking (`policy.may_go_live`)."""
        if by != row["provider_id"]:
            raise NotBookingParty("only the booking's provider streams for it")
        session = policy.BookedSession(
            row["state"], row["member_id"], row["starts_at"], row["ends_at"]
        )
        if not policy.may_go_live(session, now):
            raise OutsideBookedSlot(
                "providers go live only for an accepted booking, within its slot",
                meta={
                    "state": row["state"],
                    "startsAt": row["starts_at"].isoformat(),
                    "endsAt": row["ends_at"].isoformat(),
                },
            )
        return row
