"""Bounds on aiortc's receiving queues, so a slow decoder or reader drops media, never delays it.

aiortc's ``RTCRtpReceiver`` (1.16) hands complete encoded frames to its decoder thread through
an unbounded ``queue.Queue`` and the decoded frames to the track through an unbounded
``asyncio.Queue``; behind a busy CPU both grow without limit, and every frame waiting in them is
latency. :func:`bound_receiver` swaps both for subclasses of the same types that keep a few
frames only:

* encoded video: bounded by age (``VIDEO_MAX_AGE``; a burst of fresh frames is fine) and by
  count (``VIDEO_ENCODED``). Past the bound, everything before the newest waiting keyframe is
  dropped; with no keyframe to resume from, all that waits is dropped, a keyframe is asked for
  (aiortc's own decoder-error flag: its next RTP packet sends a PLI) and nothing is decoded
  until one comes: delta frames without their references would only decode to garbage. Until
  the decoder thread took its first frame only the count applies (it may start late on a busy
  machine, and the stream's first keyframe must not be lost to that).
* encoded audio: drop the oldest (Opus frames decode independently).
* decoded frames: drop the oldest (video keeps the newest two, audio ``AUDIO_DECODED`` frames).

They are installed from the peer connection's ``track`` event, which aiortc emits before it
starts the receiver (``receive()`` starts the decoder thread with the queues it finds then).
This is the narrowest override aiortc allows: it touches two private attributes, and
:func:`bound_receiver` raises :class:`ReceiverInternalsChanged` if they are missing or the
decoder already runs, so an aiortc upgrade that moves them fails loudly (tests check that the
decoder thread really uses these queues).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc.rtcrtpreceiver import RTCRtpReceiver

from engine.latency import ReceiveStamps, StageLatency
from ingest.errors import ReceiverInternalsChanged

VIDEO_ENCODED = 30  # complete encoded video frames waiting for the decoder, at most
VIDEO_MAX_AGE = 0.25  # seconds the oldest of them may have waited
AUDIO_ENCODED = 10  # 20 ms Opus frames
VIDEO_DECODED = 2
AUDIO_DECODED = 10

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
_DECODER_ERROR = "_RTCRtpReceiver__decoder_error"


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame starts a picture decodable alone (unknown codecs: assume so)."""
    name = codec_name.upper()
    if name == "VP8":
        return bool(data) and not data[0] & 1  # frame tag: bit 0 clear on key frames
    if name == "H264":
        # Annex B as aiortc depayloads it: an IDR slice (5) or a sequence parameter set (7).
        i = data.find(b"\x00\x00\x01")
        while i >= 0:
            if i + 3 < len(data) and data[i + 3] & 0x1F in (5, 7):
                return True
            i = data.find(b"\x00\x00\x01", i + 3)
        return False
    return True


class _Stamped(tuple[Any, Any]):
    """What aiortc's decoder thread unpacks as ``(codec, encoded_frame)``, plus our stamps."""

    at: float  # when it was put
    key: bool  # a video keyframe


