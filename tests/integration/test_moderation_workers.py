"""The moderation worker pool with real spawned processes: results, fairness, drop-oldest."""

from __future__ import annotations

import asyncio
import os
import time

import numpy as np
import pytest

from engine.sampler import Sample
from tests.pictures import EXPLICIT_LABEL, explicit_picture, yuv420p
from workers.moderation import ModerationPool, Result

pytestmark = pytest.mark.asyncio(loop_scope="session")


def sample(stream: str, seq: int, planes: np.ndarray) -> Sample:
    h = planes.shape[0] * 2 // 3
    return Sample(stream, seq, seq / 30, time.monotonic(), planes.shape[1], h,
                  planes.tobytes(), "interval", 0.0)  # fmt: skip


def grey(level: int) -> np.ndarray:
    planes = np.full((270, 320), 128, np.uint8)
    planes[:180] = level
    return planes


async def collect(n: int, into: list[Result], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(into) < n:
        assert time.monotonic() < deadline, f"{len(into)} of {n} results"
        await asyncio.sleep(0.02)


async def test_nudenet_in_a_worker_process_labels_a_sampled_frame():
    pool = ModerationPool("nudenet", workers=1)
    try:
        (pid,) = set(await pool.start())
        assert pid != os.getpid()
        results: list[Result] = []
        pool.submit(sample("a", 0, yuv420p(explicit_picture())), results.append)
        pool.submit(sample("a", 1, grey(128)), results.append)
        await collect(2, results)
        explicit, flat = sorted(results, key=lambda r: r.sample.seq)
        assert explicit.analysis is not None and flat.analysis is not None
        assert explicit.analysis.worker_pid == pid and explicit.analysis.detector == "nudenet-320n"
        best = max(explicit.analysis.detections, key=lambda d: d.score)
        assert best.label == EXPLICIT_LABEL and best.score > 0.5
        assert flat.analysis.detections == []
        assert explicit.analysis.snapshot[:2] == b"\xff\xd8"  # the JPEG a reviewer would see
        print(
            f"\nnudenet in a worker: inference {explicit.analysis.inference_ms:.0f} ms, "
            f"worker {explicit.analysis.worker_ms:.0f} ms"
        )
    finally:
        await pool.close()


async def test_a_lagging_pool_drops_each_streams_oldest_samples_and_stays_fair():
    pool = ModerationPool("tests.detectors:SlowBrightnessDetector", workers=1, per_stream=2)
    try:
        await pool.start()
        results: list[Result] = []
        # Both streams submit 6 samples at once; the worker takes 0.3 s each.
        for seq in range(6):
            for stream in ("a", "b"):
                pool.submit(sample(stream, seq, grey(20 * seq + 10)), results.append)
        # 1 in flight + 2 waiting per stream are kept: the rest were dropped oldest first.
        await collect(5, results)
        await asyncio.sleep(0.4)
        got = {(r.sample.stream_id, r.sample.seq) for r in results}
        assert got == {("a", 0), ("a", 4), ("a", 5), ("b", 4), ("b", 5)}
        assert pool.queue_of("a").dropped == 3 and pool.queue_of("b").dropped == 4
        assert pool.stats.dropped == 7 and pool.stats.analysed == 5
        # Newer samples are the ones judged: the score follows the picture.
        by_key = {(r.sample.stream_id, r.sample.seq): r for r in results}
        score = by_key[("b", 5)].analysis.detections[0].score  # type: ignore[union-attr]
        assert score == pytest.approx((110 * 0.299 + 110 * 0.587 + 110 * 0.114) / 255, abs=0.03)
        # Round robin: b was not starved behind a.
        order = [r.sample.stream_id for r in results]
        assert order[:3] in (["a", "b", "a"], ["a", "a", "b"])
    finally:
        await pool.close()


async def test_a_failing_detector_reports_errors_and_keeps_serving():
    pool = ModerationPool("tests.detectors:BrokenDetector", workers=1)
    try:
        await pool.start()
        results: list[Result] = []
        pool.submit(sample("x", 0, grey(50)), results.append)
        pool.submit(sample("x", 1, grey(60)), results.append)
        await collect(2, results)
        assert all(r.analysis is None and "model exploded" in (r.error or "") for r in results)
        assert pool.stats.failed == 2
    finally:
        await pool.close()
