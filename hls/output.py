"""A live stream's HLS output: packages packets (encoder thread), writes objects (event loop).

Storage layout per stream::

    <stream_id>/index.m3u8            live playlist at a stable URL
    <stream_id>/<run>/init.mp4        one run per broadcast, so segment URLs of two broadcasts
    <stream_id>/<run>/seg<N>.m4s      never collide and can be cached as immutable
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque

from engine.encoder import EncodedPacket
from engine.pipeline import StreamInfo
from hls.fmp4 import AudioTrack
from hls.packager import AUDIO_TRACK_ID, InitSegment, Packager, Segment
from hls.playlist import SegmentEntry, render_media_playlist
from hls.storage import Storage

log = logging.getLogger(__name__)

PLAYLIST = "index.m3u8"
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
}

_END = object()


def playlist_key(stream_id: str) -> str:
    return f"{stream_id}/{PLAYLIST}"


class HlsOutput:
    """Implements the engine's ``PacketConsumer`` for one rendition of one broadcast."""

    def __init__(
        self,
        stream_id: str,
        storage: Storage,
        *,
        segment_duration: float,
        window: int,
        retention: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.stream_id = stream_id
        self.run = secrets.token_hex(4)
        self.storage = storage
        self.segment_duration = segment_duration
        self.window = window
        self.retention = retention
        self._loop = loop
        self._events: asyncio.Queue[InitSegment | Segment | object] = asyncio.Queue()
        self._packager: Packager | None = None
        self._listed: deque[SegmentEntry] = deque()
        self._expired: deque[str] = deque()
        self.init: InitSegment | None = None
        self.ended = False
        self.segments_written = 0
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Clear the previous broadcast's objects and start the writer task."""
        await self.storage.delete_prefix(self.stream_id)
        self._writer = self._loop.create_task(self._write_loop(), name=f"hls-{self.stream_id[:8]}")

    # --- encoder thread ----------------------------------------------------------------

    def on_start(self, info: StreamInfo) -> None:
        audio = AudioTrack(
            AUDIO_TRACK_ID,
            info.audio_sample_rate,
            info.audio_channels,
            info.audio_specific_config,
        )
        self._packager = Packager(
            width=info.width,
            height=info.height,
            fps=info.fps,
            segment_duration=self.segment_duration,
            audio=audio,
        )

    def on_packet(self, packet: EncodedPacket) -> None:
        assert self._packager is not None
        for event in self._packager.push(packet):
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    def on_end(self) -> None:
        if self._packager is not None:
            for seg in self._packager.flush():
                self._loop.call_soon_threadsafe(self._events.put_nowait, seg)
        self._loop.call_soon_threadsafe(self._events.put_nowait, _END)

    # --- event loop --------------------------------------------------------------------

    async def drain(self) -> None:
        if self._writer is not None:
            await self._writer

    def uri(self, name: str) -> str:
        return f"{self.run}/{name}"

    async def _write_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                if event is _END:
                    self.ended = True
                    if self.init is not None:
                        await self._write_playlist()
                    return
                if isinstance(event, InitSegment):
                    self.init = event
                    await self._put(self.uri("init.mp4"), event.data)
                elif isinstance(event, Segment):
                    await self._add_segment(event)
            except Exception:
                # A storage hiccup loses one object, not the broadcast.
                log.exception("hls write failed", extra={"stream_id": self.stream_id})

    async def _add_segment(self, seg: Segment) -> None:
        name = f"seg{seg.sequence}.m4s"
        await self._put(self.uri(name), seg.data)
        self.segments_written += 1
        self._listed.append(SegmentEntry(seg.sequence, seg.duration, self.uri(name)))
        while len(self._listed) > self.window:
            self._expired.append(self._listed.popleft().uri)
        await self._write_playlist()
        # Keep recently delisted segments a while for players that loaded an older playlist.
        while len(self._expired) > self.retention:
            await self.storage.delete(f"{self.stream_id}/{self._expired.popleft()}")

    async def _write_playlist(self) -> None:
        text = render_media_playlist(
            list(self._listed),
            init_uri=self.uri("init.mp4"),
            segment_duration=self.segment_duration,
            ended=self.ended,
        )
        await self._put(PLAYLIST, text.encode())

    async def _put(self, name: str, data: bytes) -> None:
        ext = name[name.rfind(".") :]
        await self.storage.put(f"{self.stream_id}/{name}", data, CONTENT_TYPES[ext])
