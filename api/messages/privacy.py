"""Personal data of direct messages: the messages a user sent and the conversations they are in.

Export: each conversation (the other side's handle) with the user's own messages (and their
prices), the attachments they sent (the files' descriptions; the files are in storage under
``dm/{id}/``), and the paid messages they unlocked; the other side's words are theirs and are not
exported. Erasure deletes the user's messages and takes
them out of their conversations (the participant becomes NULL): the other side keeps their own
messages, under "an erased account".
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    convs = await ctx.conn.fetch(
        "SELECT c.id, c.created_at, u.handle FROM conversations c LEFT JOIN users u ON u.id = "
        "CASE WHEN c.member_a = $1 THEN c.member_b ELSE c.member_a END "
        "WHERE $1 IN (c.member_a, c.member_b) ORDER BY c.created_at",
        uid,
    )
    msgs = await ctx.conn.fetch(
        "SELECT id, conversation_id, body, read_state, read_at, created_at, "
        "(metadata->>'price')::bigint AS price FROM messages "
        "WHERE sender_id = $1 ORDER BY created_at, id",
        uid,
    )
    unlocks = await ctx.conn.fetch(
        "SELECT u.message_id, u.tx_id, u.unlocked_at, (m.metadata->>'price')::bigint AS price "
        "FROM message_unlocks u "
        "LEFT JOIN messages m ON m.id = u.message_id WHERE u.buyer_id = $1 ORDER BY u.unlocked_at",
        uid,
    )
    sent_files = await ctx.conn.fetch(
        "SELECT id, message_id, kind, content_type, status, created_at FROM message_attachments "
        "WHERE uploader_id = $1 ORDER BY created_at",
        uid,
    )
    return {
        "direct_message_attachments.json": [
            {
                "id": a["id"],
                "messageId": a["message_id"],
                "kind": a["kind"],
                "contentType": a["content_type"],
                "status": a["status"],
                "sentAt": a["created_at"],
            }
            for a in sent_files
        ],
        "direct_message_unlocks.json": [
            {
                "messageId": u["message_id"],
                "price": u["price"],
                "ledgerTransaction": u["tx_id"],
                "unlockedAt": u["unlocked_at"],
            }
            for u in unlocks
        ],
        "direct_messages.json": [
            {
                "conversationId": c["id"],
                "with": c["handle"],
                "startedAt": c["created_at"],
                "messagesSent": [
                    {
                        "id": m["id"],
                        "text": m["body"],
                        "sentAt": m["created_at"],
                        "readState": m["read_state"],
                        "readAt": m["read_at"],
                        "price": m["price"],
                    }
                    for m in msgs
                    if m["conversation_id"] == c["id"]
                ],
            }
            for c in convs
        ],
    }


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    # What they paid stays in the ledger (its retention rule); which message it opened goes.
    await ctx.conn.execute("DELETE FROM message_unlocks WHERE buyer_id = $1", uid)
    await ctx.conn.execute(
        "DELETE FROM message_unlocks u USING messages m WHERE m.id = u.message_id "
        "AND m.sender_id = $1",
        uid,
    )
    files = await ctx.conn.fetch(
        "DELETE FROM message_attachments WHERE uploader_id = $1 RETURNING id", uid
    )
    for f in files:  # the uploaded files go after the commit
        ctx.cleanup.storage_prefixes.append(f"dm/{f['id']}")
    await ctx.conn.execute("DELETE FROM messages WHERE sender_id = $1", uid)
    await ctx.conn.execute("UPDATE conversations SET member_a = NULL WHERE member_a = $1", uid)
    await ctx.conn.execute("UPDATE conversations SET member_b = NULL WHERE member_b = $1", uid)
    # A conversation with nobody left in it is nobody's.
    await ctx.conn.execute("DELETE FROM conversations WHERE member_a IS NULL AND member_b IS NULL")


REGISTRY.register(
    PersonalData(
        name="direct_messages",
        tables=("conversations", "messages", "message_unlocks", "message_attachments"),
        export=export,
        erase=erase,
        order=20,
    )
)
