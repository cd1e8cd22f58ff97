"""Personal data of blocks: the accounts a user blocked. Who blocked the user is other people's
data (not exported). Erasure deletes both directions."""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    rows = await ctx.conn.fetch(
        "SELECT u.handle, b.created_at FROM user_blocks b JOIN users u ON u.id = b.blocked_id "
        "WHERE b.blocker_id = $1 ORDER BY b.created_at",
        ctx.subject.user_id,
    )
    return {"blocks.json": [{"handle": r["handle"], "since": r["created_at"]} for r in rows]}


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute(
        "DELETE FROM user_blocks WHERE blocker_id = $1 OR blocked_id = $1", ctx.subject.user_id
    )


REGISTRY.register(
    PersonalData(name="blocks", tables=("user_blocks",), export=export, erase=erase, order=40)
)
