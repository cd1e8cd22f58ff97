"""Subscriptions over HTTP: creators' tiers, subscribing, my subscriptions, a creator's
subscribers, and the renewal job's lifecycle.

| route | needs |
|---|---|
| ``GET /api/v1/creators/{creator_id}/tiers`` | nothing (the creator also sees retired tiers) |
| ``POST /api/v1/creators/{creator_id}/tiers`` | ``stream.publish``; that creator (or an admin) |
| ``PATCH /api/v1/creators/{creator_id}/tiers/{tier_id}`` | the same |
| ``POST /api/v1/creators/{creator_id}/subscribe`` | ``wallet.use``, ``Idempotency-Key`` |
| ``GET /api/v1/creators/{creator_id}/subscribers`` | that creator (or an admin) |
| ``GET /api/v1/creators/{creator_id}/subscribers/count`` | nothing |
| ``GET /api/v1/subscriptions`` | ``wallet.use``: mine |
| ``GET /api/v1/subscriptions/{subscription_id}`` | its subscriber, its creator, an admin |
| ``POST /api/v1/subscriptions/{subscription_id}/cancel`` | its subscriber (or an admin) |
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictBool, StrictInt

from api.auth.rbac import Permission
from api.envelope import REQUEST_ID
from api.keys import POOL, SETTINGS
from api.memberships.allowance import check_tier_allowance
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.subscriptions import billing, store
from api.subscriptions.errors import (
    CREATOR_ID,
    SUBSCRIPTION_ID,
    TIER_ID,
    CreatorNotFound,
    NotCreator,
    NotTierOwner,
    SelfSubscribe,
    SubscriptionNotActive,
    SubscriptionNotFound,
    TierNotAvailable,
    TierNotFound,
)
from api.subscriptions.lifecycle import lifecycle
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.service import LEDGER
from api.wallet.streams import refuse_if_frozen

# PostgreSQL text cannot hold NUL: refused with the other validation errors.
TEXT = r"^[^\x00]*$"
api = Api("subscriptions")
CREATOR_PATH = {"creator_id": CREATOR_ID}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---- models -------------------------------------------------------------------------------


class TierCreate(Input):
    name: str = Field(min_length=1, max_length=80, pattern=TEXT)
    price: StrictInt = Field(ge=1, le=1_000_000, description="tokens per period (a month)")


class TierUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=80, pattern=TEXT)
    price: StrictInt | None = Field(
        default=None, ge=1, le=1_000_000, description="applies from each subscriber's renewal"
    )
    active: StrictBool | None = Field(
        default=None, description="false: no new subscribers; existing ones keep renewing"
    )


class SubscribeBody(Input):
    tier_id: uuid.UUID


class PageQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,17}\.[0-9a-f]{32}$",
        description="`nextCursor` of the previous page",
    )


class TierOut(Output):
    id: uuid.UUID
    creator_id: uuid.UUID
    name: str
    price: int = Field(description="tokens per period")
    active: bool


class TierRef(Output):
    id: uuid.UUID
    name: str
    price: int = Field(description="the tier's price now (the next renewal's)")


class SubscriptionOut(Output):
    id: uuid.UUID
    subscriber_id: uuid.UUID
    subscriber_handle: str
    creator_id: uuid.UUID
    creator_handle: str
    tier: TierRef
    state: Literal["active", "grace", "expired", "ended"]
    period: int = Field(description="the latest paid period (0: the first)")
    price_paid: int | None = Field(description="tokens charged for the latest paid period")
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    grace_until: datetime | None
    access_until: datetime = Field(description="the subscriber may watch until then")
    created_at: datetime
    ended_at: datetime | None


class SplitOut(Output):
    creator: int
    platform: int
    referral: int


class SubscribedOut(Output):
    subscription_id: uuid.UUID
    transaction_id: int
    price: int = Field(description="tokens charged for the first period")
    balance: int = Field(description="the subscriber's wallet after the charge")
    fee_schedule: str
    split: SplitOut


class SubscriberCount(Output):
    active: int
    grace: int = Field(description="a renewal failed; still watching during the grace period")
    total: int


# ---- helpers ------------------------------------------------------------------------------


def _is_admin(call: Call[Any, Any]) -> bool:
    return call.principal.can(Permission.SYSTEM_CONFIG_LIMITED)


async def _creator(call: Call[Any, Any]) -> uuid.UUID:
    creator = call.id("creator_id")
    if not await store.user_exists(call.app[POOL], creator):
        raise CreatorNotFound("no such creator", meta={"id": str(creator)})
    return creator


async def _own_creator(call: Call[Any, Any]) -> uuid.UUID:
    """The path's creator, when the caller is them (or an admin)."""
    creator = call.id("creator_id")
    if creator != call.principal.user_id and not _is_admin(call):
        raise NotCreator("only the creator (or an admin) may do this")
    return await _creator(call)


