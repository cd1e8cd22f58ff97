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
import weakref
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from api.agegate import previews
from api.agegate.gate import AGE_GATE
from api.analytics import viewing
from api.auth.rbac import Permission
from api.chat.rooms import room_name
from api.chat.store import active_restrictions
from api.hls_url import hls_base
from api.keys import POOL, PUBSUB, SETTINGS
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams import broadcasts, store
from api.streams.admission import Admission, admission
from api.streams.errors import STREAM_ID, BannedFromStream, PosterNotFound, StreamNotFound
from api.streams.health import Sample, pick_baseline, rates
from api.streams.ownership import existing_stream, owned_stream
from hls.access import MAX_LIFETIME, PlaybackDenied, sign_playback_token, with_token
from hls.gate import EXEMPT, AgeVerificationRequired, StreamAccess, is_blocked, meets, split_place
from hls.origin import POLICY_KEY
from hls.output import POSTER
from ingest.tokens import bearer_token, sign_publish_grant, token_matches
from live.broadcasts import BROADCASTS, stream_channel
from live.whep import VIEWERS as WHEP_VIEWERS
from teezu.storage import STORAGE

api = Api("streams")
UUID_PATH = {"stream_id": STREAM_ID}
Visibility = Literal["public", "followers", "subscribers", "ticketed"]
Mood = Literal["calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious"]
Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,29}$")]
LANGUAGE = r"^[a-z]{2}$"
PUBLISH_GRANT_TTL = 600  # seconds a studio page has to start its WHIP session


class ListQuery(Input):
    state: Literal["idle", "live", "ended"] | None = Field(
        default=None, description="`live` lists the active streams"
    )
    creator: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{1,30}$")
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="words that must each appear in the title or the creator's handle",
    )
    tag: Tag | None = None
    rating: Literal["sfw", "adult"] | None = None
    language: str | None = Field(default=None, pattern=LANGUAGE, description="ISO 639-1")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: datetime | None = Field(default=None, description="`nextCursor` of the previous page")


class TokenRequest(Input):
    """A token is always for the caller: there is no field naming another viewer."""

    viewing_session_id: uuid.UUID | None = Field(
        default=None,
        description="a refresh: the viewing session the previous token opened (kept if it is "
        "this stream's and still open, else a new one is opened)",
    )
    ttl_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_LIFETIME,
        description="a shorter lifetime than the default; never longer than "
        "`TEEZU_PLAYBACK_TOKEN_TTL` (300 s unless configured)",
    )


class StreamCreate(Input):
    title: str = Field(min_length=1, max_length=200)
    visibility: Visibility = "public"
    recording: bool = False


class StreamUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    visibility: Visibility | None = None
    recording: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=10, description="replaces the tags")
    language: str | None = Field(
        default=None, pattern=LANGUAGE, description="ISO 639-1; null clears it"
    )
    mood: Mood | None = Field(
        default=None, description="the room's mood colour (the player glows in it); null clears"
    )


class ViewerAccess(Output):
    allowed: bool
    token_required: bool = Field(
        description="players need a playback token (non-public, age-gated or geo-blocked)"
    )
    code: str | None = Field(default=None, description="why not: `AGE_VERIFICATION_REQUIRED`")
    meta: dict[str, Any] | None = Field(
        default=None, description="what is needed: requirement, current, country, region, next"
    )


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
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    mood: Mood | None = None
    viewers: int | None = Field(
        default=None, description="connections in the stream's room now (live streams)"
    )
    playback_url: str
    hls_url: str = Field(
        description="what players should load: playbackUrl on the LL-HLS edge when the node "
        "runs one (absolute), else playbackUrl"
    )
    watch_url: str
    poster_url: str = Field(
        description="the card image for the caller: blurred unless they may watch adult "
        "content where they are"
    )
    viewer_access: ViewerAccess | None = Field(
        default=None, description="on `GET /streams/{id}`: may the caller watch, and if not why"
    )


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
    expires_at: int = Field(description="unix seconds")
    refresh_at: int = Field(
        description="unix seconds: ask for a new token (the same call) at this time, so the "
        "player swaps it in before this one expires"
    )
    playback_url: str
    hls_url: str = Field(description="playbackUrl on the LL-HLS edge when the node runs one")
    viewing_session_id: uuid.UUID | None = Field(
        default=None,
        description="the viewing session to name in beacons and in the next token request",
    )


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
        poster_url=f"/api/v1/streams/{row.id}/poster",
    )


def _places_of(place: str) -> list[str] | None:
    """The geo-block entries that cover ``place``: its country and, with one, its region."""
    if not place:
        return None
    country, region = split_place(place)
    return [country, place] if region else [country]


