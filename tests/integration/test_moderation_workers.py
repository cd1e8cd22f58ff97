"""The moderation worker pool with real spawned processes: results, fairness, newest first."""

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


async def test_a_lagging_pool_judges_each_streams_newest_sample_and_stays_fair():
    pool = ModerationPool("tests.detectors:SlowBrightnessDetector", workers=1, per_stream=2)
    try:
        await pool.start()
        results: list[Result] = []
        # Both streams submit 6 samples at once; the worker takes 0.3 s each. a0 goes to the
        # worker at once; each queue keeps its newest 2 (the rest dropped oldest first).
        for seq in range(6):
            for stream in ("a", "b"):
                pool.submit(sample(stream, seq, grey(20 * seq + 10)), results.append)
        await collect(3, results)
        await pool.idle()
        # When the worker comes free, each stream's newest sample is judged and the one
        # waiting behind it is stale: nothing seconds old is judged while the newest waits.
        assert [(r.sample.stream_id, r.sample.seq) for r in results] == [
            ("a", 0),
            ("b", 5),  # round robin: b waited first, so b goes before a
            ("a", 5),
        ]
        assert pool.queue_of("a").dropped == 4 and pool.queue_of("b").dropped == 5
        assert pool.queue_of("a").superseded == 1 and pool.queue_of("b").superseded == 1
        assert pool.stats.dropped == 9 and pool.stats.superseded == 2
        assert pool.stats.analysed == 3
        # The score follows the newest picture.
        score = results[1].analysis.detections[0].score  # type: ignore[union-attr]
        assert score == pytest.approx((110 * 0.299 + 110 * 0.587 + 110 * 0.114) / 255, abs=0.03)
    finally:
        await pool.close()


async def test_the_newest_sample_is_always_judged_next_while_the_worker_is_saturated():
    pool = ModerationPool("tests.detectors:SlowBrightnessDetector", workers=1, per_stream=4)
    try:
        await pool.start()
        results: list[Result] = []
        submitted_after_first: list[int] = []

        def on_result(r: Result) -> None:
            results.append(r)
            if len(results) == 1:
                # Right after this callback the pool hands s3 (the newest) to the worker and
                # drops s1 and s2; a sample arriving then is the next judged.
                asyncio.get_running_loop().call_soon(arrive_later)

        def arrive_later() -> None:
            pool.submit(sample("s", 4, grey(200)), on_result)
            submitted_after_first.append(4)

        pool.submit(sample("s", 0, grey(10)), on_result)  # to the worker at once
        for seq in (1, 2, 3):  # arrive while s0 is analysed
            pool.submit(sample("s", seq, grey(10 + 40 * seq)), on_result)
        await collect(3, results)
        await pool.idle()
        assert submitted_after_first == [4]
        assert [r.sample.seq for r in results] == [0, 3, 4]
        assert pool.queue_of("s").superseded == 2 and pool.stats.analysed == 3
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
