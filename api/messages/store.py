"""SQL for conversations and their messages (migration 0092).

A conversation is one pair of accounts (``member_a < member_b``, made once, race-free with
``ON CONFLICT``). Messages carry their read state: ``sent`` until the recipient reads up to them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Connection, Db


@dataclass(frozen=True)
class ConversationRow:
    id: uuid.UUID
    other_id: uuid.UUID | None  # None: the other account was erased
    other_handle: str | None
    last_message_at: datetime
    last_text: str | None
    unread: int


@dataclass(frozen=True)
class MessageRow:
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    body: str
    metadata: dict[str, Any]
    read_state: str
    read_at: datetime | None
    created_at: datetime
    price: int | None = None  # tokens to unlock the text (paid messages)
    unlocked: bool = False  # a paid message the recipient has paid for


_RET = (
    "id, conversation_id, sender_id, body, metadata, read_state, read_at, created_at, "
    "(metadata->>'price')::bigint AS price"
)
_MSG = (
    f"{_RET}, EXISTS (SELECT 1 FROM message_unlocks u WHERE u.message_id = messages.id) AS unlocked"
)


def _msg(r: Any) -> MessageRow:
    d = dict(r)
    d["metadata"] = json.loads(d["metadata"])
    return MessageRow(**d)


async def open_with(db: Db, me: uuid.UUID, other: uuid.UUID) -> uuid.UUID:
    """The conversation of the pair, made if new."""
    a, b = sorted((me, other))
    cid = await db.fetchval(
        "INSERT INTO conversations (id, member_a, member_b) VALUES ($1, $2, $3) "
        "ON CONFLICT (member_a, member_b) DO UPDATE SET member_a = EXCLUDED.member_a "
        "RETURNING id",
        uuid.uuid4(),
        a,
        b,
    )
    assert isinstance(cid, uuid.UUID)
    return cid


async def other_member(db: Db, conversation_id: uuid.UUID, me: uuid.UUID) -> uuid.UUID | None:
    """The other participant, if ``me`` is in the conversation; raises LookupError if not."""
    row = await db.fetchrow(
        "SELECT member_a, member_b FROM conversations WHERE id = $1 AND $2 IN (member_a, member_b)",
        conversation_id,
        me,
    )
    if row is None:
        raise LookupError(conversation_id)
    other: uuid.UUID | None = row["member_b"] if row["member_a"] == me else row["member_a"]
    return other


async def mine(
    db: Db, me: uuid.UUID, *, limit: int, offset: int, only: uuid.UUID | None = None
) -> list[ConversationRow]:
    """My conversations (or just ``only``), latest activity first."""
    rows = await db.fetch(
        "SELECT c.id, CASE WHEN c.member_a = $1 THEN c.member_b ELSE c.member_a END AS other_id, "
        "c.last_message_at, "
        "(SELECT handle FROM users WHERE id = CASE WHEN c.member_a = $1 THEN c.member_b "
        " ELSE c.member_a END) AS other_handle, "
        # a paid message the caller has not unlocked shows no text here either
        "(SELECT CASE WHEN NOT m.metadata ? 'price' OR m.sender_id = $1 OR EXISTS "
        " (SELECT 1 FROM message_unlocks u WHERE u.message_id = m.id) THEN m.body END "
        f" FROM messages m WHERE m.conversation_id = c.id AND {_delivered('$1', 'm')} "
        " ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_text, "
        "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.sender_id <> $1 "
        f" AND m.read_state = 'sent' AND {_delivered('$1', 'm')}) AS unread "
        "FROM conversations c WHERE $1 IN (c.member_a, c.member_b) "
        "AND ($4::uuid IS NULL OR c.id = $4) "
        "ORDER BY c.last_message_at DESC, c.id LIMIT $2 OFFSET $3",
        me,
        limit,
        offset,
        only,
    )
    return [ConversationRow(**dict(r)) for r in rows]


async def send(
    conn: Connection,
    conversation_id: uuid.UUID,
    sender: uuid.UUID,
    body: str,
    meta: dict[str, Any],
    *,
    price: int | None = None,
) -> MessageRow:
    r = await conn.fetchrow(
        "INSERT INTO messages (id, conversation_id, sender_id, body, metadata) "
        f"VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING {_RET}",
        uuid.uuid4(),
        conversation_id,
        sender,
        body,
        json.dumps({**meta, "price": price} if price is not None else meta),
    )
    assert r is not None
    await conn.execute(
        "UPDATE conversations SET last_message_at = $2 WHERE id = $1",
        conversation_id,
        r["created_at"],
    )
    return _msg(r)


# A message the viewer ($N) may see: theirs, or one whose attachment (if any) was scanned clean.
def _delivered(viewer: str, alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return (
        f"({a}sender_id = {viewer} OR NOT {a}metadata ? 'attachment' "
        f"OR {a}metadata->'attachment'->>'status' = 'clean')"
    )


async def history(
    db: Db,
    conversation_id: uuid.UUID,
    viewer: uuid.UUID,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[MessageRow]:
    """Newest first, keyset-paginated by ``before``; what ``viewer`` may see of it."""
    rows = await db.fetch(
        f"SELECT {_MSG} FROM messages WHERE conversation_id = $1 AND {_delivered('$5')} "
        "AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) "
        "ORDER BY created_at DESC, id DESC LIMIT $2",
        conversation_id,
        limit,
        before[0] if before else None,
        before[1] if before else None,
        viewer,
    )
    return [_msg(r) for r in rows]


async def mark_read(
    db: Db, conversation_id: uuid.UUID, reader: uuid.UUID
) -> tuple[int, datetime | None]:
    """Mark every message the other side sent as read; how many changed, and when."""
    row = await db.fetchrow(
        "WITH marked AS (UPDATE messages SET read_state = 'read', read_at = now() "
        "WHERE conversation_id = $1 AND sender_id <> $2 AND read_state = 'sent' "
        f"AND {_delivered('$2')} "
        "RETURNING read_at) SELECT count(*) AS n, max(read_at) AS at FROM marked",
        conversation_id,
        reader,
    )
    assert row is not None
    return int(row["n"]), row["at"]


async def get(db: Db, message_id: uuid.UUID) -> MessageRow | None:
    r = await db.fetchrow(f"SELECT {_MSG} FROM messages WHERE id = $1", message_id)
    return _msg(r) if r else None


async def sent_within(db: Db, sender: uuid.UUID, seconds: int) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM messages WHERE sender_id = $1 "
            "AND created_at > now() - make_interval(secs => $2)",
            sender,
            seconds,
        )
    )