def _exempt(call: Call[Any, Any], row: store.StreamRow) -> bool:
    """The creator and staff are not viewers: no age gate or geo-block applies to them."""
    p = call.principal
    return (row.creator_id is not None and row.creator_id == p.user_id) or p.can(
        Permission.MODERATE_ALL
    )


async def _stream_access(call: Call[Any, Any], row: store.StreamRow) -> StreamAccess:
    access = await call.app[AGE_GATE].access(row.id)
    if access is None:  # deleted meanwhile
        raise StreamNotFound("no such stream", meta={"streamId": str(row.id)})
    return access


def _refuse_if_blocked(call: Call[Any, Any], row: store.StreamRow, access: StreamAccess) -> None:
    """451 ``GEO_BLOCKED`` for a viewer in a place the creator blocked."""
    if access.blocked and not _exempt(call, row):
        place = call.app[AGE_GATE].place(call.request)
        if is_blocked(access.blocked, place):
            from hls.gate import GeoBlocked

            country, region = split_place(place)
            raise GeoBlocked(
                "the creator does not make this stream available where you are",
                meta={"country": country, "region": region or None},
            )


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
        blocked_in=_places_of(call.app[AGE_GATE].place(call.request)),
        search=q.q,
        tag=q.tag,
        rating=q.rating,
        language=q.language,
    )
    next_cursor = rows[-1].created_at.isoformat() if len(rows) == q.limit else None
    base = hls_base(call.request)
    out = [stream_out(r, base) for r in rows]
    await _with_viewers(call, out)
    return Page(out, next_cursor)


async def _with_viewers(call: Call[Any, Any], streams: list[StreamOut]) -> None:
    """Fill in the viewer count of the live ones (the chat room's connections, all nodes)."""
    from api.realtime import CHAT  # api.realtime imports this module (the safe word's errors)

    chat = call.app.get(CHAT)
    live = [s for s in streams if s.state == "live"]
    if chat is None or not live:
        return
    counts = await asyncio.gather(*(chat.presence.count(room_name(s.id)) for s in live))
    for stream, count in zip(live, counts, strict=True):
        stream.viewers = count


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
    errors=(451,),
    path_formats=UUID_PATH,
)
async def get_stream(call: Call[None, None]) -> StreamOut:
    """451 `GEO_BLOCKED` where the creator blocked the caller's country or region.
    `viewerAccess` says whether the caller may watch (the age gate: what is needed)."""
    row = await existing_stream(call)
    access = await _stream_access(call, row)
    _refuse_if_blocked(call, row, access)
    out = stream_out(row, hls_base(call.request))
    await _with_viewers(call, [out])
    needs_token = not access.open
    if _exempt(call, row) or not access.adult:
        out.viewer_access = ViewerAccess(allowed=True, token_required=needs_token)
        return out
    try:
        await call.app[AGE_GATE].check(call.request, access, call.principal.user_id)
        out.viewer_access = ViewerAccess(allowed=True, token_required=needs_token)
    except AgeVerificationRequired as exc:
        out.viewer_access = ViewerAccess(
            allowed=False, token_required=needs_token, code=exc.code, meta=exc.meta
        )
    return out


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/poster",
    summary="The stream's card image for the caller (blurred unless they may watch it sharp)",
    errors=(403, 451),
    produces="image/jpeg",
    path_formats=UUID_PATH,
)
async def get_poster(call: Call[None, None]) -> web.StreamResponse:
    """The engine's latest poster (every 4 s while live). Sharp only for callers who pass the
    age gate where they are, on a stream not marked explicit (an explicit stream's poster is
    blurred at the source, for everyone: no sharp copy is kept). `X-Poster: sharp|blurred`.
    Non-public streams: only for those who may watch them (403 `PLAYBACK_DENIED`)."""
    row = await existing_stream(call)
    access = await _stream_access(call, row)
    _refuse_if_blocked(call, row, access)
    sharp = True
    if not _exempt(call, row):
        await _check_visibility(call, row)
        if access.adult:
            rules = access.rules
            place = call.app[AGE_GATE].place(call.request)
            level = await _age_level(call)
            sharp = meets(level, rules.requirement(place))
    jpeg = await call.app[STORAGE].get(f"{row.id}/{POSTER}")
    if jpeg is None:
        raise PosterNotFound("no poster yet (one is made while the stream is live)")
    if not sharp:
        jpeg = await asyncio.to_thread(previews.blur, jpeg)
    return web.Response(
        body=jpeg,
        content_type="image/jpeg",
        headers={
            "Cache-Control": "private, max-age=4",
            "Vary": "Cookie",
            "X-Poster": "sharp" if sharp else "blurred",
        },
    )


