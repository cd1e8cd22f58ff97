"""Payouts and earnings statements over HTTP (`api.wallet.payouts`, `api.wallet.statements`).

| route | needs |
|---|---|
| ``GET /api/v1/creators/me/earnings`` | ``wallet.use`` |
| ``GET /api/v1/creators/me/statement`` (``?from=&to=&format=json|csv``) | ``wallet.use`` |
| ``POST /api/v1/payouts`` | ``wallet.use``, a role that can stream, ``Idempotency-Key`` |
| ``GET /api/v1/payouts`` | ``wallet.use`` (one's own) |
| ``GET /api/v1/admin/payouts`` (``?status=pending``) | ``system.config_limited`` (admins) |
| ``POST /api/v1/admin/payouts/{payout_id}/approve`` and ``/reject`` | ``system.config_limited`` |

Cashing out is for the roles the RBAC matrix lets stream (the "Upload/Stream" row: creators,
providers, admins); anyone else gets ``403 NOT_A_CREATOR``. Approval is for admins only.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web
from pydantic import Field, StrictInt

from api.affiliates import store as affiliates
from api.auth import audit
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.wallet.errors import PAYOUT_ID, InvalidPeriod, NotACreator
from api.wallet.lifecycle import payouts_lifecycle
from api.wallet.model import AccountKind
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.payouts import PAYOUTS, Payout
from api.wallet.service import LEDGER
from api.wallet.statements import Statement
from api.wallet.statements import statement as read_statement
from teezu.errors import Invalid

api = Api("payouts")


class InvalidCursor(Invalid):
    code = "INVALID_CURSOR"


STATEMENT_MAX_LINES = 10_000
_CURSOR = r"^[0-9]{1,20}_[0-9a-f]{32}$"


# ---- models -------------------------------------------------------------------------------


class PayoutBody(Input):
    amount: StrictInt = Field(description="whole tokens of matured earnings to cash out")


class DecisionBody(Input):
    note: str | None = Field(default=None, max_length=500, description="why (for the record)")


class PageQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(
        default=None, pattern=_CURSOR, description="`nextCursor` of the previous page"
    )


class AdminPayoutQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "all"] = "pending"


class StatementQuery(Input):
    from_: datetime | None = Field(
        default=None,
        alias="from",
        description="start of the period (ISO 8601, inclusive); default: 30 days before `to`",
    )
    to: datetime | None = Field(
        default=None, description="end of the period (ISO 8601, exclusive); default: now"
    )
    format: Literal["json", "csv"] = "json"


class PayoutOut(Output):
    id: uuid.UUID
    creator_id: uuid.UUID
    amount: int = Field(description="tokens taken out of earnings")
    state: Literal["pending", "approved", "rejected"]
    reserve_tx: int = Field(description="the ledger transaction that reserved the amount")
    settle_tx: int | None = Field(description="the capture (approved) or release (rejected)")
    withheld: int | None = Field(description="approved: tokens withheld into the reserve")
    paid: int | None = Field(description="approved: tokens paid to the creator")
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime


class PayoutCreated(Output):
    payout: PayoutOut
    available: int = Field(description="matured earnings still available after this payout")


class EarningsOut(Output):
    balance: int = Field(description="earnings not yet paid out or reserved (incl. immature)")
    immature: int = Field(description="earnings still inside their hold period")
    available: int = Field(description="withdrawable now")
    pending: int = Field(description="reserved by payouts awaiting approval")
    paid_out: int = Field(description="approved payouts (withheld reserve shares included)")
    hold_days: int = Field(description="days an earning is held before it can be withdrawn")
    payout_min: int = Field(description="the smallest payout, in tokens")


class StatementLineOut(Output):
    transaction_id: int = Field(description="the ledger transaction this line reconciles to")
    kind: str
    description: str
    amount: int = Field(description="tokens into (+) or out of (-) earnings")
    balance_after: int
    created_at: datetime
    stream_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    payout_id: uuid.UUID | None
    reverses: int | None


class StatementOut(Output):
    from_: datetime = Field(alias="from")
    to: datetime
    opening_balance: int
    closing_balance: int = Field(description="opening balance + the sum of the lines")
    totals: dict[str, int] = Field(description="the lines' sum per kind")
    lines: list[StatementLineOut]


# ---- helpers ------------------------------------------------------------------------------


def _cursor(p: Payout) -> str:
    micros = (p.created_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return f"{micros}_{p.id.hex}"


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    micros, _, hexid = cursor.partition("_")
    try:
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    except OverflowError:
        raise InvalidCursor("cursor out of range", meta={"cursor": cursor}) from None
    return at, uuid.UUID(hexid)


def _page(found: list[Payout], limit: int) -> Page[PayoutOut]:
    return Page(
        [PayoutOut.model_validate(p.public()) for p in found],
        _cursor(found[-1]) if len(found) == limit else None,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---- routes -------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/creators/me/earnings",
    summary="My earnings: balance, immature, withdrawable, pending and paid-out tokens",
    response=EarningsOut,
    permission=Permission.WALLET,
)
async def my_earnings(call: Call[None, None]) -> EarningsOut:
    user = call.principal.user_id
    assert user is not None
    payouts = call.app[PAYOUTS]
    view = await payouts.earnings(user)
    return EarningsOut.model_validate({**view.public(), "payoutMin": payouts.minimum})


@api.route(
    "POST",
    "/api/v1/payouts",
    summary="Cash out matured earnings (reserved until an admin approves or rejects)",
    status=201,
    body=PayoutBody,
    response=PayoutCreated,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 409),
)
async def request_payout(call: Call[PayoutBody, None]) -> web.Response:
    """Reserves the amount out of matured earnings. Refusals: 403 NOT_A_CREATOR (a role that
    cannot stream, unless an affiliate), 422 PAYOUT_BELOW_MINIMUM, 409
    INSUFFICIENT_MATURED_EARNINGS (meta: amount, available, immature, holdDays; stored with the
    key like every refusal)."""
    principal = call.principal
    if not (
        principal.can(Permission.STREAM)
        or principal.can(Permission.STREAM_LIMITED)
        or (  # an affiliate cashes out their referral share the same way
            principal.user_id is not None
            and await affiliates.is_affiliate(call.app[POOL], principal.user_id)
        )
    ):
        raise NotACreator("only creators and affiliates cash out earnings")
    key = idempotency_key(call)
    outcome = await call.app[PAYOUTS].request(
        key, call.body.amount, request_id=call.request[REQUEST_ID]
    )
    return respond(call.request, outcome, 201)


@api.route(
    "GET",
    "/api/v1/payouts",
    summary="My payouts, newest first",
    query=PageQuery,
    response=PayoutOut,
    paginated=True,
    permission=Permission.WALLET,
)
async def my_payouts(call: Call[None, PageQuery]) -> Page[PayoutOut]:
    q = call.query
    found = await call.app[PAYOUTS].list(
        state=None,
        creator_id=call.principal.user_id,
        limit=q.limit,
        after=_after(q.cursor),
        newest_first=True,
    )
    return _page(found, q.limit)


@api.route(
    "GET",
    "/api/v1/creators/me/statement",
    summary="My earnings statement for a period (JSON, or CSV with format=csv)",
    query=StatementQuery,
    response=StatementOut,
    permission=Permission.WALLET,
    also_produces=("text/csv",),
)
async def my_statement(call: Call[None, StatementQuery]) -> web.Response:
    """Opening balance, every line with its ledger transaction id, closing balance (the lines
    sum from one to the other). 422 INVALID_PERIOD unless from < to; 422 STATEMENT_TOO_LARGE
    past 10000 lines (ask for a shorter period)."""
    user = call.principal.user_id
    assert user is not None
    q = call.query
    end = _aware(q.to) if q.to else datetime.now(UTC)
    try:
        start = _aware(q.from_) if q.from_ else end - timedelta(days=30)
    except OverflowError:
        raise InvalidPeriod("`to` is too early", meta={"to": end.isoformat()}) from None
    if start >= end:
        raise InvalidPeriod(
            "`from` must be before `to`", meta={"from": start.isoformat(), "to": end.isoformat()}
        )
    ledger = call.app[LEDGER]
    account = await ledger.book.find(ledger.pool, AccountKind.EARNINGS, user)
    found = await read_statement(ledger.pool, account, start, end, max_lines=STATEMENT_MAX_LINES)
    # Up to STATEMENT_MAX_LINES lines: rendering is CPU work, off the event loop.
    if q.format == "csv":
        name = f"statement-{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return web.Response(
            text=await asyncio.to_thread(found.csv),
            content_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
    return web.Response(
        text=await asyncio.to_thread(_statement_json, found),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _statement_json(found: Statement) -> str:
    data = StatementOut.model_validate(found.public()).model_dump_json(by_alias=True)
    return '{"status":"ok","data":' + data + "}"


@api.route(
    "GET",
    "/api/v1/admin/payouts",
    summary="Payouts by state (default: pending, oldest first: the approval queue)",
    query=AdminPayoutQuery,
    response=PayoutOut,
    paginated=True,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def admin_payouts(call: Call[None, AdminPayoutQuery]) -> Page[PayoutOut]:
    q = call.query
    found = await call.app[PAYOUTS].list(
        state=None if q.status == "all" else q.status,
        creator_id=None,
        limit=q.limit,
        after=_after(q.cursor),
        newest_first=False,
    )
    return _page(found, q.limit)


async def _decide(call: Call[DecisionBody, None], approve: bool) -> web.Response:
    admin = call.principal.user_id
    assert admin is not None
    payouts = call.app[PAYOUTS]
    payout_id = call.id("payout_id")
    note = call.body.note
    found = await payouts.get(payout_id)
    if found is not None:  # (an unknown id is the decision's own 404)
        await check_may_act_on(
            call.app[POOL], call.principal, found.creator_id, action="payout.decision"
        )
    if approve:
        payout, again = await payouts.approve(payout_id, admin, note)
    else:
        payout, again = await payouts.reject(payout_id, admin, note)
    if not again:
        await audit.record(
            call.app[POOL],
            f"admin.payout.{payout.state}",
            actor_id=admin,
            target=f"payout:{payout.id}",
            ip=call.ip,
            meta={"creatorId": str(payout.creator_id), "amount": payout.amount},
        )
    headers = {"Idempotent-Replayed": "true"} if again else {}
    data = PayoutOut.model_validate(payout.public()).model_dump(mode="json", by_alias=True)
    return web.json_response(
        {"status": "ok", "data": data}, headers={**headers, "Cache-Control": "no-store"}
    )


@api.route(
    "POST",
    "/api/v1/admin/payouts/{payout_id}/approve",
    summary="Approve a pending payout: its tokens are paid out (once)",
    body=DecisionBody,
    response=PayoutOut,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
    errors=(409,),
    path_formats={"payout_id": PAYOUT_ID},
    ranked="payout.decision",
)
async def approve_payout(call: Call[DecisionBody, None]) -> web.Response:
    """Approving an approved payout again answers the same payout with `Idempotent-Replayed:
    true` and moves nothing; a rejected one is 409 PAYOUT_NOT_PENDING."""
    return await _decide(call, approve=True)


@api.route(
    "POST",
    "/api/v1/admin/payouts/{payout_id}/reject",
    summary="Reject a pending payout: its tokens go back to the creator's earnings (once)",
    body=DecisionBody,
    response=PayoutOut,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
    errors=(409,),
    path_formats={"payout_id": PAYOUT_ID},
    ranked="payout.decision",
)
async def reject_payout(call: Call[DecisionBody, None]) -> web.Response:
    """Rejecting a rejected payout again answers the same payout with `Idempotent-Replayed:
    true`; an approved one is 409 PAYOUT_NOT_PENDING."""
    return await _decide(call, approve=False)


# ---- wiring -------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    """Add the payout routes (after `api.wallet.routes.setup`: they use its ledger)."""
    app.cleanup_ctx.append(payouts_lifecycle)
    api.add_to(app)
