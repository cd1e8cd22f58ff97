"""The node's chat: its connections, the rooms they joined, and every client request.

`Chat` is transport-agnostic: `api.realtime` feeds it Socket.IO events and gives it a
`Transport` to join rooms and emit. Each request method returns the ack payload or raises an
`api.chat.errors` error, which the transport turns into ``{"ok": false, "code", ...}``.

Several API processes can serve one room. What they must agree on lives in PostgreSQL (history,
bans, room settings), in Redis (presence, rate limits, slow mode) or travels on the control
channel (a ban, timeout or settings change made on one node reaches the others' caches and
connections at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.chat import events, store
from api.chat.errors import (
    Banned,
    ChatFrozen,
    InvalidPayload,
    MessageBlocked,
    MessageNotFound,
    MessageNotHeld,
    NotInRoom,
    RateLimited,
    SafeWordUnavailable,
    SlowMode,
    UserNotFound,
)
from api.chat.events import ChatMessage, ack_ok, parse
from api.chat.fanout import RoomFanout
from api.chat.filter import FilterScorer, create_filter
from api.chat.moderation import (
    can_moderate,
    check_followers_only,
    check_may_chat,
    check_moderator,
    check_not_muted,
    check_target,
    restriction_end,
)
from api.chat.presence import Presence, Viewer
from api.chat.ratelimit import Limiter
from api.chat.rooms import (
    FollowerCheck,
    Room,
    RoomSettings,
    check_read,
    load_room,
    mods_room,
    room_name,
)
from api.chat.screening import release_at
from api.chat.store import ChatHistory, HistoryWriter, PostgresChatHistory, Removed
from api.memberships.plans import badges
from api.subscriptions.access import is_subscriber
from api.users import store as users
from api.wallet.events import money_channel
from ingest.safety import safety_channel
from teezu.pubsub import Message, PubSub
from teezu.settings import Settings

log = logging.getLogger(__name__)


def held_wire(message: ChatMessage) -> dict[str, Any]:
    """A held message as moderators see it: the message and when it goes out by itself."""
    return {
        **message.wire(),
        "releaseAt": message.release_at and message.release_at.isoformat(),
    }


CONTROL_CHANNEL = "chat:control"
# The app's Authenticator.principal: credentials (the Cookie header) -> Principal
Authenticate = Callable[[Mapping[str, str]], Awaitable[Principal]]
PRESENCE_LIST_LIMIT = 100
SWEEP_INTERVAL = 5.0  # s between two looks for delayed messages whose process died
SWEEP_GRACE = 5.0  # s past its release time before another process releases a message
# (sid, principal, stream id) -> the safe word's ack fields (api.consent.safeword, bound to the app
# by api.realtime)
SafeWord = Callable[[str, Principal, uuid.UUID], Awaitable[dict[str, Any]]]


class Transport(Protocol):
    """What the chat needs from Socket.IO."""

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...

    async def emit(self, event: str, data: Any, *, room: str, skip_sid: str | None = None) -> None:
        """To every connection in ``room`` on every node."""
        ...

    async def emit_local(self, event: str, data: Any, *, to: str) -> None:
        """To the connections of this node only in room (or of connection) ``to``."""
        ...


@dataclass(slots=True)
class Connection:
    sid: str
    principal: Principal
    credentials: Mapping[str, str] = field(default_factory=dict)  # the handshake's Cookie
    checked_at: float = field(default_factory=time.monotonic)  # when the session was last read
    presence_entry: Viewer = field(init=False)
    rooms: set[uuid.UUID] = field(default_factory=set)
    follows: dict[uuid.UUID, bool] = field(default_factory=dict)  # per creator room, cached
    typing_at: dict[uuid.UUID, float] = field(default_factory=dict)

    def viewer(self) -> Viewer:
        """The presence entry, as at the handshake (a later re-read session does not change
        it, so the entry it made is the one removed)."""
        return self.presence_entry

    def __post_init__(self) -> None:
        self.presence_entry = Viewer(self.sid, self.principal.user_id, self.principal.handle)


class Chat:
    """The chat of one API process: call `start` once, then each Socket.IO event's method."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        settings: Settings,
        transport: Transport,
        presence: Presence,
        limiter: Limiter,
        pubsub: PubSub,
        followers: FollowerCheck,
        authenticate: Authenticate | None = None,
        history: ChatHistory | None = None,
        scorer: FilterScorer | None = None,
        safe_word: SafeWord | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.transport = transport
        self.presence = presence
        self.limiter = limiter
        self.pubsub = pubsub
        self.followers = followers  # in the app: api.users.follows.is_follower
        # Re-reads a connection's session now and then, so a sign-out or a revoked session
        # stops its open connection from sending within `session_recheck` seconds.
        self.authenticate = authenticate
        self.session_recheck = settings.chat_session_recheck
        self.history = history or PostgresChatHistory(pool)
        self.writer = HistoryWriter(self.history)
        self.fanout = RoomFanout(
            self._emit_room, settings.chat_batch_interval, members=self._local_members
        )
        self.scorer = scorer or FilterScorer(create_filter(settings.chat_filter))
        self.safe_word_trigger = safe_word
        self.node = uuid.uuid4().hex  # tells this node's control messages from the others'
        self.connections: dict[str, Connection] = {}
        self.messages = 0  # messages accepted on this node (/metrics)
        self.rooms: dict[uuid.UUID, Room] = {}  # rooms with members on this node
        self.members: dict[uuid.UUID, set[str]] = {}
        self._dirty: set[uuid.UUID] = set()  # rooms whose viewer count changed
        self._tasks: list[asyncio.Task[None]] = []
        self._relays: dict[uuid.UUID, asyncio.Task[None]] = {}  # money channel, per local room
        self._watches: dict[uuid.UUID, asyncio.Task[None]] = {}  # safety channel, per local room
        self._delays: dict[uuid.UUID, asyncio.TimerHandle] = {}  # delayed message -> its release
        self._releases: set[asyncio.Task[None]] = set()
        # Called with every message the room sees (sent, or released after a hold); each must
        # return at once (the mood analysis queues it).
        self.delivered_hooks: list[Callable[[ChatMessage], None]] = []

    def _local_members(self, stream_id: str) -> int:
        return len(self.members.get(uuid.UUID(stream_id), ()))

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.writer.start()
        self.fanout.start()
        self.scorer.start()
        control = await self.pubsub.subscribe(CONTROL_CHANNEL)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(control), name="chat-control"),
            loop.create_task(self._count_viewers(), name="chat-viewers"),
            loop.create_task(self._refresh_presence(), name="chat-presence"),
            loop.create_task(self._sweep(), name="chat-release-sweep"),
        ]

    async def close(self) -> None:
        for handle in self._delays.values():
            handle.cancel()  # still held in the database: a moderator can release it
        tasks = [*self._tasks, *self._relays.values(), *self._watches.values(), *self._releases]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.scorer.close()
        await self.fanout.close()
        await self.writer.close()
        if isinstance(self.history, PostgresChatHistory):
            await self.history.close()
        # Leave the shared presence clean for the nodes that stay.
        for conn in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await self.disconnect(conn.sid)

    # --- connections -----------------------------------------------------------------------

    def connect(
        self, sid: str, principal: Principal, credentials: Mapping[str, str] | None = None
    ) -> None:
        self.connections[sid] = Connection(sid, principal, dict(credentials or {}))

    async def disconnect(self, sid: str) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        for stream_id in list(conn.rooms):
            await self._leave(conn, stream_id, notify_transport=False)

    def _conn(self, sid: str) -> Connection:
        conn = self.connections.get(sid)
        if conn is None:  # an event racing the connect/disconnect handlers
            raise NotInRoom("not connected")
        return conn

    async def _principal(self, conn: Connection) -> Principal:
        """The connection's principal, its session re-read when older than `session_recheck`
        (signed-in connections only: an anonymous one has nothing to lose)."""
        if (
            self.authenticate is not None
            and conn.principal.user_id is not None
            and time.monotonic() - conn.checked_at >= self.session_recheck
        ):
            conn.principal = await self.authenticate(conn.credentials)
            conn.checked_at = time.monotonic()
        return conn.principal

    async def member(self, sid: str, stream_id: uuid.UUID) -> Principal:
        """The principal of connection ``sid`` if it joined ``stream_id``'s room here
        (`NotInRoom` otherwise), its session re-read when due: for the room's other features
        (`api.engagement`)."""
        conn = self._conn(sid)
        self._joined(conn, stream_id)
        return await self._principal(conn)

    def _joined(self, conn: Connection, stream_id: uuid.UUID) -> Room:
        room = self.rooms.get(stream_id)
        if stream_id not in conn.rooms or room is None:
            raise NotInRoom("join the room first", meta={"streamId": str(stream_id)})
        return room

    async def _room(self, stream_id: uuid.UUID) -> Room:
        """The cached room when it has members here, else a fresh read."""
        return self.rooms.get(stream_id) or await load_room(self.pool, stream_id)

    async def _follows(self, conn: Connection, room: Room) -> bool:
        if conn.principal.user_id is None or room.creator_id is None:
            return False
        known = conn.follows.get(room.creator_id)
        if known is None:
            known = await self.followers(conn.principal.user_id, room.creator_id)
            conn.follows[room.creator_id] = known
        return known

    # --- room membership -------------------------------------------------------------------

    async def join(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(events.RoomPayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        principal = await self._principal(conn)
        follows = room.visibility == "followers" and await self._follows(conn, room)
        subscribed = room.visibility == "subscribers" and await is_subscriber(
            self.pool, principal.user_id, room.creator_id
        )
        check_read(principal, room, follows=follows, subscribed=subscribed)
        timed_out_until: datetime | None = None
        if principal.user_id is not None:
            found = await store.active_restrictions(self.pool, p.stream_id, principal.user_id)
            ban = found.get("ban")
            if ban is not None:
                raise Banned(
                    "you are banned from this room",
                    meta={"until": ban.until.isoformat() if ban.until else None},
                )
            timeout = found.get("timeout")
            if timeout is not None:
                timed_out_until = timeout.until
        if conn.sid not in self.connections:  # disconnected while we were reading
            raise NotInRoom("not connected")
        room = self.rooms.setdefault(p.stream_id, room)
        if room.safety.profanity_action != "off":
            self.scorer.warm()
        if timed_out_until is not None and principal.user_id is not None:
            room.muted[principal.user_id] = timed_out_until
        if p.stream_id not in conn.rooms:
            conn.rooms.add(p.stream_id)
            self.members.setdefault(p.stream_id, set()).add(sid)
            if p.stream_id not in self._relays:
                await self._relay_money(p.stream_id)  # a tip right after the ack reaches us
            if p.stream_id not in self._watches:
                await self._watch_safety(p.stream_id)  # a freeze right after the ack too
            await self.transport.enter_room(sid, room.name)
            if can_moderate(principal, room):  # held messages and review notices
                await self.transport.enter_room(sid, mods_room(p.stream_id))
            await self.presence.enter(room.name, conn.viewer())
            self._dirty.add(p.stream_id)
        return ack_ok(
            streamId=str(p.stream_id),
            settings=room.settings.wire(),
            viewers=await self.presence.count(room.name),
            canSend=principal.user_id is not None and principal.can(Permission.CHAT),
            canModerate=can_moderate(principal, room),
            timedOutUntil=timed_out_until.isoformat() if timed_out_until else None,
            frozen=room.frozen,
            reviewMode=room.screening().review_mode,
        )

    async def leave(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(events.RoomPayload, data)
        conn = self._conn(sid)
        if p.stream_id in conn.rooms:
            await self._leave(conn, p.stream_id)
        return ack_ok(streamId=str(p.stream_id))

    async def _leave(
        self, conn: Connection, stream_id: uuid.UUID, *, notify_transport: bool = True
    ) -> None:
        conn.rooms.discard(stream_id)
        name = room_name(stream_id)
        members = self.members.get(stream_id)
        if members is not None:
            members.discard(conn.sid)
            if not members:
                del self.members[stream_id]
                self.rooms.pop(stream_id, None)
                for tasks in (self._relays, self._watches):
                    relay = tasks.pop(stream_id, None)
                    if relay is not None:
                        relay.cancel()
        if notify_transport:
            await self.transport.leave_room(conn.sid, name)
            await self.transport.leave_room(conn.sid, mods_room(stream_id))
        await self.presence.leave(name, conn.viewer())
        self._dirty.add(stream_id)

    # --- talking ---------------------------------------------------------------------------

    async def send(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(events.SendPayload, data)
        conn = self._conn(sid)
        room = self._joined(conn, p.stream_id)
        principal = await self._principal(conn)
        user_id = check_may_chat(principal)
        now = datetime.now(UTC)
        check_not_muted(room, user_id, now)
        exempt = can_moderate(principal, room)
        if room.frozen and not exempt:
            raise ChatFrozen(
                "the stream is frozen: chat is paused",
                meta={"streamId": str(p.stream_id), "reason": room.frozen_reason},
            )
        if room.settings.followers_only and not exempt:
            check_followers_only(room, exempt=False, follows=await self._follows(conn, room))
        wait = await self.limiter.hit(
            f"user:{user_id}",
            limit=self.settings.chat_rate_limit,
            window=self.settings.chat_rate_window,
        )
        if wait:
            raise RateLimited(
                "too many messages; wait a moment",
                retry_after=math.ceil(wait),
                meta={
                    "limit": self.settings.chat_rate_limit,
                    "windowSeconds": self.settings.chat_rate_window,
                },
            )
        if room.settings.slow_mode and not exempt:
            wait = await self.limiter.hold(f"slow:{p.stream_id}:{user_id}", room.settings.slow_mode)
            if wait:
                raise SlowMode(
                    f"slow mode: one message every {room.settings.slow_mode} s",
                    retry_after=math.ceil(wait),
                    meta={"slowMode": room.settings.slow_mode},
                )
        reasons: tuple[str, ...] = ()
        text, held, release = p.text, False, None
        if not exempt:  # the room's creator and moderators are trusted with their own words
            safety = room.screening()
            verdict = await self.scorer.screen(text, safety, room.banned)
            reasons = verdict.reasons
            if verdict.action == "block":
                raise MessageBlocked(
                    "this message is not allowed in this room", meta={"reasons": list(reasons)}
                )
            text = verdict.text
            held, release = release_at(verdict, safety, now)
        message = ChatMessage(
            uuid.uuid4(),
            p.stream_id,
            user_id,
            principal.handle or "",
            text,
            now,
            held=held,
            release_at=release,
            badges=badges(principal.plans),
        )
        # Stored before anyone sees it: a message a moderator can see can always be deleted.
        await self.writer.write(message)
        self.messages += 1
        wire = message.wire()
        if held:
            await self._hold(room, message, reasons)
            return ack_ok(
                message=wire,
                held=True,
                releaseAt=release and release.isoformat(),
                reasons=list(reasons),
            )
        await self.fanout.publish(room.name, str(p.stream_id), wire)
        self._delivered(message)
        return ack_ok(message=wire, masked=text != p.text)

    def _delivered(self, message: ChatMessage) -> None:
        for hook in self.delivered_hooks:
            try:
                hook(message)
            except Exception:
                log.exception("a delivered-message hook failed")

    async def _hold(self, room: Room, message: ChatMessage, reasons: tuple[str, ...]) -> None:
        """Tell the room's moderators (on every node) of a held message; time its release."""
        notice = {
            "streamId": str(room.stream_id),
            "message": message.wire(),
            "reasons": list(reasons),
            "releaseAt": message.release_at and message.release_at.isoformat(),
        }
        await self.transport.emit(events.HELD, notice, room=mods_room(room.stream_id))
        if message.release_at is not None:
            delay = max(0.0, (message.release_at - datetime.now(UTC)).total_seconds())
            loop = asyncio.get_running_loop()

            def due(stream_id: uuid.UUID = message.stream_id, mid: uuid.UUID = message.id) -> None:
                self._delays.pop(mid, None)
                task = loop.create_task(self._release(stream_id, mid), name=f"chat-release-{mid}")
                self._releases.add(task)
                task.add_done_callback(self._releases.discard)

            self._delays[message.id] = loop.call_later(delay, due)

    async def _release(self, stream_id: uuid.UUID, message_id: uuid.UUID) -> None:
        """The end of a message's delay: deliver it unless it was removed (or approved)."""
        try:
            message = await self.history.release(stream_id, message_id)
            if message is not None:
                await self._deliver(message, removed=False)
        except Exception:
            log.exception("releasing chat message %s failed", message_id)

    async def _deliver(self, message: ChatMessage, *, removed: bool) -> None:
        stream_id = str(message.stream_id)
        if not removed:
            await self.fanout.publish(room_name(stream_id), stream_id, message.wire())
            self._delivered(message)
        notice = {"streamId": stream_id, "messageId": str(message.id), "removed": removed}
        await self.transport.emit(events.RELEASED, notice, room=mods_room(stream_id))

    async def typing(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(events.RoomPayload, data)
        conn = self._conn(sid)
        room = self._joined(conn, p.stream_id)
        user_id = check_may_chat(await self._principal(conn))
        check_not_muted(room, user_id, datetime.now(UTC))
        now = time.monotonic()
        # At most one notice per interval per person: typing is frequent and worth little.
        if now - conn.typing_at.get(p.stream_id, -math.inf) < self.settings.chat_typing_interval:
            return ack_ok(sent=False)
        conn.typing_at[p.stream_id] = now
        notice = {
            "streamId": str(p.stream_id),
            "user": {"id": str(user_id), "handle": conn.principal.handle or ""},
        }
        await self.transport.emit(events.TYPING_NOTICE, notice, room=room.name, skip_sid=sid)
        return ack_ok(sent=True)

    async def presence_list(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(events.RoomPayload, data)
        room = self._joined(self._conn(sid), p.stream_id)
        return ack_ok(
            streamId=str(p.stream_id),
            count=await self.presence.count(room.name),
            users=await self.presence.users(room.name, PRESENCE_LIST_LIMIT),
        )

    # --- moderation ------------------------------------------------------------------------

    async def remove(self, sid: str, data: Any) -> dict[str, Any]:
        """``chat:remove`` (and its older name ``chat:delete``): a held or delivered message."""
        p = parse(events.MessagePayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        moderator = check_moderator(await self._principal(conn), room)
        removed = await self.remove_message(p.stream_id, p.message_id, by=moderator)
        if removed is None:
            raise MessageNotFound(
                "no such message in this room", meta={"messageId": str(p.message_id)}
            )
        return ack_ok(
            streamId=str(p.stream_id), messageId=str(p.message_id), wasHeld=removed.was_held
        )

    async def remove_message(
        self, stream_id: uuid.UUID | None, message_id: uuid.UUID, *, by: uuid.UUID
    ) -> Removed | None:
        """Remove a message for everyone, from any node: a held one is never delivered, a
        delivered one disappears from every client (``chat:removed``) and from history. None if
        there is no such message (in ``stream_id``'s room, when given). The caller checked
        the right to; this logs it (reports' ``remove`` action calls it too)."""
        removed = await self.history.remove(stream_id, message_id, by)
        if removed is None:
            return None
        handle = self._delays.pop(message_id, None)
        if handle is not None:
            handle.cancel()  # only saves work: the release's conditional update would skip it
        await store.log_action(
            self.pool, removed.stream_id, actor=by, action="remove", message_id=message_id
        )
        notice = {"streamId": str(removed.stream_id), "messageId": str(message_id)}
        if removed.was_held:
            await self.transport.emit(
                events.RELEASED, {**notice, "removed": True}, room=mods_room(removed.stream_id)
            )
        else:
            name = room_name(removed.stream_id)
            await self.fanout.flush(name)  # the message goes out before its removal
            await self.transport.emit(events.REMOVED, notice, room=name)
        return removed

    async def approve(self, sid: str, data: Any) -> dict[str, Any]:
        """``chat:approve``: deliver a held message now."""
        p = parse(events.MessagePayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        moderator = check_moderator(await self._principal(conn), room)
        message = await self.approve_message(p.stream_id, p.message_id, by=moderator)
        return ack_ok(message=message.wire())

    async def approve_message(
        self, stream_id: uuid.UUID, message_id: uuid.UUID, *, by: uuid.UUID
    ) -> ChatMessage:
        """Deliver a held message (the caller checked the right to); `MessageNotHeld` if it is
        not waiting (delivered, removed, released by its delay, or unknown)."""
        message = await self.history.release(stream_id, message_id)
        if message is None:
            raise MessageNotHeld(
                "this message is not waiting for review", meta={"messageId": str(message_id)}
            )
        handle = self._delays.pop(message_id, None)
        if handle is not None:
            handle.cancel()
        await store.log_action(
            self.pool, stream_id, actor=by, action="approve", message_id=message_id
        )
        await self._deliver(message, removed=False)
        return message

    async def review(self, sid: str, data: Any) -> dict[str, Any]:
        """``chat:review``: the room's held messages, oldest first (moderators)."""
        p = parse(events.ReviewPayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        check_moderator(await self._principal(conn), room)
        held = await self.history.held(p.stream_id, after=p.after, limit=p.limit)
        return ack_ok(
            streamId=str(p.stream_id),
            messages=[held_wire(m) for m in held],
            nextCursor=str(held[-1].id) if len(held) == p.limit else None,
        )

    async def safe_word(self, sid: str, data: Any) -> dict[str, Any]:
        """``safe_word``: freeze the live stream (the same rule and path as the REST route)."""
        p = parse(events.RoomPayload, data)
        conn = self._conn(sid)
        if self.safe_word_trigger is None:  # a Chat built without the app (benchmarks)
            raise SafeWordUnavailable("use POST /api/v1/streams/{id}/safe-word")
        principal = await self._principal(conn)
        return ack_ok(**await self.safe_word_trigger(sid, principal, p.stream_id))

    async def creator_safety_changed(self, creator_id: uuid.UUID) -> None:
        """A creator's safety settings or banned words changed: every node reloads them into
        the creator's rooms it holds."""
        await self._control({"kind": "safety", "creatorId": str(creator_id)})

    async def restrict(self, sid: str, data: Any, *, kind: str) -> dict[str, Any]:
        """``chat:timeout`` (kind ``timeout``) and ``chat:ban`` (kind ``ban``)."""
        p = parse(events.RestrictPayload, data)
        if kind == "timeout" and p.seconds is None:
            raise InvalidPayload(
                "invalid payload",
                meta={"errors": [{"field": "seconds", "message": "required for a timeout"}]},
            )
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        principal = await self._principal(conn)
        moderator = check_moderator(principal, room)
        target = await users.get_by_id(self.pool, p.user_id)
        if target is None:
            raise UserNotFound("no such user", meta={"userId": str(p.user_id)})
        check_target(principal, room, target.id, target.roles)
        until = restriction_end(datetime.now(UTC), p.seconds)
        await store.restrict(
            self.pool,
            p.stream_id,
            p.user_id,
            kind=kind,
            until=until,
            reason=p.reason,
            by=moderator,
        )
        await store.log_action(
            self.pool,
            p.stream_id,
            actor=moderator,
            action=kind,
            target_user=p.user_id,
            meta={"seconds": p.seconds, "reason": p.reason},
        )
        notice = {
            "kind": kind,
            "streamId": str(p.stream_id),
            "userId": str(p.user_id),
            "until": until.isoformat() if until else None,
            "reason": p.reason,
        }
        await self._control(notice)
        return ack_ok(**notice)

    async def unban(self, sid: str, data: Any) -> dict[str, Any]:
        """Lift a user's ban and timeout in the room."""
        p = parse(events.UnbanPayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        moderator = check_moderator(await self._principal(conn), room)
        lifted = await store.lift_restrictions(self.pool, p.stream_id, p.user_id)
        await store.log_action(
            self.pool, p.stream_id, actor=moderator, action="unban", target_user=p.user_id
        )
        lift = {"kind": "lift", "streamId": str(p.stream_id), "userId": str(p.user_id)}
        await self._control(lift)
        return ack_ok(streamId=str(p.stream_id), userId=str(p.user_id), lifted=lifted)

    async def mode(self, sid: str, data: Any) -> dict[str, Any]:
        """Slow mode and followers-only mode."""
        p = parse(events.ModePayload, data)
        conn = self._conn(sid)
        room = await self._room(p.stream_id)
        moderator = check_moderator(await self._principal(conn), room)
        settings = await store.save_room_settings(
            self.pool,
            p.stream_id,
            slow_mode=p.slow_mode,
            followers_only=p.followers_only,
            by=moderator,
            review_mode=p.review_mode,
            delay_seconds=p.delay_seconds,
        )
        await store.log_action(
            self.pool, p.stream_id, actor=moderator, action="mode", meta=settings.wire()
        )
        notice = {"streamId": str(p.stream_id), **settings.wire()}
        await self._control({"kind": "settings", **notice})
        return ack_ok(**notice)

    # --- the control channel between nodes -------------------------------------------------

    async def _control(self, message: Message) -> None:
        """Apply a moderation change here, then have the other nodes apply it.

        Each node tells its own members after updating its cache, so a client that hears of a
        change (new settings, a timeout) is on a node that already enforces it.
        """
        await self._apply(message)
        await self.pubsub.publish(CONTROL_CHANNEL, {**message, "node": self.node})

    async def _listen(self, sub: Any) -> None:
        try:
            while True:
                message = await sub.get()
                if message.get("node") == self.node:
                    continue
                try:
                    await self._apply(message)
                except Exception:
                    log.exception("applying chat control message %s failed", message)
        finally:
            await sub.close()

    async def _apply(self, message: Message) -> None:
        room: Room | None
        if message["kind"] == "safety":
            creator_id = uuid.UUID(message["creatorId"])
            for room in [r for r in self.rooms.values() if r.creator_id == creator_id]:
                fresh = await load_room(self.pool, room.stream_id)
                room.safety, room.banned = fresh.safety, fresh.banned
                if room.safety.profanity_action != "off":
                    self.scorer.warm()
                # told after the cache changed: a client that hears it is screened anew
                notice = {
                    "streamId": str(room.stream_id),
                    "reviewMode": room.screening().review_mode,
                }
                await self.transport.emit_local(events.SAFETY, notice, to=room.name)
            return
        stream_id = uuid.UUID(message["streamId"])
        room = self.rooms.get(stream_id)
        if room is None:
            return  # nobody here: the next join reads the database
        kind = message["kind"]
        notice = {k: v for k, v in message.items() if k != "node"}
        if kind == "settings":
            room.settings = RoomSettings(
                message["slowMode"],
                message["followersOnly"],
                message.get("reviewMode"),
                message.get("delaySeconds"),
            )
            del notice["kind"]
            await self.transport.emit_local(events.SETTINGS, notice, to=room.name)
            return
        user_id = uuid.UUID(message["userId"])
        if kind == "lift":
            room.muted.pop(user_id, None)
            return
        if kind == "timeout":
            room.muted[user_id] = datetime.fromisoformat(message["until"])
        elif kind == "ban":
            banned = {
                "streamId": message["streamId"],
                "until": message["until"],
                "reason": message.get("reason", ""),
            }
            for sid in list(self.members.get(stream_id, ())):
                conn = self.connections.get(sid)
                if conn is not None and conn.principal.user_id == user_id:
                    await self._leave(conn, stream_id)
                    await self.transport.emit_local(events.BANNED, banned, to=sid)
        await self.transport.emit_local(events.RESTRICTED, notice, to=room.name)

    # --- the room's money channel ---------------------------------------------------------

    def _relay_money(self, stream_id: uuid.UUID) -> asyncio.Future[None]:
        """Relay the stream's money channel (tips, goal progress) to this node's members of
        its room while it has any. Every node subscribes for its own members, so a tip
        published once reaches each member once, whichever node they are on. The future is
        done once subscribed."""
        loop = asyncio.get_running_loop()
        subscribed: asyncio.Future[None] = loop.create_future()
        name = room_name(stream_id)

        async def relay() -> None:
            try:
                sub = await self.pubsub.subscribe(money_channel(stream_id))
            except asyncio.CancelledError:  # the room emptied before we subscribed
                subscribed.cancel()
                raise
            except Exception as exc:
                subscribed.set_exception(exc)
                return
            subscribed.set_result(None)
            try:
                while True:
                    message = await sub.get()
                    kind = message.get("type")
                    if not isinstance(kind, str):
                        continue
                    payload = {"streamId": str(stream_id), **message}
                    try:
                        await self.transport.emit_local(
                            events.MONEY_PREFIX + kind, payload, to=name
                        )
                    except Exception:
                        log.exception("relaying %s to %s failed", kind, name)
            finally:
                await sub.close()

        # Registered before anything awaits, so concurrent joins start one relay.
        self._relays[stream_id] = loop.create_task(relay(), name=f"money-relay-{stream_id}")
        return subscribed

    def _watch_safety(self, stream_id: uuid.UUID) -> asyncio.Future[None]:
        """Follow the stream's safety channel (`ingest.safety`) while its room has members
        here: ``frozen`` freezes the room's chat (moderators may still send), ``unfrozen``
        reopens it; either way the room hears ``chat:frozen``. The future is done once
        subscribed and the state read again (a freeze between the join's read and the
        subscription is not missed)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        name = room_name(stream_id)

        async def watch() -> None:
            try:
                sub = await self.pubsub.subscribe(safety_channel(str(stream_id)))
                fresh = await load_room(self.pool, stream_id)
            except asyncio.CancelledError:
                ready.cancel()
                raise
            except Exception as exc:
                ready.set_exception(exc)
                return
            room = self.rooms.get(stream_id)
            if room is not None:
                room.frozen, room.frozen_reason = fresh.frozen, fresh.frozen_reason
            ready.set_result(None)
            try:
                while True:
                    message = await sub.get()
                    event = message.get("event")
                    if event not in ("frozen", "unfrozen"):
                        continue
                    room = self.rooms.get(stream_id)
                    if room is None:
                        continue
                    room.frozen = event == "frozen"
                    room.frozen_reason = message.get("reason") if room.frozen else None
                    notice = {
                        "streamId": str(stream_id),
                        "frozen": room.frozen,
                        "reason": room.frozen_reason,
                    }
                    try:
                        await self.transport.emit_local(events.FROZEN, notice, to=name)
                    except Exception:
                        log.exception("telling %s of its freeze failed", name)
            finally:
                await sub.close()

        self._watches[stream_id] = loop.create_task(watch(), name=f"safety-watch-{stream_id}")
        return ready

    # --- background ------------------------------------------------------------------------

    async def _emit_room(self, event: str, data: Any, room: str) -> None:
        await self.transport.emit(event, data, room=room)

    async def _count_viewers(self) -> None:
        """Tell each room whose membership changed here its viewer count, at most once a tick."""
        while True:
            await asyncio.sleep(self.settings.chat_viewers_interval)
            dirty, self._dirty = self._dirty, set()
            for stream_id in dirty:
                name = room_name(stream_id)
                try:
                    count = await self.presence.count(name)
                    await self.transport.emit(
                        events.VIEWERS, {"streamId": str(stream_id), "count": count}, room=name
                    )
                except Exception:
                    log.exception("viewer count of %s failed", name)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self.release_overdue()
            except Exception:
                log.exception("releasing overdue chat messages failed")

    async def release_overdue(self, grace: float = SWEEP_GRACE) -> int:
        """Deliver delayed messages whose delay ended ``grace`` seconds ago and are still held
        (the process that held them died, or its timer was lost): any process may, the
        conditional update gives each message to one. Returns how many."""
        released = await self.history.release_overdue(grace)
        for message in released:
            await self._deliver(message, removed=False)
        return len(released)

    async def _refresh_presence(self) -> None:
        while True:
            await asyncio.sleep(self.settings.chat_presence_ttl / 3)
            entries = [
                (room_name(stream_id), self.connections[sid].viewer())
                for stream_id, sids in self.members.items()
                for sid in sids
                if sid in self.connections
            ]
            try:
                await self.presence.refresh(entries)
            except Exception:
                log.exception("refreshing %d presence entries failed", len(entries))
