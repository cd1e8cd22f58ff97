"""A broadcast's HLS output: packages every rendition (encoder thread), publishes and stores them.

Storage layout per stream::

    <stream_id>/index.m3u8                     master playlist at a stable URL
    <stream_id>/<run>/<rendition>/index.m3u8   media playlist (served live from memory)
    <stream_id>/<run>/<rendition>/init.mp4     one run per broadcast, so URLs of two broadcasts
    <stream_id>/<run>/<rendition>/seg<N>.m4s   never collide and can be cached as immutable
    <stream_id>/<run>/<rendition>/part<N>.<i>.m4s   LL-HLS parts: memory only, while listed
    <stream_id>/<run>/vod.m3u8, <run>/<rendition>/vod.m3u8   recorded broadcasts: every segment

Parts and segments reach the in-memory :class:`LiveBroadcast` as soon as they are packaged, so
the origin can serve them at once; storage writes follow in their own task, in order.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass

from engine.encoder import EncodedPacket, VideoSettings
from engine.latency import StageLatency
from engine.pipeline import StreamInfo
from engine.room_timeline import Mark
from hls.fmp4 import AudioTrack
from hls.live import INIT, PLAYLIST, LiveBroadcast, daterange_of, segment_name
from hls.packager import AUDIO_TRACK_ID, InitSegment, Packager, Part, Segment
from hls.playlist import SegmentEntry, Variant, render_master_playlist, render_media_playlist
from teezu.storage import Storage

log = logging.getLogger(__name__)

PLAYLIST_CACHE = "no-cache, no-store, must-revalidate"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
POSTER_CACHE = "public, max-age=5"
POSTER = "poster.jpg"
VOD = "vod.m3u8"
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".jpg": "image/jpeg",
}


def master_key(stream_id: str) -> str:
    return f"{stream_id}/{PLAYLIST}"


@dataclass(frozen=True)
class _Event:
    rendition: str
    item: InitSegment | Part | Segment


@dataclass(frozen=True)
class _Poster:
    jpeg: bytes


@dataclass(frozen=True)
class _Started:
    info: StreamInfo


_END = object()


class HlsOutput:
    """Implements the engine's ``PacketConsumer`` for every rendition of one broadcast."""

    def __init__(
        self,
        stream_id: str,
        storage: Storage,
        *,
        segment_duration: float,
        part_duration: float,
        window: int,
        retention: int,
        audio_bitrate: int,
        loop: asyncio.AbstractEventLoop,
        recording: bool = False,
    ) -> None:
        self.stream_id = stream_id
        self.run = secrets.token_hex(4)
        self.storage = storage
        self.segment_duration = segment_duration
        self.part_duration = part_duration
        self.window = window
        self.retention = retention
        self.audio_bitrate = audio_bitrate
        self.recording = recording  # keep every segment and write a VOD playlist at the end
        self._loop = loop
        self._events: asyncio.Queue[_Event | _Started | object] = asyncio.Queue()
        self._writes: asyncio.Queue[tuple[str, bytes] | tuple[str, None] | None] = asyncio.Queue()
        self._packagers: dict[str, Packager] = {}
        self.renditions: list[VideoSettings] = []
        self.live: LiveBroadcast | None = None
        self.inits: dict[str, InitSegment] = {}
        self._listed: dict[str, deque[SegmentEntry]] = {}
        self._recorded: dict[str, list[SegmentEntry]] = {}
        self.duration = 0.0  # seconds of media packaged (the top rendition's segments)
        self._expired: deque[str] = deque()
        self.ended = False
        self.segments_written = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()  # the LiveBroadcast exists (renditions known)
        self.latency: StageLatency | None = None  # records the "part" stage (engine.latency)
        self._master_text: str | None = None
        # (stream time, future): resolved with time.monotonic() once every rendition published a
        # part reaching past that time (how long a freeze takes to reach viewers).
        self._part_watchers: list[tuple[float, set[str], asyncio.Future[float]]] = []
        self._early_marks: list[Mark] = []  # room events noted before the renditions were known

    async def start(self) -> None:
        """Drop the previous broadcast's stream-level objects and start the publishing tasks.

        Earlier runs' folders are left alone: recorded ones are VODs (deleted by retention),
        unrecorded ones are deleted by whoever tracks broadcasts (``live.broadcasts``).
        """
        await self.storage.delete(master_key(self.stream_id))
        self._tasks = [
            self._loop.create_task(self._publish_loop(), name=f"hls-{self.stream_id[:8]}"),
            self._loop.create_task(self._storage_loop(), name=f"hls-store-{self.stream_id[:8]}"),
        ]

    def note(self, mark: Mark) -> None:
        """A room event (`engine.room_timeline.Mark`) for the live playlists and the VOD's.
        Call on the event loop."""
        if self.live is None:
            self._early_marks.append(mark)
        else:
            self.live.note(mark)

    def part_published(self, t: float) -> asyncio.Future[float]:
        """A future set to ``time.monotonic()`` when every rendition has published the part that
        holds stream time ``t`` (the frame at ``t`` is then fetchable by every HLS viewer).

        Call on the event loop. Resolves with ``nan`` if the broadcast ends first.
        """
        fut: asyncio.Future[float] = self._loop.create_future()
        pending = {r.name for r in self.renditions} if self.renditions else set()
        self._part_watchers.append((t, pending, fut))
        return fut

    def prefix(self, rendition: str) -> str:
        """Storage key prefix of one rendition of this broadcast."""
        return f"{self.stream_id}/{self.run}/{rendition}/"

    # --- encoder thread ----------------------------------------------------------------

    def on_start(self, info: StreamInfo) -> None:
        audio = AudioTrack(
            AUDIO_TRACK_ID, info.audio_sample_rate, info.audio_channels, info.audio_specific_config
        )
        for r in info.renditions:
            self._packagers[r.name] = Packager(
                width=r.width,
                height=r.height,
                fps=info.fps,
                segment_duration=self.segment_duration,
                part_duration=self.part_duration,
                audio=audio,
            )
        self._post(_Started(info))

    def on_packet(self, packet: EncodedPacket) -> None:
        if packet.kind == "audio" and packet.rendition != "audio":
            return  # Opus, for WebRTC viewers only
        # Audio is encoded once and muxed into every rendition.
        targets = (
            self._packagers
            if packet.kind == "audio"
            else {packet.rendition: self._packagers[packet.rendition]}
        )
        for name, packager in targets.items():
            for item in packager.push(packet):
                self._post(_Event(name, item))

    def on_end(self) -> None:
        for name, packager in self._packagers.items():
            for item in packager.flush():
                self._post(_Event(name, item))
        self._post(_END)

    def on_poster(self, jpeg: bytes) -> None:
        """Encoder thread: a fresh poster image for stream cards."""
        self._post(_Poster(jpeg))

    def _post(self, event: object) -> None:
        self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    # --- event loop --------------------------------------------------------------------

    async def drain(self) -> None:
        for task in self._tasks:
            await task

    async def _publish_loop(self) -> None:
        """Publishes to memory at once; queues storage writes in order for the other task."""
        try:
            while True:
                event = await self._events.get()
                if event is _END:
                    self._finish()
                    return
                if isinstance(event, _Started):
                    self._begin(event.info)
                elif isinstance(event, _Poster):
                    self._writes.put_nowait((f"{self.stream_id}/{POSTER}", event.jpeg))
                elif isinstance(event, _Event):
                    self._handle(event)
        finally:
            self._writes.put_nowait(None)

    def _begin(self, info: StreamInfo) -> None:
        self.renditions = list(info.renditions)
        self.live = LiveBroadcast(
            run=self.run,
            renditions=[r.name for r in info.renditions],
            segment_duration=self.segment_duration,
            part_duration=self.part_duration,
            window=self.window,
            fps=info.fps,
        )
        for mark in self._early_marks:
            self.live.note(mark)
        self._early_marks = []
        self._listed = {r.name: deque() for r in info.renditions}
        self._recorded = {r.name: [] for r in info.renditions}
        self.started.set()

    def _handle(self, event: _Event) -> None:
        assert self.live is not None
        name, item = event.rendition, event.item
        if isinstance(item, InitSegment):
            self.inits[name] = item
            self._writes.put_nowait((self.prefix(name) + INIT, item.data))
            if len(self.inits) == len(self.renditions):
                self._writes.put_nowait((master_key(self.stream_id), self._master().encode()))
        elif isinstance(item, Part):
            self.live.publish_part(name, item)
            if self.latency is not None and item.received_at:
                self.latency.record(f"part:{name}", time.monotonic() - item.received_at)
            if self._part_watchers:
                self._parts_reached(name, item.start + item.duration)
        elif isinstance(item, Segment):
            for uri in self.live.publish_segment(name, item):
                self._expired.append(self.prefix(name) + uri)
            listed = self._listed[name]
            entry = SegmentEntry(item.sequence, item.duration, segment_name(item.sequence))
            listed.append(entry)
            if self.recording:
                self._recorded[name].append(entry)
            if name == self.renditions[0].name:
                self.duration += item.duration
            while len(listed) > self.window:
                listed.popleft()
            self._writes.put_nowait((self.prefix(name) + segment_name(item.sequence), item.data))
            self._writes.put_nowait((self.prefix(name) + PLAYLIST, self._stored_playlist(name)))
            while len(self._expired) > self.retention * max(1, len(self.renditions)):
                expired = self._expired.popleft()
                if not self.recording:  # a recording keeps every segment for its VOD
                    self._writes.put_nowait((expired, None))

    def _parts_reached(self, name: str, end: float) -> None:
        now = time.monotonic()
        keep = []
        for t, pending, fut in self._part_watchers:
            if not pending:  # registered before the renditions were known
                pending.update(r.name for r in self.renditions)
            if end > t + 1e-6:
                pending.discard(name)
            if not pending and not fut.done():
                fut.set_result(now)
            elif not fut.done():
                keep.append((t, pending, fut))
        self._part_watchers = keep

    def _finish(self) -> None:
        self.ended = True
        for _, _, fut in self._part_watchers:
            if not fut.done():
                fut.set_result(float("nan"))
        self._part_watchers = []
        if self.live is not None:
            self.live.end()
        for name in self._listed:
            if name in self.inits:
                self._writes.put_nowait((self.prefix(name) + PLAYLIST, self._stored_playlist(name)))
        if self.recording and self.inits:
            for name, entries in self._recorded.items():
                vod = render_media_playlist(
                    entries,
                    init_uri=INIT,
                    segment_duration=self.segment_duration,
                    ended=True,
                    first_segment_time=self.live.started_at if self.live else None,
                    dateranges=[daterange_of(m) for m in self.live.timeline.within()]
                    if self.live
                    else (),
                )
                self._writes.put_nowait((self.prefix(name) + VOD, vod.encode()))
            master = self._master().replace(f"{self.run}/", "").replace(PLAYLIST, VOD)
            self._writes.put_nowait((f"{self.stream_id}/{self.run}/{VOD}", master.encode()))

    def _stored_playlist(self, name: str) -> bytes:
        """The playlist kept in storage: plain HLS (no parts), for after the broadcast."""
        return render_media_playlist(
            list(self._listed[name]),
            init_uri=INIT,
            segment_duration=self.segment_duration,
            ended=self.ended,
        ).encode()

    def master_playlist(self) -> str | None:
        """The master playlist, from memory (None until every rendition's init exists)."""
        if not self.renditions or len(self.inits) < len(self.renditions):
            return None
        if self._master_text is None:
            self._master_text = self._master()
        return self._master_text

    def _master(self) -> str:
        audio = self.audio_bitrate
        variants = [
            Variant(
                uri=f"{self.run}/{r.name}/{PLAYLIST}",
                # Peak: the VBV maxrate (1.2x) plus audio and ~5% container overhead.
                bandwidth=int((r.bitrate * 1.2 + audio) * 1.05),
                average_bandwidth=int((r.bitrate + audio) * 1.05),
                width=r.width,
                height=r.height,
                codecs=self.inits[r.name].codecs,
                frame_rate=float(r.fps),
            )
            for r in self.renditions
        ]
        return render_master_playlist(variants)

    async def _storage_loop(self) -> None:
        while True:
            job = await self._writes.get()
            if job is None:
                return
            key, data = job
            try:
                if data is None:
                    await self.storage.delete(key)
                    continue
                ext = key[key.rfind(".") :]
                cache = {".m3u8": PLAYLIST_CACHE, ".jpg": POSTER_CACHE}.get(ext, SEGMENT_CACHE)
                await self.storage.put(key, data, CONTENT_TYPES[ext], cache)
                if ext == ".m4s" and self.live is not None:
                    name, seg = key.rsplit("/", 2)[-2:]
                    self.live.mark_stored(name, int(seg[3:-4]))
                    self.segments_written += 1
            except Exception:
                # A storage hiccup loses one object, not the broadcast.
                log.exception("hls write failed", extra={"stream_id": self.stream_id, "key": key})
