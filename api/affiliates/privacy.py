"""Personal data of affiliates: the user's code, the clicks on it and whom they referred.

Export: the code, the number of clicks per day, and the referral that brought the user in (who
referred them, how, when) and the accounts they referred (when). Erasure deletes the code and
its clicks (cascade); the referral rows themselves are ledger data (`api.wallet.privacy` keeps
them under the ledger's retention rule), so only their click link is cut here.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    code = await ctx.conn.fetchrow(
        "SELECT code, created_at FROM affiliate_codes WHERE owner_id = $1", uid
    )
    clicks = await ctx.conn.fetch(
        "SELECT date_trunc('day', clicked_at, 'UTC') AS day, count(*) AS n FROM affiliate_clicks "
        "WHERE owner_id = $1 GROUP BY 1 ORDER BY 1",
        uid,
    )
    referred = await ctx.conn.fetch(
        "SELECT created_at, via FROM affiliate_referrals WHERE referrer_id = $1 "
        "ORDER BY created_at",
        uid,
    )
    mine = await ctx.conn.fetchrow(
        "SELECT r.created_at, r.via, u.handle FROM affiliate_referrals r "
        "LEFT JOIN users u ON u.id = r.referrer_id WHERE r.referred_id = $1",
        uid,
    )
    return {
        "affiliate.json": {
            "code": code["code"] if code else None,
            "codeCreatedAt": code["created_at"] if code else None,
            "clicksPerDay": [{"day": c["day"], "clicks": c["n"]} for c in clicks],
            "referredAccounts": [{"at": r["created_at"], "via": r["via"]} for r in referred],
            "referredBy": (
                {"handle": mine["handle"], "via": mine["via"], "at": mine["created_at"]}
                if mine
                else None
            ),
        }
    }


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    await ctx.conn.execute("DELETE FROM affiliate_clicks WHERE owner_id = $1", uid)
    await ctx.conn.execute("DELETE FROM affiliate_codes WHERE owner_id = $1", uid)
    await ctx.conn.execute(
        "UPDATE affiliate_referrals SET click_id = NULL WHERE referred_id = $1 OR referrer_id = $1",
        uid,
    )


REGISTRY.register(
    PersonalData(
        name="affiliates",
        tables=("affiliate_codes", "affiliate_clicks"),
        export=export,
        erase=erase,
        order=20,
    )
)
