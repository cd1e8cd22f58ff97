"""Personal data of a creator's streams: the streams, their broadcasts, media in storage
(segments, recordings, posters under ``{stream_id}/``), and the engine's moderation rows and
snapshots (``moderation/{stream_id}/``), which are about the person on camera.

Erasure deletes the user's streams; the database cascades to broadcasts, chat rooms (and the
room's messages), goals, performers, safety state, moderation decisions and flags. Ledger
transactions and consent check-ins keep the stream's id without a foreign key (they are
retained by the wallet and consent packages). As a viewer, the account appears in
``playback_revocations`` (its playback tokens voided on someone's stream): exported, erased.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData

_MINE = "(creator_id = $1 OR (creator_id IS NULL AND creator_handle = $2))"


async def export(ctx: ExportContext) -> dict[str, Any]:
    rows = await ctx.conn.fetch(
        "SELECT id, title, state, visibility, recording, created_at, started_at, ended_at "
        f"FROM streams WHERE {_MINE} ORDER BY created_at",
        ctx.subject.user_id,
        ctx.subject.handle,
    )
    out = []
    for s in rows:
        broadcasts = await ctx.conn.fetch(
            "SELECT run, recording, started_at, ended_at, duration_seconds, renditions, "
            "vod_expires_at, purged_at FROM broadcasts WHERE stream_id = $1 ORDER BY started_at",
            s["id"],
        )
        safety = await ctx.conn.fetchrow(
            "SELECT rating, explicit, frozen, frozen_reason, frozen_at FROM stream_safety "
            "WHERE stream_id = $1",
            s["id"],
        )
        decisions = await ctx.conn.fetchval(
            "SELECT count(*) FROM moderation_decisions WHERE stream_id = $1", s["id"]
        )
        out.append(
            {
                "id": s["id"],
                "title": s["title"],
                "state": s["state"],
                "visibility": s["visibility"],
                "recording": s["recording"],
                "createdAt": s["created_at"],
                "startedAt": s["started_at"],
                "endedAt": s["ended_at"],
                "broadcasts": [
                    {
                        "run": b["run"],
                        "recording": b["recording"],
                        "startedAt": b["started_at"],
                        "endedAt": b["ended_at"],
                        "durationSeconds": b["duration_seconds"],
                        "renditions": list(b["renditions"]),
                        "vodExpiresAt": b["vod_expires_at"],
                        "purgedAt": b["purged_at"],
                    }
                    for b in broadcasts
                ],
                "safety": dict(safety) if safety else None,
                "automatedModerationDecisions": decisions,
            }
        )
    revoked = await ctx.conn.fetch(
        "SELECT stream_id, at FROM playback_revocations WHERE viewer = $1 ORDER BY at",
        ctx.subject.user_id.hex,
    )
    return {
        "streams.json": out,
        "playback_revocations.json": [{"streamId": r["stream_id"], "at": r["at"]} for r in revoked],
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    ids = await conn.fetch(
        f"DELETE FROM streams WHERE {_MINE} RETURNING id", uid, ctx.subject.handle
    )
    for r in ids:
        ctx.cleanup.storage_prefixes += [str(r["id"]), f"moderation/{r['id']}"]
    await conn.execute("DELETE FROM playback_revocations WHERE viewer = $1", uid.hex)
    # On other people's streams the account only appears as the actor of a decision.
    await conn.execute("UPDATE stream_safety SET frozen_by = NULL WHERE frozen_by = $1", uid)
    await conn.execute("UPDATE moderation_flags SET resolved_by = NULL WHERE resolved_by = $1", uid)


REGISTRY.register(
    PersonalData(
        name="streams",
        tables=(
            "streams",
            "broadcasts",
            "stream_safety",
            "moderation_decisions",
            "moderation_flags",
            "stream_goals",
            "playback_revocations",
        ),
        export=export,
        erase=erase,
        order=10,
    )
)
