"""Personal data of subscriptions: who subscribes to whom, on which tier, and each period's
charge.

Subscriptions, their charges and the tiers they were bought on are financial records (each
charge is a ledger transaction), kept for the statutory period like the rest of the ledger.
Erasure stops them: the account's live subscriptions (as subscriber or as creator) end at once,
so nothing more is charged or renewed, and its tiers take no new subscribers.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

_REASON = "financial record (bookkeeping and tax retention)"
_MINE = "subscriber_id = $1 OR creator_id = $1"


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    # As a subscriber: everything. As a creator: their tiers and how many subscribe, never who
    # (other people's data).
    subs = await conn.fetch(
        "SELECT s.id, s.creator_id, s.tier_id, s.state, s.period, s.current_period_start, "
        "s.current_period_end, s.cancel_at_period_end, s.created_at, s.ended_at "
        "FROM subscriptions s WHERE s.subscriber_id = $1 ORDER BY s.created_at",
        uid,
    )
    charges = await conn.fetch(
        "SELECT c.subscription_id, c.period, c.price, c.tx_id, c.period_start, c.period_end, "
        "c.charged_at FROM subscription_charges c JOIN subscriptions s "
        "ON s.id = c.subscription_id WHERE s.subscriber_id = $1 ORDER BY c.charged_at",
        uid,
    )
    tiers = await conn.fetch(
        "SELECT t.id, t.name, t.price, t.active, t.created_at, "
        "(SELECT count(*) FROM subscriptions s WHERE s.tier_id = t.id) AS subscriptions "
        "FROM subscription_tiers t WHERE t.creator_id = $1 ORDER BY t.created_at",
        uid,
    )
    return {
        "subscriptions.json": {
            "subscriptions": [dict(s) for s in subs],
            "charges": [dict(c) for c in charges],
            "myTiers": [dict(t) for t in tiers],
        }
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute(
        "UPDATE subscriptions SET state = 'ended', ended_at = now(), grace_until = NULL, "
        "cancel_at_period_end = true, access_until = least(access_until, now()), "
        f"updated_at = now() WHERE ({_MINE}) AND state IN ('active', 'grace')",
        uid,
    )
    await conn.execute(
        "UPDATE subscription_tiers SET active = false, updated_at = now() WHERE creator_id = $1",
        uid,
    )


REGISTRY.register(
    PersonalData(
        name="subscriptions",
        tables=("subscriptions", "subscription_tiers", "subscription_charges"),
        export=export,
        erase=erase,
        retained=(
            Retained("subscriptions", _MINE, _REASON),
            Retained("subscription_tiers", "creator_id = $1", _REASON),
            Retained(
                "subscription_charges",
                f"subscription_id IN (SELECT id FROM subscriptions WHERE {_MINE})",
                _REASON,
            ),
        ),
        order=30,
    )
)
