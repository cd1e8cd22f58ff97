"""The node's live broadcasts: how one opens from a stream and the settings, and how it ends.

:class:`LiveBroadcasts` is the one owner of this node's broadcasts (``BROADCASTS``). WHIP
(``ingest/whip.py``) asks it to :meth:`~LiveBroadcasts.open` a broadcast once the publisher may
go live, attaches its session as the media source, and closes it on DELETE; WHEP (``live/whep.py``)
finds a broadcast's fan-out here; the HLS origin and edge read the outputs through
:attr:`~LiveBroadcasts.hls_outputs`; the safety control freezes a broadcast's pipeline found here.

Opening claims the stream live in the database, builds the media (:func:`assemble`: the HLS
output, the WebRTC fan-out, the pipeline with its moderation sampler and watermark), and records
the run. Closing (``engine.broadcasts.Broadcast.close``: exactly once, whoever asks) runs the
steps of :meth:`LiveBroadcasts._steps`, in this order, each once: leave the registry, record the
run's end (VOD duration), stop the WebRTC viewers, end the stream's billing, stop its moderation
monitor, mark the stream ended, announce it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import asyncpg
from aiohttp import web

from api.moderation import store as safety_store
from api.moderation.store import StreamSafety
from api.streams import broadcasts as runs
from api.streams import store
from engine.broadcasts import Broadcast, Broadcasts, CloseStep
from engine.encoder import VideoSettings, ladder
from engine.fanout import PacketFanout
from engine.hooks import FrameHook
from engine.latency import StageLatency
from engine.pipeline import PacketConsumer, StreamPipeline
from engine.room_timeline import Mark, timeline_channel
from engine.shedding import ShedPolicy
from hls.output import HlsOutput
from ingest.errors import StreamAlreadyLive
from teezu.pubsub import LocalPubSub, PubSub
from teezu.settings import Settings
from teezu.storage import Storage

if TYPE_CHECKING:
    from ingest.session import WhipSession

log = logging.getLogger(__name__)


class Monitor(Protocol):
    """One broadcast's moderation monitor (``api.moderation.monitor.StreamMonitor``)."""

    explicit: bool

    @property
    def sampler(self) -> FrameHook: ...


class Moderation(Protocol):
    """The node's on-frame moderation (``api.moderation.monitor.LiveModeration``)."""

    def watch(
        self,
        stream_id: str,
        *,
        run: str | None,
        rating: str,
        audience: str,
        pipeline: Callable[[], StreamPipeline | None],
    ) -> Monitor: ...

    async def stop_stream(self, stream_id: str) -> None: ...


class Viewers(Protocol):
    """The node's WebRTC viewers (``live.whep.Viewers``)."""

    async def stop_stream(self, stream_id: str, reason: str = ...) -> None: ...


def stream_channel(stream_id: str) -> str:
    """The pub/sub channel carrying a stream's state changes ({"state": "live" | "ended"})."""
    return f"stream:{stream_id}"


class Media(NamedTuple):
    output: HlsOutput
    fanout: PacketFanout
    pipeline: StreamPipeline


def assemble(
    stream_id: str,
    settings: Settings,
    storage: Storage,
    *,
    loop: asyncio.AbstractEventLoop,
    hooks: Sequence[FrameHook] = (),
    recording: bool = False,
    rungs: Sequence[VideoSettings] | None = None,
    extra: Sequence[PacketConsumer] = (),
    pipeline_type: type[StreamPipeline] = StreamPipeline,
    shed_policy: ShedPolicy | None = None,
) -> Media:
    """A broadcast's media, built from the settings: the HLS output and the WebRTC fan-out fed
    by one pipeline encoding ``rungs`` (default: the settings' ladder). Nothing runs yet: start
    the output, then the pipeline. The node's broadcasts and the benchmarks build it here
    (benchmarks add ``extra`` consumers that count, a ``pipeline_type`` that measures, and a
    ``shed_policy`` that never sheds what they feed faster than real time)."""
    latency = StageLatency()  # where this broadcast's time goes, stage by stage
    output = HlsOutput(
        stream_id,
        storage,
        segment_duration=settings.segment_duration,
        part_duration=settings.part_duration,
        window=settings.playlist_window,
        retention=settings.segment_retention,
        audio_bitrate=settings.audio_bitrate,
        loop=loop,
        recording=recording,
    )
    output.latency = latency
    fanout = PacketFanout(stream_id, loop=loop, latency=latency)
    pipeline = pipeline_type(
        stream_id,
        list(rungs) if rungs is not None else ladder(settings),
        [output, fanout, *extra],
        audio_bitrate=settings.audio_bitrate,
        gap_fill_after=settings.gap_fill_after,
        video_backlog=settings.video_backlog_frames,
        audio_backlog_seconds=settings.audio_backlog_seconds,
        part_frames=max(1, round(settings.part_duration * settings.output_fps)),
        latency=latency,
        poster_sink=output.on_poster,
        hooks=hooks,
        shed_policy=shed_policy,
    )
    return Media(output, fanout, pipeline)


