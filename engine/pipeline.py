"""The owner of one live stream's media: decoded frames in, encoded packets out.

``StreamPipeline`` holds the reader tasks (one per received track, on the event loop) and one
encoder thread. Readers only stamp arrival times and enqueue; the thread normalizes, places
frames on the timeline, fills gaps, encodes and hands packets to the consumers (the HLS
packager; later WebRTC egress). Nothing CPU-heavy runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from engine.encoder import (
    AudioEncoder,
    EncodedPacket,
    OpusEncoder,
    VideoEncoder,
    VideoSettings,
    black_frame,
    rungs_for_source,
)
from engine.normalize import FrameNormalizer
from engine.poster import PosterMaker
from engine.timeline import AudioTimeline, TrackClock, VideoGrid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamInfo:
    """What consumers need to know before the first packet."""

    renditions: list[VideoSettings]  # the rungs encoded for this stream, tallest first
    fps: int
    audio_sample_rate: int
    audio_channels: int
    audio_specific_config: bytes


class PacketConsumer(Protocol):
    """Receives a stream's encoded packets. ``on_*`` run in the encoder thread, in order."""

    def on_start(self, info: StreamInfo) -> None: ...

    def on_packet(self, packet: EncodedPacket) -> None: ...

    def on_end(self) -> None: ...

    async def drain(self) -> None:
        """Wait (on the event loop) until everything handed over has been dealt with."""
        ...


@dataclass
class PipelineStats:
    video_frames_in: int = 0
    video_frames_dropped: int = 0  # backlog or duplicate-slot drops
    video_slots_filled: int = 0  # slots encoded from a repeated/black frame
    audio_frames_in: int = 0
    audio_samples_filled: int = 0
    resolution_changes: int = 0
    input_sizes: list[tuple[int, int]] = field(default_factory=list)
    renditions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Item:
    kind: Literal["video", "audio"]
    frame: av.VideoFrame | av.AudioFrame
    arrival: float  # seconds since the stream's origin


_STOP = object()