async def _age_level(call: Call[Any, Any]) -> str:
    from api.agegate.store import age_level

    return await age_level(call.app[POOL], call.principal.user_id)


@api.route(
    "PATCH",
    "/api/v1/streams/{stream_id}",
    summary="Change my stream's title, visibility, recording, tags, language or mood colour",
    body=StreamUpdate,
    response=StreamOut,
    permission=Permission.STREAM,
    path_formats=UUID_PATH,
)
async def update_stream(call: Call[StreamUpdate, None]) -> StreamOut:
    row = await owned_stream(call, "update")
    b = call.body
    updated = await store.update_stream(
        call.app[POOL],
        row.id,
        title=b.title,
        visibility=b.visibility,
        recording=b.recording,
        tags=b.tags,
        language=b.language,
        mood=b.mood,
        clear=frozenset(
            f for f in ("language", "mood") if f in b.model_fields_set and getattr(b, f) is None
        ),
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
    row = await owned_stream(call, "publish_credentials")
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
    row = await owned_stream(call, "rotate_publish_token")
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
    row = await existing_stream(call)
    request = call.request
    sub = await call.app[PUBSUB].subscribe(stream_channel(str(row.id)))
    try:
        # Subscribed before reading the state, so no change can fall between the two.
        row = await existing_stream(call)
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
    row = await existing_stream(call)
    vods = await broadcasts.list_vods(call.app[POOL], row.id)
    return Page([Vod.model_validate(v.vod()) for v in vods])


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/playback-tokens",
    summary="A signed playback token for this stream",
    status=201,
    body=TokenRequest,
    response=PlaybackToken,
    errors=(403, 451),
    path_formats=UUID_PATH,
)
async def create_playback_token(call: Call[TokenRequest, None]) -> PlaybackToken:
    """A token for the caller, and only the caller: the signed-in viewer (or an anonymous one)
    with their own age level and place, or the stream's creator (session, or the stream's
    publish token as `Authorization: Bearer`) and staff, whose token is exempt from the age
    gate and geo-blocks in the place it was issued for only.

    Who gets one depends on the stream's visibility: `public` anyone; `followers` its
    followers; `subscribers` its creator's live subscribers (active, or in grace after a
    failed renewal); `ticketed` (and any stream while a ticket show runs on it) holders of a
    ticket to the running show. The creator, admins and site moderators always may. Refused:
    403 PLAYBACK_DENIED (meta: visibility), 403 BANNED for a viewer banned from the room.

    Then the age gate and geo-blocks: 451 `GEO_BLOCKED` where the creator blocked the
    caller's place; 403 `AGE_VERIFICATION_REQUIRED` on an adult stream when the caller's
    jurisdiction asks for more than they have (meta: `requirement`, `current`, `country`,
    `region`, `signInRequired`, `next`). The token carries the caller's age level and place,
    which the media servers check against the stream's rules on every request.

    Lifetime: `TEEZU_PLAYBACK_TOKEN_TTL` (300 s) at most, and no longer than the access it
    rests on (a subscription's paid time). Players call this again at `refreshAt` and swap the
    new token in; after any change of who may watch (visibility, a ticket show, a
    subscription ending, a ban, an unfollow, a suspended account) the media servers refuse
    older tokens with 403 `PLAYBACK_TOKEN_REVOKED`, and a new call decides afresh."""
    # Read first: the token carries the epoch of this read, so a change of who may watch
    # committed after it (the checks below may miss it) voids the token anyway.
    row = await existing_stream(call)
    p = call.principal
    admitted = await _check_visibility(call, row)
    access = await _stream_access(call, row)
    gate = call.app[AGE_GATE]
    exempt = admitted.owner or _exempt(call, row)
    if exempt:
        level, place = EXEMPT, gate.place(call.request)
    else:
        if p.user_id is not None:
            bans = await active_restrictions(call.app[POOL], row.id, p.user_id)
            if "ban" in bans:
                until = bans["ban"].until
                raise BannedFromStream(
                    "you are banned from this stream",
                    meta={"until": until.isoformat() if until else None},
                )
        level, place = await gate.check(call.request, access, p.user_id)
    if p.user_id is not None:
        viewer = p.user_id.hex
    elif admitted.owner and row.creator_id is not None:  # the publish token, no session
        viewer = row.creator_id.hex
    elif admitted.owner:
        viewer = "creator"
    else:
        viewer = f"anon-{secrets.token_hex(6)}"
    now = int(time.time())
    ttl = call.app[SETTINGS].playback_token_ttl
    expires = now + min(call.body.ttl_seconds or ttl, ttl)
    if admitted.until is not None:
        expires = min(expires, int(admitted.until.timestamp()))
    token = sign_playback_token(
        call.app[POLICY_KEY].key,
        str(row.id),
        viewer,
        expires,
        epoch=row.access_epoch,
        age=level,
        place=place,
    )
    url = with_token(f"/hls/{row.id}/index.m3u8", token)
    session = call.body.viewing_session_id
    if session is None or not await viewing.touch(call.app[POOL], session, row.id):
        session = await viewing.open_session(
            call.app[POOL],
            row.id,
            kind="llhls",
            viewer_id=p.user_id,
            anonymous_id=None if p.user_id is not None else viewer,
            country=split_place(place)[0],
        )
    return PlaybackToken(
        token=token,
        viewer_id=viewer,
        expires_at=expires,
        refresh_at=now + (expires - now) * 2 // 3,
        playback_url=url,
        hls_url=hls_base(call.request) + url,
        viewing_session_id=session,
    )