class LiveBroadcast(Broadcast):
    """A broadcast live on this node: the engine's owner plus what the node knows of it."""

    def __init__(
        self, stream: store.StreamRow, media: Media, monitor: Monitor | None = None
    ) -> None:
        super().__init__(str(stream.id), media.pipeline, media.fanout)
        self.stream = stream
        self.hls = media.output
        self.monitor = monitor
        self.publisher: WhipSession | None = None
        self.serving = False  # its outputs are started and listed for viewers
        self.timeline: asyncio.Task[None] | None = None  # room events into its playlists

    def attach(self, publisher: WhipSession) -> None:
        """The publisher's session feeds the pipeline; closing the broadcast closes it."""
        self.publisher = publisher
        self.source = publisher


class HlsOutputs(Mapping[str, HlsOutput]):
    """The serving broadcasts' HLS outputs by stream id, as the origin and the edge read them."""

    def __init__(self, broadcasts: LiveBroadcasts) -> None:
        self._broadcasts = broadcasts

    def __getitem__(self, stream_id: str) -> HlsOutput:
        broadcast = self._broadcasts.get(stream_id)
        if broadcast is None or not broadcast.serving:
            raise KeyError(stream_id)
        return broadcast.hls

    def get(self, stream_id: str, default: HlsOutput | None = None) -> HlsOutput | None:  # type: ignore[override]  # Mapping.get's overloads, without a KeyError per miss (the edge asks per request)
        broadcast = self._broadcasts.get(stream_id)
        return broadcast.hls if broadcast is not None and broadcast.serving else default

    def __iter__(self) -> Iterator[str]:
        return (k for k, b in list(self._broadcasts.items()) if b.serving)

    def __len__(self) -> int:
        return sum(1 for b in self._broadcasts.values() if b.serving)


