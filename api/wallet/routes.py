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

Tip menus and goals are in `api.wallet.stream_routes`, shows in `api.wallet.show_routes`. A
call that moves money answers a retry (same ``Idempotency-Key``, same request) with the first
call's status and body, plus ``Idempotent-Replayed: true``: its response is a pure function of
the stored outcome (`api.wallet.money_calls.respond`), so replays are identical, refusals
included.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.routing import Api, Call, Page, RateLimit
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.wallet import purchases, webhooks
from api.wallet.errors import (
    PURCHASE_ID,
    PurchaseNotFound,
    UnknownProvider,
)
from api.wallet.events import MONEY_EVENTS
from api.wallet.lifecycle import lifecycle
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.providers import PROVIDERS, PaymentProvider
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from teezu.errors import Invalid

log = logging.getLogger(__name__)

api = Api("wallet")
WEBHOOK_MAX_BYTES = 64 * 1024


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
    path_formats={"stream_id": STREAM_ID},
)
async def tip(call: Call[TipBody, None]) -> web.Response:
    """Debits the wallet and pays the creator (and the platform, and the creator's referrer)
    in one transaction; it counts towards the stream's open goal, and the room hears of it.
    Refusals: 402 INSUFFICIENT_FUNDS, 409 STREAM_NOT_LIVE, STREAM_FROZEN (a live stream of
    the creator is frozen: the kill switch), CREATOR_NOT_PAYABLE or MENU_PRICE_CHANGED, 404
    UNKNOWN_ITEM (menu item), 422 AMOUNT_OUT_OF_RANGE or CANNOT_TIP_SELF."""
    key = idempotency_key(call)
    stream_id = call.id("stream_id")
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
    path_formats={"purchase_id": PURCHASE_ID},
)
async def purchase_status(call: Call[None, None]) -> PurchaseOut:
    purchase_id = call.id("purchase_id")
    found = await call.app[LEDGER].purchase(purchase_id)
    if found is None or found.buyer_id != call.principal.user_id:
        raise PurchaseNotFound("no such purchase", meta={"id": str(purchase_id)})
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


def setup(app: web.Application) -> None:
    """Add the wallet's routes and its lifecycle (call after the app's own lifecycle)."""
    app.cleanup_ctx.append(lifecycle)
    api.add_to(app)
