"""A WHIP publisher in Python (aiortc): synthesized moving frames with noise and a tone.

Used by integration tests and benchmarks as a stand-in for a browser where Chromium is not the
point of the test.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from dataclasses import dataclass, field

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AUDIO_PTIME, VideoStreamTrack


class PatternVideoTrack(VideoStreamTrack):
    """A moving bar over a gradient with some noise; size may change mid-stream.

    Frames are encoded here (x264 ultrafast, in a worker thread) and handed to aiortc as
    H.264 packets, which it sends without re-encoding: aiortc's own encoder runs x264 at its
    default preset, several times what a browser's hardware/OpenH264 encoder costs, and would
    starve the server under test on a 2-core machine.
    """

    def __init__(self, width: int = 1280, height: int = 720, fps: int = 30) -> None:
        super().__init__()
        self._encoder: av.VideoCodecContext | None = None
        self._encoder_size: tuple[int, int] | None = None
        self.size = (width, height)
        self.fps = fps
        self.paused = False
        self._n = 0
        self._rng = np.random.default_rng(1)
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.time()
        while self.paused:
            await asyncio.sleep(0.05)
        self._n += 1
        wait = self._start + self._n / self.fps - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        return await asyncio.to_thread(self._next_packet, self.size, self._n)

    def _next_packet(self, size: tuple[int, int], n: int) -> av.Packet:
        frame = self._frame(size)
        if self._encoder is None or self._encoder_size != size:
            ctx = av.CodecContext.create("libx264", "w")
            ctx.width, ctx.height = size
            ctx.pix_fmt = "yuv420p"
            ctx.time_base = fractions.Fraction(1, self.fps)
            ctx.framerate = fractions.Fraction(self.fps, 1)
            ctx.bit_rate = 2_000_000
            ctx.profile = "Baseline"
            ctx.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "x264-params": "keyint=30:min-keyint=30:scenecut=0:repeat-headers=1",
            }
            ctx.open()
            self._encoder, self._encoder_size = ctx, size
        frame.pts = n
        frame.time_base = self._encoder.time_base
        packets = self._encoder.encode(frame)
        assert len(packets) == 1, "zerolatency x264 gives one packet per frame"
        return packets[0]

    def _frame(self, size: tuple[int, int]) -> av.VideoFrame:
        w, h = size
        y = np.empty((h * 3 // 2, w), dtype=np.uint8)
        x = (np.arange(w, dtype=np.uint16) + self._n * 4) % 256
        y[:h] = x[None, :].astype(np.uint8)
        bar = (self._n * 8) % max(1, w - 40)
        y[:h, bar : bar + 40] = 235
        y[h:] = 128
        y[:h:4, ::4] = self._rng.integers(
            0, 255, (len(range(0, h, 4)), len(range(0, w, 4))), dtype=np.uint8
        )
        return av.VideoFrame.from_ndarray(y, format="yuv420p")


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames of 48 kHz stereo s16."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples = 0
        self._start: float | None = None
        self.paused = False

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.time()
        while self.paused:
            await asyncio.sleep(0.05)
        n = int(AUDIO_PTIME * 48000)
        wait = self._start + self._samples / 48000 - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        t = np.arange(self._samples, self._samples + n) / 48000.0
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(pcm, 2)[None, :], format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._samples += n
        return frame


@dataclass
class Published:
    pc: RTCPeerConnection
    location: str
    video: PatternVideoTrack | None
    audio: ToneAudioTrack | None
    token: str  # the POST's bearer token: the session's DELETE/PATCH need it too
    etag: str = ""  # the ICE session's entity-tag (PATCH If-Match)
    trickled: list[str] = field(default_factory=list)  # candidates sent by PATCH, if trickling

    async def delete(self, http: aiohttp.ClientSession, base_url: str) -> int:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with http.delete(base_url + self.location, headers=headers) as res:
            status = res.status
        await self.pc.close()
        return status

    async def patch(
        self, http: aiohttp.ClientSession, base_url: str, fragment: str, *, if_match: str = ""
    ) -> tuple[int, str]:
        """PATCH the session with a trickle-ice-sdpfrag; returns (status, body)."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/trickle-ice-sdpfrag",
            "If-Match": if_match or self.etag,
        }
        async with http.patch(base_url + self.location, data=fragment, headers=headers) as res:
            return res.status, await res.text()


async def publish(
    http: aiohttp.ClientSession,
    base_url: str,
    stream_id: str,
    token: str,
    *,
    video: bool = True,
    audio: bool = True,
    size: tuple[int, int] = (1280, 720),
    video_direction_only: bool = False,
    video_track: PatternVideoTrack | None = None,
    trickle: bool = False,
) -> Published:
    """Publish over WHIP; raises AssertionError with the server's envelope on failure.

    ``video_direction_only``: offer a video section but send no video (an audio-only publisher).
    ``video_track``: send this track (e.g. a subclass showing other pictures) instead.
    ``trickle``: the offer carries no candidates; they follow in one PATCH (RFC 9725 §4.3.2)
    before the answer is applied, so the server can only have them from the PATCH.
    """
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    vtrack = video_track or (
        PatternVideoTrack(*size) if video and not video_direction_only else None
    )
    atrack = ToneAudioTrack() if audio else None
    if vtrack is not None:
        pc.addTransceiver(vtrack, direction="sendonly")
    elif video_direction_only:
        pc.addTransceiver("video", direction="sendonly")
    if atrack is not None:
        pc.addTransceiver(atrack, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    candidates = list(
        dict.fromkeys(line[2:] for line in offer.splitlines() if line.startswith("a=candidate:"))
    )
    if trickle:
        offer = "".join(
            line + "\r\n"
            for line in offer.splitlines()
            if not line.startswith(("a=candidate:", "a=end-of-candidates"))
        )
    async with http.post(
        f"{base_url}/whip/{stream_id}",
        data=offer,
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
    ) as res:
        body = await res.text()
        if res.status != 201:
            await pc.close()
            raise AssertionError(f"WHIP POST failed: {res.status} {body}")
        location = res.headers["Location"]
        etag = res.headers["ETag"]
    published = Published(pc, location, vtrack, atrack, token, etag)
    if trickle:
        published.trickled = candidates
        status, text = await published.patch(http, base_url, trickle_fragment(offer, candidates))
        if status != 204:
            await pc.close()
            raise AssertionError(f"WHIP PATCH failed: {status} {text}")
    await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    return published


def trickle_fragment(offer: str, candidates: list[str], *, end: bool = True) -> str:
    """An RFC 8840 fragment with the offer's credentials and ``candidates`` for its first
    (BUNDLE-tag) m= section."""
    lines = offer.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("m="))
    mid = next(line for line in lines[first:] if line.startswith("a=mid:"))
    creds = [line for line in lines if line.startswith(("a=ice-ufrag:", "a=ice-pwd:"))][:2]
    frag = [lines[first], mid, *creds, *(f"a={c}" for c in candidates)]
    if end:
        frag.append("a=end-of-candidates")
    return "\r\n".join(frag) + "\r\n"
