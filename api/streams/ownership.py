"""The stream a call acts on (a route's ``{stream_id}``, declared `STREAM_ID`): it exists (404
``STREAM_NOT_FOUND``), and for changes the caller owns it or is an admin (whose action is
written to the audit log)."""

from __future__ import annotations

from typing import Any

from api.auth import audit
from api.keys import POOL
from api.routing import Call
from api.streams import store
from api.streams.admission import is_admin
from api.streams.errors import NotStreamOwner, StreamNotFound


async def existing_stream(call: Call[Any, Any]) -> store.StreamRow:
    """The stream of the route's ``{stream_id}`` (declared `STREAM_ID`)."""
    stream_id = call.id("stream_id")
    row = await store.get_stream(call.app[POOL], stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return row


async def owned_stream(call: Call[Any, Any], action: str) -> store.StreamRow:
    """The stream, if the caller owns it or is an admin (whose action is audited)."""
    row = await existing_stream(call)
    p = call.principal
    if row.creator_id is not None and row.creator_id == p.user_id:
        return row
    if is_admin(p):
        await audit.record(
            call.app[POOL],
            f"admin.stream.{action}",
            actor_id=p.user_id,
            subject_id=row.creator_id,
            target=f"stream:{row.id}",
            ip=call.ip,
        )
        return row
    raise NotStreamOwner("only the stream's creator (or an admin) may do this")