def _cursor(created_at: datetime, sub_id: uuid.UUID) -> str:
    delta = created_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}.{sub_id.hex}"


def _before(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    micros, _, sub_id = cursor.partition(".")
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(sub_id)


def _page(subs: list[store.Subscription], limit: int) -> Page[SubscriptionOut]:
    return Page(
        [SubscriptionOut.model_validate(s.public()) for s in subs],
        _cursor(subs[-1].created_at, subs[-1].id) if len(subs) == limit else None,
    )


# ---- tiers --------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/creators/{creator_id}/tiers",
    summary="A creator's subscription tiers, cheapest first",
    response=TierOut,
    paginated=True,
    path_formats=CREATOR_PATH,
)
async def list_tiers(call: Call[None, None]) -> Page[TierOut]:
    """Retired tiers are listed for the creator (and admins) only."""
    creator = await _creator(call)
    everything = creator == call.principal.user_id or _is_admin(call)
    tiers = await store.tiers_of(call.app[POOL], creator, include_inactive=everything)
    return Page([TierOut.model_validate(t.public()) for t in tiers])


@api.route(
    "POST",
    "/api/v1/creators/{creator_id}/tiers",
    summary="Add a subscription tier (name, monthly price in tokens)",
    status=201,
    body=TierCreate,
    response=TierOut,
    permission=Permission.STREAM,
    errors=(409,),
    path_formats=CREATOR_PATH,
)
async def create_tier(call: Call[TierCreate, None]) -> TierOut:
    """403 NOT_CREATOR for anyone's tiers but one's own (admins excepted); 409
    TIER_LIMIT_REACHED past the active tiers the creator's plan allows (more with Creator+,
    `api.memberships.plans`)."""
    creator = await _own_creator(call)
    await check_tier_allowance(call.app[POOL], creator)
    tier = await store.create_tier(
        call.app[POOL], creator, name=call.body.name, price=call.body.price
    )
    return TierOut.model_validate(tier.public())


@api.route(
    "PATCH",
    "/api/v1/creators/{creator_id}/tiers/{tier_id}",
    summary="Rename, re-price or retire (active: false) a tier of mine",
    body=TierUpdate,
    response=TierOut,
    permission=Permission.STREAM,
    path_formats={**CREATOR_PATH, "tier_id": TIER_ID},
)
async def update_tier(call: Call[TierUpdate, None]) -> TierOut:
    """A new price applies to each subscriber from their next renewal; the periods already
    paid keep the price they were charged."""
    creator = await _own_creator(call)
    tier_id = call.id("tier_id")
    pool = call.app[POOL]
    tier = await store.get_tier(pool, tier_id)
    if tier is None:
        raise TierNotFound("no such tier", meta={"id": str(tier_id)})
    if tier.creator_id != creator:
        raise NotTierOwner("this tier belongs to another creator")
    b = call.body
    changed = await store.update_tier(pool, tier_id, name=b.name, price=b.price, active=b.active)
    if changed is None:
        raise TierNotFound("no such tier", meta={"id": str(tier_id)})
    return TierOut.model_validate(changed.public())


# ---- subscribing --------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/v1/creators/{creator_id}/subscribe",
    summary="Subscribe to a creator's tier; the first period is charged now",
    status=201,
    body=SubscribeBody,
    response=SubscribedOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 409),
    path_formats=CREATOR_PATH,
)
async def subscribe(call: Call[SubscribeBody, None]) -> web.Response:
    """The charge is split like a tip (creator, platform, referrer) and renews every period
    until cancelled. Refusals: 402 INSUFFICIENT_FUNDS (stored with the key, like a tip's),
    404 CREATOR_NOT_FOUND or TIER_NOT_FOUND, 409 TIER_NOT_AVAILABLE (retired),
    ALREADY_SUBSCRIBED (meta: subscriptionId) or STREAM_FROZEN (a live stream of the creator
    is frozen: the kill switch), 422 CANNOT_SUBSCRIBE_SELF."""
    key = idempotency_key(call)
    creator = await _creator(call)
    pool = call.app[POOL]
    tier = await store.get_tier(pool, call.body.tier_id)
    if tier is None or tier.creator_id != creator:
        raise TierNotFound("no such tier of this creator", meta={"id": str(call.body.tier_id)})
    if creator == call.principal.user_id:
        raise SelfSubscribe("creators cannot subscribe to themselves")
    if not tier.active:
        raise TierNotAvailable("this tier takes no new subscribers", meta={"id": str(tier.id)})
    await refuse_if_frozen(pool, creator)
    outcome = await billing.subscribe(
        pool,
        call.app[LEDGER].book,
        key,
        tier,
        billing.billing_from(call.app[SETTINGS]),
        request_id=call.request[REQUEST_ID],
    )
    return respond(call.request, outcome, 201)


