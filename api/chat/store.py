"""Chat persistence: the history interface (PostgreSQL today), moderation state, and the writer
that groups concurrent messages into one INSERT.

`ChatHistory` is the one seam a document store would implement; bans, room settings and the
moderation log are relational and stay in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from api.chat.errors import MessageNotFound
from api.chat.events import ChatMessage
from api.chat.rooms import RoomSettings, safety_of
from api.chat.screening import SafetySettings
from teezu.db import Db

log = logging.getLogger(__name__)


class ChatHistory(Protocol):
    """Where chat messages are kept."""

    async def append(self, messages: list[ChatMessage]) -> None:
        """Store messages (one round trip for the whole list)."""
        ...

    async def page(
        self, stream_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> list[ChatMessage]:
        """Up to ``limit`` undeleted messages older than ``before``, newest first.

        Raises `MessageNotFound` if ``before`` is not a message of this room.
        """
        ...

    async def remove(
        self, stream_id: uuid.UUID | None, message_id: uuid.UUID, by: uuid.UUID
    ) -> Removed | None:
        """Mark a message (held or delivered) removed; None if there is no such undeleted
        message (in ``stream_id``'s room, when given)."""
        ...

    async def held(
        self, stream_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[ChatMessage]:
        """Up to ``limit`` held messages of the room, oldest first, after ``after``."""
        ...

    async def release(self, stream_id: uuid.UUID, message_id: uuid.UUID) -> ChatMessage | None:
        """Deliver a held message: None if it is not held (any more), removed included."""
        ...

    async def release_overdue(self, grace: float) -> list[ChatMessage]:
        """Release every held message whose delay ended more than ``grace`` seconds ago (its
        process died before its timer fired), each exactly once across processes."""
        ...


@dataclass(frozen=True, slots=True)
class Removed:
    stream_id: uuid.UUID
    was_held: bool  # nobody saw it


_MESSAGE_COLUMNS = "id, stream_id, user_id, handle, body, sent_at, held, release_at"


def _message(r: asyncpg.Record) -> ChatMessage:
    return ChatMessage(
        r["id"],
        r["stream_id"],
        r["user_id"],
        r["handle"],
        r["body"],
        r["sent_at"],
        r["held"],
        r["release_at"],
    )


class PostgresChatHistory:
    """`ChatHistory` in the ``chat_messages`` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._writer: Any = None  # the pool connection `append` holds (a PoolConnectionProxy)

    async def _writer_connection(self) -> Any:
        """The connection `append` writes on, taken from the pool once and held.

        Chat is not money: not waiting for the WAL flush (``synchronous_commit = off``) takes a
        disk sync (milliseconds on a VM) off every message's path. A crash of PostgreSQL may
        lose the last fraction of a second of history (at most 3 x ``wal_writer_delay``),
        never corrupt it; a clean shutdown flushes it. The setting is made once, on a
        connection of its own: not on every INSERT (a batch is one round trip), and never
        left on a pooled connection that a ledger transaction would use next.
        """
        if self._writer is None:
            conn = await self._pool.acquire()
            try:
                await conn.execute("SET synchronous_commit TO off")
            except BaseException:
                await self._pool.release(conn)
                raise
            self._writer = conn
        return self._writer

    async def append(self, messages: list[ChatMessage]) -> None:
        conn = await self._writer_connection()
        try:
            await conn.execute(
                f"INSERT INTO chat_messages ({_MESSAGE_COLUMNS}) SELECT * FROM unnest("
                "$1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], "
                "$7::boolean[], $8::timestamptz[])",
                [m.id for m in messages],
                [m.stream_id for m in messages],
                [m.user_id for m in messages],
                [m.handle for m in messages],
                [m.text for m in messages],
                [m.sent_at for m in messages],
                [m.held for m in messages],
                [m.release_at for m in messages],
            )
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            await self._drop_writer(reset=False)  # the next batch takes a fresh connection
            raise

    async def _drop_writer(self, *, reset: bool) -> None:
        conn, self._writer = self._writer, None
        if conn is None:
            return
        if reset:
            with contextlib.suppress(Exception):
                await conn.execute("RESET synchronous_commit")
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    async def close(self) -> None:
        """Give the writer's connection back to the pool, its setting undone."""
        await self._drop_writer(reset=True)

    async def page(
        self, stream_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> list[ChatMessage]:
        async with self._pool.acquire() as conn:
            cursor: tuple[datetime, uuid.UUID] | None = None
            if before is not None:
                at = await conn.fetchval(
                    "SELECT sent_at FROM chat_messages WHERE id = $1 AND stream_id = $2",
                    before,
                    stream_id,
                )
                if at is None:
                    raise MessageNotFound(
                        "no such message in this room", meta={"before": str(before)}
                    )
                cursor = (at, before)
            rows = await conn.fetch(
                f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages "
                "WHERE stream_id = $1 AND deleted_at IS NULL AND NOT held "
                "AND ($2::timestamptz IS NULL OR (sent_at, id) < ($2, $3::uuid)) "
                "ORDER BY sent_at DESC, id DESC LIMIT $4",
                stream_id,
                cursor[0] if cursor else None,
                cursor[1] if cursor else None,
                limit,
            )
        return [_message(r) for r in rows]

    async def remove(
        self, stream_id: uuid.UUID | None, message_id: uuid.UUID, by: uuid.UUID
    ) -> Removed | None:
        # One conditional statement: a removal racing a release (approval, end of delay) is
        # decided by the row, so a removed message is never delivered.
        row = await self._pool.fetchrow(
            "UPDATE chat_messages SET deleted_at = now(), deleted_by = $3 "
            "WHERE id = $1 AND ($2::uuid IS NULL OR stream_id = $2) AND deleted_at IS NULL "
            "RETURNING stream_id, held",
            message_id,
            stream_id,
            by,
        )
        return None if row is None else Removed(row["stream_id"], row["held"])

    async def held(
        self, stream_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[ChatMessage]:
        rows = await self._pool.fetch(
            f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages "
            "WHERE stream_id = $1 AND held AND deleted_at IS NULL AND ($2::uuid IS NULL OR "
            "(sent_at, id) > (SELECT sent_at, id FROM chat_messages WHERE id = $2)) "
            "ORDER BY sent_at, id LIMIT $3",
            stream_id,
            after,
            limit,
        )
        return [_message(r) for r in rows]

    async def release_overdue(self, grace: float) -> list[ChatMessage]:
        rows = await self._pool.fetch(
            "UPDATE chat_messages SET held = false, release_at = NULL "
            "WHERE held AND deleted_at IS NULL "
            "AND release_at < now() - make_interval(secs => $1) "
            f"RETURNING {_MESSAGE_COLUMNS}",
            grace,
        )
        return sorted((_message(r) for r in rows), key=lambda m: (m.sent_at, m.id))

    async def release(self, stream_id: uuid.UUID, message_id: uuid.UUID) -> ChatMessage | None:
        row = await self._pool.fetchrow(
            "UPDATE chat_messages SET held = false, release_at = NULL "
            "WHERE id = $1 AND stream_id = $2 AND held AND deleted_at IS NULL "
            f"RETURNING {_MESSAGE_COLUMNS}",
            message_id,
            stream_id,
        )
        return None if row is None else _message(row)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the sender went away meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class HistoryWriter:
    """Group commit: messages that arrive while an INSERT is in flight go in the next one.

    A lone message is written at once (no added wait); under load each round trip carries every
    message that queued meanwhile, so the database sees one statement per batch, not per message.
    A batch that fails as a whole is written again one message at a time: a row the database
    refuses fails its own sender only. `close` writes what is queued and in flight before it
    returns, so a clean shutdown loses no message a sender was waiting on.
    """

    def __init__(
        self, history: ChatHistory, *, max_batch: int = 1000, close_timeout: float = 10.0
    ) -> None:
        self._history = history
        self._max_batch = max_batch
        self._close_timeout = close_timeout
        self._queue: list[tuple[ChatMessage, asyncio.Future[None]]] = []
        self._batch: list[tuple[ChatMessage, asyncio.Future[None]]] = []  # being written
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.fallbacks = 0  # batches that failed as a whole and were stored one by one

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-history")

    async def write(self, message: ChatMessage) -> None:
        """Return once ``message`` is stored (raises what the store raised)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            self._batch = batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._history.append([m for m, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    log.exception("storing a chat message failed")
                    _settle(batch[0][1], exc)
                    continue
                # One bad row fails the whole INSERT: store each alone, so only the
                # messages that fail by themselves fail (as the tip batches fall back).
                log.warning(
                    "a batch of %d chat messages failed; storing each alone: %r", len(batch), exc
                )
                self.fallbacks += 1
                for message, future in batch:
                    try:
                        await self._history.append([message])
                    except Exception as alone:
                        log.exception("storing a chat message failed")
                        _settle(future, alone)
                    else:
                        _settle(future, None)
            else:
                for _, f in batch:
                    _settle(f, None)

    async def close(self) -> None:
        """Write what is queued and in flight, then stop (bounded: the pool closes next)."""
        if self._task is not None:
            self._closing = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self._close_timeout)
            except TimeoutError:
                log.error("chat history: %d message(s) not stored at shutdown", len(self._queue))
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        for _, f in [*self._batch, *self._queue]:
            if not f.done():
                f.cancel()  # its sender gets no ack: the message was not delivered either
        self._queue.clear()


# --- moderation state ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Restriction:
    kind: str  # ban | timeout
    until: datetime | None  # None: a ban for good


async def active_restrictions(
    db: Db, stream_id: uuid.UUID, user_id: uuid.UUID
) -> dict[str, Restriction]:
    rows = await db.fetch(
        "SELECT kind, until FROM chat_restrictions WHERE stream_id = $1 AND user_id = $2 "
        "AND (until IS NULL OR until > now())",
        stream_id,
        user_id,
    )
    return {r["kind"]: Restriction(r["kind"], r["until"]) for r in rows}


async def restrict(
    db: Db,
    stream_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    kind: str,
    until: datetime | None,
    reason: str,
    by: uuid.UUID,
) -> None:
    await db.execute(
        "INSERT INTO chat_restrictions (stream_id, user_id, kind, until, reason, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id, user_id, kind) DO UPDATE SET "
        "until = EXCLUDED.until, reason = EXCLUDED.reason, created_by = EXCLUDED.created_by, "
        "created_at = now()",
        stream_id,
        user_id,
        kind,
        until,
        reason,
        by,
    )


async def lift_restrictions(db: Db, stream_id: uuid.UUID, user_id: uuid.UUID) -> int:
    status = await db.execute(
        "DELETE FROM chat_restrictions WHERE stream_id = $1 AND user_id = $2", stream_id, user_id
    )
    return int(status.split()[-1])


async def save_room_settings(
    db: Db,
    stream_id: uuid.UUID,
    *,
    slow_mode: int | None,
    followers_only: bool | None,
    by: uuid.UUID,
    review_mode: str | None = None,
    delay_seconds: int | None = None,
) -> RoomSettings:
    """Change the given settings (None: keep; review mode ``default``: back to the creator's)
    and return the room's settings after."""
    row = await db.fetchrow(
        "INSERT INTO chat_rooms (stream_id, slow_mode_seconds, followers_only, updated_by, "
        "review_mode, delay_seconds) "
        "VALUES ($1, coalesce($2, 0), coalesce($3, false), $4, "
        "CASE WHEN $5::text = 'default' THEN NULL ELSE $5 END, $6) "
        "ON CONFLICT (stream_id) DO UPDATE SET "
        "slow_mode_seconds = coalesce($2, chat_rooms.slow_mode_seconds), "
        "followers_only = coalesce($3, chat_rooms.followers_only), "
        "review_mode = CASE WHEN $5::text IS NULL THEN chat_rooms.review_mode "
        "WHEN $5 = 'default' THEN NULL ELSE $5 END, "
        "delay_seconds = coalesce($6, chat_rooms.delay_seconds), "
        "updated_by = $4, updated_at = now() "
        "RETURNING slow_mode_seconds, followers_only, review_mode, delay_seconds",
        stream_id,
        slow_mode,
        followers_only,
        by,
        review_mode,
        delay_seconds,
    )
    assert row is not None  # the query always returns a row
    return RoomSettings(
        row["slow_mode_seconds"], row["followers_only"], row["review_mode"], row["delay_seconds"]
    )


async def log_action(
    db: Db,
    stream_id: uuid.UUID,
    *,
    actor: uuid.UUID,
    action: str,
    target_user: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        "INSERT INTO chat_moderation_log "
        "(stream_id, actor_id, action, target_user_id, message_id, meta) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        stream_id,
        actor,
        action,
        target_user,
        message_id,
        json.dumps(meta or {}),
    )


# --- chat safety (per creator) ---------------------------------------------------------------

SAFETY_COLUMNS = (
    "profanity_action, profanity_threshold, banned_word_action, review_mode, delay_seconds"
)
MAX_BANNED_WORDS = 500  # per creator: every message is matched against all of them


async def get_safety(db: Db, creator_id: uuid.UUID) -> SafetySettings:
    row = await db.fetchrow(
        f"SELECT {SAFETY_COLUMNS} FROM chat_safety_settings WHERE creator_id = $1", creator_id
    )
    return safety_of(row)


async def save_safety(db: Db, creator_id: uuid.UUID, changes: dict[str, Any]) -> SafetySettings:
    """Change the given columns (the others keep their value) and return the settings after."""
    current = await get_safety(db, creator_id)
    merged = {
        "profanity_action": current.profanity_action,
        "profanity_threshold": current.profanity_threshold,
        "banned_word_action": current.banned_word_action,
        "review_mode": current.review_mode,
        "delay_seconds": current.delay_seconds,
        **changes,
    }
    # The upsert writes the full row computed from one read; two creators' devices racing
    # here both write whole, valid settings (last writer wins), which is what a settings
    # form means.
    row = await db.fetchrow(
        f"INSERT INTO chat_safety_settings (creator_id, {SAFETY_COLUMNS}) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (creator_id) DO UPDATE SET "
        "profanity_action = $2, profanity_threshold = $3, banned_word_action = $4, "
        f"review_mode = $5, delay_seconds = $6, updated_at = now() RETURNING {SAFETY_COLUMNS}",
        creator_id,
        merged["profanity_action"],
        merged["profanity_threshold"],
        merged["banned_word_action"],
        merged["review_mode"],
        merged["delay_seconds"],
    )
    return safety_of(row)


@dataclass(frozen=True, slots=True)
class BannedWord:
    id: uuid.UUID
    word: str
    normalized: str
    created_at: datetime


async def banned_word_page(
    db: Db, creator_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[BannedWord]:
    rows = await db.fetch(
        "SELECT id, word, normalized, created_at FROM chat_banned_words WHERE creator_id = $1 "
        "AND ($2::uuid IS NULL OR (created_at, id) > "
        "(SELECT created_at, id FROM chat_banned_words WHERE id = $2)) "
        "ORDER BY created_at, id LIMIT $3",
        creator_id,
        after,
        limit,
    )
    return [BannedWord(r["id"], r["word"], r["normalized"], r["created_at"]) for r in rows]


async def add_banned_word(
    db: Db, creator_id: uuid.UUID, word: str, normalized: str
) -> BannedWord | None:
    """The new entry; None if the creator already bans that normalized word or has the
    maximum (the caller tells which by `count_banned_words`)."""
    row = await db.fetchrow(
        "INSERT INTO chat_banned_words (creator_id, word, normalized) "
        "SELECT $1, $2, $3 WHERE (SELECT count(*) FROM chat_banned_words WHERE creator_id = $1) "
        f"< {MAX_BANNED_WORDS} ON CONFLICT (creator_id, normalized) DO NOTHING "
        "RETURNING id, word, normalized, created_at",
        creator_id,
        word,
        normalized,
    )
    return (
        None
        if row is None
        else BannedWord(row["id"], row["word"], row["normalized"], row["created_at"])
    )


async def count_banned_words(db: Db, creator_id: uuid.UUID) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM chat_banned_words WHERE creator_id = $1", creator_id
        )
    )


async def remove_banned_word(db: Db, creator_id: uuid.UUID, word_id: uuid.UUID) -> bool:
    status = await db.execute(
        "DELETE FROM chat_banned_words WHERE id = $1 AND creator_id = $2", word_id, creator_id
    )
    return bool(status == "DELETE 1")
