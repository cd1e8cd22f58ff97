"""The moderation worker pool: sampled frames in, detections out, in separate processes.

Inference (onnxruntime) is CPU work that must touch neither the event loop nor an encoder
thread, so it runs in ``workers`` spawned processes, each holding one :class:`Detector` loaded
once. The event loop side, :class:`ModerationPool`, keeps at most one job per worker in flight
and everything else in a small queue per stream. When a worker comes free, it takes the
stream's *newest* waiting sample and drops the older ones as stale (counted): what is on air now
is the picture worth judging, and a saturated worker must never spend its time on a backlog of
pictures that are seconds old while the newest waits (that is how a decision used to starve
under load). A full queue drops its oldest sample too. Moderation falls behind gracefully; live
video never waits for it.

Results come back on the event loop, to the callback given with each sample, with timings:
how long the sample waited here, how long the worker took, and the inference alone.

Uploads (posts, avatars) go through the same workers with :meth:`ModerationPool.scan`: the
worker decodes the image, or a few frames spread over a video (PyAV), runs the same detector on
each and makes the previews. Uploads wait in their own queue, which never drops anything and
takes its turn with the live streams (one upload, then one sample of each waiting stream).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from engine.sampler import Sample
from teezu.images import ImageTooLarge, UnreadableImage, image_size
from workers.detectors import Detection, Detector, load_detector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a worker made of one sample."""

    detections: list[Detection]
    detector: str
    snapshot: bytes  # JPEG of the analysed (scaled-down) picture, for a reviewer
    inference_ms: float
    worker_ms: float  # in the worker: conversion + inference + JPEG
    worker_pid: int


@dataclass(frozen=True, slots=True)
class Result:
    sample: Sample
    analysis: Analysis | None  # None when the worker failed (``error`` says why)
    queued_ms: float  # from reaching the pool to being handed to a worker
    done_at: float  # time.monotonic() on the event loop
    error: str | None = None


OnResult = Callable[[Result], None]


@dataclass(frozen=True, slots=True)
class MediaScan:
    """What a worker made of an uploaded image or video."""

    detections: list[Detection]  # every scanned frame's
    detector: str
    frames: int  # pictures scanned (1 for an image)
    width: int
    height: int
    duration: float | None  # seconds, videos only
    snapshot: bytes  # JPEG of the scanned picture that scored highest, for a reviewer
    preview: bytes  # JPEG, at most PREVIEW_WIDTH wide
    blurred: bytes  # the preview blurred beyond recognition (explicit posts' public face)
    inference_ms: float  # all frames
    worker_ms: float


class UnreadableMedia(ValueError):
    """The upload could not be decoded (it sniffed right but is broken)."""


SCAN_WIDTH = 320  # what the detector gets (its input is 320: like live samples)
PREVIEW_WIDTH = 640
BLUR_WIDTH = 24  # as blurred posters: scaled down to this and back up

# --- worker process side ----------------------------------------------------------------------

_detector: Detector | None = None


def _init_worker(spec: str) -> None:
    global _detector
    _detector = load_detector(spec)


