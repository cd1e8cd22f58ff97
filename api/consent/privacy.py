"""Personal data of per-session consent: performer invitations and consent check-ins.

Check-ins (and revocations) are a legal record of who agreed to be on camera when: kept,
append-only. Invitations to perform on other people's streams are deleted.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    checkins = await ctx.conn.fetch(
        "SELECT stream_id, action, ip, at FROM consent_checkins WHERE user_id = $1 ORDER BY id",
        uid,
    )
    performing = await ctx.conn.fetch(
        "SELECT stream_id, added_at FROM stream_performers WHERE user_id = $1 ORDER BY added_at",
        uid,
    )
    return {
        "consent_checkins.json": [
            {"streamId": c["stream_id"], "action": c["action"], "ip": c["ip"], "at": c["at"]}
            for c in checkins
        ],
        "performer_invitations.json": [
            {"streamId": p["stream_id"], "addedAt": p["added_at"]} for p in performing
        ],
    }


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    await ctx.conn.execute("DELETE FROM stream_performers WHERE user_id = $1", uid)
    await ctx.conn.execute("UPDATE stream_performers SET added_by = NULL WHERE added_by = $1", uid)


REGISTRY.register(
    PersonalData(
        name="consent",
        tables=("stream_performers", "consent_checkins"),
        export=export,
        erase=erase,
        retained=(
            Retained("consent_checkins", "user_id = $1", "legal record of consent to be on camera"),
        ),
        order=60,
    )
)
