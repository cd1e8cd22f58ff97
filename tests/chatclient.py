"""A python-socketio client over a real socket that records what the server sends."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio

from api.chat import events
from api.engagement import events as engagement

WATCHED = (
    events.MESSAGES,
    events.REMOVED,
    events.HELD,
    events.RELEASED,
    events.FROZEN,
    events.SAFETY,
    events.TYPING_NOTICE,
    events.VIEWERS,
    events.SETTINGS,
    events.RESTRICTED,
    events.BANNED,
    "money:tip",
    "money:goal.progress",
    "money:goal.completed",
    "money:milestone.reached",
    "money:avatar",
    engagement.MOOD_DISTRIBUTION,
    engagement.POLL_OPENED,
    engagement.POLL_TALLY,
    engagement.POLL_CLOSED,
    engagement.DUEL_INVITED,
    engagement.DUEL_DECLINED,
    engagement.DUEL_STARTED,
    engagement.DUEL_SCORE,
    engagement.DUEL_ENDED,
    engagement.MOMENT_MARKED,
    engagement.SYNC_BOARD,
    engagement.SYNC_PICKED,
    "mood:update",
    "dm:message",
    "dm:read",
    "dm:typing",
    "dm:unlocked",
    "dm:closed",
)


class ChatClient:
    def __init__(self, transports: tuple[str, ...] = ("websocket",)) -> None:
        self.transports = list(transports)  # ("polling",): Engine.IO long-polling only
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()
        for name in WATCHED:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any) -> None:
            async with self._changed:
                self.received[name].append(data)
                self._changed.notify_all()

        return record

    async def connect(self, base_url: str, headers: dict[str, str] | None = None) -> ChatClient:
        await self.sio.connect(
            base_url, headers=headers or {}, transports=self.transports, wait_timeout=10
        )
        return self

    async def call(self, event: str, data: Any, timeout: float = 10) -> dict[str, Any]:
        return await self.sio.call(event, data, timeout=timeout)  # type: ignore[no-any-return]

    async def join(self, stream_id: str) -> dict[str, Any]:
        return await self.call(events.JOIN, {"streamId": stream_id})

    async def send(self, stream_id: str, text: str) -> dict[str, Any]:
        return await self.call(events.SEND, {"streamId": stream_id, "text": text})

    def messages(self) -> list[dict[str, Any]]:
        """Every chat message received, in order, across batches."""
        return [m for batch in self.received[events.MESSAGES] for m in batch["messages"]]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10, what: str = "condition"
    ) -> Any:
        async def until() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}: {dict(self.received)}") from None

    async def wait_message(self, text: str, timeout: float = 10) -> dict[str, Any]:
        return await self.wait_for(
            lambda: next((m for m in self.messages() if m["text"] == text), None),
            timeout,
            f"message {text!r}",
        )

    async def close(self) -> None:
        await self.sio.disconnect()
