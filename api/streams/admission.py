"""Who may watch a stream: `may_watch` (pure) with the relations it needs read from the
database (following, subscribing, a ticket to the show running now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.streams import store
from api.streams.access import effective_visibility, may_watch
from api.subscriptions.access import subscriber_until
from api.users.follows import is_follower
from api.wallet import ticket_shows


def is_admin(principal: Principal) -> bool:
    return principal.can(Permission.SYSTEM_CONFIG_LIMITED)


@dataclass(frozen=True)
class Admission:
    """Whether a caller may watch a stream, and what that rests on."""

    allowed: bool
    visibility: str  # effective: "ticketed" while a ticket show runs
    owner: bool = False
    until: datetime | None = None  # the access ends then (a subscription's paid time), if known


async def admission(
    pool: asyncpg.Pool, p: Principal, row: store.StreamRow, *, owner: bool = False
) -> Admission:
    """Whether ``p`` may watch the stream (`may_watch` with the relations it needs read from
    the database: following, subscribing, a ticket). ``owner``: ownership already proven
    otherwise (the publish token)."""
    owner = owner or (row.creator_id is not None and row.creator_id == p.user_id)
    # While a ticket show runs, the stream is ``ticketed`` whatever its own setting.
    visibility = effective_visibility(
        row.visibility, ticket_show_running=await ticket_shows.running(pool, row.id)
    )
    relation = p.user_id is not None and row.creator_id is not None
    follower = (
        visibility == "followers"
        and p.user_id is not None
        and row.creator_id is not None
        and await is_follower(pool, p.user_id, row.creator_id)
    )
    until = (
        await subscriber_until(pool, p.user_id, row.creator_id)
        if visibility == "subscribers" and relation
        else None
    )
    holder = visibility == "ticketed" and await ticket_shows.admitted(pool, row.id, p.user_id)
    staff = is_admin(p) or p.can(Permission.MODERATE_ALL)
    allowed = may_watch(
        visibility,
        owner=owner,
        admin=is_admin(p),
        follower=follower,
        subscriber=until is not None,
        moderator=p.can(Permission.MODERATE_ALL),
        ticket_holder=holder,
    )
    return Admission(allowed, visibility, owner, None if owner or staff else until)


async def may_view(
    pool: asyncpg.Pool, p: Principal, row: store.StreamRow, *, owner: bool = False
) -> bool:
    """Whether ``p`` may watch the stream (`admission`)."""
    return (await admission(pool, p, row, owner=owner)).allowed
