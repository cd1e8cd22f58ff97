"""Personal data of the viewing facts: a signed-in viewer's viewing sessions (which stream,
when, how long, from which country). Exported; on erasure the sessions stay for the streams'
statistics without anyone's id (viewer and anonymous id cleared)."""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    rows = await ctx.conn.fetch(
        "SELECT stream_id, kind, country, joined_at, left_at, watch_seconds FROM stream_viewers "
        "WHERE viewer_id = $1 ORDER BY joined_at",
        ctx.subject.user_id,
    )
    return {
        "viewing_sessions.json": [
            {
                "streamId": r["stream_id"],
                "kind": r["kind"],
                "country": r["country"],
                "joinedAt": r["joined_at"],
                "leftAt": r["left_at"],
                "watchSeconds": r["watch_seconds"],
            }
            for r in rows
        ]
    }


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute(
        "UPDATE stream_viewers SET viewer_id = NULL, anonymous_id = NULL WHERE viewer_id = $1",
        ctx.subject.user_id,
    )


REGISTRY.register(
    PersonalData(name="viewing", tables=("stream_viewers",), export=export, erase=erase, order=20)
)
