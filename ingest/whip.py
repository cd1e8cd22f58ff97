"""WHIP (RFC 9725) endpoints: ``POST /whip/{stream_id}`` and the session resource.

The handler checks everything cheap first (stream, token, content type, size, SDP shape) so that
bad input never allocates a peer connection; once a stream is claimed live, any failure releases
the claim and closes what was opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from api.consent import store as consent
from api.moderation import store as safety_store
from api.moderation.freezes import before_go_live
from api.moderation.monitor import LiveModeration
from api.reports import store as reports_store
from api.reports.actions import check_standing
from api.streams import broadcasts, store
from engine.encoder import ladder
from engine.fanout import PacketFanout
from engine.hooks import FrameHook
from engine.latency import StageLatency
from engine.pipeline import StreamPipeline
from hls.origin import POLICY_KEY
from hls.output import HlsOutput
from ingest.errors import (
    InvalidPublishToken,
    SessionNotFound,
    StreamAlreadyLive,
    StreamNotFound,
)
from ingest.offer import read_sdp_offer, stream_uuid
from ingest.resource import check_session_token, patch_ice, request_token, token_hash
from ingest.sdp import add_bitrate_hints, check_offer
from ingest.session import WhipSession
from ingest.tokens import publish_grant_valid, token_matches
from teezu.pubsub import LocalPubSub, PubSub
from teezu.settings import Settings
from teezu.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class Publishers:
    """The live WHIP sessions of this node, by stream id."""

    settings: Settings
    pool: asyncpg.Pool
    storage: Storage
    pubsub: PubSub = field(default_factory=LocalPubSub)
    by_stream: dict[str, WhipSession] = field(default_factory=dict)
    outputs: dict[str, HlsOutput] = field(default_factory=dict)
    fanouts: dict[str, PacketFanout] = field(default_factory=dict)  # WebRTC egress (WHEP)
    # Awaited with the stream id when a broadcast ended (e.g. stop its WHEP viewers).
    ended_hooks: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)
    moderation: LiveModeration | None = None  # on-frame moderation (TEEZU_MODERATION_ENABLED)
    # Per-frame hooks for a new broadcast after moderation's sampler (the visible watermark):
    # called with the stream row, returns the hooks to add.
    frame_hooks: list[Callable[[store.StreamRow], FrameHook | None]] = field(default_factory=list)
    _heartbeat: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(), name="whip-heartbeat"
        )

    async def close(self) -> None:
        """Server shutdown: end every broadcast cleanly (playlists get their ENDLIST)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await asyncio.gather(
            *(s.stop("server shutdown") for s in list(self.by_stream.values())),
            return_exceptions=True,
        )

    async def _beat(self) -> None:
        node = self.settings.node_id
        while True:
            await asyncio.sleep(self.settings.live_heartbeat_interval)
            for stream_id in list(self.by_stream):
                try:
                    await store.heartbeat(self.pool, uuid.UUID(stream_id), node=node)
                except Exception:
                    log.exception("heartbeat failed", extra={"stream_id": stream_id})

    async def on_stopped(self, session: WhipSession, reason: str) -> None:
        if self.by_stream.get(session.stream_id) is session:
            del self.by_stream[session.stream_id]
        output = self.outputs.pop(session.stream_id, None)
        if output is not None:
            await broadcasts.end_broadcast(
                self.pool,
                uuid.UUID(session.stream_id),
                output.run,
                duration=output.duration,
                renditions=[r.name for r in output.renditions],
                retention_seconds=self.settings.vod_retention_days * 86400,
            )
        self.fanouts.pop(session.stream_id, None)
        for hook in self.ended_hooks:
            try:
                await hook(session.stream_id)
            except Exception:
                log.exception("broadcast end hook failed", extra={"stream_id": session.stream_id})
        await store.end_live(self.pool, uuid.UUID(session.stream_id), node=self.settings.node_id)
        await self.pubsub.publish(
            stream_channel(session.stream_id), {"state": "ended", "reason": reason}
        )
        log.info(
            "broadcast ended",
            extra={
                "stream_id": session.stream_id,
                "reason": reason,
                **vars(session.pipeline.stats),
            },
        )


def stream_channel(stream_id: str) -> str:
    """The pub/sub channel carrying a stream's state changes ({"state": "live" | "ended"})."""
    return f"stream:{stream_id}"


PUBLISHERS: web.AppKey[Publishers] = web.AppKey("publishers", Publishers)


