"""Personal data of unlockables: what a creator made, and which viewers unlocked what.

Neither is a financial record (the tips that unlocked them are, in the ledger), so erasure
deletes both: the account's own unlockables and its unlock records.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    made = await conn.fetch(
        "SELECT id, stream_id, title, payload, scope, threshold, active, created_at, unlocked_at "
        "FROM unlockables WHERE creator_id = $1 ORDER BY created_at",
        uid,
    )
    unlocked = await conn.fetch(
        "SELECT u.unlockable_id, x.title, u.unlocked_at FROM unlockable_unlocks u "
        "JOIN unlockables x ON x.id = u.unlockable_id WHERE u.viewer_id = $1 "
        "ORDER BY u.unlocked_at",
        uid,
    )
    return {
        "unlockables.json": {
            "made": [dict(m) for m in made],
            "unlocked": [dict(u) for u in unlocked],
        }
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute("DELETE FROM unlockable_unlocks WHERE viewer_id = $1", uid)
    await conn.execute("DELETE FROM unlockables WHERE creator_id = $1", uid)


REGISTRY.register(
    PersonalData(
        name="unlockables",
        tables=("unlockables", "unlockable_unlocks"),
        export=export,
        erase=erase,
        order=5,  # before streams (their room unlockables would go with them anyway)
    )
)
