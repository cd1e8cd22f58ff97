"""What a caller's membership allows, checked where the action happens (pure rules in
`api.memberships.plans`)."""

from __future__ import annotations

import uuid

from api.auth.principal import Principal
from api.memberships import plans, store
from api.memberships.errors import DmLimitReached, TierLimitReached
from teezu.db import Db

DAY = 86_400


async def check_dm_allowance(db: Db, principal: Principal) -> None:
    """Refuse (429 ``DM_LIMIT_REACHED``) a direct message over the tier's daily allowance.

    A soft limit: two messages sent at the very same moment may both pass the count."""
    limit = plans.dm_daily_limit(principal.roles, principal.plans)
    if limit is None or principal.user_id is None:
        return
    sent = int(
        await db.fetchval(
            "SELECT count(*) FROM messages WHERE sender_id = $1 "
            "AND created_at > now() - make_interval(secs => $2)",
            principal.user_id,
            DAY,
        )
    )
    if sent >= limit:
        tier = plans.member_plan(principal.plans)
        raise DmLimitReached(
            f"your membership allows {limit} direct messages a day",
            retry_after=3600,
            meta={"limit": limit, "plan": tier.id.value if tier else None},
        )


async def check_tier_allowance(db: Db, creator: uuid.UUID) -> None:
    """Refuse (409 ``TIER_LIMIT_REACHED``) a creator's subscription tier over the limit of
    the creator's live plans (whoever adds it: the creator or an admin)."""
    limit = plans.subscription_tier_limit(await store.live_plans(db, creator))
    active = await db.fetchval(
        "SELECT count(*) FROM subscription_tiers WHERE creator_id = $1 AND active", creator
    )
    if active >= limit:
        raise TierLimitReached(
            f"you may keep {limit} active tiers; retire one first (Creator+ allows more)",
            meta={"limit": limit},
        )
