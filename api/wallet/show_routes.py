"""Paid shows, pledges and profile tips over HTTP.

| route | needs |
|---|---|
| ``PUT /api/v1/private-shows/price`` | ``stream.publish`` |
| ``GET /api/v1/streams/{stream_id}/shows`` | nothing |
| ``POST /api/v1/streams/{stream_id}/private-shows`` | ``wallet.use`` |
| ``GET /api/v1/private-shows/{show_id}`` | the show's viewer or creator (or an admin) |
| ``POST /api/v1/private-shows/{show_id}/accept`` | the show's creator |
| ``POST /api/v1/private-shows/{show_id}/end`` | the show's viewer or creator (or an admin) |
| ``POST /api/v1/streams/{stream_id}/ticket-shows`` | the stream's creator |
| ``GET /api/v1/ticket-shows/{show_id}`` | nothing |
| ``POST /api/v1/ticket-shows/{show_id}/tickets`` | ``wallet.use``, ``Idempotency-Key`` |
| ``POST /api/v1/ticket-shows/{show_id}/start`` | the show's creator |
| ``POST /api/v1/ticket-shows/{show_id}/close`` | the show's creator (cancel or end) |
| ``POST /api/v1/streams/{stream_id}/goal/pledges`` | ``wallet.use``, ``Idempotency-Key`` |
| ``POST /api/v1/users/{handle}/tip`` | ``wallet.use``, ``Idempotency-Key`` |

Money moves through `api.wallet.service.Ledger` (holds, captures, tips). The calls a viewer
makes to spend take an ``Idempotency-Key``; the per-minute billing of a private show uses the
viewer's derived keys (`api.wallet.private_shows.minute_key`), so accepting twice or a retried
extension moves nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.users.store import get_by_handle
from api.wallet import ticket_shows
from api.wallet.errors import (
    SHOW_ID,
    ShowNotFound,
    StreamNotFound,
    UserNotFound,
)
from api.wallet.events import MONEY_EVENTS, MoneyEvents
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.private_shows import PrivateShow
from api.wallet.service import LEDGER, Ledger

api = Api("shows")
STREAM_PATH = {"stream_id": STREAM_ID}
SHOW_PATH = {"show_id": SHOW_ID}


def _ledger(call: Call[Any, Any]) -> Ledger:
    return call.app[LEDGER]


def _events(call: Call[Any, Any]) -> MoneyEvents:
    return call.app[MONEY_EVENTS]


def _admin(call: Call[Any, Any]) -> bool:
    return call.principal.can(Permission.SYSTEM_CONFIG_LIMITED)


# ---- models -------------------------------------------------------------------------------


class PriceIn(Input):
    price_per_minute: StrictInt | None = Field(
        ge=1, le=1_000_000, description="tokens per minute; null: no private shows"
    )


class PriceOut(Output):
    price_per_minute: int | None


class PrivateShowRequest(Input):
    price_per_minute: StrictInt = Field(
        ge=1, le=1_000_000, description="the price the viewer was shown; must be the current one"
    )


class PrivateShowOut(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    creator_id: uuid.UUID
    viewer_id: uuid.UUID
    price_per_minute: int
    state: Literal["requested", "running", "ended", "declined", "cancelled"]
    hold_id: uuid.UUID | None
    billed_minutes: int = Field(description="minutes reserved so far (each begun minute)")
    charged: int | None = Field(description="tokens captured for the creator, once ended")
    end_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class TicketShowIn(Input):
    title: str = Field(min_length=1, max_length=120)
    price: StrictInt = Field(ge=1, le=1_000_000, description="tokens per ticket")


class TicketShowOut(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    creator_id: uuid.UUID
    title: str
    price: int
    state: Literal["announced", "running", "ended", "cancelled"]
    tickets: int = Field(description="tickets held or captured")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class ShowsOut(Output):
    private_price_per_minute: int | None = Field(description="null: no private shows")
    private_show_running: bool
    ticket_show: TicketShowOut | None


class TicketOut(Output):
    hold_id: uuid.UUID
    show_id: uuid.UUID
    amount: int
    balance: int = Field(description="the buyer's wallet after the purchase")
    ticket: Literal["held", "captured", "released", "expired"] = Field(
        description="held until the show starts, then captured (admits to the show)"
    )
    expires_at: datetime


class PledgeIn(Input):
    amount: StrictInt = Field(ge=1, le=1_000_000, description="whole tokens")


class PledgeOut(Output):
    hold_id: uuid.UUID
    goal_id: uuid.UUID
    amount: int
    balance: int
    pledge: Literal["held", "captured", "released", "expired"]
    expires_at: datetime


class ProfileTipIn(Input):
    amount: StrictInt = Field(description='whole tokens; 10.0 or "10" is refused')
    message: str | None = Field(default=None, max_length=200)


class SplitOut(Output):
    creator: int
    platform: int
    referral: int


class ProfileTipOut(Output):
    tip_id: int
    creator_id: uuid.UUID
    amount: int
    message: str | None
    balance: int
    split: SplitOut
    fee_schedule: str
    created_at: datetime


def _private(show: PrivateShow) -> PrivateShowOut:
    return PrivateShowOut.model_validate(show.public())


async def _private_show(call: Call[Any, Any]) -> PrivateShow:
    show_id = call.id("show_id")
    show = await _ledger(call).private_shows.get(show_id)
    me = call.principal.user_id
    if show is None or (me not in (show.creator_id, show.viewer_id) and not _admin(call)):
        raise ShowNotFound("no such private show", meta={"showId": str(show_id)})
    return show


# ---- private shows ------------------------------------------------------------------------


@api.route(
    "PUT",
    "/api/v1/private-shows/price",
    summary="Set my private-show price per minute (null: no private shows)",
    body=PriceIn,
    response=PriceOut,
    permission=Permission.STREAM,
)
async def set_private_price(call: Call[PriceIn, None]) -> PriceOut:
    assert call.principal.user_id is not None
    price = await _ledger(call).private_shows.set_price(
        call.principal.user_id, call.body.price_per_minute
    )
    return PriceOut(price_per_minute=price)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/shows",
    summary="What a stream sells: the private-show price, the ticket show",
    response=ShowsOut,
    path_formats=STREAM_PATH,
)
async def stream_shows(call: Call[None, None]) -> ShowsOut:
    stream_id = call.id("stream_id")
    row = await call.app[POOL].fetchrow("SELECT creator_id FROM streams WHERE id = $1", stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    creator = row["creator_id"]
    ledger = _ledger(call)
    ticket = await ticket_shows.current(ledger.pool, stream_id)
    return ShowsOut(
        private_price_per_minute=await ledger.private_shows.price(creator),
        private_show_running=await ledger.private_shows.running_on(stream_id) is not None,
        ticket_show=TicketShowOut.model_validate(ticket.public()) if ticket else None,
    )


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/private-shows",
    summary="The stream's open private-show requests and running show (its creator's queue)",
    response=PrivateShowOut,
    paginated=True,
    auth=True,
    path_formats=STREAM_PATH,
)
async def private_show_queue(call: Call[None, None]) -> Page[PrivateShowOut]:
    """404 STREAM_NOT_FOUND for anyone but the stream's creator (or an admin): who asks whom
    for a private show is not public."""
    stream_id = call.id("stream_id")
    row = await call.app[POOL].fetchrow("SELECT creator_id FROM streams WHERE id = $1", stream_id)
    if row is None or (row["creator_id"] != call.principal.user_id and not _admin(call)):
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    shows = await _ledger(call).private_shows.open_on(stream_id)
    return Page([_private(show) for show in shows])


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/private-shows",
    summary="Ask the creator for a private show, billed per minute once they accept",
    status=201,
    body=PrivateShowRequest,
    response=PrivateShowOut,
    permission=Permission.WALLET,
    errors=(402, 409),
    path_formats=STREAM_PATH,
)
async def request_private_show(call: Call[PrivateShowRequest, None]) -> PrivateShowOut:
    """409 STREAM_NOT_LIVE, STREAM_FROZEN, PRIVATE_SHOWS_OFF, SHOW_PRICE_CHANGED,
    SHOW_ALREADY_OPEN; 402 INSUFFICIENT_FUNDS (less than one minute in the wallet);
    422 CANNOT_PAY_SELF."""
    stream_id = call.id("stream_id")
    assert call.principal.user_id is not None
    show = await _ledger(call).private_shows.request(
        stream_id, call.principal.user_id, call.body.price_per_minute
    )
    return _private(show)


@api.route(
    "GET",
    "/api/v1/private-shows/{show_id}",
    summary="A private show I am in (as the viewer or the creator)",
    response=PrivateShowOut,
    auth=True,
    path_formats=SHOW_PATH,
)
async def get_private_show(call: Call[None, None]) -> PrivateShowOut:
    return _private(await _private_show(call))


@api.route(
    "POST",
    "/api/v1/private-shows/{show_id}/accept",
    summary="Accept a private show request: the first minute is reserved and billing starts",
    response=PrivateShowOut,
    auth=True,
    errors=(402, 403, 409),
    path_formats=SHOW_PATH,
)
async def accept_private_show(call: Call[None, None]) -> PrivateShowOut:
    """403 NOT_SHOW_PARTY (not the creator); 409 SHOW_STATE_CONFLICT, SHOW_ALREADY_OPEN,
    STREAM_NOT_LIVE, STREAM_FROZEN; 402 INSUFFICIENT_FUNDS (the request is then cancelled)."""
    show = await _private_show(call)
    assert call.principal.user_id is not None
    started = await _ledger(call).private_shows.accept(show, call.principal.user_id)
    return _private(started)


@api.route(
    "POST",
    "/api/v1/private-shows/{show_id}/end",
    summary="End a private show (or decline / cancel the request); every begun minute is charged",
    response=PrivateShowOut,
    auth=True,
    errors=(403, 409),
    path_formats=SHOW_PATH,
)
async def end_private_show(call: Call[None, None]) -> PrivateShowOut:
    show = await _private_show(call)
    assert call.principal.user_id is not None
    ended = await _ledger(call).private_shows.end(show, call.principal.user_id, admin=_admin(call))
    return _private(ended)


# ---- ticket shows -------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/ticket-shows",
    summary="Announce a ticket show on my stream",
    status=201,
    body=TicketShowIn,
    response=TicketShowOut,
    auth=True,
    errors=(403, 409),
    path_formats=STREAM_PATH,
)
async def announce_ticket_show(call: Call[TicketShowIn, None]) -> TicketShowOut:
    """403 NOT_STREAM_OWNER; 409 SHOW_ALREADY_OPEN (one announced or running per stream)."""
    stream_id = call.id("stream_id")
    assert call.principal.user_id is not None
    show = await _ledger(call).ticket_shows.announce(
        stream_id, call.principal.user_id, title=call.body.title, price=call.body.price
    )
    return TicketShowOut.model_validate(show.public())


@api.route(
    "GET",
    "/api/v1/ticket-shows/{show_id}",
    summary="A ticket show",
    response=TicketShowOut,
    path_formats=SHOW_PATH,
)
async def get_ticket_show(call: Call[None, None]) -> TicketShowOut:
    show_id = call.id("show_id")
    show = await ticket_shows.get(call.app[POOL], show_id)
    if show is None:
        raise ShowNotFound("no such ticket show", meta={"showId": str(show_id)})
    return TicketShowOut.model_validate(show.public())


@api.route(
    "POST",
    "/api/v1/ticket-shows/{show_id}/tickets",
    summary="Buy a ticket: held until the show starts, then captured; released if cancelled",
    status=201,
    response=TicketOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 409),
    path_formats=SHOW_PATH,
)
async def buy_ticket(call: Call[None, None]) -> web.Response:
    """402 INSUFFICIENT_FUNDS; 409 TICKET_SALES_CLOSED, ALREADY_HAS_TICKET, STREAM_FROZEN (a
    live stream of the creator is frozen: the kill switch); 422 CANNOT_PAY_SELF; 404
    SHOW_NOT_FOUND."""
    key = idempotency_key(call)
    show_id = call.id("show_id")
    outcome = await _ledger(call).ticket_shows.buy(
        key, show_id, request_id=call.request[REQUEST_ID]
    )
    return respond(call.request, outcome, 201)


@api.route(
    "POST",
    "/api/v1/ticket-shows/{show_id}/start",
    summary="Start my ticket show: tickets are captured; the room admits ticket holders only",
    response=TicketShowOut,
    auth=True,
    errors=(403, 409),
    path_formats=SHOW_PATH,
)
async def start_ticket_show(call: Call[None, None]) -> TicketShowOut:
    show_id = call.id("show_id")
    assert call.principal.user_id is not None
    show = await _ledger(call).ticket_shows.start(show_id, call.principal.user_id)
    return TicketShowOut.model_validate(show.public())


@api.route(
    "POST",
    "/api/v1/ticket-shows/{show_id}/close",
    summary="Cancel my announced ticket show (tickets released) or end my running one",
    response=TicketShowOut,
    auth=True,
    errors=(403, 409),
    path_formats=SHOW_PATH,
)
async def close_ticket_show(call: Call[None, None]) -> TicketShowOut:
    show_id = call.id("show_id")
    assert call.principal.user_id is not None
    show = await _ledger(call).ticket_shows.close_by_creator(show_id, call.principal.user_id)
    return TicketShowOut.model_validate(show.public())


# ---- pledges and profile tips -------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/goal/pledges",
    summary="Pledge to the stream's pledge goal: held until it completes, refunded otherwise",
    status=201,
    body=PledgeIn,
    response=PledgeOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 409),
    path_formats=STREAM_PATH,
)
async def pledge(call: Call[PledgeIn, None]) -> web.Response:
    """402 INSUFFICIENT_FUNDS; 404 GOAL_NOT_FOUND; 409 GOAL_NOT_PLEDGE, STREAM_NOT_LIVE,
    STREAM_FROZEN; 422 CANNOT_PAY_SELF."""
    key = idempotency_key(call)
    stream_id = call.id("stream_id")
    outcome, completed = await _ledger(call).pledges.pledge(
        key, stream_id, call.body.amount, request_id=call.request[REQUEST_ID]
    )
    if outcome.ok and not outcome.replayed:
        events = _events(call)
        goal_id = uuid.UUID(outcome.data["goalId"])
        await events.pledged(str(stream_id), goal_id, call.body.amount)
        if completed is not None:
            await events.publish(
                stream_id,
                {
                    "type": "goal.completed",
                    "goalId": str(goal_id),
                    "progress": completed.progress,
                    "target": completed.target,
                    "title": completed.title,
                },
            )
    return respond(call.request, outcome, 201)


@api.route(
    "POST",
    "/api/v1/users/{handle}/tip",
    summary="Tip a creator's profile (no live stream needed)",
    status=201,
    body=ProfileTipIn,
    response=ProfileTipOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 409),
)
async def tip_profile(call: Call[ProfileTipIn, None]) -> web.Response:
    """402 INSUFFICIENT_FUNDS; 404 USER_NOT_FOUND; 409 STREAM_FROZEN (a live stream of the
    creator is frozen: the kill switch); 422 AMOUNT_OUT_OF_RANGE, CANNOT_TIP_SELF."""
    key = idempotency_key(call)
    handle = call.path("handle")
    user = await get_by_handle(call.app[POOL], handle)
    if user is None:
        raise UserNotFound("no such user", meta={"handle": handle})
    outcome = await _ledger(call).tip_profile(
        key, user.id, call.body.amount, call.body.message, request_id=call.request[REQUEST_ID]
    )
    return respond(call.request, outcome, 201)
