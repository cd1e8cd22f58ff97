"""Who is in a room: viewer counts and the signed-in users present.

In-process on one node (`LocalPresence`); in Redis when several API processes share rooms
(`RedisPresence`), where each entry carries an expiry the owning node keeps pushing forward, so
the entries of a node that died age out instead of inflating counts for ever.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Viewer:
    """One connection in a room; anonymous viewers have no user id."""

    sid: str
    user_id: uuid.UUID | None
    handle: str | None


class Presence(Protocol):
    async def enter(self, room: str, viewer: Viewer) -> None: ...

    async def leave(self, room: str, viewer: Viewer) -> None: ...

    async def count(self, room: str) -> int:
        """Connections in the room (anonymous ones included), across nodes."""
        ...

    async def users(self, room: str, limit: int) -> list[dict[str, str]]:
        """Distinct signed-in users in the room, ``[{"id", "handle"}]``, at most ``limit``."""
        ...

    async def refresh(self, entries: list[tuple[str, Viewer]]) -> None:
        """Keep this node's entries alive (no-op in-process)."""
        ...

    async def close(self) -> None: ...


def distinct_users(viewers: list[Viewer], limit: int) -> list[dict[str, str]]:
    seen: dict[uuid.UUID, str] = {}
    for v in viewers:
        if v.user_id is not None and v.user_id not in seen:
            seen[v.user_id] = v.handle or ""
            if len(seen) >= limit:
                break
    return [{"id": str(uid), "handle": handle} for uid, handle in seen.items()]


class LocalPresence:
    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Viewer]] = {}

    async def enter(self, room: str, viewer: Viewer) -> None:
        self._rooms.setdefault(room, {})[viewer.sid] = viewer

    async def leave(self, room: str, viewer: Viewer) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(viewer.sid, None)
            if not members:
                del self._rooms[room]

    async def count(self, room: str) -> int:
        return len(self._rooms.get(room, ()))

    async def users(self, room: str, limit: int) -> list[dict[str, str]]:
        return distinct_users(list(self._rooms.get(room, {}).values()), limit)

    async def refresh(self, entries: list[tuple[str, Viewer]]) -> None:
        return None

    async def close(self) -> None:
        self._rooms.clear()


def _member(viewer: Viewer) -> str:
    return json.dumps([viewer.sid, str(viewer.user_id or ""), viewer.handle or ""])


def _viewer(member: bytes | str) -> Viewer:
    sid, user_id, handle = json.loads(member)
    return Viewer(sid, uuid.UUID(user_id) if user_id else None, handle or None)


class RedisPresence:
    """A sorted set per room: member = the connection, score = when it expires (unix time)."""

    def __init__(self, url: str, *, ttl: float = 60.0, prefix: str = "teezu:chat:presence:"):
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)
        self._ttl = ttl
        self._prefix = prefix

    async def enter(self, room: str, viewer: Viewer) -> None:
        await self._redis.zadd(self._prefix + room, {_member(viewer): time.time() + self._ttl})

    async def leave(self, room: str, viewer: Viewer) -> None:
        await self._redis.zrem(self._prefix + room, _member(viewer))

    async def count(self, room: str) -> int:
        key = self._prefix + room
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zcard(key)
            _, n = await pipe.execute()
        return int(n)

    async def users(self, room: str, limit: int) -> list[dict[str, str]]:
        members = await self._redis.zrangebyscore(self._prefix + room, time.time(), "+inf")
        return distinct_users([_viewer(m) for m in members], limit)

    async def refresh(self, entries: list[tuple[str, Viewer]]) -> None:
        if not entries:
            return
        expires = time.time() + self._ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for room, viewer in entries:
                # XX: only entries still there; one that left meanwhile stays gone
                pipe.zadd(self._prefix + room, {_member(viewer): expires}, xx=True)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def create_presence(redis_url: str, *, ttl: float) -> Presence:
    return RedisPresence(redis_url, ttl=ttl) if redis_url else LocalPresence()
