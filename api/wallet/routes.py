"""The wallet's HTTP API: balance, packages, purchases, history, tips, payment webhooks.

| route | needs |
|---|---|
| ``GET /api/v1/wallet/balance`` | ``wallet.use`` |
| ``GET /api/v1/wallet/packages`` | nothing |
| ``POST /api/v1/wallet/purchase`` | ``wallet.use``, ``Idempotency-Key`` |
| ``GET /api/v1/wallet/purchases/{purchase_id}`` | the buyer |
| ``GET /api/v1/wallet/history`` | ``wallet.use`` |
| ``POST /api/v1/streams/{stream_id}/tip`` | ``wallet.use``, ``Idempotency-Key`` |
| ``POST /api/v1/payments/webhooks/{provider}`` | the provider's signature |

Tip menus and goals are in `api.wallet.stream_routes`. A call that moves money answers a retry
(same ``Idempotency-Key``, same request) with the first call's status and body, plus
``Idempotent-Replayed: true``: its response is a pure function of the stored outcome
(`respond`), so replays are identical, refusals included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID, error_response
from api.keys import POOL, PUBSUB, SETTINGS
from api.routing import Api, Call, HeaderParam, Page, RateLimit
from api.schema import Input, Output
from api.wallet import purchases, stream_routes, webhooks
from api.wallet.errors import (
    MESSAGES,
    IdempotencyKeyRequired,
    PurchaseNotFound,
    StreamNotFound,
    UnknownProvider,
    error_for,
)
from api.wallet.events import MoneyEvents
from api.wallet.model import IdempotencyKey, Outcome
from api.wallet.providers import PROVIDERS, PaymentProvider
from api.wallet.sandbox import SandboxProvider
from api.wallet.service import Ledger
from api.wallet.tips import TipRequest
from teezu.errors import Invalid
from workers.ledger import run_ledger_jobs

log = logging.getLogger(__name__)

api = Api("wallet")
LEDGER: web.AppKey[Ledger] = web.AppKey("ledger", Ledger)
MONEY_EVENTS: web.AppKey[MoneyEvents] = web.AppKey("money_events", MoneyEvents)
WEBHOOK_MAX_BYTES = 64 * 1024
IDEMPOTENCY_KEY = HeaderParam(
    "Idempotency-Key",
    "a unique key per intended payment (a UUID): a retry with the same key and request gets "
    "the first result again and moves nothing; the same key with another request is refused "
    "(422 IDEMPOTENCY_KEY_REUSED)",
    pattern=r"^[\x21-\x7e]{1,255}$",
    max_length=255,
)


class UnknownPaymentMethod(Invalid):
    code = "UNKNOWN_PAYMENT_METHOD"


# ---- models -------------------------------------------------------------------------------


class TipBody(Input):
    amount: StrictInt = Field(description='whole tokens; 10.0 or "10" is refused, never rounded')
    message: str | None = Field(default=None, max_length=200)
    menu_item_id: uuid.UUID | None = Field(
        default=None,
        description="a tip-menu action of the stream's creator; `amount` must be its price",
    )


class PurchaseBody(Input):
    package_id: str = Field(min_length=1, max_length=40)
    provider: str = Field(default="sandbox", min_length=1, max_length=40)
    payment_method: str | None = Field(
        default=None,
        max_length=200,
        description="the provider's token for how the buyer pays, made by the provider's own "
        "page or script (card details never reach this API); sandbox: sandbox_confirm "
        "(default), sandbox_decline, sandbox_manual",
    )


class HistoryQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,18}\.[0-9]{1,18}$",
        description="`nextCursor` of the previous page",
    )


class Price(Output):
    amount_minor: int = Field(description="in the currency's minor unit (cents)")
    currency: str


class PackageOut(Output):
    id: str
    tokens: int
    price: Price


class PurchaseOut(Output):
    id: uuid.UUID
    package_id: str
    tokens: int
    price: Price
    provider: str
    state: Literal["pending", "confirmed", "declined", "refunded", "charged_back"]
    created_at: datetime
    updated_at: datetime


class PurchaseCreated(Output):
    purchase: PurchaseOut


class WalletOut(Output):
    balance: int = Field(description="spendable tokens")
    held: int = Field(description="tokens reserved by open holds (shows, pledges, tickets)")
    debt: int = Field(description="tokens owed after a chargeback; paid first by purchases")
    earnings: int = Field(description="tokens earned from tips and shows")


class SplitOut(Output):
    creator: int
    platform: int
    referral: int


class MenuItemRef(Output):
    id: uuid.UUID
    label: str


class TipOut(Output):
    tip_id: int
    stream_id: uuid.UUID
    amount: int
    message: str | None
    menu_item: MenuItemRef | None
    balance: int = Field(description="the tipper's wallet after the tip")
    split: SplitOut
    fee_schedule: str = Field(description="the fee schedule version the split used")
    goal_id: uuid.UUID | None = Field(description="the stream's open goal the tip counts towards")
    created_at: datetime


class HistoryLineOut(Output):
    transaction_id: int
    kind: str
    amount: int = Field(description="tokens in (+) or out (-) of the wallet")
    created_at: datetime
    stream_id: uuid.UUID | None
    purchase_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    reverses: int | None


class WebhookReceipt(Output):
    duplicate: bool
    outcome: str


# ---- helpers ------------------------------------------------------------------------------


def idempotency_key(call: Call[Any, Any]) -> IdempotencyKey:
    """The caller's ``Idempotency-Key`` (every route that moves money requires one)."""
    raw = call.request.headers.get(IDEMPOTENCY_KEY.name, "")
    if not raw or len(raw) > 255 or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise IdempotencyKeyRequired(
            "send an Idempotency-Key header (1-255 printable ASCII characters, no spaces) "
            "with every call that moves money"
        )
    assert call.principal.user_id is not None
    return IdempotencyKey(call.principal.user_id, raw)


