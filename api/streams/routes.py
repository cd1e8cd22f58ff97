"""``/api/v1/streams``: public stream status for cards and the watch page."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import datetime
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.keys import POOL, PUBSUB
from api.streams import broadcasts, store
from hls.access import PlaybackDenied, sign_playback_token, with_token
from hls.origin import POLICY_KEY
from ingest.tokens import bearer_token, token_matches
from ingest.whip import stream_channel
from teezu.errors import BadRequest, NotFound


class StreamNotFound(NotFound):
    code = "STREAM_NOT_FOUND"


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["idle", "live", "ended"] | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: datetime | None = None  # createdAt of the last stream of the previous page


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    viewerId: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")  # noqa: N815
    ttlSeconds: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)  # noqa: N815


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
        ]
        raise BadRequest("invalid query parameters", meta={"errors": errors}) from None


def _with_links(row: store.StreamRow) -> dict[str, Any]:
    data = row.public()
    data["playbackUrl"] = f"/hls/{row.id}/index.m3u8"
    data["watchUrl"] = f"/watch/{row.id}"
    return data


async def list_streams(request: web.Request) -> web.Response:
    q = _validated(ListQuery, dict(request.query))
    rows = await store.list_streams(
        request.app[POOL], state=q.state, limit=q.limit, before=q.cursor
    )
    next_cursor = rows[-1].created_at.isoformat() if len(rows) == q.limit else None
    return web.json_response(
        {"status": "ok", "data": [_with_links(r) for r in rows], "nextCursor": next_cursor}
    )


async def _existing(request: web.Request) -> store.StreamRow:
    raw = request.match_info["stream_id"]
    try:
        stream_id = uuid.UUID(raw)
    except ValueError:
        raise StreamNotFound("no such stream", meta={"streamId": raw}) from None
    row = await store.get_stream(request.app[POOL], stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": raw})
    return row


async def get_stream(request: web.Request) -> web.Response:
    row = await _existing(request)
    return web.json_response({"status": "ok", "data": _with_links(row)})


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the stream's state now, then every change (live / ended)."""
    row = await _existing(request)
    sub = await request.app[PUBSUB].subscribe(stream_channel(str(row.id)))
    try:
        # Subscribed before reading the state, so no change can fall between the two.
        row = await _existing(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        await response.write(_sse("state", {"state": row.state}))
        while True:
            try:
                message = await asyncio.wait_for(sub.get(), timeout=15)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")  # keeps proxies from closing it
                continue
            await response.write(_sse("state", message))
    finally:
        await sub.close()


async def list_vods(request: web.Request) -> web.Response:
    """Recorded broadcasts of a stream still within retention, newest first."""
    row = await _existing(request)
    vods = await broadcasts.list_vods(request.app[POOL], row.id)
    return web.json_response({"status": "ok", "data": [v.vod() for v in vods]})


async def create_playback_token(request: web.Request) -> web.Response:
    """A signed playback token for one viewer of one stream.

    Until accounts exist (issue 4 brings followers/subscribers/tickets), a non-public stream's
    tokens can only be minted by its creator, who proves it with the publish token.
    """
    row = await _existing(request)
    raw = await request.text()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        raise BadRequest("request body is not valid JSON") from None
    body = _validated(TokenRequest, payload)
    if row.visibility != "public" and not token_matches(
        bearer_token(request.headers.get("Authorization")), row.publish_token_hash
    ):
        raise PlaybackDenied(
            f"this stream is for {row.visibility}; viewer access rules arrive with accounts",
            meta={"visibility": row.visibility},
        )
    viewer = body.viewerId or f"anon-{secrets.token_hex(6)}"
    expires = int(time.time()) + body.ttlSeconds
    token = sign_playback_token(request.app[POLICY_KEY].key, str(row.id), viewer, expires)
    url = with_token(f"/hls/{row.id}/index.m3u8", token)
    data = {"token": token, "viewerId": viewer, "expiresAt": expires, "playbackUrl": url}
    return web.json_response({"status": "ok", "data": data}, status=201)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/streams", list_streams)
    app.router.add_get("/api/v1/streams/{stream_id}", get_stream)
    app.router.add_get("/api/v1/streams/{stream_id}/events", stream_events)
    app.router.add_post("/api/v1/streams/{stream_id}/playback-tokens", create_playback_token)
    app.router.add_get("/api/v1/streams/{stream_id}/vods", list_vods)
