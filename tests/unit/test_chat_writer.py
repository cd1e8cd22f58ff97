"""`HistoryWriter`: group commit, and a shutdown that stores what it was handed first."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from api.chat.events import ChatMessage
from api.chat.store import HistoryWriter

pytestmark = pytest.mark.asyncio(loop_scope="session")


def message(n: int) -> ChatMessage:
    return ChatMessage(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "h", f"m{n}", datetime.now(UTC))


class SlowHistory:
    """Appends wait for `go`: an INSERT in flight for as long as the test likes."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.batches: list[int] = []
        self.go = asyncio.Event()
        self.started = asyncio.Event()

    async def append(self, messages: list[ChatMessage]) -> None:
        self.started.set()
        await self.go.wait()
        self.batches.append(len(messages))
        self.stored += [m.text for m in messages]


async def test_close_stores_the_batch_in_flight_and_the_queued_ones():
    history = SlowHistory()
    writer = HistoryWriter(history)  # type: ignore[arg-type]
    writer.start()
    first = asyncio.create_task(writer.write(message(0)))
    await history.started.wait()  # the first INSERT is in flight
    rest = [asyncio.create_task(writer.write(message(n))) for n in range(1, 6)]
    await asyncio.sleep(0)
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0)
    assert not closing.done()  # waits for the database, not for a fixed time
    history.go.set()
    await closing
    await asyncio.gather(first, *rest)  # every sender got its answer: stored
    assert history.stored == [f"m{n}" for n in range(6)]
    assert history.batches == [1, 5]  # the ones queued meanwhile went as one batch


async def test_close_gives_up_after_its_timeout_and_fails_the_waiting_senders():
    history = SlowHistory()
    writer = HistoryWriter(history, close_timeout=0.05)  # type: ignore[arg-type]
    writer.start()
    stuck = asyncio.create_task(writer.write(message(0)))
    await history.started.wait()
    queued = asyncio.create_task(writer.write(message(1)))
    await asyncio.sleep(0)
    await writer.close()  # the database never answers
    for task in (stuck, queued):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert history.stored == []
