"""Publish/subscribe between the parts of a node, or across nodes through Redis.

One node needs no Redis: :class:`LocalPubSub` fans messages out in-process. With
``TEEZU_REDIS_URL`` set, :class:`RedisPubSub` carries them between nodes (an ingest node's
"stream went live" reaches the API node serving that stream's watchers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

Message = dict[str, Any]


class Subscription(Protocol):
    async def get(self) -> Message:
        """The next message on the channel (waits)."""
        ...

    async def close(self) -> None: ...


class PubSub(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    async def subscribe(self, channel: str) -> Subscription: ...

    async def close(self) -> None: ...


class _LocalSubscription:
    def __init__(self, owner: LocalPubSub, channel: str) -> None:
        self._owner = owner
        self._channel = channel
        # Bounded: a subscriber that stops reading loses old messages, it does not grow memory.
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=256)

    async def get(self) -> Message:
        return await self.queue.get()

    async def close(self) -> None:
        self._owner._subscribers.get(self._channel, set()).discard(self)


class LocalPubSub:
    """In-process fan-out for a single node."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[_LocalSubscription]] = {}

    async def publish(self, channel: str, message: Message) -> None:
        for sub in list(self._subscribers.get(channel, ())):
            if sub.queue.full():
                sub.queue.get_nowait()
            sub.queue.put_nowait(message)

    async def subscribe(self, channel: str) -> Subscription:
        sub = _LocalSubscription(self, channel)
        self._subscribers.setdefault(channel, set()).add(sub)
        return sub

    async def close(self) -> None:
        self._subscribers.clear()


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def get(self) -> Message:
        while True:
            msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
            if msg is not None and msg.get("type") == "message":
                return dict(json.loads(msg["data"]))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.unsubscribe()
        await self._pubsub.aclose()


class RedisPubSub:
    """Redis channels; messages are JSON objects."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(channel, json.dumps(message))

    async def subscribe(self, channel: str) -> Subscription:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(channel)
        return _RedisSubscription(pubsub)

    async def close(self) -> None:
        await self._redis.aclose()


def create_pubsub(redis_url: str) -> PubSub:
    """Redis when a URL is configured, in-process otherwise."""
    return RedisPubSub(redis_url) if redis_url else LocalPubSub()


async def messages(sub: Subscription) -> AsyncIterator[Message]:
    while True:
        yield await sub.get()
