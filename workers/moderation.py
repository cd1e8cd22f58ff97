"""The moderation worker pool: sampled frames in, detections out, in separate processes.

Inference (onnxruntime) is CPU work that must touch neither the event loop nor an encoder
thread, so it runs in ``workers`` spawned processes, each holding one :class:`Detector` loaded
once. The event loop side, :class:`ModerationPool`, keeps at most one job per worker in flight
and everything else in a small queue per stream. When workers lag, a stream's queue drops its
*oldest* sample (a newer picture is the one worth judging) and counts the drop: moderation
falls behind gracefully, live video never waits for it.

Results come back on the event loop, to the callback given with each sample, with timings:
how long the sample waited here, how long the worker took, and the inference alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from engine.sampler import Sample
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


def _ready() -> int:
    assert _detector is not None
    # Held a moment so that each worker answers one of start()'s calls (and starts up).
    time.sleep(0.2)
    return os.getpid()


# --- event loop side --------------------------------------------------------------------------


@dataclass
class StreamQueue:
    samples: deque[tuple[Sample, float, OnResult]]
    dropped: int = 0
    submitted: int = 0
    done: int = 0


@dataclass
class PoolStats:
    submitted: int = 0
    dropped: int = 0
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
        self._tasks: set[asyncio.Future[Analysis]] = set()
        self.ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> list[int]:
        """Spawn the workers and wait until each has loaded its detector; returns their pids."""
        self._loop = asyncio.get_running_loop()
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.detector,),
        )
        # One call per worker, held until all are up, so each worker gets one.
        await asyncio.gather(
            *(self._loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
        )
        self.ready.set()
        return self.pids

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for CPU accounting)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
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
        """Queue a sample (event loop only). Drops the stream's oldest sample when full."""
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

    def _dispatch(self) -> None:
        if self._executor is None or self._loop is None:
            return
        while self._in_flight < self.workers and self._order:
            stream_id = self._order.popleft()
            q = self._streams.get(stream_id)
            if q is None or not q.samples:
                continue
            sample, queued_at, on_result = q.samples.popleft()
            if q.samples:
                self._order.append(stream_id)  # the others get their turn first
            self._in_flight += 1
            started = time.monotonic()
            fut = self._loop.run_in_executor(
                self._executor, _analyze, sample.width, sample.height, sample.yuv
            )
            self._tasks.add(fut)
            fut.add_done_callback(
                lambda f, s=sample, w=started - queued_at, cb=on_result: self._done(f, s, w, cb)
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
        if self._in_flight == 0 and not any(q.samples for q in self._streams.values()):
            self._idle.set()
