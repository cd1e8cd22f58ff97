"""Provider services and bookings over HTTP.

| route | needs |
|---|---|
| ``GET /api/v1/services`` (``providerId``) | nothing: active services |
| ``POST /api/v1/services`` | ``services.offer`` |
| ``GET /api/v1/services/{service_id}`` | nothing |
| ``PATCH /api/v1/services/{service_id}`` | its provider: take bookings or not |
| ``POST /api/v1/services/{service_id}/slots`` | its provider |
| ``GET /api/v1/services/{service_id}/slots`` | nothing (``from``/``to``) |
| ``POST /api/v1/services/{service_id}/bookings`` | ``wallet.use``, ``Idempotency-Key`` |
| ``GET /api/v1/bookings`` (``as=member|provider``) | signed in: mine |
| ``GET /api/v1/bookings/{booking_id}`` | its member or provider |
| ``POST /api/v1/bookings/{booking_id}/accept``, ``/decline``, ``/complete`` | its provider |
| ``POST /api/v1/bookings/{booking_id}/cancel`` | its member or provider |
| ``POST /api/v1/bookings/{booking_id}/go-live`` | ``stream.publish_limited``; its provider |
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.services import bookings as booking_store
from api.services import policy, store
from api.services.bookings import Bookings
from api.services.errors import (
    BOOKING_ID,
    SERVICE_ID,
    BookingNotFound,
    InvalidSlotTime,
    InvalidTimeZone,
    NotServiceOwner,
    ServiceNotFound,
    SlotExists,
    SlotInPast,
)
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.service import LEDGER
from teezu.errors import Invalid

api = Api("services")
TEXT = r"^[^\x00]*$"
SERVICE_PATH = {"service_id": SERVICE_ID}
BOOKING_PATH = {"booking_id": BOOKING_ID}
BookingState = Literal["requested", "accepted", "declined", "cancelled", "completed"]


# ---- models -------------------------------------------------------------------------------


class ServicePriceIn(Input):
    name: str = Field(min_length=1, max_length=80, pattern=TEXT)
    price: StrictInt = Field(ge=1, le=1_000_000, description="tokens")


class CancellationPolicyOut(Output):
    """Free until ``freeCancelHours`` before the start; later the member pays
    ``lateCancelPercent`` of the price. Shown at booking and kept with each booking."""

    free_cancel_hours: int
    late_cancel_percent: int


class CancellationPolicyIn(Input):
    free_cancel_hours: StrictInt = Field(ge=0, le=720)
    late_cancel_percent: StrictInt = Field(ge=0, le=100)


class ServiceCreate(Input):
    title: str = Field(min_length=1, max_length=120, pattern=TEXT)
    description: str = Field(default="", max_length=2000, pattern=TEXT)
    time_zone: str = Field(
        min_length=1, max_length=64, description="IANA zone, e.g. Europe/Amsterdam"
    )
    cancellation: CancellationPolicyIn
    prices: list[ServicePriceIn] = Field(min_length=1, max_length=5, description="pricing tiers")


class ServiceUpdate(Input):
    active: bool


class ServicePriceOut(Output):
    id: uuid.UUID
    name: str
    price: int


class ServiceOut(Output):
    id: uuid.UUID
    provider_id: uuid.UUID
    provider_handle: str
    title: str
    description: str
    time_zone: str
    cancellation: CancellationPolicyOut
    prices: list[ServicePriceOut]
    active: bool
    created_at: datetime


class ServiceQuery(Input):
    provider_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=100)


class ServiceSlotIn(Input):
    start: datetime = Field(
        description="wall-clock start in the service's time zone, without offset "
        "(e.g. 2026-12-24T15:00)"
    )
    duration_minutes: StrictInt = Field(ge=5, le=24 * 60)


class ServiceSlotsCreate(Input):
    slots: list[ServiceSlotIn] = Field(min_length=1, max_length=100)


class ServiceSlotOut(Output):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    starts_local: str = Field(description="the start in the provider's time zone")
    booked: bool


class ServiceSlotQuery(Input):
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    limit: int = Field(default=200, ge=1, le=500)


class BookingCreate(Input):
    slot_id: uuid.UUID
    price_id: uuid.UUID


class BookingOut(Output):
    id: uuid.UUID
    service_id: uuid.UUID
    service_title: str
    slot_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    starts_local: str
    time_zone: str
    price_id: uuid.UUID
    price_name: str
    member_id: uuid.UUID
    member_handle: str
    provider_id: uuid.UUID
    provider_handle: str
    price: int = Field(description="tokens held until the booking is settled")
    hold_id: uuid.UUID
    state: BookingState
    cancellation: CancellationPolicyOut
    charged: int | None = Field(description="tokens captured once settled")
    created_at: datetime


class BookingQuery(Input):
    as_: Literal["member", "provider"] = Field(default="member", alias="as")
    limit: int = Field(default=50, ge=1, le=100)


class BookingGoLiveOut(Output):
    booking_id: uuid.UUID
    admitted: list[uuid.UUID] = Field(description="who may watch: the booker")
    until: datetime = Field(description="the slot's end")


# ---- helpers ------------------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    """An instant in UTC (naive: taken as UTC); `OverflowError` past the calendar's ends."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _service_out(row: Any, prices: list[Any]) -> ServiceOut:
    return ServiceOut.model_validate(
        {
            **{k: row[k] for k in ("id", "provider_id", "provider_handle", "title", "description")},
            "time_zone": row["time_zone"],
            "cancellation": {
                "free_cancel_hours": row["free_cancel_hours"],
                "late_cancel_percent": row["late_cancel_percent"],
            },
            "prices": [dict(p) for p in prices],
            "active": row["active"],
            "created_at": row["created_at"],
        }
    )