class BoundedDecodeQueue(queue.Queue[Any]):
    """aiortc's decoder input, bounded (see the module docstring). ``None`` (stop) always fits."""

    def __init__(
        self,
        kind: str,
        capacity: int,
        *,
        max_age: float = float("inf"),
        ask_keyframe: Callable[[], None] = lambda: None,
        latency: StageLatency | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.capacity = capacity
        self.max_age = max_age
        self.clock = clock
        self.ask_keyframe = ask_keyframe
        self.latency = latency
        self.dropped = 0
        self.high_water = 0
        self.awaiting_keyframe = False
        self.last_taken_at: float | None = None  # when the item the decoder took last was put

    # queue.Queue's documented extension points; called with its mutex held.
    def _put(self, item: Any) -> None:
        if item is None:
            self.queue.append(item)
            return
        now = self.clock()
        stamped = _Stamped(item)
        stamped.at = now
        codec, frame = item
        stamped.key = self.kind == "video" and is_keyframe(codec.name, frame.data)
        if self.awaiting_keyframe:
            if not stamped.key:
                self._dropped(1)
                return
            self.awaiting_keyframe = False
        waiting = [x for x in self.queue if x is not None]
        too_old = self.last_taken_at is not None and waiting and now - waiting[0].at > self.max_age
        if len(waiting) < self.capacity and not too_old:
            self._append(stamped)
        elif self.kind != "video":
            self.queue.remove(waiting[0])
            self._dropped(1)
            self._append(stamped)
        else:
            candidates = [*waiting, stamped]
            keys = [i for i, x in enumerate(candidates) if x.key]
            if keys and keys[-1] > 0:
                # Resume at the newest keyframe: what precedes it is stale and not needed.
                kept = candidates[keys[-1] : -1]  # the new frame comes last, below
                self.queue = deque([*kept, *(x for x in self.queue if x is None)])
                self._dropped(keys[-1])
                self._append(stamped)
            else:
                # Nothing to resume from: drop it all and ask the publisher for a keyframe.
                self.queue = deque(x for x in self.queue if x is None)
                self._dropped(len(candidates))
                self.awaiting_keyframe = True
                self.ask_keyframe()

    def _append(self, item: Any) -> None:
        self.queue.append(item)
        self.high_water = max(self.high_water, len(self.queue))

    def _get(self) -> Any:
        item = self.queue.popleft()
        self.last_taken_at = getattr(item, "at", None)
        return item

    def _dropped(self, n: int) -> None:
        self.dropped += n
        if self.latency is not None and self.kind == "video":
            self.latency.drop("receive", n)


class BoundedTrackQueue(asyncio.Queue[Any]):
    """aiortc's decoded-frame queue (decoder thread -> track), keeping the newest ``capacity``.

    aiortc's decoder thread calls ``put(frame)`` and schedules the coroutine on the loop: the
    decode time is stamped right there, in that thread, onto the frame (``ReceiveStamps``).
    """

    def __init__(
        self,
        kind: str,
        capacity: int,
        source: BoundedDecodeQueue | None = None,
        latency: StageLatency | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.capacity = capacity
        self.source = source
        self.latency = latency
        self.dropped = 0
        self.high_water = 0

    def put(self, item: Any) -> Coroutine[Any, Any, None]:
        if item is not None and self.source is not None:
            stamps = ReceiveStamps(self.source.last_taken_at, time.monotonic())
            try:
                item.opaque = stamps
            except AttributeError:  # not a PyAV frame (a test's object): no stamps
                pass
        return self._put_now(item)

    async def _put_now(self, item: Any) -> None:
        self.put_nowait(item)

    def _put(self, item: Any) -> None:
        held = self._queue  # type: ignore[attr-defined]  # asyncio.Queue's deque: not in its stubs
        if item is not None:
            waiting = [x for x in held if x is not None]
            if len(waiting) >= self.capacity:
                held.remove(waiting[0])
                self.dropped += 1
                if self.latency is not None and self.kind == "video":
                    self.latency.drop("deliver")
        held.append(item)
        self.high_water = max(self.high_water, len(held))


def bound_receiver(receiver: RTCRtpReceiver, latency: StageLatency | None = None) -> None:
    """Replace ``receiver``'s decoder and track queues by bounded ones. Call before it starts
    (from the ``track`` event). Raises :class:`ReceiverInternalsChanged` when it cannot."""
    track = receiver.track
    if track is None or not isinstance(getattr(track, "_queue", None), asyncio.Queue):
        raise ReceiverInternalsChanged("aiortc's remote track has no _queue")
    if not isinstance(getattr(receiver, _DECODER_QUEUE, None), queue.Queue):
        raise ReceiverInternalsChanged(f"aiortc's receiver has no {_DECODER_QUEUE}")
    if getattr(receiver, _DECODER_THREAD, "missing") is not None:
        raise ReceiverInternalsChanged("aiortc's decoder thread already runs (or was renamed)")
    error = getattr(receiver, _DECODER_ERROR, None)
    if not isinstance(error, threading.Event):
        raise ReceiverInternalsChanged(f"aiortc's receiver has no {_DECODER_ERROR}")
    video = track.kind == "video"
    decode = BoundedDecodeQueue(
        track.kind,
        VIDEO_ENCODED if video else AUDIO_ENCODED,
        max_age=VIDEO_MAX_AGE if video else float("inf"),
        ask_keyframe=error.set,
        latency=latency,
    )
    setattr(receiver, _DECODER_QUEUE, decode)
    track._queue = BoundedTrackQueue(  # type: ignore[attr-defined]  # aiortc's RemoteStreamTrack
        track.kind, VIDEO_DECODED if video else AUDIO_DECODED, decode, latency
    )


def bounded_queues(receiver: RTCRtpReceiver) -> tuple[Any, Any, Any]:
    """(decoder queue, track queue, the queues the running decoder thread was given) — for
    tests and health checks that the bounds are really in force."""
    thread = getattr(receiver, _DECODER_THREAD, None)
    args = getattr(thread, "_args", ()) if thread is not None else ()
    track = receiver.track
    return getattr(receiver, _DECODER_QUEUE, None), getattr(track, "_queue", None), args
