"""WHIP (RFC 9725) endpoints: ``POST /whip/{stream_id}`` and the session resource.

A thin protocol edge over the node's broadcasts (``live/broadcasts.py``). The handler checks
everything cheap first (stream, token, content type, size, SDP shape) so that bad input never
allocates a peer connection; then the broadcast opens (the stream is claimed live), the
publisher's session becomes its source, and a failed negotiation abandons it (the claim is
released). DELETE closes the broadcast, which closes the session.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from api.consent import store as consent
from api.moderation import store as safety_store
from api.moderation.freezes import before_go_live
from api.reports import store as reports_store
from api.reports.actions import check_standing
from api.streams import store
from hls.origin import POLICY_KEY
from ingest.errors import InvalidPublishToken, SessionNotFound, StreamNotFound
from ingest.offer import read_sdp_offer, stream_uuid
from ingest.resource import check_session_token, patch_ice, request_token, token_hash
from ingest.sdp import add_bitrate_hints, check_offer
from ingest.session import WhipSession
from ingest.tokens import publish_grant_valid, token_matches
from live.broadcasts import BROADCASTS, LiveBroadcast, stream_channel

log = logging.getLogger(__name__)


async def create_session(request: web.Request) -> web.Response:
    broadcasts = request.app[BROADCASTS]
    settings = broadcasts.settings
    pool = broadcasts.pool
    stream_id = stream_uuid(request.match_info["stream_id"])
    stream = await store.get_stream(pool, stream_id)
    if stream is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    token = request_token(request)
    if not token_matches(token, stream.publish_token_hash) and not publish_grant_valid(
        request.app[POLICY_KEY].key, token, str(stream_id)
    ):
        raise InvalidPublishToken("missing or wrong publish token (Authorization: Bearer ...)")
    if stream.creator_id is not None:
        # The publish token outlives sessions: a suspended or banned creator is refused here.
        found = await reports_store.standing(pool, stream.creator_id)
        if found is not None:
            check_standing(*found, datetime.now(UTC))
    # Before the offer is read: nothing about the media matters if nobody may be on camera.
    safety = await safety_store.get_safety(pool, stream_id)
    clear_performer_freeze = before_go_live(safety.frozen, safety.frozen_reason)
    if settings.require_verification:
        await consent.ensure_ready(pool, stream)
    offer = await read_sdp_offer(request, settings.whip_max_body_bytes, "WHIP")
    summary = check_offer(offer)
    key = str(stream_id)
    # The last broadcast's safe word ends when this session consents anew (clear_freeze).
    broadcast = await broadcasts.open(stream, safety, clear_freeze=clear_performer_freeze)
    session = WhipSession(
        key,
        broadcast.pipeline,
        ice_servers=settings.ice_servers,
        media_timeout=settings.publisher_media_timeout,
        on_ended=broadcast.close_soon,
        token_hash=token_hash(token),
    )
    broadcast.attach(session)
    try:
        answer = await session.negotiate(offer, has_audio=summary.has_audio)
    except BaseException:
        await broadcasts.abandon(broadcast)
        raise
    answer = add_bitrate_hints(
        answer,
        start_kbps=settings.whip_start_bitrate_kbps,
        min_kbps=settings.whip_min_bitrate_kbps,
        max_kbps=settings.whip_max_bitrate_kbps,
    )
    location = f"/whip/{key}/sessions/{session.id}"
    await broadcasts.pubsub.publish(stream_channel(key), {"state": "live"})
    log.info("broadcast started", extra={"stream_id": key, "codecs": summary.video_codecs})
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": location, "ETag": session.ice.etag},
    )


def _broadcast(request: web.Request) -> tuple[LiveBroadcast, WhipSession]:
    """The broadcast a DELETE/PATCH names, and its session: 404 if unknown, 401 without the
    POST's token. A DELETE of a closing broadcast waits for the same close."""
    stream_id = str(stream_uuid(request.match_info["stream_id"]))
    broadcast = request.app[BROADCASTS].get(stream_id)
    session = broadcast.publisher if broadcast is not None else None
    if session is None or session.id != request.match_info["session_id"]:
        raise SessionNotFound("no such WHIP session (already ended?)")
    check_session_token(request, session.token_hash)
    assert broadcast is not None
    return broadcast, session


async def delete_session(request: web.Request) -> web.Response:
    """End the broadcast: flushes the last segment and writes the final playlist first."""
    broadcast, _ = _broadcast(request)
    await broadcast.close("publisher sent DELETE")
    return web.Response(status=200)


async def patch_session(request: web.Request) -> web.Response:
    """Trickle ICE candidates or an ICE restart (RFC 9725 §4.3; ``ingest/resource.py``)."""
    _, session = _broadcast(request)
    return await patch_ice(
        request, session.ice, request.app[BROADCASTS].settings.whip_max_body_bytes
    )


def add_routes(app: web.Application) -> None:
    """Register the WHIP endpoints; ``app[BROADCASTS]`` is set by the node's lifecycle."""
    app.router.add_post("/whip/{stream_id}", create_session)
    app.router.add_delete("/whip/{stream_id}/sessions/{session_id}", delete_session)
    app.router.add_patch("/whip/{stream_id}/sessions/{session_id}", patch_session)