async def _service(call: Call[Any, Any]) -> Any:
    sid = call.id("service_id")
    row = await store.get_service(call.app[POOL], sid)
    if row is None:
        raise ServiceNotFound("no such service", meta={"id": str(sid)})
    return row


async def _own_service(call: Call[Any, Any]) -> Any:
    row = await _service(call)
    if row["provider_id"] != call.principal.user_id and not call.principal.can(
        Permission.SYSTEM_CONFIG_LIMITED
    ):
        raise NotServiceOwner("only the service's provider may do this")
    return row


async def zones(names: set[str]) -> dict[str, ZoneInfo]:
    """Load time zones off the event loop (the first load of each reads the tz database)."""
    return dict(
        zip(
            names,
            await asyncio.gather(*(asyncio.to_thread(policy.zone, n) for n in names)),
            strict=True,
        )
    )


async def _bookings_out(rows: list[Any]) -> list[BookingOut]:
    tz = await zones({r["time_zone"] for r in rows})
    return [BookingOut.model_validate(booking_store.public(r, tz[r["time_zone"]])) for r in rows]


async def _booking_out(row: Any) -> BookingOut:
    return (await _bookings_out([row]))[0]


async def _booking(call: Call[Any, Any]) -> Any:
    bid = call.id("booking_id")
    row = await booking_store.get(call.app[POOL], bid)
    me = call.principal.user_id
    admin = call.principal.can(Permission.SYSTEM_CONFIG_LIMITED)
    if row is None or (me not in (row["member_id"], row["provider_id"]) and not admin):
        raise BookingNotFound("no such booking", meta={"id": str(bid)})
    return row


def _me(call: Call[Any, Any]) -> uuid.UUID:
    assert call.principal.user_id is not None
    return call.principal.user_id


# ---- services -----------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/services",
    summary="Active provider services, newest first",
    query=ServiceQuery,
    response=ServiceOut,
    paginated=True,
)
async def list_services(call: Call[None, ServiceQuery]) -> Page[ServiceOut]:
    pool = call.app[POOL]
    rows = await store.list_services(pool, call.query.provider_id, limit=call.query.limit)
    prices = await store.prices_of(pool, [r["id"] for r in rows])
    return Page([_service_out(r, prices[r["id"]]) for r in rows])


@api.route(
    "POST",
    "/api/v1/services",
    summary="Publish a service with pricing tiers and a cancellation policy",
    status=201,
    body=ServiceCreate,
    response=ServiceOut,
    permission=Permission.SERVICES_OFFER,
)
async def create_service(call: Call[ServiceCreate, None]) -> ServiceOut:
    """422 INVALID_TIME_ZONE for a zone that is not an IANA name."""
    b = call.body
    try:
        await asyncio.to_thread(policy.zone, b.time_zone)
    except ValueError:
        raise InvalidTimeZone("unknown time zone", meta={"timeZone": b.time_zone}) from None
    pool = call.app[POOL]
    sid = await store.create_service(
        pool,
        _me(call),
        title=b.title,
        description=b.description,
        time_zone=b.time_zone,
        free_cancel_hours=b.cancellation.free_cancel_hours,
        late_cancel_percent=b.cancellation.late_cancel_percent,
        prices=[(p.name, p.price) for p in b.prices],
    )
    row = await store.get_service(pool, sid)
    return _service_out(row, (await store.prices_of(pool, [sid]))[sid])