async def _check_visibility(call: Call[Any, Any], row: store.StreamRow) -> Admission:
    """Refuse (403 ``PLAYBACK_DENIED``) a caller the stream's visibility keeps out; its
    `Admission` otherwise (``owner``: the caller owns it, by session or publish token). While
    a ticket show runs on the stream it is ``ticketed``: only holders of a ticket to that show
    (and the creator and admins) pass."""
    p = call.principal
    owner = (row.creator_id is not None and row.creator_id == p.user_id) or token_matches(
        bearer_token(call.request.headers.get("Authorization")), row.publish_token_hash
    )
    admitted = await admission(call.app[POOL], p, row, owner=owner)
    if not admitted.allowed:
        raise PlaybackDenied(
            f"this stream is for {admitted.visibility}",
            meta={"visibility": admitted.visibility},
        )
    return admitted


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class LiveHealth(Output):
    live: bool
    on_this_node: bool = Field(
        description="false while live: the broadcast is on another ingest node, whose figures "
        "this node does not have"
    )
    uptime_seconds: float | None = None
    width: int | None = Field(default=None, description="the picture the publisher sends now")
    height: int | None = None
    bitrate_kbps: float | None = Field(
        default=None, description="received from the publisher since the last poll (0.5 s at least)"
    )
    frame_rate: float | None = Field(default=None, description="decoded frames per second")
    dropped_frames: int | None = Field(default=None, description="since the broadcast began")
    dropped_per_second: float | None = None
    window_seconds: float | None = Field(default=None, description="what the rates cover")
    viewers: int = Field(description="connections in the stream's room")
    webrtc_viewers: int | None = Field(default=None, description="WHEP viewers on this node")


# The last poll's counters per publisher session (gone with the session): the rates cover the
# time between two polls of the studio, not the whole broadcast.
_LAST_SAMPLE: weakref.WeakKeyDictionary[Any, Sample] = weakref.WeakKeyDictionary()


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/health",
    summary="My live broadcast's health as the server sees it (bitrate, picture, frame rate, "
    "dropped frames, viewers)",
    response=LiveHealth,
    permission=Permission.STREAM,
    path_formats=UUID_PATH,
)
async def live_health(call: Call[None, None]) -> LiveHealth:
    row = await owned_stream(call, "health")
    out = [stream_out(row, "")]
    await _with_viewers(call, out)
    viewers = out[0].viewers or 0
    broadcasts = call.app.get(BROADCASTS)
    broadcast = broadcasts.get(str(row.id)) if broadcasts is not None else None
    session = broadcast.publisher if broadcast is not None else None
    if broadcast is None or session is None:
        return LiveHealth(live=row.state == "live", on_this_node=False, viewers=viewers)
    stats = broadcast.pipeline.stats
    received = 0
    for report in (await session.pc.getStats()).values():
        if getattr(report, "type", "") == "transport":
            received += int(report.bytesReceived)
    now = Sample(time.monotonic(), received, stats.video_frames_in, stats.video_frames_dropped)
    start = Sample(session.created_at, 0, 0, 0)
    r = rates(pick_baseline(_LAST_SAMPLE.get(session), start, now), now)
    _LAST_SAMPLE[session] = now
    size = stats.input_sizes[-1] if stats.input_sizes else (None, None)
    whep = call.app.get(WHEP_VIEWERS)
    return LiveHealth(
        live=True,
        on_this_node=True,
        uptime_seconds=round(now.at - session.created_at, 1),
        width=size[0],
        height=size[1],
        bitrate_kbps=r.bitrate_kbps,
        frame_rate=r.frame_rate,
        dropped_frames=stats.video_frames_dropped,
        dropped_per_second=r.dropped_per_second,
        window_seconds=r.window_seconds,
        viewers=viewers,
        webrtc_viewers=whep.count(str(row.id)) if whep is not None else None,
    )
