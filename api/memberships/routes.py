"""Platform memberships over HTTP: the plans, joining one, mine, cancelling.

| route | needs |
|---|---|
| ``GET /api/v1/memberships/plans`` | nothing |
| ``GET /api/v1/memberships`` | ``wallet.use``: mine, with what my live plans unlock |
| ``POST /api/v1/memberships`` | ``wallet.use``, ``Idempotency-Key`` |
| ``POST /api/v1/memberships/{membership_id}/cancel`` | its member (or an admin) |
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.keys import POOL, SETTINGS
from api.memberships import billing, plans, store
from api.memberships.errors import (
    MEMBERSHIP_ID,
    MembershipNotActive,
    MembershipNotFound,
    PlanNotForYou,
)
from api.memberships.lifecycle import lifecycle
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.subscriptions.billing import billing_from
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.service import LEDGER

api = Api("memberships")

MembershipPlanName = Literal["basic", "plus", "premium", "elite", "creator_plus"]


class MembershipPlanOut(Output):
    id: MembershipPlanName
    kind: Literal["member", "creator"]
    rank: int
    price: int = Field(description="tokens per period (a month)")
    badge: str = Field(description="shown next to the member's chat name")
    ai_level: Literal["basic", "full", "creator"]
    dm_per_day: int | None = Field(description="direct messages per 24 hours; null: unlimited")
    grants_roles: list[str] = Field(description="RBAC roles held while the membership lasts")
    max_subscription_tiers: int | None


class MembershipJoin(Input):
    plan: MembershipPlanName


class MembershipOut(Output):
    id: uuid.UUID
    plan: MembershipPlanName
    kind: Literal["member", "creator"]
    state: Literal["active", "grace", "expired", "ended"]
    period: int
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    grace_until: datetime | None
    access_until: datetime
    created_at: datetime
    ended_at: datetime | None


class MembershipUnlocked(Output):
    """What the caller's live plans unlock now."""

    plans: list[MembershipPlanName]
    badges: list[str]
    ai_level: str
    dm_per_day: int | None = Field(description="null: not counted")
    subscription_tier_limit: int


class MyMemberships(Output):
    memberships: list[MembershipOut]
    unlocked: MembershipUnlocked


class MembershipJoinedOut(Output):
    membership_id: uuid.UUID
    plan: MembershipPlanName
    price: int
    transaction_id: int
    balance: int


def plan_out(p: plans.Plan) -> MembershipPlanOut:
    return MembershipPlanOut(
        id=p.id.value,
        kind=p.kind,
        rank=p.rank,
        price=p.price,
        badge=p.badge,
        ai_level=p.ai_level,
        dm_per_day=p.dm_per_day,
        grants_roles=sorted(r.value for r in p.roles),
        max_subscription_tiers=p.max_subscription_tiers,
    )


@api.route(
    "GET",
    "/api/v1/memberships/plans",
    summary="The membership plans (member tiers and Creator+) and what each unlocks",
    response=MembershipPlanOut,
    paginated=True,
)
async def list_plans(call: Call[None, None]) -> Page[MembershipPlanOut]:
    return Page([plan_out(p) for p in plans.PLANS.values()])


@api.route(
    "GET",
    "/api/v1/memberships",
    summary="My memberships, newest first, and what my live plans unlock",
    response=MyMemberships,
    permission=Permission.WALLET,
)
async def my_memberships(call: Call[None, None]) -> MyMemberships:
    me = call.principal.user_id
    assert me is not None
    pool = call.app[POOL]
    rows = await store.mine(pool, me)
    live = await store.live_plans(pool, me)
    own = call.principal.roles
    return MyMemberships(
        memberships=[MembershipOut.model_validate(store.public(r)) for r in rows],
        unlocked=MembershipUnlocked(
            plans=[p.id.value for p in plans.plans_of(live)],
            badges=list(plans.badges(live)),
            ai_level=plans.ai_level(live),
            dm_per_day=plans.dm_daily_limit(own, live),
            subscription_tier_limit=plans.subscription_tier_limit(live),
        ),
    )


@api.route(
    "POST",
    "/api/v1/memberships",
    summary="Join a membership plan; the first month is charged now",
    status=201,
    body=MembershipJoin,
    response=MembershipJoinedOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(402, 403, 409),
)
async def join(call: Call[MembershipJoin, None]) -> web.Response:
    """Paid to the platform from the wallet, renewed monthly until cancelled. Refusals: 402
    INSUFFICIENT_FUNDS (stored with the key), 403 PLAN_NOT_AVAILABLE (Creator+ for accounts
    that may not stream), 409 ALREADY_MEMBER (a live plan of the same kind: cancel it first;
    meta: membershipId, plan)."""
    key = idempotency_key(call)
    plan = plans.PLANS[plans.PlanId(call.body.plan)]
    if not plans.may_join(plan, call.principal.roles):
        raise PlanNotForYou("Creator+ is for creators", meta={"plan": plan.id.value})
    outcome = await billing.join(
        call.app[POOL],
        call.app[LEDGER].book,
        key,
        plan,
        billing_from(call.app[SETTINGS]),
        request_id=call.request[REQUEST_ID],
    )
    return respond(call.request, outcome, 201)


@api.route(
    "POST",
    "/api/v1/memberships/{membership_id}/cancel",
    summary="Cancel my membership at the end of its paid period",
    response=MembershipOut,
    auth=True,
    errors=(409,),
    path_formats={"membership_id": MEMBERSHIP_ID},
)
async def cancel(call: Call[None, None]) -> MembershipOut:
    """Nothing more is charged; what it unlocks lasts to the paid period's end (in grace it
    ends now). Cancelling twice is not an error; 409 MEMBERSHIP_NOT_ACTIVE once it is over."""
    mid = call.id("membership_id")
    pool = call.app[POOL]
    found = await store.get(pool, mid)
    admin = call.principal.can(Permission.SYSTEM_CONFIG_LIMITED)
    if found is None or (found["user_id"] != call.principal.user_id and not admin):
        raise MembershipNotFound("no such membership", meta={"id": str(mid)})
    row: Any = await store.cancel(pool, mid)
    if row["state"] == "expired":
        raise MembershipNotActive("this membership has already ended", meta={"state": row["state"]})
    return MembershipOut.model_validate(store.public(row))


def setup(app: web.Application) -> None:
    """Add the routes and the renewal job (after `api.wallet.routes.setup`)."""
    app.cleanup_ctx.append(lifecycle)
    api.add_to(app)
