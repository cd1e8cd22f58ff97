"""What the paid features need to know about a stream: that it exists, its creator, and
whether it is live and not frozen (nothing is sold on a frozen stream)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from api.wallet.errors import CreatorNotPayable, StreamFrozen, StreamNotFound, StreamNotLive


@dataclass(frozen=True)
class StreamInfo:
    id: uuid.UUID
    creator_id: uuid.UUID
    state: str  # idle | live | ended
    frozen: bool


async def stream_info(db: Any, stream_id: uuid.UUID) -> StreamInfo:
    """The stream with a payable creator; `StreamNotFound`, `CreatorNotPayable`."""
    row = await db.fetchrow(
        "SELECT s.creator_id, s.state, coalesce(f.frozen, false) AS frozen FROM streams s "
        "LEFT JOIN stream_safety f ON f.stream_id = s.id WHERE s.id = $1",
        stream_id,
    )
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    if row["creator_id"] is None:
        raise CreatorNotPayable("this stream's creator cannot receive tokens yet")
    return StreamInfo(stream_id, row["creator_id"], row["state"], row["frozen"])


async def live_stream(db: Any, stream_id: uuid.UUID) -> StreamInfo:
    """`stream_info`, and refused unless live (`StreamNotLive`) and not frozen
    (`StreamFrozen`)."""
    info = await stream_info(db, stream_id)
    if info.state != "live":
        raise StreamNotLive("the stream is not live", meta={"streamId": str(stream_id)})
    if info.frozen:
        raise StreamFrozen("the stream is frozen", meta={"streamId": str(stream_id)})
    return info