@api.route(
    "GET",
    "/api/v1/subscriptions",
    summary="My subscriptions, newest first (keyset pagination)",
    query=PageQuery,
    response=SubscriptionOut,
    paginated=True,
    permission=Permission.WALLET,
)
async def my_subscriptions(call: Call[None, PageQuery]) -> Page[SubscriptionOut]:
    assert call.principal.user_id is not None
    q = call.query
    subs = await store.mine(
        call.app[POOL], call.principal.user_id, limit=q.limit, before=_before(q.cursor)
    )
    return _page(subs, q.limit)


async def _subscription(call: Call[Any, Any]) -> store.Subscription:
    sub_id = call.id("subscription_id")
    found = await store.get(call.app[POOL], sub_id)
    me = call.principal.user_id
    if found is None or (me not in (found.subscriber_id, found.creator_id) and not _is_admin(call)):
        raise SubscriptionNotFound("no such subscription", meta={"id": str(sub_id)})
    return found


@api.route(
    "GET",
    "/api/v1/subscriptions/{subscription_id}",
    summary="One subscription (its subscriber's or creator's)",
    response=SubscriptionOut,
    auth=True,
    path_formats={"subscription_id": SUBSCRIPTION_ID},
)
async def get_subscription(call: Call[None, None]) -> SubscriptionOut:
    return SubscriptionOut.model_validate((await _subscription(call)).public())


@api.route(
    "POST",
    "/api/v1/subscriptions/{subscription_id}/cancel",
    summary="Cancel my subscription at the end of its paid period",
    response=SubscriptionOut,
    auth=True,
    errors=(403, 409),
    path_formats={"subscription_id": SUBSCRIPTION_ID},
)
async def cancel_subscription(call: Call[None, None]) -> SubscriptionOut:
    """Nothing more is charged; access continues until the paid period ends (in grace, where
    the last renewal was not paid, it ends now). Cancelling twice is not an error. 409
    SUBSCRIPTION_NOT_ACTIVE once it has expired or ended."""
    found = await _subscription(call)
    if found.subscriber_id != call.principal.user_id and not _is_admin(call):
        raise NotCreator("only the subscriber (or an admin) may cancel a subscription")
    pool = call.app[POOL]
    if found.state in ("active", "grace") and not found.cancel_at_period_end:
        await store.cancel(pool, found.id)  # a no-op if it ended meanwhile (checked below)
    changed = await store.get(pool, found.id)
    assert changed is not None
    if changed.state not in ("active", "grace") and not (
        changed.state == "ended" and changed.cancel_at_period_end
    ):
        raise SubscriptionNotActive(
            "this subscription has already ended", meta={"state": changed.state}
        )
    return SubscriptionOut.model_validate(changed.public())


# ---- a creator's subscribers --------------------------------------------------------------


@api.route(
    "GET",
    "/api/v1/creators/{creator_id}/subscribers",
    summary="A creator's live subscribers, newest first (the creator's own list)",
    query=PageQuery,
    response=SubscriptionOut,
    paginated=True,
    auth=True,
    errors=(403,),
    path_formats=CREATOR_PATH,
)
async def list_subscribers(call: Call[None, PageQuery]) -> Page[SubscriptionOut]:
    """Active and in-grace subscriptions; 403 NOT_CREATOR for anyone but the creator (and
    admins)."""
    creator = await _own_creator(call)
    q = call.query
    subs = await store.subscribers(call.app[POOL], creator, limit=q.limit, before=_before(q.cursor))
    return _page(subs, q.limit)


@api.route(
    "GET",
    "/api/v1/creators/{creator_id}/subscribers/count",
    summary="How many subscribe to a creator now",
    response=SubscriberCount,
    path_formats=CREATOR_PATH,
)
async def subscriber_count(call: Call[None, None]) -> SubscriberCount:
    creator = await _creator(call)
    return SubscriberCount(**await store.subscriber_count(call.app[POOL], creator))


# ---- wiring -------------------------------------------------------------------------------


def setup(app: web.Application) -> None:
    """Add the routes and the renewal job (call after `api.wallet.routes.setup`)."""
    app.cleanup_ctx.append(lifecycle)
    api.add_to(app)
