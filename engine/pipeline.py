"""The owner of one live stream's media: decoded frames in, encoded packets out.

``StreamPipeline`` holds the reader tasks (one per received track, on the event loop) and one
encoder thread. Readers only stamp arrival times and hand frames over; the thread normalizes,
places frames on the timeline, fills gaps, encodes and hands packets to the consumers (the HLS
packager and WebRTC egress). Nothing CPU-heavy runs on the event loop.

Latency never piles up here: readers hand frames to the thread through two bounded
:class:`~engine.backlog.Backlog` s that drop the oldest (video keeps the newest one or two
frames, audio half a second), and the thread encodes whatever is newest, leaving holes in the
output rather than catching up. When it cannot keep the ladder in real time, it sheds work in
the order ``engine.shedding`` writes down; ``engine.latency`` records where each frame's time
went and what each stage dropped.

Per-frame hooks (``engine.hooks``: moderation sampling, the visible watermark) see each live
picture in the encoder thread before it is encoded. :meth:`StreamPipeline.freeze` puts every
rendition on the slate (``engine.slate``) until :meth:`StreamPipeline.unfreeze`; commands like
it reach the encoder thread through a small locked list it reads between frames, and the
awaitable they return completes only once the thread has applied them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.reformatter import VideoReformatter

from engine.backlog import Backlog
from engine.encoder import (
    AudioEncoder,
    EncodedPacket,
    OpusEncoder,
    VideoEncoder,
    VideoSettings,
    black_frame,
    rungs_for_source,
)
from engine.hooks import FrameContext, FrameHook, run_hooks
from engine.latency import ReceiveStamps, StageLatency
from engine.normalize import FrameNormalizer
from engine.poster import PosterMaker, jpeg
from engine.shedding import STEPS, ShedPolicy, boundary_between, encodes, is_boundary
from engine.slate import TEXT as SLATE_TEXT
from engine.slate import slate_frame
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
    video_frames_dropped: int = 0  # backlog, duplicate-slot or shed (every rung) drops
    video_frames_shed: int = 0  # of which the shedding step skipped in every rung
    video_slots_skipped: int = 0  # output slots left empty (no frame was taken for them)
    audio_frames_dropped: int = 0  # the audio backlog overflowed
    video_slots_filled: int = 0  # slots encoded from a repeated/black frame
    audio_frames_in: int = 0
    audio_samples_filled: int = 0
    resolution_changes: int = 0
    input_sizes: list[tuple[int, int]] = field(default_factory=list)
    renditions: list[str] = field(default_factory=list)
    slate_slots: int = 0  # slots encoded from the slate (frozen)
    shed_step: int = 0  # engine.shedding.STEPS index in force
    # Per rendition: frames encoded and the encoder thread's seconds spent on them (/metrics).
    frames_encoded: dict[str, int] = field(default_factory=dict)
    encode_seconds: dict[str, float] = field(default_factory=dict)
    bytes_encoded: dict[str, int] = field(default_factory=dict)  # video bytes out (bitrate)


@dataclass(frozen=True)
class FreezeResult:
    """What :meth:`StreamPipeline.freeze` did, once the encoder thread applied it."""

    reason: str
    slot: int | None  # the first slot encoded from the slate; None before any video
    time: float | None  # stream time of that slot, seconds
    requested_at: float  # time.monotonic() of the call
    applied_at: float  # time.monotonic() when the encoder thread switched to the slate
    snapshot: bytes | None  # JPEG of the last live picture viewers got (evidence); None if none
    already_frozen: bool = False


@dataclass
class _Command:
    name: Literal["freeze", "unfreeze", "explicit"]
    arg: object = None
    future: asyncio.Future[object] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    requested_at: float = 0.0


@dataclass(frozen=True)
class _Item:
    kind: Literal["video", "audio"]
    frame: av.VideoFrame | av.AudioFrame
    arrival: float  # seconds since the stream's origin
    received_at: float  # time.monotonic() when the reader got it


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
        video_start_grace: float = 3.0,
        video_backlog: int = 2,
        audio_backlog_seconds: float = 0.5,
        part_frames: int | None = None,
        poster_sink: Callable[[bytes], None] | None = None,
        hooks: Sequence[FrameHook] = (),
        slate_text: str = SLATE_TEXT,
        latency: StageLatency | None = None,
        shed_policy: ShedPolicy | None = None,
    ) -> None:
        """``video_backlog`` frames / ``audio_backlog_seconds`` may wait for the encoder thread
        (older ones are dropped); ``part_frames`` is the LL-HLS part length in output frames
        (default: one keyframe interval), the slots every rung always encodes."""
        self.stream_id = stream_id
        if not ladder:
            raise ValueError("a pipeline needs at least one rendition")
        self.ladder = ladder
        self.consumers = consumers
        self.audio_bitrate = audio_bitrate
        self.gap_fill_after = gap_fill_after
        # How long after the first media a publisher's first picture may take before the
        # broadcast starts as audio-only (top rung, black video). The ladder is chosen once,
        # from the first picture: on a loaded node a keyframe decoded 0.5 s after the audio
        # must not cost the broadcast its lower rungs.
        self.video_start_grace = max(video_start_grace, gap_fill_after)
        self.poster_sink = poster_sink  # called in the encoder thread with JPEG bytes
        self.hooks = list(hooks)  # run in the encoder thread on every live top frame
        self.slate_text = slate_text
        self.frozen_reason: str | None = None  # set on the loop once the thread applied it
        self.explicit = False  # posters are blurred (a public preview of explicit content)
        self._commands: list[_Command] = []
        self._commands_lock = threading.Lock()
        self.stats = PipelineStats()
        self.latency = latency if latency is not None else StageLatency()
        self.shed_policy = shed_policy if shed_policy is not None else ShedPolicy()
        self.part_frames = part_frames or ladder[0].keyint
        # The hand-over to the encoder thread: bounded, dropping the oldest (engine.backlog).
        self._wake = threading.Event()
        self.video_in: Backlog[_Item] = Backlog(video_backlog, name="video", on_put=self._wake.set)
        audio_items = max(1, round(audio_backlog_seconds / 0.02))  # 20 ms WebRTC audio frames
        self.audio_in: Backlog[_Item] = Backlog(audio_items, name="audio", on_put=self._wake.set)
        self._stop_requested = False
        # Stream time each track last arrived at the reader (dropped frames count: a track that
        # arrives but is dropped because the encoder is behind is not missing, and filling it
        # would only add encoding work to an overloaded thread).
        self._last_arrival = {"video": float("-inf"), "audio": float("-inf")}
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

    def waiting(self) -> int:
        """Frames (audio and video) waiting for the encoder thread."""
        return len(self.video_in) + len(self.audio_in)

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
        self._stop_requested = True  # the thread encodes what is still waiting, then ends
        self._wake.set()
        if self._thread.ident:
            await asyncio.to_thread(self._thread.join)
        for consumer in self.consumers:
            await consumer.drain()

    async def freeze(self, reason: str) -> FreezeResult:
        """Show the slate in every rendition instead of the live picture, from the next frame.

        When this returns, the encoder thread has switched: no live frame is encoded after it
        (a frame being encoded at the call finishes first). The switch is a keyframe in every
        rung, so a WebRTC viewer who joins later starts from the slate. Posters show the slate
        at once. Freezing a frozen stream keeps the first reason and reports ``already_frozen``.
        """
        result = await self._command("freeze", reason)
        assert isinstance(result, FreezeResult)
        return result

    async def unfreeze(self) -> float | None:
        """Back to the live picture from the next frame (again starting with a keyframe).

        Returns the stream time from which frames are live again (None before any video).
        """
        resumed = await self._command("unfreeze")
        assert resumed is None or isinstance(resumed, float)
        return resumed

    async def set_explicit(self, explicit: bool) -> None:
        """Blur (or stop blurring) posters; a fresh poster is made from the next frame."""
        await self._command("explicit", explicit)

    async def _command(
        self, name: Literal["freeze", "unfreeze", "explicit"], arg: object = None
    ) -> object:
        loop = asyncio.get_running_loop()
        cmd = _Command(name, arg, loop.create_future(), loop, time.monotonic())
        with self._commands_lock:
            self._commands.append(cmd)
        if not self._thread.is_alive():
            # Not started yet: the thread applies it before its first frame. Ended: nothing
            # more is encoded at all. Either way the promise already holds.
            with self._commands_lock:
                if cmd in self._commands:
                    self._commands.remove(cmd)
                    _apply_idle(self, cmd)
        assert cmd.future is not None
        return await cmd.future

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
            self._last_arrival[kind] = now - self._origin
            item = _Item(kind, frame, now - self._origin, now)  # type: ignore[arg-type]  # a receiver track yields decoded frames, never packets
            if kind == "video":
                self.stats.video_frames_in += 1
                stamps = getattr(frame, "opaque", None)
                if isinstance(stamps, ReceiveStamps):  # set by ingest.receiver
                    if stamps.assembled_at is not None:
                        self.latency.record("decode", stamps.decoded_at - stamps.assembled_at)
                    self.latency.record("deliver", now - stamps.decoded_at)
                if self.video_in.put(item) is not None:
                    # The encoder is behind: the oldest waiting frame goes, never the newest.
                    self.stats.video_frames_dropped += 1
                    self.latency.drop("backlog")
            else:
                self.stats.audio_frames_in += 1
                if self.audio_in.put(item) is not None:
                    self.stats.audio_frames_dropped += 1

    # --- encoder thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            _EncoderLoop(self).run()
        except BaseException as exc:  # noqa: BLE001 - reported to the owner, never lost
            self.error = exc
            log.exception("encoder thread failed", extra={"stream_id": self.stream_id})
            for c in self.consumers:  # they end too: their drain() must not wait forever
                with contextlib.suppress(Exception):
                    c.on_end()
        finally:
            # Nothing is encoded any more: whatever was asked is trivially true now.
            with self._commands_lock:
                pending, self._commands = self._commands, []
            for cmd in pending:
                _apply_idle(self, cmd)

    def _now(self) -> float | None:
        return None if self._origin is None else time.monotonic() - self._origin


def _resolve(cmd: _Command, value: object, then: Callable[[], None] | None = None) -> None:
    """Run ``then`` and complete a command's future, on its loop (callable from any thread)."""

    def done() -> None:
        if then is not None:
            then()
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(value)

    assert cmd.loop is not None
    cmd.loop.call_soon_threadsafe(done)