def respond(request: web.Request, outcome: Outcome, status: int) -> web.Response:
    """The response for a stored outcome: a pure function of it, so replays are identical."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if outcome.error is not None:
        return error_response(
            error_for(outcome.error).status,
            outcome.error,
            MESSAGES[outcome.error],
            outcome.request_id or request[REQUEST_ID],
            meta=outcome.data,
            headers=headers,
        )
    return web.json_response({"status": "ok", "data": outcome.data}, status=status, headers=headers)


def _provider(app: web.Application, name: str) -> PaymentProvider:
    provider = app[PROVIDERS].get(name)
    if provider is None:
        raise UnknownProvider("no such payment provider", meta={"provider": name})
    return provider


# ---- routes -------------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/tip",
    summary="Tip a live stream's creator",
    status=201,
    body=TipBody,
    response=TipOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 409),
    path_formats={"stream_id": "uuid"},
)
async def tip(call: Call[TipBody, None]) -> web.Response:
    """Debits the wallet and pays the creator (and the platform, and the creator's referrer)
    in one transaction; it counts towards the stream's open goal, and the room hears of it.
    Refusals: 402 INSUFFICIENT_FUNDS, 409 STREAM_NOT_LIVE, STREAM_FROZEN (a live stream of
    the creator is frozen: the kill switch), CREATOR_NOT_PAYABLE or MENU_PRICE_CHANGED, 404
    UNKNOWN_ITEM (menu item), 422 AMOUNT_OUT_OF_RANGE or CANNOT_TIP_SELF."""
    key = idempotency_key(call)
    raw = call.path("stream_id")
    try:
        stream_id = uuid.UUID(raw)
    except ValueError:
        raise StreamNotFound("no such stream", meta={"streamId": raw}) from None
    body = call.body
    outcome = await call.app[LEDGER].tip(
        key,
        TipRequest(stream_id, body.amount, body.message, body.menu_item_id),
        request_id=call.request[REQUEST_ID],
    )
    if outcome.ok and not outcome.replayed:
        await call.app[MONEY_EVENTS].tipped(
            outcome.data, tipper=call.principal.handle, tipper_id=call.principal.user_id
        )
    return respond(call.request, outcome, 201)


@api.route(
    "GET",
    "/api/v1/wallet/balance",
    summary="My wallet: spendable, held, owed and earned tokens",
    response=WalletOut,
    permission=Permission.WALLET,
)
async def balance(call: Call[None, None]) -> WalletOut:
    user = call.principal.user_id
    assert user is not None
    ledger = call.app[LEDGER]
    view = await ledger.wallet(user)
    return WalletOut(
        balance=view.balance, held=view.held, debt=view.debt, earnings=await ledger.earnings(user)
    )


@api.route(
    "GET",
    "/api/v1/wallet/packages",
    summary="Token packages for sale",
    response=PackageOut,
    paginated=True,
)
async def packages(call: Call[None, None]) -> Page[PackageOut]:
    found = await call.app[LEDGER].packages()
    return Page([PackageOut.model_validate(p.public()) for p in found])


@api.route(
    "POST",
    "/api/v1/wallet/purchase",
    summary="Buy a token package (tokens arrive when the provider confirms the payment)",
    status=202,
    body=PurchaseBody,
    response=PurchaseCreated,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 404),
)
async def purchase(call: Call[PurchaseBody, None]) -> web.Response:
    """Records a pending purchase and starts the provider's checkout; poll
    `GET /api/v1/wallet/purchases/{id}` for the outcome. 404 UNKNOWN_ITEM for a package that
    is not for sale, UNKNOWN_PAYMENT_PROVIDER for a provider that is not enabled."""
    key = idempotency_key(call)
    body = call.body
    provider = _provider(call.app, body.provider)
    accepts = getattr(provider, "accepts", None)
    if accepts is not None and not accepts(body.payment_method):
        raise UnknownPaymentMethod(
            "this provider does not know that payment method",
            meta={"provider": body.provider},
        )
    ledger = call.app[LEDGER]
    outcome = await ledger.create_purchase(
        key,
        body.package_id,
        provider.name,
        payment_method=body.payment_method,
        request_id=call.request[REQUEST_ID],
    )
    if outcome.ok:
        # Start the provider's checkout once the purchase is committed (and again on a retry
        # if it never got that far: providers start one checkout per purchase id).
        bought = await ledger.purchase(uuid.UUID(outcome.data["purchase"]["id"]))
        if bought is not None and bought.state == "pending" and bought.provider_ref is None:
            checkout = await provider.start_checkout(bought)
            await purchases.set_provider_ref(ledger.pool, bought.id, checkout.provider_ref)
    return respond(call.request, outcome, 202)


@api.route(
    "GET",
    "/api/v1/wallet/purchases/{purchase_id}",
    summary="One of my purchases",
    response=PurchaseOut,
    permission=Permission.WALLET,
    path_formats={"purchase_id": "uuid"},
)
async def purchase_status(call: Call[None, None]) -> PurchaseOut:
    raw = call.path("purchase_id")
    try:
        purchase_id = uuid.UUID(raw)
    except ValueError:
        raise PurchaseNotFound("no such purchase", meta={"id": raw}) from None
    found = await call.app[LEDGER].purchase(purchase_id)
    if found is None or found.buyer_id != call.principal.user_id:
        raise PurchaseNotFound("no such purchase", meta={"id": raw})
    return PurchaseOut.model_validate(found.public())


@api.route(
    "GET",
    "/api/v1/wallet/history",
    summary="My wallet's movements, newest first (keyset pagination)",
    query=HistoryQuery,
    response=HistoryLineOut,
    paginated=True,
    permission=Permission.WALLET,
)
async def history(call: Call[None, HistoryQuery]) -> Page[HistoryLineOut]:
    user = call.principal.user_id
    assert user is not None
    q = call.query
    before = None
    if q.cursor:
        xid, _, tx = q.cursor.partition(".")
        before = (int(xid), int(tx))
    lines = await call.app[LEDGER].history(user, limit=q.limit, before=before)
    return Page(
        [HistoryLineOut.model_validate(line.public()) for line in lines],
        lines[-1].cursor if len(lines) == q.limit else None,
    )


@api.route(
    "POST",
    "/api/v1/payments/webhooks/{provider}",
    summary="Payment provider webhook (signed; each event applied once)",
    response=WebhookReceipt,
    raw_body=("application/json",),
    max_body=WEBHOOK_MAX_BYTES,
    errors=(400, 401),
    # A provider delivers bursts from a few addresses; the signature is the gate here.
    rate_limit=RateLimit(6000, 60),
)
async def payment_webhook(call: Call[bytes, None]) -> WebhookReceipt:
    """Verified with the provider's HMAC signature (401 WEBHOOK_SIGNATURE_INVALID otherwise);
    a duplicate delivery is acknowledged with `duplicate: true` and changes nothing."""
    name = call.path("provider")
    provider = _provider(call.app, name)
    event = provider.parse_webhook(call.request.headers, call.body)
    receipt = await webhooks.apply_event(call.app[LEDGER], name, event)
    return WebhookReceipt(duplicate=receipt.duplicate, outcome=receipt.outcome)


# ---- wiring -------------------------------------------------------------------------------


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After the app's own start-up (the pool exists): the ledger, providers and jobs."""
    settings = app[SETTINGS]
    ledger = Ledger(
        app[POOL],
        tip_min=settings.tip_min,
        tip_max=settings.tip_max,
        show_interval_ms=max(1, round(settings.show_billing_interval_seconds * 1000)),
        node_id=settings.node_id,
        ticket_hold_seconds=settings.ticket_hold_seconds,
        pledge_hold_seconds=settings.pledge_hold_seconds,
        idempotency_ttl_hours=settings.idempotency_ttl_hours,
    )
    app[LEDGER] = ledger
    ended = await ledger.private_shows.end_orphans()
    if ended:
        log.warning("ended %d private show(s) billed by this node before it restarted", ended)
    providers: dict[str, PaymentProvider] = {}
    if "sandbox" in settings.payment_providers:
        providers["sandbox"] = SandboxProvider(
            settings.payment_webhook_key_bytes(),
            f"{settings.base_url}/api/v1/payments/webhooks/sandbox",
        )
    app[PROVIDERS] = providers
    events = MoneyEvents(app[POOL], app[PUBSUB])
    app[MONEY_EVENTS] = events
    jobs = asyncio.get_running_loop().create_task(
        run_ledger_jobs(ledger, settings.ledger_job_interval), name="ledger-jobs"
    )
    try:
        yield
    finally:
        await ledger.private_shows.close()
        jobs.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await jobs
        await ledger.close()
        await events.close()
        for provider in providers.values():
            await provider.close()


def setup(app: web.Application) -> None:
    """Add the wallet's routes and its lifecycle (call after the app's own lifecycle)."""
    from api.wallet import show_routes  # it imports this module's keys and helpers

    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
    stream_routes.api.add_to(app)
    show_routes.api.add_to(app)