class LiveBroadcasts(Broadcasts[LiveBroadcast]):
    """This node's live broadcasts (see the module doc). ``start`` its heartbeat, ``close`` at
    shutdown (every broadcast ends cleanly: playlists get their ENDLIST)."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        storage: Storage,
        pubsub: PubSub | None = None,
        *,
        moderation: Moderation | None = None,
        viewers: Viewers | None = None,
        stream_ended: Callable[[str], Awaitable[object]] | None = None,
        frame_hooks: Sequence[Callable[[store.StreamRow], FrameHook | None]] = (),
    ) -> None:
        super().__init__()
        self.settings = settings
        self.pool = pool
        self.storage = storage
        self.pubsub: PubSub = pubsub if pubsub is not None else LocalPubSub()
        self.moderation = moderation  # on-frame moderation (TEEZU_MODERATION_ENABLED)
        self.viewers = viewers  # WebRTC viewers, stopped when their broadcast ends
        self.stream_ended = stream_ended  # the ledger's end of a stream's billing
        # After moderation's sampler (the model sees the clean picture): the visible watermark.
        self.frame_hooks = list(frame_hooks)
        self.hls_outputs = HlsOutputs(self)
        self._heartbeat: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(), name="broadcast-heartbeat"
        )

    async def close(self) -> None:
        """Server shutdown: end every broadcast and stop the heartbeat."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.close_all("server shutdown")

    async def open(
        self, stream: store.StreamRow, safety: StreamSafety, *, clear_freeze: bool = False
    ) -> LiveBroadcast:
        """Claim ``stream`` live on this node and start its broadcast's outputs; the caller
        attaches a source. Raises ``StreamAlreadyLive`` when it is live here or elsewhere.
        ``clear_freeze``: the performer's last freeze ends with this go-live."""
        key = str(stream.id)
        node = self.settings.node_id
        if key in self or not await store.claim_live(
            self.pool, stream.id, node=node, stale_after=self.settings.live_stale_after
        ):
            raise StreamAlreadyLive("this stream is already live", meta={"streamId": key})
        broadcast: LiveBroadcast | None = None
        try:
            if clear_freeze:
                await safety_store.set_frozen(self.pool, stream.id, reason=None)
            broadcast = self._build(stream, safety)
            self.add(broadcast)
            # The previous unrecorded broadcasts' folders go now (their viewers have left);
            # recorded ones stay as VODs until retention deletes them.
            for run in await runs.unrecorded_runs(self.pool, stream.id):
                await self.storage.delete_prefix(f"{key}/{run}")
                await runs.mark_purged(self.pool, stream.id, run)
            await broadcast.hls.start()
            broadcast.timeline = asyncio.get_running_loop().create_task(
                self._follow_timeline(broadcast), name=f"timeline-{key[:8]}"
            )
            await runs.start_broadcast(
                self.pool, stream.id, broadcast.hls.run, recording=stream.recording
            )
            broadcast.serving = True
        except BaseException:
            if broadcast is not None:
                await self.abandon(broadcast)
            else:
                await store.release_claim(self.pool, stream.id, node=node, previous=stream.state)
            raise
        return broadcast

    def _build(self, stream: store.StreamRow, safety: StreamSafety) -> LiveBroadcast:
        key = str(stream.id)
        hooks = [h for h in (make(stream) for make in self.frame_hooks) if h is not None]
        media = assemble(
            key,
            self.settings,
            self.storage,
            loop=asyncio.get_running_loop(),
            hooks=hooks,
            recording=stream.recording,
        )
        monitor: Monitor | None = None
        if self.moderation is not None:
            monitor = self.moderation.watch(
                key,
                run=media.output.run,
                rating=safety.rating,
                audience="public" if stream.visibility == "public" else "members",
                pipeline=lambda: media.pipeline,
            )
            monitor.explicit = safety.explicit
            # Sampling first: the model sees the picture before anything is drawn on it.
            media.pipeline.hooks.insert(0, monitor.sampler)
        broadcast = LiveBroadcast(stream, media, monitor)
        # Explicit is the stream's: a new broadcast's posters are blurred from the first one.
        broadcast.pipeline.explicit = safety.explicit
        broadcast.steps = self._steps()
        return broadcast

    async def abandon(self, broadcast: LiveBroadcast) -> None:
        """A start that failed before the publisher was answered: release what was opened and
        give the claim back (the stream's state before it), without announcing an end."""
        if not broadcast.closing:
            broadcast.steps = [
                ("timeline", self._stop_timeline),
                ("leave", self._leave),
                ("moderation", self._stop_moderation),
                ("claim", self._release_claim),
            ]
        await broadcast.close("start failed")

    async def _follow_timeline(self, broadcast: LiveBroadcast) -> None:
        """The room's events (polls, duels, milestones, moments: `engine.room_timeline.Mark`s
        the API nodes publish on the stream's timeline channel) into the broadcast's playlists
        as EXT-X-DATERANGE tags, until the broadcast closes."""
        subscription = await self.pubsub.subscribe(timeline_channel(broadcast.stream_id))
        try:
            while True:
                message = await subscription.get()
                try:
                    broadcast.hls.note(Mark.from_message(message))
                except (KeyError, TypeError, ValueError):
                    log.warning("a malformed timeline mark for %s", broadcast.stream_id)
        finally:
            await subscription.close()

    async def _stop_timeline(self, broadcast: Broadcast, reason: str) -> None:
        assert isinstance(broadcast, LiveBroadcast)
        task, broadcast.timeline = broadcast.timeline, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _steps(self) -> list[tuple[str, CloseStep]]:
        return [
            ("timeline", self._stop_timeline),
            ("leave", self._leave),
            ("run", self._end_run),
            ("viewers", self._stop_viewers),
            ("billing", self._end_billing),
            ("moderation", self._stop_moderation),
            ("stream", self._end_stream),
            ("announce", self._announce),
        ]

    async def _leave(self, broadcast: Broadcast, reason: str) -> None:
        assert isinstance(broadcast, LiveBroadcast)
        broadcast.serving = False
        self.discard(broadcast)

    async def _end_run(self, broadcast: Broadcast, reason: str) -> None:
        assert isinstance(broadcast, LiveBroadcast)
        output = broadcast.hls
        await runs.end_broadcast(
            self.pool,
            uuid.UUID(broadcast.stream_id),
            output.run,
            duration=output.duration,
            renditions=[r.name for r in output.renditions],
            retention_seconds=self.settings.vod_retention_days * 86400,
        )

    async def _stop_viewers(self, broadcast: Broadcast, reason: str) -> None:
        if self.viewers is not None:
            await self.viewers.stop_stream(broadcast.stream_id)

    async def _end_billing(self, broadcast: Broadcast, reason: str) -> None:
        if self.stream_ended is not None:
            await self.stream_ended(broadcast.stream_id)

    async def _stop_moderation(self, broadcast: Broadcast, reason: str) -> None:
        if self.moderation is not None:
            await self.moderation.stop_stream(broadcast.stream_id)

    async def _end_stream(self, broadcast: Broadcast, reason: str) -> None:
        await store.end_live(self.pool, uuid.UUID(broadcast.stream_id), node=self.settings.node_id)

    async def _announce(self, broadcast: Broadcast, reason: str) -> None:
        await self.pubsub.publish(
            stream_channel(broadcast.stream_id), {"state": "ended", "reason": reason}
        )
        log.info(
            "broadcast ended",
            extra={
                "stream_id": broadcast.stream_id,
                "reason": reason,
                **vars(broadcast.pipeline.stats),
            },
        )

    async def _release_claim(self, broadcast: Broadcast, reason: str) -> None:
        assert isinstance(broadcast, LiveBroadcast)
        await store.release_claim(
            self.pool,
            broadcast.stream.id,
            node=self.settings.node_id,
            previous=broadcast.stream.state,
        )

    async def _beat(self) -> None:
        node = self.settings.node_id
        while True:
            await asyncio.sleep(self.settings.live_heartbeat_interval)
            for stream_id in list(self):
                try:
                    await store.heartbeat(self.pool, uuid.UUID(stream_id), node=node)
                except Exception:
                    log.exception("heartbeat failed", extra={"stream_id": stream_id})


BROADCASTS: web.AppKey[LiveBroadcasts] = web.AppKey("broadcasts", LiveBroadcasts)
