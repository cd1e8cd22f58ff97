"""Personal data of chat: messages the user sent, restrictions on them, the chat moderation
log, and Redis state (presence entries with the handle, send limits, slow-mode holds).

Erasure deletes the user's messages and the restrictions and log entries about them. Where the
account acted as a moderator on others (a ban it placed, a deletion it made), the row stays
for the room and its actor becomes the nil UUID (the column is NOT NULL).
"""

from __future__ import annotations

import uuid
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData

ERASED_ACTOR = uuid.UUID(int=0)


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    messages = await ctx.conn.fetch(
        "SELECT id, stream_id, body, sent_at, deleted_at FROM chat_messages "
        "WHERE user_id = $1 ORDER BY sent_at, id",
        uid,
    )
    restrictions = await ctx.conn.fetch(
        "SELECT stream_id, kind, until, reason, created_at FROM chat_restrictions "
        "WHERE user_id = $1 ORDER BY created_at",
        uid,
    )
    return {
        "chat_messages.json": [
            {
                "id": m["id"],
                "streamId": m["stream_id"],
                "text": m["body"],
                "sentAt": m["sent_at"],
                "deletedAt": m["deleted_at"],
            }
            for m in messages
        ],
        "chat_restrictions.json": [
            {
                "streamId": r["stream_id"],
                "kind": r["kind"],
                "until": r["until"],
                "reason": r["reason"],
                "createdAt": r["created_at"],
            }
            for r in restrictions
        ],
        "chat_safety.json": await _safety_export(ctx),
    }


async def _safety_export(ctx: ExportContext) -> dict[str, Any]:
    """A creator's own chat safety settings and banned words."""
    uid = ctx.subject.user_id
    settings = await ctx.conn.fetchrow(
        "SELECT profanity_action, profanity_threshold, banned_word_action, review_mode, "
        "delay_seconds, updated_at FROM chat_safety_settings WHERE creator_id = $1",
        uid,
    )
    words = await ctx.conn.fetch(
        "SELECT word, created_at FROM chat_banned_words WHERE creator_id = $1 "
        "ORDER BY created_at, id",
        uid,
    )
    return {
        "settings": dict(settings) if settings else None,
        "bannedWords": [{"word": w["word"], "createdAt": w["created_at"]} for w in words],
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute("DELETE FROM chat_messages WHERE user_id = $1", uid)
    await conn.execute("UPDATE chat_messages SET deleted_by = NULL WHERE deleted_by = $1", uid)
    await conn.execute("DELETE FROM chat_restrictions WHERE user_id = $1", uid)
    await conn.execute("DELETE FROM chat_safety_settings WHERE creator_id = $1", uid)
    await conn.execute("DELETE FROM chat_banned_words WHERE creator_id = $1", uid)
    await conn.execute(
        "UPDATE chat_restrictions SET created_by = $2 WHERE created_by = $1", uid, ERASED_ACTOR
    )
    await conn.execute("DELETE FROM chat_moderation_log WHERE target_user_id = $1", uid)
    await conn.execute(
        "UPDATE chat_moderation_log SET actor_id = $2 WHERE actor_id = $1", uid, ERASED_ACTOR
    )
    await conn.execute("UPDATE chat_rooms SET updated_by = NULL WHERE updated_by = $1", uid)
    # Presence members carry the id with the handle; limit and hold keys carry the id. (Not
    # the handle as a needle: a short handle is a substring of unrelated entries.)
    ctx.cleanup.redis_needles.append(str(uid))


REGISTRY.register(
    PersonalData(
        name="chat",
        tables=(
            "chat_messages",
            "chat_rooms",
            "chat_restrictions",
            "chat_moderation_log",
            "chat_safety_settings",
            "chat_banned_words",
        ),
        export=export,
        erase=erase,
        order=20,
    )
)