async def create_session(request: web.Request) -> web.Response:
    pubs = request.app[PUBLISHERS]
    settings = pubs.settings
    stream_id = stream_uuid(request.match_info["stream_id"])
    stream = await store.get_stream(pubs.pool, stream_id)
    if stream is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    token = request_token(request)
    if not token_matches(token, stream.publish_token_hash) and not publish_grant_valid(
        request.app[POLICY_KEY].key, token, str(stream_id)
    ):
        raise InvalidPublishToken("missing or wrong publish token (Authorization: Bearer ...)")
    if stream.creator_id is not None:
        # The publish token outlives sessions: a suspended or banned creator is refused here.
        found = await reports_store.standing(pubs.pool, stream.creator_id)
        if found is not None:
            check_standing(*found, datetime.now(UTC))
    # Before the offer is read: nothing about the media matters if nobody may be on camera.
    safety = await safety_store.get_safety(pubs.pool, stream_id)
    clear_performer_freeze = before_go_live(safety.frozen, safety.frozen_reason)
    if settings.require_verification:
        await consent.ensure_ready(pubs.pool, stream)
    offer = await read_sdp_offer(request, settings.whip_max_body_bytes, "WHIP")
    summary = check_offer(offer)
    key = str(stream_id)
    if key in pubs.by_stream or not await store.claim_live(
        pubs.pool, stream_id, node=settings.node_id, stale_after=settings.live_stale_after
    ):
        raise StreamAlreadyLive("this stream is already live", meta={"streamId": key})

    loop = asyncio.get_running_loop()
    output = HlsOutput(
        key,
        pubs.storage,
        segment_duration=settings.segment_duration,
        part_duration=settings.part_duration,
        window=settings.playlist_window,
        retention=settings.segment_retention,
        audio_bitrate=settings.audio_bitrate,
        loop=loop,
        recording=stream.recording,
    )
    latency = StageLatency()  # where this broadcast's time goes, stage by stage
    output.latency = latency
    fanout = PacketFanout(key, loop=loop, latency=latency)
    hooks: list[FrameHook] = []
    if clear_performer_freeze:  # the last broadcast's safe word: this session consented anew
        await safety_store.set_frozen(pubs.pool, stream_id, reason=None)
    if pubs.moderation is not None:
        # Sampling first: the model sees the picture before anything is drawn on it.
        monitor = pubs.moderation.watch(
            key,
            run=output.run,
            rating=safety.rating,
            audience="public" if stream.visibility == "public" else "members",
            pipeline=lambda: session.pipeline,
        )
        monitor.explicit = safety.explicit
        hooks.append(monitor.sampler)
    for make_hook in pubs.frame_hooks:
        hook = make_hook(stream)
        if hook is not None:
            hooks.append(hook)
    pipeline = StreamPipeline(
        key,
        ladder(settings),
        [output, fanout],
        audio_bitrate=settings.audio_bitrate,
        gap_fill_after=settings.gap_fill_after,
        video_backlog=settings.video_backlog_frames,
        audio_backlog_seconds=settings.audio_backlog_seconds,
        part_frames=max(1, round(settings.part_duration * settings.output_fps)),
        latency=latency,
        poster_sink=output.on_poster,
        hooks=hooks,
    )
    # Explicit is the stream's: a new broadcast's posters are blurred from the first one.
    pipeline.explicit = safety.explicit
    session = WhipSession(
        key,
        pipeline,
        ice_servers=settings.ice_servers,
        media_timeout=settings.publisher_media_timeout,
        on_stopped=pubs.on_stopped,
        token_hash=token_hash(token),
    )
    pubs.by_stream[key] = session
    try:
        # The previous unrecorded broadcasts' folders go now (their viewers have left);
        # recorded ones stay as VODs until retention deletes them.
        for run in await broadcasts.unrecorded_runs(pubs.pool, stream_id):
            await pubs.storage.delete_prefix(f"{key}/{run}")
            await broadcasts.mark_purged(pubs.pool, stream_id, run)
        await output.start()
        await broadcasts.start_broadcast(
            pubs.pool, stream_id, output.run, recording=stream.recording
        )
        pubs.outputs[key] = output
        pubs.fanouts[key] = fanout
        answer = await session.negotiate(offer, has_audio=summary.has_audio)
    except BaseException:
        if pubs.moderation is not None:
            await pubs.moderation.stop_stream(key)
        pubs.by_stream.pop(key, None)
        pubs.outputs.pop(key, None)
        pubs.fanouts.pop(key, None)
        with contextlib.suppress(Exception):
            await session.pc.close()
        await pipeline.stop()
        await store.release_claim(
            pubs.pool, stream_id, node=settings.node_id, previous=stream.state
        )
        raise
    answer = add_bitrate_hints(
        answer,
        start_kbps=settings.whip_start_bitrate_kbps,
        min_kbps=settings.whip_min_bitrate_kbps,
        max_kbps=settings.whip_max_bitrate_kbps,
    )
    location = f"/whip/{key}/sessions/{session.id}"
    await pubs.pubsub.publish(stream_channel(key), {"state": "live"})
    log.info("broadcast started", extra={"stream_id": key, "codecs": summary.video_codecs})
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": location, "ETag": session.ice.etag},
    )


def _session(request: web.Request) -> WhipSession:
    """The session a DELETE/PATCH names: 404 if unknown, 401 without the POST's token."""
    pubs = request.app[PUBLISHERS]
    stream_id = str(stream_uuid(request.match_info["stream_id"]))
    session = pubs.by_stream.get(stream_id)
    if session is None or session.id != request.match_info["session_id"]:
        raise SessionNotFound("no such WHIP session (already ended?)")
    check_session_token(request, session.token_hash)
    return session


async def delete_session(request: web.Request) -> web.Response:
    """End the broadcast: flushes the last segment and writes the final playlist first."""
    session = _session(request)
    await session.stop("publisher sent DELETE")
    return web.Response(status=200)


async def patch_session(request: web.Request) -> web.Response:
    """Trickle ICE candidates or an ICE restart (RFC 9725 §4.3; ``ingest/resource.py``)."""
    session = _session(request)
    return await patch_ice(
        request, session.ice, request.app[PUBLISHERS].settings.whip_max_body_bytes
    )


def add_routes(app: web.Application) -> None:
    """Register the WHIP endpoints; ``app[PUBLISHERS]`` is set by the app's lifecycle."""
    app.router.add_post("/whip/{stream_id}", create_session)
    app.router.add_delete("/whip/{stream_id}/sessions/{session_id}", delete_session)
    app.router.add_patch("/whip/{stream_id}/sessions/{session_id}", patch_session)
