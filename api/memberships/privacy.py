"""Personal data of memberships: which plans an account bought and each period's charge.

Financial records (each charge is a ledger transaction), kept for the statutory period like
the rest of the ledger. Erasure stops them: live memberships end at once, so nothing more is
charged.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

_REASON = "financial record (bookkeeping and tax retention)"


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    memberships = await conn.fetch(
        "SELECT id, plan, kind, state, period, current_period_start, current_period_end, "
        "cancel_at_period_end, created_at, ended_at FROM memberships WHERE user_id = $1 "
        "ORDER BY created_at",
        uid,
    )
    charges = await conn.fetch(
        "SELECT c.membership_id, c.period, c.plan, c.price, c.tx_id, c.period_start, "
        "c.period_end, c.charged_at FROM membership_charges c JOIN memberships m "
        "ON m.id = c.membership_id WHERE m.user_id = $1 ORDER BY c.charged_at",
        uid,
    )
    return {
        "memberships.json": {
            "memberships": [dict(m) for m in memberships],
            "charges": [dict(c) for c in charges],
        }
    }


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute(
        "UPDATE memberships SET state = 'ended', ended_at = now(), grace_until = NULL, "
        "cancel_at_period_end = true, access_until = least(access_until, now()), "
        "updated_at = now() WHERE user_id = $1 AND state IN ('active', 'grace')",
        ctx.subject.user_id,
    )


REGISTRY.register(
    PersonalData(
        name="memberships",
        tables=("memberships", "membership_charges"),
        export=export,
        erase=erase,
        retained=(
            Retained("memberships", "user_id = $1", _REASON),
            Retained(
                "membership_charges",
                "membership_id IN (SELECT id FROM memberships WHERE user_id = $1)",
                _REASON,
            ),
        ),
        order=31,
    )
)
