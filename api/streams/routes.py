"""``/api/v1/streams``: stream status for cards and the watch page; creators manage their own.

Anyone may list and read streams. Creating one needs `stream.publish`; changing one, and
getting its publish credentials, needs to own it (admins may act on anyone's, which is
written to the audit log).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.auth import audit
from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.hls_url import hls_base
from api.keys import POOL, PUBSUB
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams import broadcasts, store
from api.streams.access import effective_visibility, may_watch
from api.users.follows import is_follower
from api.wallet import ticket_shows
from hls.access import PlaybackDenied, sign_playback_token, with_token
from hls.origin import POLICY_KEY
from ingest.tokens import bearer_token, sign_publish_grant, token_matches
from ingest.whip import stream_channel
from teezu.errors import Forbidden, NotFound

api = Api("streams")
UUID_PATH = {"stream_id": "uuid"}
Visibility = Literal["public", "followers", "subscribers", "ticketed"]
PUBLISH_GRANT_TTL = 600  # seconds a studio page has to start its WHIP session


class StreamNotFound(NotFound):
    code = "STREAM_NOT_FOUND"


class NotStreamOwner(Forbidden):
    code = "NOT_STREAM_OWNER"


class ListQuery(Input):
    state: Literal["idle", "live", "ended"] | None = Field(
        default=None, description="`live` lists the active streams"
    )
    creator: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{1,30}$")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: datetime | None = Field(default=None, description="`nextCursor` of the previous page")


class TokenRequest(Input):
    viewer_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="only the owner or an admin may name another viewer",
    )
    ttl_seconds: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)


class StreamCreate(Input):
    title: str = Field(min_length=1, max_length=200)
    visibility: Visibility = "public"
    recording: bool = False


class StreamUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    visibility: Visibility | None = None
    recording: bool | None = None


class StreamOut(Output):
    id: uuid.UUID
    creator_handle: str
    creator_id: uuid.UUID | None
    title: str
    state: Literal["idle", "live", "ended"]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    visibility: Visibility
    recording: bool
    playback_url: str
    hls_url: str = Field(
        description="what players should load: playbackUrl on the LL-HLS edge when the node "
        "runs one (absolute), else playbackUrl"
    )
    watch_url: str


class CreatedStream(StreamOut):
    publish_token: str = Field(description="shown once; stored hashed")
    whip_url: str


class PublishCredentials(Output):
    whip_url: str
    token: str = Field(description="`Authorization: Bearer <token>` for the WHIP POST")
    expires_at: int | None = Field(description="unix seconds; null for a long-lived token")


class PlaybackToken(Output):
    token: str
    viewer_id: str
    expires_at: int
    playback_url: str
    hls_url: str = Field(description="playbackUrl on the LL-HLS edge when the node runs one")


class Vod(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    renditions: list[str]
    expires_at: datetime | None
    playback_url: str


def stream_out(row: store.StreamRow, hls: str) -> StreamOut:
    """``hls``: :func:`hls_base` of the request."""
    playback = f"/hls/{row.id}/index.m3u8"
    return StreamOut(
        **{k: v for k, v in vars(row).items() if k in StreamOut.model_fields},
        playback_url=playback,
        hls_url=hls + playback,
        watch_url=f"/watch/{row.id}",
    )


async def _existing(call: Call[Any, Any]) -> store.StreamRow:
    raw = call.path("stream_id")
    try:
        stream_id = uuid.UUID(raw)
    except ValueError:
        raise StreamNotFound("no such stream", meta={"streamId": raw}) from None
    row = await store.get_stream(call.app[POOL], stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": raw})
    return row


def is_admin(principal: Principal) -> bool:
    return principal.can(Permission.SYSTEM_CONFIG_LIMITED)


async def _owned(call: Call[Any, Any], action: str) -> store.StreamRow:
    """The stream, if the caller owns it or is an admin (whose action is audited)."""
    row = await _existing(call)
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


@api.route(
    "GET",
    "/api/v1/streams",
    summary="List streams, newest first (keyset pagination)",
    query=ListQuery,
    response=StreamOut,
    paginated=True,
)
async def list_streams(call: Call[None, ListQuery]) -> Page[StreamOut]:
    q = call.query
    rows = await store.list_streams(
        call.app[POOL],
        state=q.state,
        limit=q.limit,
        before=q.cursor,
        creator_handle=q.creator.lower() if q.creator else None,
    )
    next_cursor = rows[-1].created_at.isoformat() if len(rows) == q.limit else None
    base = hls_base(call.request)
    return Page([stream_out(r, base) for r in rows], next_cursor)


@api.route(
    "POST",
    "/api/v1/streams",
    summary="Create a stream of mine",
    status=201,
    body=StreamCreate,
    response=CreatedStream,
    permission=Permission.STREAM,
)
async def create_stream(call: Call[StreamCreate, None]) -> CreatedStream:
    """Returns the publish token once (WHIP, e.g. for OBS); it is stored hashed."""
    p = call.principal
    assert p.user_id is not None and p.handle is not None
    row, token = await store.create_stream(
        call.app[POOL],
        title=call.body.title,
        creator_handle=p.handle,
        creator_id=p.user_id,
        visibility=call.body.visibility,
        recording=call.body.recording,
    )
    out = stream_out(row, hls_base(call.request)).model_dump()
    return CreatedStream(**out, publish_token=token, whip_url=f"/whip/{row.id}")


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}",
    summary="One stream",
    response=StreamOut,
    path_formats=UUID_PATH,
)
async def get_stream(call: Call[None, None]) -> StreamOut:
    return stream_out(await _existing(call), hls_base(call.request))


@api.route(
    "PATCH",
    "/api/v1/streams/{stream_id}",
    summary="Change my stream's title, visibility or recording",
    body=StreamUpdate,
    response=StreamOut,
    permission=Permission.STREAM,
    path_formats=UUID_PATH,
)
async def update_stream(call: Call[StreamUpdate, None]) -> StreamOut:
    row = await _owned(call, "update")
    b = call.body
    updated = await store.update_stream(
        call.app[POOL], row.id, title=b.title, visibility=b.visibility, recording=b.recording
    )
    if updated is None:  # deleted meanwhile
        raise StreamNotFound("no such stream")
    return stream_out(updated, hls_base(call.request))


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/publish-credentials",
    summary="Short-lived WHIP credentials for my stream (the studio page uses these)",
    status=201,
    response=PublishCredentials,
    permission=Permission.STREAM,
    path_formats=UUID_PATH,
)
async def publish_credentials(call: Call[None, None]) -> PublishCredentials:
    """A signed grant valid for 10 minutes: the long-lived publish token stays secret."""
    row = await _owned(call, "publish_credentials")
    expires = int(time.time()) + PUBLISH_GRANT_TTL
    token = sign_publish_grant(call.app[POLICY_KEY].key, str(row.id), expires)
    return PublishCredentials(whip_url=f"/whip/{row.id}", token=token, expires_at=expires)


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/publish-token",
    summary="Replace my stream's long-lived publish token (the old one stops working)",
    status=201,
    response=PublishCredentials,
    permission=Permission.STREAM,
    path_formats=UUID_PATH,
)
async def rotate_publish_token(call: Call[None, None]) -> PublishCredentials:
    row = await _owned(call, "rotate_publish_token")
    token = await store.rotate_publish_token(call.app[POOL], row.id)
    return PublishCredentials(whip_url=f"/whip/{row.id}", token=token, expires_at=None)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/events",
    summary="Server-sent events: the stream's state now, then every change",
    produces="text/event-stream",
    path_formats=UUID_PATH,
)
async def stream_events(call: Call[None, None]) -> web.StreamResponse:
    """Events named `state` with `{"state": "live" | "ended" | ...}`."""
    row = await _existing(call)
    request = call.request
    sub = await call.app[PUBSUB].subscribe(stream_channel(str(row.id)))
    try:
        # Subscribed before reading the state, so no change can fall between the two.
        row = await _existing(call)
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


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/vods",
    summary="Recorded broadcasts still within retention, newest first",
    response=Vod,
    paginated=True,
    path_formats=UUID_PATH,
)
async def list_vods(call: Call[None, None]) -> Page[Vod]:
    row = await _existing(call)
    vods = await broadcasts.list_vods(call.app[POOL], row.id)
    return Page([Vod.model_validate(v.vod()) for v in vods])


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/playback-tokens",
    summary="A signed playback token for this stream",
    status=201,
    body=TokenRequest,
    response=PlaybackToken,
    errors=(403,),
    path_formats=UUID_PATH,
)
async def create_playback_token(call: Call[TokenRequest, None]) -> PlaybackToken:
    """Who gets one depends on the stream's visibility: `public` anyone; `followers` its
    followers, its creator and admins; `ticketed` (and any stream while a ticket show runs on
    it) holders of a ticket to the running show, its creator and admins; `subscribers` only
    its creator and admins for now. The creator may also prove ownership with the stream's
    publish token (`Authorization: Bearer`)."""
    row = await _existing(call)
    pool = call.app[POOL]
    visibility = effective_visibility(
        row.visibility, ticket_show_running=await ticket_shows.running(pool, row.id)
    )
    p = call.principal
    owner = (row.creator_id is not None and row.creator_id == p.user_id) or token_matches(
        bearer_token(call.request.headers.get("Authorization")), row.publish_token_hash
    )
    follower = (
        row.creator_id is not None
        and p.user_id is not None
        and await is_follower(call.app[POOL], p.user_id, row.creator_id)
    )
    holder = visibility == "ticketed" and await ticket_shows.admitted(pool, row.id, p.user_id)
    if not may_watch(
        visibility, owner=owner, admin=is_admin(p), follower=follower, ticket_holder=holder
    ):
        raise PlaybackDenied(f"this stream is for {visibility}", meta={"visibility": visibility})
    if call.body.viewer_id is not None and (owner or is_admin(p)):
        viewer = call.body.viewer_id
    elif p.user_id is not None:
        viewer = p.user_id.hex
    else:
        viewer = f"anon-{secrets.token_hex(6)}"
    expires = int(time.time()) + call.body.ttl_seconds
    token = sign_playback_token(call.app[POLICY_KEY].key, str(row.id), viewer, expires)
    url = with_token(f"/hls/{row.id}/index.m3u8", token)
    return PlaybackToken(
        token=token,
        viewer_id=viewer,
        expires_at=expires,
        playback_url=url,
        hls_url=hls_base(call.request) + url,
    )


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
