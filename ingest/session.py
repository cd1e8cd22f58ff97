"""One WHIP publisher: its peer connection feeding a broadcast's pipeline, and its watchdog.

The session is the broadcast's media source (``engine.broadcasts.Source``). It does not end the
broadcast itself: when its connection fails, its media stops for ``media_timeout`` or the
pipeline fails, it tells the broadcast (``on_ended``), whose owner closes everything exactly once
and closes this session first (:meth:`WhipSession.close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCSessionDescription,
)
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from engine.pipeline import StreamPipeline
from ingest.dtls import allow_rsa_peers
from ingest.errors import InvalidSdp, NoCommonCodec
from ingest.ice import IceSession
from ingest.receiver import bound_receiver
from ingest.sdp import VIDEO_CODECS

log = logging.getLogger(__name__)

OnEnded = Callable[[str], object]  # called with the reason; e.g. ``Broadcast.close_soon``


def preferred_video_codecs() -> list[RTCRtpCodecCapability]:
    """H.264 first, then VP8 (and their RTX), as receiving-side codec preferences."""
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    rank = {name: i for i, name in enumerate(VIDEO_CODECS)}
    chosen = [c for c in caps.codecs if c.mimeType.split("/")[1].upper() in rank]
    chosen.sort(key=lambda c: rank[c.mimeType.split("/")[1].upper()])
    rtx = [c for c in caps.codecs if c.mimeType.lower() == "video/rtx"]
    return chosen + rtx


class WhipSession:
    """A publisher's session resource (``/whip/{stream_id}/sessions/{id}``)."""

    def __init__(
        self,
        stream_id: str,
        pipeline: StreamPipeline,
        *,
        ice_servers: list[str],
        media_timeout: float,
        on_ended: OnEnded,
        token_hash: bytes | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(16)
        self.token_hash = token_hash  # of the POST's bearer token: DELETE/PATCH need the same
        self.stream_id = stream_id
        self.pipeline = pipeline
        self.media_timeout = media_timeout
        self._on_ended = on_ended
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in ice_servers])
        allow_rsa_peers()  # GStreamer publishes with an RSA certificate (ingest/dtls.py)
        self.pc = RTCPeerConnection(configuration=config)
        self.ice = IceSession(self.pc)  # trickle ICE and ICE restarts (PATCH)
        self.created_at = time.monotonic()
        self._watchdog: asyncio.Task[None] | None = None

    async def negotiate(self, offer_sdp: str, *, has_audio: bool) -> str:
        """Apply the offer and return the answer SDP (all ICE candidates included)."""
        # Transceivers must exist with codec preferences *before* setRemoteDescription: aiortc
        # then picks them up for the offer's sections and answers H.264 when offered.
        video = self.pc.addTransceiver("video", direction="recvonly")
        video.setCodecPreferences(preferred_video_codecs())
        if has_audio:
            self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            # aiortc starts its decoder after this event: bound its queues first.
            for transceiver in self.pc.getTransceivers():
                if transceiver.receiver.track is track:
                    bound_receiver(transceiver.receiver, self.pipeline.latency)
            self.pipeline.attach(track)

        @self.pc.on("connectionstatechange")
        async def _on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                self._on_ended(f"connection {self.pc.connectionState}")

        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            message = str(exc) or exc.__class__.__name__
            if "description send parameters" in message:
                raise NoCommonCodec(f"offer could not be negotiated: {message}") from exc
            raise InvalidSdp(f"offer could not be negotiated: {message}") from exc
        self.pipeline.start()
        self._watchdog = asyncio.get_running_loop().create_task(
            self._watch(), name=f"whip-watch-{self.stream_id[:8]}"
        )
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        """Stop watching and close the peer connection (the broadcast's close calls this)."""
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        self.ice.close()
        with contextlib.suppress(Exception):
            await self.pc.close()

    def check(self, now: float) -> str | None:
        """The watchdog's test at monotonic time ``now``: if the publisher's media stopped for
        ``media_timeout`` or the pipeline failed, tell the broadcast to end and say why."""
        last = self.pipeline.last_media_at or self.created_at
        reason = None
        if now - last > self.media_timeout:
            reason = f"no media for {self.media_timeout:g} s"
        elif self.pipeline.error is not None:
            reason = f"pipeline failed: {self.pipeline.error!r}"
        if reason is not None:
            self._on_ended(reason)
        return reason

    async def _watch(self) -> None:
        """End a publisher that vanished without DELETE: no media for ``media_timeout``."""
        while True:
            await asyncio.sleep(min(1.0, self.media_timeout / 4))
            if self.check(time.monotonic()) is not None:
                return
