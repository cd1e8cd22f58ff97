"""What the paid features need to know about a stream: that it exists, its creator, and
whether it is live and not frozen.

The kill switch's rule for money (docs/ledger.md): while a creator's live stream is frozen
(the safe word, a revoked consent, moderation), nobody pays that creator: no tip (on a stream
or the profile), ticket, pledge, private show or new subscription. `FROZEN_CREATOR` is that
condition in SQL, for statements that check it themselves (a tip's single statement);
`refuse_if_frozen` for the others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.wallet.errors import CreatorNotPayable, StreamFrozen, StreamNotFound, StreamNotLive
from teezu.db import Db

# SQL: true while a live stream of the creator ``{creator}`` (an SQL expression) is frozen.
FROZEN_CREATOR = (
    "EXISTS (SELECT 1 FROM streams fs JOIN stream_safety ff ON ff.stream_id = fs.id "
    "WHERE fs.creator_id = {creator} AND fs.state = 'live' AND ff.frozen)"
)


@dataclass(frozen=True)
class StreamInfo:
    id: uuid.UUID
    creator_id: uuid.UUID
    state: str  # idle | live | ended
    frozen: bool  # this stream, or another live stream of its creator, is frozen


async def stream_info(db: Db, stream_id: uuid.UUID) -> StreamInfo:
    """The stream with a payable creator; `StreamNotFound`, `CreatorNotPayable`."""
    row = await db.fetchrow(
        "SELECT s.creator_id, s.state, coalesce(f.frozen, false) OR "
        f"{FROZEN_CREATOR.format(creator='s.creator_id')} AS frozen FROM streams s "
        "LEFT JOIN stream_safety f ON f.stream_id = s.id WHERE s.id = $1",
        stream_id,
    )
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    if row["creator_id"] is None:
        raise CreatorNotPayable("this stream's creator cannot receive tokens yet")
    return StreamInfo(stream_id, row["creator_id"], row["state"], row["frozen"])


async def live_stream(db: Db, stream_id: uuid.UUID) -> StreamInfo:
    """`stream_info`, and refused unless live (`StreamNotLive`) and not frozen
    (`StreamFrozen`)."""
    info = await stream_info(db, stream_id)
    if info.state != "live":
        raise StreamNotLive("the stream is not live", meta={"streamId": str(stream_id)})
    if info.frozen:
        raise StreamFrozen("the stream is frozen", meta={"streamId": str(stream_id)})
    return info


async def refuse_if_frozen(db: Db, creator_id: uuid.UUID) -> None:
    """`StreamFrozen` (409) while a live stream of ``creator_id`` is frozen."""
    frozen = await db.fetchval(
        "SELECT fs.id FROM streams fs JOIN stream_safety ff ON ff.stream_id = fs.id "
        "WHERE fs.creator_id = $1 AND fs.state = 'live' AND ff.frozen LIMIT 1",
        creator_id,
    )
    if frozen is not None:
        raise StreamFrozen(
            "the creator's stream is frozen: nothing is paid to them meanwhile",
            meta={"streamId": str(frozen)},
        )
