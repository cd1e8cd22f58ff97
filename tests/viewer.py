"""A WHEP viewer in Python (aiortc): recvonly video (+ audio), counts what it decodes.

Used by the WHEP integration tests and the WHEP benchmark (there with ``decode=False``: frames
are counted as they leave the jitter buffer, not decoded, so a process holding many viewers
stays cheap).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


@dataclass
class Viewer:
    pc: RTCPeerConnection
    posted_at: float  # monotonic, when the offer was sent
    location: str = ""
    token: str | None = None  # the POST's bearer token, if any: DELETE/PATCH need the same
    video_frames: int = 0
    audio_frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    first_video_at: float | None = None  # monotonic
    first_audio_at: float | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    on_video: Callable[[av.VideoFrame], None] | None = None  # sees every decoded video frame
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def first_frame_delay(self) -> float | None:
        """Seconds from POSTing the offer to the first decoded video frame."""
        return None if self.first_video_at is None else self.first_video_at - self.posted_at

    async def wait_frames(self, video: int, audio: int = 0, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.video_frames < video or self.audio_frames < audio:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"viewer got {self.video_frames} video / {self.audio_frames} audio frames "
                    f"in {timeout:g} s (wanted {video} / {audio})"
                )
            await asyncio.sleep(0.05)

    async def delete(self, http: aiohttp.ClientSession, base_url: str) -> int:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with http.delete(base_url + self.location, headers=headers) as res:
            status = res.status
        await self.close()
        return status

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if track.kind == "video":
                    if isinstance(frame, av.VideoFrame):
                        self.sizes.add((frame.width, frame.height))
                        if self.on_video is not None:
                            self.on_video(frame)
                    self.video_frames += 1
                    if self.first_video_at is None:
                        self.first_video_at = now
                else:
                    self.audio_frames += 1
                    if self.first_audio_at is None:
                        self.first_audio_at = now
        except MediaStreamError:
            self.ended.set()


async def make_viewer_offer(*, video: bool = True, audio: bool = True) -> str:
    """A recvonly offer as a WHEP player makes it."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if video:
        pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def watch(
    http: aiohttp.ClientSession,
    base_url: str,
    stream_id: str,
    *,
    rendition: str | None = None,
    audio: bool = True,
    token: str | None = None,
    on_video: Callable[[av.VideoFrame], None] | None = None,
) -> Viewer:
    """Play a stream over WHEP; raises AssertionError with the server's envelope on failure."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")
    viewer = Viewer(pc, posted_at=time.monotonic(), token=token, on_video=on_video)

    @pc.on("track")
    def _on_track(track: MediaStreamTrack) -> None:
        viewer._tasks.append(asyncio.get_running_loop().create_task(viewer._consume(track)))

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{base_url}/whep/{stream_id}"
    if rendition is not None:
        url += f"?rendition={rendition}"
    viewer.posted_at = time.monotonic()
    async with http.post(url, data=pc.localDescription.sdp, headers=headers) as res:
        body = await res.text()
        if res.status != 201:
            await pc.close()
            raise AssertionError(f"WHEP POST failed: {res.status} {body}")
        viewer.location = res.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    return viewer