class StreamPipeline:
    """One live stream's media pipeline. Create, ``attach`` tracks, ``start``, later ``stop``."""

    def __init__(
        self,
        stream_id: str,
        ladder: list[VideoSettings],
        consumers: list[PacketConsumer],
        *,
        audio_bitrate: int = 128_000,
        gap_fill_after: float = 0.5,
        max_queued_seconds: float = 2.0,
        poster_sink: Callable[[bytes], None] | None = None,
    ) -> None:
        self.stream_id = stream_id
        if not ladder:
            raise ValueError("a pipeline needs at least one rendition")
        self.ladder = ladder
        self.consumers = consumers
        self.audio_bitrate = audio_bitrate
        self.gap_fill_after = gap_fill_after
        self.poster_sink = poster_sink  # called in the encoder thread with JPEG bytes
        self.stats = PipelineStats()
        self._queue: queue.Queue[_Item | object] = queue.Queue()
        # Items of each kind enqueued and not yet taken by the encoder thread: a track is only
        # gap-filled when none of its own media is waiting (the other track may be backlogged).
        self._waiting = {"video": 0, "audio": 0}
        # Stream time each track last arrived at the reader (dropped frames count: a track that
        # arrives but is dropped because the encoder is behind is not missing, and filling it
        # would only add encoding work to an overloaded thread).
        self._last_arrival = {"video": float("-inf"), "audio": float("-inf")}
        self._waiting_lock = threading.Lock()
        self._max_queued = int(max_queued_seconds * (ladder[0].fps + 50))
        self._origin: float | None = None  # monotonic time of the first media
        self.last_media_at: float | None = None  # monotonic; liveness for the ingest watchdog
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(
            target=self._run, name=f"encoder-{stream_id[:8]}", daemon=True
        )
        self._stopped = False
        self.error: BaseException | None = None

    # --- event loop side -------------------------------------------------------------

    def attach(self, track: MediaStreamTrack) -> None:
        """Start reading a received track (audio or video)."""
        task = asyncio.get_running_loop().create_task(
            self._read(track), name=f"read-{track.kind}-{self.stream_id[:8]}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        """Stop reading, flush the encoders, and wait for the consumers to finish. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._thread.is_alive() or not self._thread.ident:
            self._queue.put(_STOP)
            if self._thread.ident:
                await asyncio.to_thread(self._thread.join)
        for consumer in self.consumers:
            await consumer.drain()

    async def _read(self, track: MediaStreamTrack) -> None:
        kind: Literal["video", "audio"] = "video" if track.kind == "video" else "audio"
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                log.info("track ended", extra={"stream_id": self.stream_id, "kind": kind})
                return
            now = time.monotonic()
            if self._origin is None:
                self._origin = now
            self.last_media_at = now
            if kind == "video":
                self.stats.video_frames_in += 1
                if self._queue.qsize() > self._max_queued:
                    # The encoder is behind: dropping video keeps latency bounded; audio is
                    # never dropped (a gap would be audible).
                    self.stats.video_frames_dropped += 1
                    self._last_arrival["video"] = now - self._origin
                    continue
            else:
                self.stats.audio_frames_in += 1
            with self._waiting_lock:
                self._waiting[kind] += 1
                self._last_arrival[kind] = now - self._origin
            self._queue.put(_Item(kind, frame, now - self._origin))

    # --- encoder thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            _EncoderLoop(self).run()
        except BaseException as exc:  # noqa: BLE001 - reported to the owner, never lost
            self.error = exc
            log.exception("encoder thread failed", extra={"stream_id": self.stream_id})

    def _now(self) -> float | None:
        return None if self._origin is None else time.monotonic() - self._origin


class _EncoderLoop:
    """State that lives only in the encoder thread."""

    def __init__(self, pipeline: StreamPipeline) -> None:
        self.p = pipeline
        self.fps = pipeline.ladder[0].fps
        # One Opus encode for WebRTC viewers, fed the AAC encoder's PCM (filled gaps included).
        self.audio = AudioEncoder(bitrate=pipeline.audio_bitrate, followers=[OpusEncoder()])
        self.grid = VideoGrid(self.fps)
        self.timeline = AudioTimeline(self.audio.sample_rate)
        self.video_clock = TrackClock()
        self.audio_clock = TrackClock()
        # Decided when the source's size is known (first video frame), or when video is given
        # up on (audio-only publisher): until then audio waits in ``pending_audio``.
        self.encoders: list[VideoEncoder] = []
        self.normalizer: FrameNormalizer | None = None
        self.previous: list[av.VideoFrame] = []  # last frame of each rung, for repeats
        self.pending_audio: list[_Item] = []
        self.last_size: tuple[int, int] | None = None
        self.poster = PosterMaker()

    def run(self) -> None:
        q = self.p._queue
        while True:
            try:
                item = q.get(timeout=0.05)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if isinstance(item, _Item):
                with self.p._waiting_lock:
                    self.p._waiting[item.kind] -= 1
                if item.kind == "video":
                    self._video(item)
                elif not self.encoders:
                    self.pending_audio.append(item)
                else:
                    self._audio(item)
            self._fill()
        if self.encoders:
            for enc in self.encoders:
                self._emit(enc.flush())
            self._emit(self.audio.flush())
        for c in self.p.consumers:
            c.on_end()

    def _start(self, source_height: int | None) -> None:
        """Choose the rungs for this source, open their encoders and tell the consumers."""
        rungs = rungs_for_source(self.p.ladder, source_height)
        self.encoders = [VideoEncoder(r) for r in rungs]
        top = rungs[0]
        self.normalizer = FrameNormalizer(top.width, top.height)
        self.previous = [black_frame(r.width, r.height) for r in rungs]
        self.p.stats.renditions = [r.name for r in rungs]
        info = StreamInfo(
            renditions=rungs,
            fps=self.fps,
            audio_sample_rate=self.audio.sample_rate,
            audio_channels=self.audio.channels,
            audio_specific_config=self.audio.audio_specific_config,
        )
        for c in self.p.consumers:
            c.on_start(info)
        pending, self.pending_audio = self.pending_audio, []
        for item in pending:
            self._audio(item)

    def _emit(self, packets: list[EncodedPacket]) -> None:
        for packet in packets:
            for c in self.p.consumers:
                c.on_packet(packet)

    def _encode_slot(self, frames: list[av.VideoFrame], slot: int) -> None:
        for enc, frame in zip(self.encoders, frames, strict=True):
            self._emit(enc.encode(frame, slot))

    def _repeat_slots(self, first: int, count: int) -> None:
        for slot in range(first, first + count):
            self._encode_slot(self.previous, slot)
        self.p.stats.video_slots_filled += count

    def _video(self, item: _Item) -> None:
        frame = item.frame
        assert isinstance(frame, av.VideoFrame)
        size = (frame.width, frame.height)
        if size != self.last_size:
            if self.last_size is not None:
                self.p.stats.resolution_changes += 1
            self.p.stats.input_sizes.append(size)
            self.last_size = size
        if not self.encoders:
            self._start(frame.height)
        media_time = float(frame.pts * frame.time_base) if frame.pts is not None else item.arrival
        t = self.video_clock.to_timeline(media_time, item.arrival)
        if self.grid.slot_of(t) < self.grid.next_slot - self.grid.fps // 3:
            # Far behind what was already emitted (filled during a stall, or the sender's clock
            # jumped): follow arrival time again instead of dropping every frame from now on.
            self.video_clock.reanchor()
            t = self.video_clock.to_timeline(media_time, item.arrival)
        placement = self.grid.place(t)
        if not placement.emit:
            self.p.stats.video_frames_dropped += 1
            return
        if placement.repeat_previous:
            # place() already advanced next_slot past the repeats and this frame.
            self._repeat_slots(
                placement.slot - placement.repeat_previous, placement.repeat_previous
            )
        assert self.normalizer is not None
        top = self.normalizer.normalize(frame)
        # Lower rungs scale from the normalized top frame; reformat() returns new frames, so no
        # encoder ever sees another's frame object.
        frames = [top] + [
            top.reformat(width=e.settings.width, height=e.settings.height, format="yuv420p")
            for e in self.encoders[1:]
        ]
        self._encode_slot(frames, placement.slot)
        self.previous = frames
        slot_time = self.grid.time_of(placement.slot)
        if self.p.poster_sink is not None and self.poster.due(slot_time):
            self.p.poster_sink(self.poster.make(top, slot_time))

    def _audio(self, item: _Item) -> None:
        frame = item.frame
        assert isinstance(frame, av.AudioFrame)
        if frame.pts is not None and frame.sample_rate:
            media_time = frame.pts / frame.sample_rate
        else:
            media_time = item.arrival
        t = self.audio_clock.to_timeline(media_time, item.arrival)
        if t < self.timeline.duration - 0.3:
            self.audio_clock.reanchor()
            t = self.audio_clock.to_timeline(media_time, item.arrival)
        placement = self.timeline.place(t, frame.samples)
        if placement.silence_before:
            self._emit(self.audio.silence(placement.silence_before))
            self.p.stats.audio_samples_filled += placement.silence_before
        self._emit(self.audio.encode(frame, skip=placement.skip))

    def _fill(self) -> None:
        now = self.p._now()
        if now is None or self.p._stopped:
            # Stopping: the media still queued is the end. Filling up to the wall clock while
            # draining a backlog never converges when encoding is slower than real time.
            return
        until = now - self.p.gap_fill_after
        if until <= 0:
            return
        with self.p._waiting_lock:
            # A track is missing only if none of it is queued and none arrived lately.
            video_waiting = self.p._waiting["video"] or (
                now - self.p._last_arrival["video"] < self.p.gap_fill_after
            )
            audio_waiting = self.p._waiting["audio"] or (
                now - self.p._last_arrival["audio"] < self.p.gap_fill_after
            )
        if not self.encoders:
            if video_waiting:
                return
            self._start(None)  # no video after the grace period: an audio-only publisher
        # Queued frames of a track may still cover its gap: only fill a track with none waiting.
        count = 0 if video_waiting else self.grid.fill_until(until)
        if count:
            self._repeat_slots(self.grid.next_slot - count, count)
        silence = 0 if audio_waiting else self.timeline.fill_until(until)
        if silence:
            self._emit(self.audio.silence(silence))
            self.p.stats.audio_samples_filled += silence
