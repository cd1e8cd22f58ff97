"""One WHEP viewer: a sending peer connection whose tracks hand out already-encoded packets.

aiortc's ``RTCRtpSender`` encodes what a track returns only when it is an ``av.Frame``; an
``av.Packet`` goes to its codec's ``pack()``, which only splits it into RTP payloads. So a viewer
costs packetization and SRTP, never an encode: the packets are the ladder's (H.264) and the
stream's one shared Opus encode.

Known compromises of sending the ladder's own packets:

* aiortc can only answer H.264 Constrained Baseline (``42e01f``/``42001f``, packetization-mode
  1), while the ladder is x264 High profile (``64001f``, no B-frames with zerolatency). Browser
  and FFmpeg decoders decode it regardless (checked in Chromium by
  ``tests/e2e/test_watch_low_latency.py``); a strict CB-only hardware decoder would not.
* A viewer's PLI cannot force a keyframe (there is no per-viewer encoder): after a lost
  keyframe the picture recovers at the next one, at most a segment (2 s) later.

``WhepViewer.stop()`` releases everything a viewer holds (its subscriptions and its peer
connection) exactly once, whatever the reason (DELETE, ICE/DTLS failure, the broadcast ended,
server shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from engine.fanout import OPUS, PacketFanout, Subscription, SubscriptionClosed
from ingest.dtls import allow_rsa_peers
from ingest.errors import InvalidSdp, NoCommonCodec
from ingest.ice import IceSession

log = logging.getLogger(__name__)

OnStopped = Callable[["WhepViewer", str], Awaitable[None]]


def sending_codecs(kind: str, mime: str) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities for ``mime`` (e.g. ``video/H264``), with RTX for video."""
    caps = RTCRtpSender.getCapabilities(kind)
    assert caps is not None
    chosen = [c for c in caps.codecs if c.mimeType.lower() == mime.lower()]
    return chosen + [c for c in caps.codecs if c.mimeType.lower() == "video/rtx"]


class PacketTrack(MediaStreamTrack):
    """A track whose ``recv()`` returns ``av.Packet``\\ s taken from a fanout subscription.

    It subscribes on the first ``recv()``, i.e. when aiortc starts sending (after DTLS), so the
    replayed GOP is fresh and nothing queues up during connection set-up.
    """

    def __init__(self, kind: str, subscribe: Callable[[], Subscription]) -> None:
        super().__init__()
        self.kind = kind
        self._subscribe = subscribe
        self.subscription: Subscription | None = None
        self.packets_sent = 0
        self.first_packet_at: float | None = None  # monotonic
        self._time_bases: dict[int, Fraction] = {}

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self.subscription is None:
            self.subscription = self._subscribe()
        try:
            packet = await self.subscription.get()
        except SubscriptionClosed:
            self.stop()
            raise MediaStreamError from None
        out = av.Packet(packet.data)
        out.pts = packet.pts
        out.dts = packet.dts
        tb = self._time_bases.get(packet.timescale)
        if tb is None:
            tb = self._time_bases[packet.timescale] = Fraction(1, packet.timescale)
        out.time_base = tb
        if self.first_packet_at is None:
            self.first_packet_at = time.monotonic()
        self.packets_sent += 1
        return out

    def stop(self) -> None:
        super().stop()
        if self.subscription is not None:
            self.subscription.close()


class WhepViewer:
    """A viewer's session resource (``/whep/{stream_id}/sessions/{id}``)."""

    def __init__(
        self,
        stream_id: str,
        fanout: PacketFanout,
        rendition: str,
        *,
        ice_servers: list[str],
        on_stopped: OnStopped,
        token_hash: bytes | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(16)
        self.token_hash = token_hash  # of the POST's token, if any: DELETE/PATCH need the same
        self.stream_id = stream_id
        self.fanout = fanout
        self.rendition = rendition
        self._on_stopped = on_stopped
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in ice_servers])
        allow_rsa_peers()  # GStreamer publishes with an RSA certificate (ingest/dtls.py)
        self.pc = RTCPeerConnection(configuration=config)
        self.ice = IceSession(self.pc)  # trickle ICE and ICE restarts (PATCH)
        self.created_at = time.monotonic()
        self.tracks: list[PacketTrack] = []
        self.stop_reason: str | None = None
        self._stopping: asyncio.Task[None] | None = None

    async def negotiate(self, offer_sdp: str, *, has_audio: bool) -> str:
        """Apply the viewer's offer and return our answer (H.264 + Opus, all candidates)."""
        video = PacketTrack("video", lambda: self.fanout.subscribe(self.rendition))
        self.tracks.append(video)
        t = self.pc.addTransceiver(video, direction="sendonly")
        t.setCodecPreferences(sending_codecs("video", "video/H264"))
        if has_audio:
            audio = PacketTrack("audio", lambda: self.fanout.subscribe(OPUS))
            self.tracks.append(audio)
            t = self.pc.addTransceiver(audio, direction="sendonly")
            t.setCodecPreferences(sending_codecs("audio", "audio/opus"))

        @self.pc.on("connectionstatechange")
        async def _on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                self.stop_soon(f"connection {self.pc.connectionState}")

        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            message = str(exc) or exc.__class__.__name__
            if "description send parameters" in message:
                raise NoCommonCodec(
                    "no H.264 profile we can answer (offer Constrained Baseline, "
                    f"packetization-mode=1): {message}"
                ) from exc
            raise InvalidSdp(f"offer could not be negotiated: {message}") from exc
        return self.pc.localDescription.sdp

    def senders(self) -> list[RTCRtpSender]:
        return self.pc.getSenders()

    def stop_soon(self, reason: str) -> asyncio.Task[None]:
        """Begin stopping (idempotent) and return the task that completes it."""
        if self._stopping is None:
            self.stop_reason = reason
            self._stopping = asyncio.get_running_loop().create_task(
                self._stop(reason), name=f"whep-stop-{self.id[:8]}"
            )
        return self._stopping

    async def stop(self, reason: str) -> None:
        await asyncio.shield(self.stop_soon(reason))

    async def _stop(self, reason: str) -> None:
        for track in self.tracks:
            track.stop()
        self.ice.close()
        with contextlib.suppress(Exception):
            await self.pc.close()
        log.info(
            "viewer stopped",
            extra={
                "stream_id": self.stream_id,
                "viewer": self.id,
                "reason": reason,
                "rendition": self.rendition,
                "packets": sum(t.packets_sent for t in self.tracks),
                "dropped": sum(t.subscription.dropped for t in self.tracks if t.subscription),
            },
        )
        await self._on_stopped(self, reason)
