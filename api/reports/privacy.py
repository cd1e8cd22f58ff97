"""Personal data of trust and safety: reports filed, appeals, and the moderation log.

Reports the user filed stay (they are part of their target's moderation record), without the
reporter. Reports about the user, their appeals and the append-only moderation log are kept
(legal defence and the platform's duty to act on illegal content); the account is erased, so
they name only its id.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

_REASON = "moderation record (legal claims, duty to act on illegal content)"


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    filed = await conn.fetch(
        "SELECT id, target_type, target_id, reason, details, status, resolution, created_at, "
        "resolved_at FROM reports WHERE reporter_id = $1 ORDER BY created_at",
        uid,
    )
    appeals = await conn.fetch(
        "SELECT id, report_id, text, status, created_at, decided_at FROM appeals "
        "WHERE appellant_id = $1 ORDER BY created_at",
        uid,
    )
    # Decisions about the user: what was done and when (not who reported, nor moderator notes).
    actions = await conn.fetch(
        "SELECT at, action, report_id, appeal_id FROM moderation_log WHERE subject_id = $1 "
        "ORDER BY id",
        uid,
    )
    return {
        "reports_filed.json": [
            {
                "id": r["id"],
                "targetType": r["target_type"],
                "targetId": r["target_id"],
                "reason": r["reason"],
                "details": r["details"],
                "status": r["status"],
                "resolution": r["resolution"],
                "createdAt": r["created_at"],
                "resolvedAt": r["resolved_at"],
            }
            for r in filed
        ],
        "appeals.json": [
            {
                "id": a["id"],
                "reportId": a["report_id"],
                "text": a["text"],
                "status": a["status"],
                "createdAt": a["created_at"],
                "decidedAt": a["decided_at"],
            }
            for a in appeals
        ],
        "moderation_decisions_about_me.json": [
            {
                "at": a["at"],
                "action": a["action"],
                "reportId": a["report_id"],
                "appealId": a["appeal_id"],
            }
            for a in actions
        ],
    }


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute(
        "UPDATE reports SET reporter_id = NULL WHERE reporter_id = $1", ctx.subject.user_id
    )


REGISTRY.register(
    PersonalData(
        name="reports",
        tables=("reports", "appeals", "moderation_log"),
        export=export,
        erase=erase,
        retained=(
            Retained(
                "reports",
                "subject_id = $1 OR (target_type = 'user' AND target_id = $1::text)",
                _REASON,
            ),
            Retained("appeals", "appellant_id = $1 OR decided_by = $1", _REASON),
            Retained(
                "moderation_log",
                "actor_id = $1 OR subject_id = $1 OR target_id = $1::text",
                _REASON,
            ),
        ),
        order=50,
    )
)