@api.route(
    "GET",
    "/api/v1/services/{service_id}",
    summary="One service with its pricing tiers and cancellation policy",
    response=ServiceOut,
    path_formats=SERVICE_PATH,
)
async def get_service(call: Call[None, None]) -> ServiceOut:
    row = await _service(call)
    return _service_out(row, (await store.prices_of(call.app[POOL], [row["id"]]))[row["id"]])


@api.route(
    "PATCH",
    "/api/v1/services/{service_id}",
    summary="Take bookings for my service, or stop (bookings made stay)",
    body=ServiceUpdate,
    response=ServiceOut,
    auth=True,
    errors=(403,),
    path_formats=SERVICE_PATH,
)
async def update_service(call: Call[ServiceUpdate, None]) -> ServiceOut:
    row = await _own_service(call)
    pool = call.app[POOL]
    await store.set_active(pool, row["id"], call.body.active)
    row = await store.get_service(pool, row["id"])
    return _service_out(row, (await store.prices_of(pool, [row["id"]]))[row["id"]])


@api.route(
    "POST",
    "/api/v1/services/{service_id}/slots",
    summary="Open time slots (wall-clock times in the service's time zone)",
    status=201,
    body=ServiceSlotsCreate,
    response=ServiceSlotOut,
    paginated=True,
    auth=True,
    errors=(403, 409),
    path_formats=SERVICE_PATH,
)
async def add_slots(call: Call[ServiceSlotsCreate, None]) -> Page[ServiceSlotOut]:
    """All or none: 422 INVALID_SLOT_TIME for a wall-clock time the zone skips (clocks going
    forward), one given with an offset or one more than a year ahead, 409 SLOT_IN_PAST, 409
    SLOT_EXISTS (a slot of this service starts then already, or twice in the request)."""
    row = await _own_service(call)
    tz = await asyncio.to_thread(policy.zone, row["time_zone"])
    now = datetime.now(UTC)
    spans: list[tuple[datetime, datetime]] = []
    for s in call.body.slots:
        try:
            start = policy.slot_instant(s.start, tz)
        except policy.SlotTimeError as exc:
            raise InvalidSlotTime(str(exc), meta={"start": s.start.isoformat()}) from None
        if start <= now:
            raise SlotInPast("a slot must start in the future", meta={"start": s.start.isoformat()})
        if start - now > policy.MAX_AHEAD:
            raise InvalidSlotTime(
                "slots open at most a year ahead", meta={"start": s.start.isoformat()}
            )
        spans.append((start, start + timedelta(minutes=s.duration_minutes)))
    if len({a for a, _ in spans}) != len(spans):
        raise SlotExists("two slots start at the same time")
    rows = await store.add_slots(call.app[POOL], row["id"], spans)
    if rows is None:
        raise SlotExists("a slot of this service already starts at one of these times")
    return Page(
        [
            ServiceSlotOut(
                id=r["id"],
                starts_at=r["starts_at"],
                ends_at=r["ends_at"],
                starts_local=policy.local_time(r["starts_at"], tz),
                booked=False,
            )
            for r in rows
        ]
    )


@api.route(
    "GET",
    "/api/v1/services/{service_id}/slots",
    summary="A service's slots in a period (default: the next 14 days), with which are booked",
    query=ServiceSlotQuery,
    response=ServiceSlotOut,
    paginated=True,
    path_formats=SERVICE_PATH,
)
async def list_slots(call: Call[None, ServiceSlotQuery]) -> Page[ServiceSlotOut]:
    row = await _service(call)
    tz = await asyncio.to_thread(policy.zone, row["time_zone"])
    try:
        start = _utc(call.query.from_ or datetime.now(UTC))
        end = _utc(call.query.to) if call.query.to else start + timedelta(days=14)
    except OverflowError:
        raise Invalid(
            "from and to must be instants between the years 1 and 9999",
            meta={"errors": [{"field": "from", "message": "out of range"}]},
        ) from None
    rows = await store.slots_of(call.app[POOL], row["id"], start, end, limit=call.query.limit)
    return Page(
        [
            ServiceSlotOut(
                id=r["id"],
                starts_at=r["starts_at"],
                ends_at=r["ends_at"],
                starts_local=policy.local_time(r["starts_at"], tz),
                booked=r["booked"],
            )
            for r in rows
        ]
    )