def _analyze(width: int, height: int, yuv: bytes) -> Analysis:
    import cv2
    import numpy as np

    assert _detector is not None, "worker not initialised"
    t0 = time.perf_counter()
    planes = np.frombuffer(yuv, np.uint8).reshape(height * 3 // 2, width)
    bgr = cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
    t1 = time.perf_counter()
    detections = _detector.detect(bgr)
    t2 = time.perf_counter()
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return Analysis(
        detections,
        _detector.name,
        jpeg.tobytes(),
        (t2 - t1) * 1000,
        (time.perf_counter() - t0) * 1000,
        os.getpid(),
    )


def _scan_media(kind: str, data: bytes, frames: int) -> MediaScan:
    """Decode ``data`` (``kind`` "image" or "video"), detect on up to ``frames`` pictures."""
    import cv2
    import numpy as np

    assert _detector is not None, "worker not initialised"
    t0 = time.perf_counter()
    duration = None
    if kind == "image":
        try:
            image_size(data)  # the one pixel limit, before decoding (teezu.images)
        except (ImageTooLarge, UnreadableImage) as exc:
            raise UnreadableMedia(f"the image cannot be decoded: {exc.message}") from None
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise UnreadableMedia("the image cannot be decoded")
        pictures: list[Any] = [bgr]
    else:
        pictures, duration = _video_frames(data, frames)
    h, w = pictures[0].shape[:2]
    detections: list[Detection] = []
    best, best_score, inference = 0, -1.0, 0.0
    for i, bgr in enumerate(pictures):
        ph, pw = bgr.shape[:2]
        small = cv2.resize(
            bgr, (SCAN_WIDTH, max(2, round(ph * SCAN_WIDTH / pw))), interpolation=cv2.INTER_AREA
        )
        t1 = time.perf_counter()
        found = _detector.detect(small)
        inference += time.perf_counter() - t1
        detections.extend(found)
        top = max((d.score for d in found), default=0.0)
        if top > best_score:
            best, best_score = i, top
    pick = pictures[best]
    ph, pw = pick.shape[:2]
    scale = min(1.0, PREVIEW_WIDTH / pw)
    preview = cv2.resize(
        pick, (max(2, round(pw * scale)), max(2, round(ph * scale))), interpolation=cv2.INTER_AREA
    )
    tiny = cv2.resize(
        preview,
        (BLUR_WIDTH, max(2, round(preview.shape[0] * BLUR_WIDTH / preview.shape[1]))),
        interpolation=cv2.INTER_AREA,
    )
    blurred = cv2.GaussianBlur(
        cv2.resize(tiny, (preview.shape[1], preview.shape[0]), interpolation=cv2.INTER_LINEAR),
        (0, 0),
        preview.shape[1] / 64,
    )
    snapshot = cv2.resize(
        pick, (SCAN_WIDTH, max(2, round(ph * SCAN_WIDTH / pw))), interpolation=cv2.INTER_AREA
    )
    return MediaScan(
        detections,
        _detector.name,
        len(pictures),
        w,
        h,
        duration,
        _jpeg(snapshot),
        _jpeg(preview),
        _jpeg(blurred),
        inference * 1000,
        (time.perf_counter() - t0) * 1000,
    )


def _jpeg(bgr: Any) -> bytes:
    import cv2

    ok, out = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise UnreadableMedia("could not encode a preview")
    return bytes(out.tobytes())


def _video_frames(data: bytes, count: int) -> tuple[list[Any], float]:
    """Up to ``count`` pictures spread evenly over the video (BGR), and its duration."""
    import io

    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise UnreadableMedia("the file has no video track")
            stream = container.streams.video[0]
            stream.thread_type = "NONE"  # one core per worker
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            # The first picture at or after each target time: (i + 0.5) / count of the way in.
            targets = [duration * (i + 0.5) / count for i in range(count)] if duration else [0.0]
            pictures: list[Any] = []
            for frame in container.decode(stream):
                if frame.time is None or not targets:
                    continue
                if frame.time + 1e-6 >= targets[0]:
                    pictures.append(frame.to_ndarray(format="bgr24"))
                    while targets and frame.time + 1e-6 >= targets[0]:
                        targets.pop(0)
                if not targets:
                    break
    except av.FFmpegError as exc:
        raise UnreadableMedia(f"the video cannot be decoded: {exc}") from None
    if not pictures:
        raise UnreadableMedia("the video has no decodable picture")
    return pictures, duration


def _ready() -> int:
    assert _detector is not None
    # Held a moment so that each worker answers one of start()'s calls (and starts up).
    time.sleep(0.2)
    return os.getpid()


# --- event loop side --------------------------------------------------------------------------

UPLOADS = "\0uploads"  # the upload queue's place in the round robin (no stream has this id)


@dataclass
class StreamQueue:
    samples: deque[tuple[Sample, float, OnResult]]
    dropped: int = 0  # all drops: queue full, or superseded by a newer sample
    superseded: int = 0  # stale: a newer sample of the stream was judged instead
    submitted: int = 0
    done: int = 0


@dataclass
class PoolStats:
    submitted: int = 0
    dropped: int = 0
    superseded: int = 0
    analysed: int = 0
    failed: int = 0
    per_worker: dict[int, int] = field(default_factory=dict)  # pid -> samples analysed


class ModerationPool:
    """Worker processes running one detector; create, ``await start()``, ``submit``, ``close``."""

    def __init__(self, detector: str = "nudenet", *, workers: int = 1, per_stream: int = 4) -> None:
        if workers < 1 or per_stream < 1:
            raise ValueError("a moderation pool needs at least one worker and one queue slot")
        self.detector = detector
        self.workers = workers
        self.per_stream = per_stream
        self.stats = PoolStats()
        self._streams: dict[str, StreamQueue] = {}
        self._order: deque[str] = deque()  # streams with waiting samples, round robin
        self._in_flight = 0
        self._executor: ProcessPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._uploads: deque[tuple[tuple[str, bytes, int], asyncio.Future[MediaScan]]] = deque()
        self.ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> list[int]:
        """Spawn the workers and wait until each has loaded its detector; returns their pids."""
        self._loop = asyncio.get_running_loop()

        def spawn() -> list[concurrent.futures.Future[int]]:
            # Making the pool (queues, the resource tracker) and submitting (which starts the
            # processes) block: off the loop. One call per worker, held until all are up, so
            # each worker gets one.
            executor = self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.detector,),
            )
            return [executor.submit(_ready) for _ in range(self.workers)]

        calls = await asyncio.to_thread(spawn)
        await asyncio.gather(*(asyncio.wrap_future(c) for c in calls))
        self.ready.set()
        return self.pids

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for CPU accounting)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        while self._uploads:
            self._uploads.popleft()[1].cancel()
        if executor is not None:
            for fut in list(self._tasks):
                fut.cancel()
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def idle(self) -> None:
        """Wait until nothing is queued or being analysed (every result was delivered)."""
        await self._idle.wait()

    def queue_of(self, stream_id: str) -> StreamQueue:
        q = self._streams.get(stream_id)
        if q is None:
            q = self._streams[stream_id] = StreamQueue(deque())
        return q

    def forget(self, stream_id: str) -> None:
        """Drop a stream's waiting samples (its broadcast ended); in-flight ones still report."""
        q = self._streams.pop(stream_id, None)
        if q is not None:
            q.samples.clear()
        with contextlib.suppress(ValueError):
            self._order.remove(stream_id)

    def submit(self, sample: Sample, on_result: OnResult) -> None:
        """Queue a sample (event loop only). Drops the stream's oldest sample when full; the
        next free worker judges the newest and drops the rest as stale."""
        q = self.queue_of(sample.stream_id)
        if len(q.samples) >= self.per_stream:
            q.samples.popleft()
            q.dropped += 1
            self.stats.dropped += 1
        q.samples.append((sample, time.monotonic(), on_result))
        self._idle.clear()
        q.submitted += 1
        self.stats.submitted += 1
        if sample.stream_id not in self._order:
            self._order.append(sample.stream_id)
        self._dispatch()

    async def scan(self, kind: str, data: bytes, *, frames: int = 5) -> MediaScan:
        """Scan an upload in a worker (never dropped; waits its turn with the live streams).

        Raises :class:`UnreadableMedia` when the bytes do not decode.
        """
        assert self._loop is not None, "start() the pool first"
        done: asyncio.Future[MediaScan] = self._loop.create_future()
        self._uploads.append(((kind, data, frames), done))
        self._idle.clear()
        if UPLOADS not in self._order:
            self._order.append(UPLOADS)
        self._dispatch()
        return await done

    def _dispatch_upload(self) -> None:
        assert self._executor is not None and self._loop is not None
        args, done = self._uploads.popleft()
        if self._uploads:
            self._order.append(UPLOADS)
        self._in_flight += 1
        fut = self._loop.run_in_executor(self._executor, _scan_media, *args)
        self._tasks.add(fut)

        def finished(f: asyncio.Future[MediaScan]) -> None:
            self._tasks.discard(f)
            self._in_flight -= 1
            if not done.done():
                if f.cancelled():
                    done.cancel()
                elif f.exception() is not None:
                    done.set_exception(f.exception())  # type: ignore[arg-type]  # not None: checked above
                else:
                    done.set_result(f.result())
            self._dispatch()
            self._check_idle()

        fut.add_done_callback(finished)

    def _check_idle(self) -> None:
        if (
            self._in_flight == 0
            and not self._uploads
            and not any(q.samples for q in self._streams.values())
        ):
            self._idle.set()

    def _dispatch(self) -> None:
        if self._executor is None or self._loop is None:
            return
        while self._in_flight < self.workers and self._order:
            stream_id = self._order.popleft()
            if stream_id == UPLOADS:
                if self._uploads:
                    self._dispatch_upload()
                continue
            q = self._streams.get(stream_id)
            if q is None or not q.samples:
                continue
            # The newest first; whatever waited behind it is stale now (see the module doc).
            sample, queued_at, on_result = q.samples.pop()
            if q.samples:
                stale = len(q.samples)
                q.samples.clear()
                q.dropped += stale
                q.superseded += stale
                self.stats.dropped += stale
                self.stats.superseded += stale
            self._in_flight += 1
            started = time.monotonic()
            fut = self._loop.run_in_executor(
                self._executor, _analyze, sample.width, sample.height, sample.yuv
            )
            self._tasks.add(fut)
            fut.add_done_callback(
                lambda f, s=sample, w=started - queued_at, cb=on_result: self._done(f, s, w, cb)  # type: ignore[misc]  # defaults bind this sample; mypy cannot infer such a lambda
            )

    def _done(
        self, fut: asyncio.Future[Analysis], sample: Sample, waited: float, on_result: OnResult
    ) -> None:
        self._tasks.discard(fut)
        self._in_flight -= 1
        now = time.monotonic()
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.stats.failed += 1
            log.error("moderation worker failed: %r", exc, extra={"stream_id": sample.stream_id})
            result = Result(sample, None, waited * 1000, now, error=repr(exc))
        else:
            analysis = fut.result()
            self.stats.analysed += 1
            pid = analysis.worker_pid
            self.stats.per_worker[pid] = self.stats.per_worker.get(pid, 0) + 1
            result = Result(sample, analysis, waited * 1000, now)
        q = self._streams.get(sample.stream_id)
        if q is not None:
            q.done += 1
        try:
            on_result(result)
        except Exception:
            log.exception("moderation result handler failed", extra={"stream_id": sample.stream_id})
        self._dispatch()
        self._check_idle()
