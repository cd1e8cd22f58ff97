"""Hands one stream's encoded packets to WebRTC viewers: a GOP cache and bounded subscriptions.

``PacketFanout`` is a ``PacketConsumer``. Its ``on_*`` methods run in the encoder thread and do
nothing but hand each packet to the event loop (one ``call_soon_threadsafe`` per packet, whatever
the number of viewers). Everything else lives on the loop, so nothing needs a lock:

* per video rendition, the current GOP (the packets since the last keyframe, bounded), so a
  viewer who joins gets the keyframe and what follows at once instead of waiting up to a
  segment for the next one ("keyframe on join");
* per rendition (video names, and ``"opus"`` for audio), the set of :class:`Subscription`\\ s.

A subscription is a bounded ``asyncio.Queue``. A subscriber that falls behind loses packets until
the next keyframe (then its stale backlog is discarded too) rather than growing memory or delay:
behind means a full queue, or more than ``max_live_seconds`` of live packets waiting (at the
output frame rate; 50 packets a second for Opus). The
replayed GOP is re-stamped close together and handed out paced (``replay_interval``), so a
player shows the live edge within a fraction of a second instead of playing 2 s of old video,
and the burst does not overflow socket buffers.

The AAC packets (rendition ``"audio"``) are for HLS only and are not handed over at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from engine.encoder import EncodedPacket
from engine.latency import StageLatency
from engine.pipeline import StreamInfo

log = logging.getLogger(__name__)

OPUS = "opus"  # the rendition name of the WebRTC audio
_END = object()


class SubscriptionClosed(Exception):
    """The subscription ended: the stream ended, or its owner closed it."""


class Subscription:
    """One viewer's packets of one rendition. Create with :meth:`PacketFanout.subscribe`."""

    def __init__(self, fanout: PacketFanout, rendition: str, maxsize: int, live_limit: int) -> None:
        self.fanout = fanout
        self.rendition = rendition
        self.live_limit = live_limit  # live packets (the replay aside) that may wait
        self._queue: asyncio.Queue[EncodedPacket | object] = asyncio.Queue(maxsize)
        self._dropping = False
        self._replay_left = 0  # replayed GOP packets still queued (handed out paced)
        self._handed_out = 0
        self.closed = False
        self.received = 0  # packets offered, including the replay
        self.dropped = 0
        self.replayed = 0

    async def get(self) -> EncodedPacket:
        """The next packet; raises :class:`SubscriptionClosed` once the subscription ended."""
        if self._replay_left and self._handed_out:
            await asyncio.sleep(self.fanout.replay_interval)
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # every later get() raises too
            raise SubscriptionClosed(self.rendition)
        assert isinstance(item, EncodedPacket)
        self._handed_out += 1
        if self._replay_left:
            self._replay_left -= 1
        elif item.received_at and self.fanout.latency is not None:
            self.fanout.latency.record("whep", time.monotonic() - item.received_at)
        return item

    def close(self) -> None:
        """Unsubscribe and discard what is queued. Idempotent."""
        self.fanout._remove(self)
        self._finish(discard=True)

    # --- called by the fanout, on the loop ---------------------------------------------

    def _replay(self, packets: list[EncodedPacket]) -> None:
        for p in packets:
            self._queue.put_nowait(p)
        self._replay_left = self.replayed = len(packets)
        self.received += len(packets)

    def _offer(self, packet: EncodedPacket) -> None:
        if self.closed:
            return
        self.received += 1
        if self._dropping:
            if not packet.keyframe:
                self.dropped += 1
                return
            self._discard()  # resume at this keyframe, without the stale backlog
            self._dropping = False
        if self._queue.qsize() - self._replay_left >= self.live_limit:
            # Behind by more than the age bound: skip to the next keyframe rather than queue.
            self._dropping = True
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            self._dropping = True
            self.dropped += 1

    def _finish(self, *, discard: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if discard or self._queue.full():
            self._discard()
        self._queue.put_nowait(_END)

    def _discard(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._replay_left = 0


class _Gop:
    """The packets of one rendition since its last keyframe, while within bounds."""

    def __init__(self) -> None:
        self.packets: list[EncodedPacket] = []
        self.size = 0

    def add(self, packet: EncodedPacket, max_packets: int, max_bytes: int) -> None:
        if packet.keyframe:
            self.packets, self.size = [packet], len(packet.data)
        elif self.packets:
            self.packets.append(packet)
            self.size += len(packet.data)
            if len(self.packets) > max_packets or self.size > max_bytes:
                # An overlong GOP is not worth replaying: joiners wait for the next keyframe.
                self.packets, self.size = [], 0


class PacketFanout:
    """A ``PacketConsumer`` that fans a stream's packets out to WebRTC viewers."""

    def __init__(
        self,
        stream_id: str,
        *,
        loop: asyncio.AbstractEventLoop,
        max_gop_packets: int = 300,
        max_gop_bytes: int = 16 * 1024 * 1024,
        queue_packets: int = 450,
        replay_interval: float = 0.004,
        max_live_seconds: float = 0.5,
        latency: StageLatency | None = None,
    ) -> None:
        if queue_packets <= max_gop_packets:
            raise ValueError("a subscription's queue must hold a whole cached GOP")
        self.stream_id = stream_id
        self._loop = loop
        self.max_gop_packets = max_gop_packets
        self.max_gop_bytes = max_gop_bytes
        self.queue_packets = queue_packets
        self.replay_interval = replay_interval
        self.max_live_seconds = max_live_seconds
        self.latency = latency  # records the "whep" stage (engine.latency)
        self.info: StreamInfo | None = None
        self.started = asyncio.Event()  # set on the loop once the renditions are known
        self.ended = False
        self._ended = asyncio.Event()
        self._end_posted = False
        self._gops: dict[str, _Gop] = {}
        self._subs: dict[str, set[Subscription]] = {}
        self.packets_in = 0

    @property
    def renditions(self) -> list[str]:
        """The video renditions of this broadcast, tallest first (empty until started)."""
        return [r.name for r in self.info.renditions] if self.info else []

    async def wait_started(self, within: float) -> StreamInfo | None:
        """The stream's info once its first media was encoded, or None after ``within`` seconds."""
        try:
            await asyncio.wait_for(self.started.wait(), within)
        except TimeoutError:
            return None
        return self.info

    def subscribe(self, rendition: str) -> Subscription:
        """Subscribe to a video rendition (replaying its GOP first) or to ``OPUS``."""
        rate = 50 if rendition == OPUS else (self.info.fps if self.info else 30)
        limit = max(2, round(self.max_live_seconds * rate))
        sub = Subscription(self, rendition, self.queue_packets, limit)
        if self.ended:
            sub._finish(discard=True)
            return sub
        if rendition != OPUS and rendition not in self._gops:
            raise KeyError(f"no rendition {rendition!r} in this broadcast")
        gop = self._gops.get(rendition)
        if gop is not None and gop.packets:
            sub._replay(self._restamped(gop.packets))
        elif gop is not None:
            sub._dropping = True  # nothing cached: video starts at the next keyframe
        self._subs[rendition].add(sub)
        return sub

    def subscribers(self, rendition: str | None = None) -> int:
        if rendition is not None:
            return len(self._subs.get(rendition, ()))
        return sum(len(s) for s in self._subs.values())

    def _restamped(self, packets: list[EncodedPacket]) -> list[EncodedPacket]:
        """The GOP with timestamps ``replay_interval`` apart, ending at the last one's own."""
        last = packets[-1]
        step = max(1, round(self.replay_interval * last.timescale))
        n = len(packets) - 1
        return [
            dataclasses.replace(p, pts=last.pts - (n - i) * step, dts=last.dts - (n - i) * step)
            for i, p in enumerate(packets)
        ]

    def _remove(self, sub: Subscription) -> None:
        self._subs.get(sub.rendition, set()).discard(sub)

    # --- encoder thread ----------------------------------------------------------------

    def on_start(self, info: StreamInfo) -> None:
        self._loop.call_soon_threadsafe(self._start, info)

    def on_packet(self, packet: EncodedPacket) -> None:
        if packet.kind == "audio" and packet.rendition != OPUS:
            return  # AAC: HLS only
        self._loop.call_soon_threadsafe(self._deliver, packet)

    def on_end(self) -> None:
        self._end_posted = True
        self._loop.call_soon_threadsafe(self._end)

    async def drain(self) -> None:
        if self._end_posted:
            await self._ended.wait()
        else:
            self._end()

    # --- event loop --------------------------------------------------------------------

    def _start(self, info: StreamInfo) -> None:
        self.info = info
        for r in info.renditions:
            self._gops[r.name] = _Gop()
            self._subs[r.name] = set()
        self._subs[OPUS] = set()
        self.started.set()

    def _deliver(self, packet: EncodedPacket) -> None:
        self.packets_in += 1
        if packet.kind == "video":
            gop = self._gops.get(packet.rendition)
            if gop is not None:
                gop.add(packet, self.max_gop_packets, self.max_gop_bytes)
        for sub in self._subs.get(packet.rendition, ()):
            sub._offer(packet)

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        subs = [s for group in self._subs.values() for s in group]
        self._subs = {name: set() for name in self._subs}
        self._gops.clear()
        for sub in subs:
            sub._finish(discard=False)
        self._ended.set()
        log.info("fanout ended", extra={"stream_id": self.stream_id})
