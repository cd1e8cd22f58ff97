"""Personal data of mood analysis: the mood of each of a member's chat messages."""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    rows = await ctx.conn.fetch(
        "SELECT message_id, stream_id, mood, polarity, intensity, at FROM chat_message_moods "
        "WHERE user_id = $1 ORDER BY at",
        ctx.subject.user_id,
    )
    return {
        "chat_moods.json": [
            {
                "messageId": r["message_id"],
                "streamId": r["stream_id"],
                "mood": r["mood"],
                "polarity": r["polarity"],
                "intensity": r["intensity"],
                "at": r["at"],
            }
            for r in rows
        ]
    }


async def erase(ctx: EraseContext) -> None:
    # The room's per-minute sums (room_moods) hold no one's identity and stay.
    await ctx.conn.execute("DELETE FROM chat_message_moods WHERE user_id = $1", ctx.subject.user_id)


REGISTRY.register(
    PersonalData(
        name="mood",
        tables=("chat_message_moods",),
        export=export,
        erase=erase,
        order=30,
    )
)