# ---- bookings -----------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/services/{service_id}/bookings",
    summary="Book a slot at one pricing tier; the price is held until the booking settles",
    status=201,
    body=BookingCreate,
    response=BookingOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(402, 409),
    path_formats=SERVICE_PATH,
)
async def book(call: Call[BookingCreate, None]) -> web.Response:
    """The documents' ``POST /services/book``. Refusals: 402 INSUFFICIENT_FUNDS, 404
    SERVICE_NOT_FOUND, SLOT_NOT_FOUND or PRICE_NOT_FOUND, 409 SLOT_TAKEN (another live booking
    holds the slot: the tokens reserved for this one are back at once), SLOT_IN_PAST or
    SERVICE_NOT_AVAILABLE, 422 CANNOT_BOOK_SELF. The cancellation policy in force is kept
    with the booking."""
    key = idempotency_key(call)
    outcome, row = await call.app[BOOKINGS].book(
        key,
        call.id("service_id"),
        call.body.slot_id,
        call.body.price_id,
        request_id=call.request[REQUEST_ID],
    )
    if row is None:
        return respond(call.request, outcome, 201)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return web.json_response(
        {"status": "ok", "data": (await _booking_out(row)).model_dump(mode="json", by_alias=True)},
        status=201,
        headers=headers,
    )


@api.route(
    "GET",
    "/api/v1/bookings",
    summary="My bookings, as member (default) or as provider, latest slot first",
    query=BookingQuery,
    response=BookingOut,
    paginated=True,
    auth=True,
)
async def my_bookings(call: Call[None, BookingQuery]) -> Page[BookingOut]:
    rows = await booking_store.mine(
        call.app[POOL], _me(call), as_provider=call.query.as_ == "provider", limit=call.query.limit
    )
    return Page(await _bookings_out(rows))


@api.route(
    "GET",
    "/api/v1/bookings/{booking_id}",
    summary="One booking (its member's or provider's)",
    response=BookingOut,
    auth=True,
    path_formats=BOOKING_PATH,
)
async def get_booking(call: Call[None, None]) -> BookingOut:
    return await _booking_out(await _booking(call))


def _transition(name: str, summary: str, doc: str) -> None:
    async def handler(call: Call[None, None]) -> BookingOut:
        row = await _booking(call)
        flow = call.app[BOOKINGS]
        me = _me(call)
        now = datetime.now(UTC)
        if name == "accept":
            after = await flow.accept(row, me)
        elif name == "decline":
            after = await flow.decline(row, me)
        elif name == "cancel":
            after = await flow.cancel(row, me, now)
        else:
            after = await flow.complete(row, me, now)
        return await _booking_out(after)

    handler.__name__ = f"{name}_booking"
    handler.__doc__ = doc
    api.route(
        "POST",
        f"/api/v1/bookings/{{booking_id}}/{name}",
        summary=summary,
        response=BookingOut,
        auth=True,
        errors=(403, 409),
        path_formats=BOOKING_PATH,
    )(handler)


_transition(
    "accept",
    "Accept a booking (the provider)",
    "409 BOOKING_STATE_CONFLICT unless requested; 403 NOT_BOOKING_PARTY for the member.",
)
_transition(
    "decline",
    "Decline a booking (the provider); the member's tokens are released",
    "409 BOOKING_STATE_CONFLICT unless requested.",
)
_transition(
    "cancel",
    "Cancel a booking; the policy shown at booking decides what the member pays",
    "The member cancelling an accepted booking inside the policy's window pays its late "
    "fee (captured for the provider); otherwise everything is released. 409 "
    "BOOKING_STATE_CONFLICT once declined or completed.",
)
_transition(
    "complete",
    "Mark a booking done (the provider); the price is captured",
    "409 BOOKING_NOT_STARTED before the slot begins, BOOKING_STATE_CONFLICT unless accepted.",
)


@api.route(
    "POST",
    "/api/v1/bookings/{booking_id}/go-live",
    summary="A provider's check before streaming a booked session",
    response=BookingGoLiveOut,
    permission=Permission.STREAM_LIMITED,
    errors=(403, 409),
    path_formats=BOOKING_PATH,
)
async def go_live(call: Call[None, None]) -> BookingGoLiveOut:
    """Providers ("Limited" streaming) go live only for an accepted booking, from 10 minutes
    before its slot to its end, with its booker the one viewer admitted: 409
    OUTSIDE_BOOKED_SLOT otherwise."""
    row = await _booking(call)
    await call.app[BOOKINGS].go_live(row, _me(call), datetime.now(UTC))
    return BookingGoLiveOut(booking_id=row["id"], admitted=[row["member_id"]], until=row["ends_at"])


BOOKINGS: web.AppKey[Bookings] = web.AppKey("bookings", Bookings)


async def _lifecycle(app: web.Application) -> Any:
    app[BOOKINGS] = Bookings(app[LEDGER])
    yield


def setup(app: web.Application) -> None:
    """Add the routes and the booking flow (after `api.wallet.routes.setup`)."""
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