def _apply_idle(pipeline: StreamPipeline, cmd: _Command) -> None:
    """Apply a command while no encoder thread runs (before it starts or after it ended)."""
    now = time.monotonic()
    if cmd.name == "freeze":
        already = pipeline.frozen_reason is not None
        if not already:
            pipeline.frozen_reason = str(cmd.arg)
        _resolve(cmd, FreezeResult(str(cmd.arg), None, None, cmd.requested_at, now, None, already))
    elif cmd.name == "unfreeze":
        pipeline.frozen_reason = None
        _resolve(cmd, None)
    else:
        pipeline.explicit = bool(cmd.arg)
        _resolve(cmd, None)


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
        # One reformatter per lower rung: it keeps its swscale context (filter coefficients)
        # from frame to frame, where frame.reformat() builds a new one each call (2.2x the CPU).
        self.scalers: list[VideoReformatter] = []
        self.previous: list[av.VideoFrame] = []  # last frame of each rung, for repeats
        self.pending_audio: list[_Item] = []
        self.last_size: tuple[int, int] | None = None
        self.poster = PosterMaker()
        # Read once here; later changes arrive as commands (see StreamPipeline._command).
        self.frozen = pipeline.frozen_reason is not None
        self.explicit = pipeline.explicit
        self.slates: list[av.VideoFrame] = []  # one per rung, made when first needed
        self.force_keyframe = False  # the next slot is a keyframe in every rung
        self.last_live: av.VideoFrame | None = None  # the top picture viewers last got
        self.step = 0  # engine.shedding step in force
        self.skipped: list[int] = []  # per rung: slots the shedding step left out
        # The shedding policy's window: seconds spent working since it started.
        self.window_start = time.perf_counter()
        self.busy = 0.0
        self.logged_at = time.monotonic()

    def run(self) -> None:
        p = self.p
        while True:
            item = self._take()
            if item is None:
                if p._stop_requested:
                    break
                p._wake.wait(0.05)
                p._wake.clear()
                item = self._take()
            if p._commands:  # unlocked peek: a list's truth value is atomic enough here
                self._commands()
            started = time.perf_counter()
            if item is not None:
                if item.kind == "video":
                    self._video(item)
                elif not self.encoders:
                    self.pending_audio.append(item)
                else:
                    self._audio(item)
            self._fill()
            self.busy += time.perf_counter() - started
            self._observe_load()
        if self.encoders:
            for enc in self.encoders:
                self._emit(enc.flush())
            self._emit(self.audio.flush())
        for c in p.consumers:
            c.on_end()
        log.info(
            "engine summary",
            extra={
                "stream_id": p.stream_id,
                "stages": p.latency.summary(),
                "dropped": dict(p.latency.dropped),
                "shedding": list(p.latency.events),
                "video_frames_in": p.stats.video_frames_in,
                "video_frames_dropped": p.stats.video_frames_dropped,
            },
        )

    def _take(self) -> _Item | None:
        """The older of the two backlogs' heads (media is encoded in arrival order)."""
        video, audio = self.p.video_in.peek(), self.p.audio_in.peek()
        if video is None and audio is None:
            return None
        if audio is None or (video is not None and video.received_at <= audio.received_at):
            item = self.p.video_in.get()
            if item is not None:
                self.p.latency.record("backlog", time.monotonic() - item.received_at)
            return item
        return self.p.audio_in.get()

    def _observe_load(self) -> None:
        """Once a second: feed the shedding policy; every 5 s: log where the time went."""
        now = time.perf_counter()
        elapsed = now - self.window_start
        if elapsed < 1.0:
            return
        p = self.p
        change = p.shed_policy.observe(self.busy, elapsed)
        self.window_start, self.busy = now, 0.0
        if change is not None:
            self.step = p.stats.shed_step = change.step
            direction = "up" if change.step > change.previous else "down"
            p.latency.event(f"{direction}:{change.step}:{change.name}")
            log.info(
                "load shedding step",
                extra={
                    "stream_id": p.stream_id,
                    "step": change.step,
                    "step_name": change.name,
                    "previous": STEPS[change.previous],
                    "utilization": round(change.utilization, 2),
                },
            )
        if time.monotonic() - self.logged_at >= 5.0:
            self.logged_at = time.monotonic()
            log.info(
                "engine stages",
                extra={
                    "stream_id": p.stream_id,
                    "stages": p.latency.take_recent(),
                    "dropped": dict(p.latency.dropped),
                    "shed_step": self.step,
                    "video_frames_in": p.stats.video_frames_in,
                },
            )

    def _start(self, source_height: int | None) -> None:
        """Choose the rungs for this source, open their encoders and tell the consumers."""
        rungs = rungs_for_source(self.p.ladder, source_height)
        self.encoders = [VideoEncoder(r) for r in rungs]
        self.skipped = [0] * len(rungs)
        self.scalers = [VideoReformatter() for _ in rungs[1:]]
        top = rungs[0]
        self.normalizer = FrameNormalizer(top.width, top.height)
        if self.frozen:
            self.previous = self._slates()
        else:
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

    def _due(self, slot: int) -> list[bool]:
        """Which rungs encode ``slot`` at the shedding step in force (engine.shedding)."""
        boundary = self.force_keyframe or is_boundary(
            slot, self.p.part_frames, self.encoders[0].settings.keyint
        )
        n = len(self.encoders)
        return [encodes(self.step, i, n, slot, boundary=boundary) for i in range(n)]

    def _encode_slot(
        self,
        frames: list[av.VideoFrame],
        slot: int,
        due: list[bool] | None = None,
        received_at: float = 0.0,
    ) -> None:
        force, self.force_keyframe = self.force_keyframe, False
        stats = self.p.stats
        for i, (enc, frame) in enumerate(zip(self.encoders, frames, strict=True)):
            if due is not None and not due[i]:
                self.skipped[i] += 1
                continue
            started = time.perf_counter()
            packets = enc.encode(frame, slot, force_keyframe=force, received_at=received_at)
            name = enc.settings.name
            stats.encode_seconds[name] = stats.encode_seconds.get(name, 0.0) + (
                time.perf_counter() - started
            )
            stats.frames_encoded[name] = stats.frames_encoded.get(name, 0) + 1
            stats.bytes_encoded[name] = stats.bytes_encoded.get(name, 0) + sum(
                len(p.data) for p in packets
            )
            self._emit(packets)
            if received_at:
                self.p.latency.record(f"encode:{enc.settings.name}", time.monotonic() - received_at)
        if self.frozen:
            self.p.stats.slate_slots += 1

    def _repeat_slots(self, first: int, count: int) -> None:
        for slot in range(first, first + count):
            self._encode_slot(self.previous, slot, self._due(slot))
        self.p.stats.video_slots_filled += count

    # --- commands from the event loop (freeze, unfreeze, explicit) -------------------------

    def _slates(self) -> list[av.VideoFrame]:
        if not self.slates:
            self.slates = [
                slate_frame(e.settings.width, e.settings.height, self.p.slate_text)
                for e in self.encoders
            ]
        return self.slates

    def _commands(self) -> None:
        with self.p._commands_lock:
            commands, self.p._commands = self.p._commands, []
        for cmd in commands:
            p = self.p
            if cmd.name == "freeze":
                result = self._freeze(cmd)
                if not result.already_frozen:
                    _resolve(cmd, result, partial(setattr, p, "frozen_reason", result.reason))
                else:
                    _resolve(cmd, result)
            elif cmd.name == "unfreeze":
                if self.frozen:
                    self.frozen = False
                    self.force_keyframe = True
                    self.poster.refresh()
                resumed = self.grid.time_of(self.grid.next_slot) if self.encoders else None
                _resolve(cmd, resumed, partial(setattr, p, "frozen_reason", None))
            else:
                self.explicit = bool(cmd.arg)
                self.poster.refresh()
                if self.explicit and not self.frozen and self.last_live is not None:
                    # Replace the served poster now, from the last live picture: the next frame
                    # may never come (the broadcast can end), and the poster in place may show
                    # the content that got the stream marked.
                    self._poster_now(self.last_live)
                _resolve(cmd, None, partial(setattr, p, "explicit", self.explicit))

    def _poster_now(self, frame: av.VideoFrame) -> None:
        if self.p.poster_sink is not None and self.encoders:
            t = self.grid.time_of(self.grid.next_slot)
            self.p.poster_sink(self.poster.make(frame, t, blur=self.explicit))

    def _freeze(self, cmd: _Command) -> FreezeResult:
        if self.frozen:
            return FreezeResult(
                str(cmd.arg), None, None, cmd.requested_at, time.monotonic(), None, True
            )
        self.frozen = True
        self.force_keyframe = True
        applied_at = time.monotonic()
        slot: int | None = None
        t: float | None = None
        if self.encoders:
            self.previous = self._slates()
            slot = self.grid.next_slot
            t = self.grid.time_of(slot)
            if self.p.poster_sink is not None:
                self.p.poster_sink(self.poster.make(self.slates[0], t))
        snapshot = None
        if self.last_live is not None:
            snapshot = jpeg(self.last_live, self.last_live.width, self.last_live.height, 3)
        self.last_live = None
        return FreezeResult(str(cmd.arg), slot, t, cmd.requested_at, applied_at, snapshot)

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
        media_time = (
            float(frame.pts * frame.time_base)
            if frame.pts is not None and frame.time_base is not None
            else item.arrival
        )
        t = self.video_clock.to_timeline(media_time, item.arrival)
        if self.grid.slot_of(t) < self.grid.next_slot - self.grid.fps // 3:
            # Far behind what was already emitted (filled during a stall, or the sender's clock
            # jumped): follow arrival time again instead of dropping every frame from now on.
            self.video_clock.reanchor()
            t = self.video_clock.to_timeline(media_time, item.arrival)
        first_free = self.grid.next_slot
        placement = self.grid.place(t)
        if not placement.emit:
            self.p.stats.video_frames_dropped += 1
            return
        slot = placement.slot
        if slot > first_free:
            # Slots no frame was taken for (the backlog kept only the newest, or the publisher
            # skipped some): left empty, the previous frame lasts longer. A hole across a part
            # boundary would leave a part without a frame of its own: this frame takes the
            # boundary instead (it is the newest there is, a few slots early).
            boundary = boundary_between(
                first_free, slot, self.p.part_frames, self.encoders[0].settings.keyint
            )
            if boundary is not None:
                slot = boundary
                self.grid.next_slot = slot + 1
            self.p.stats.video_slots_skipped += slot - first_free
        due = self._due(slot)
        if not any(due):
            # Shed in every rung: not even normalized.
            self.p.stats.video_frames_dropped += 1
            self.p.stats.video_frames_shed += 1
            self.p.latency.drop("shed")
            return
        slot_time = self.grid.time_of(slot)
        if self.frozen:
            # The live picture is not even looked at: the slate stands in for it everywhere.
            frames = self._slates()
        else:
            assert self.normalizer is not None
            top = self.normalizer.normalize(frame)
            if self.p.hooks:
                ctx = FrameContext(
                    self.p.stream_id, slot, slot_time, item.received_at, top is not frame
                )
                top = run_hooks(self.p.hooks, top, ctx)
            # Lower rungs scale from the normalized top frame; reformat() returns new frames,
            # so no encoder ever sees another's frame object. A rung the shedding step leaves
            # out this slot is not even scaled.
            frames = [top] + [
                scaler.reformat(
                    top, width=e.settings.width, height=e.settings.height, format="yuv420p"
                )
                if due[i + 1]
                else self.previous[i + 1]
                for i, (scaler, e) in enumerate(zip(self.scalers, self.encoders[1:], strict=True))
            ]
            self.last_live = top
        self._encode_slot(frames, slot, due, item.received_at)
        self.previous = frames
        if self.p.poster_sink is not None and self.poster.due(slot_time):
            blur = self.explicit and not self.frozen
            self.p.poster_sink(self.poster.make(frames[0], slot_time, blur=blur))

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
        # A track is missing only if none of it waits and none arrived lately.
        video_waiting = len(self.p.video_in) > 0 or (
            now - self.p._last_arrival["video"] < self.p.gap_fill_after
        )
        audio_waiting = len(self.p.audio_in) > 0 or (
            now - self.p._last_arrival["audio"] < self.p.gap_fill_after
        )
        if not self.encoders:
            if video_waiting or now < self.p.video_start_grace:
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
