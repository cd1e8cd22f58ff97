"""Picks the live frames moderation looks at: one per interval, plus any scene change.

The decision is pure (:class:`SamplingPolicy`, fed a tiny luma thumbnail and the stream time);
:class:`FrameSampler` is the per-frame hook around it. A thumbnail costs tens of microseconds
(a strided read of the Y plane averaged into 32x18 cells), so every frame is compared. A scene
change is measured against the *last sampled* picture, not the previous frame: a slow pan that
ends somewhere new is a change worth a look even though no two neighbouring frames differ much.

A sampled frame is scaled down (``width`` wide, yuv420p, one cached swscale context) and handed
to ``sink`` as bytes. The sink runs in the encoder thread: it must not block (the moderation
client posts it to the event loop, where a bounded queue drops the oldest when workers lag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from engine.hooks import FrameContext, plane_view

THUMB_COLS, THUMB_ROWS = 32, 18


@dataclass(frozen=True, slots=True)
class Sample:
    """A sampled frame on its way to moderation."""

    stream_id: str
    seq: int  # 0, 1, 2... per stream
    time: float  # stream time of the frame, seconds
    received_at: float  # time.monotonic() when the frame entered the pipeline
    width: int
    height: int
    yuv: bytes  # yuv420p planes, packed (width * height * 3 / 2 bytes)
    reason: str  # "first" | "interval" | "scene"
    scene_score: float  # mean absolute luma difference to the last sample (0-255)


def luma_thumbnail(y: np.ndarray, cols: int = THUMB_COLS, rows: int = THUMB_ROWS) -> np.ndarray:
    """Mean luma of a ``rows`` x ``cols`` grid of cells, from about 16 pixels per cell."""
    h, w = y.shape
    sy, sx = max(1, h // (rows * 4)), max(1, w // (cols * 4))
    sub = y[::sy, ::sx]
    bh, bw = max(1, sub.shape[0] // rows), max(1, sub.shape[1] // cols)
    if sub.shape[0] < rows or sub.shape[1] < cols:
        raise ValueError(f"picture {w}x{h} is smaller than the {cols}x{rows} thumbnail")
    cells = sub[: bh * rows, : bw * cols].astype(np.float32)
    return cells.reshape(rows, bh, cols, bw).mean(axis=(1, 3))


def scene_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, 0 (same) to 255."""
    return float(np.abs(a - b).mean())


@dataclass
class SamplingPolicy:
    """When to sample. Pure: call :meth:`decide` for every frame, in order."""

    interval: float = 1.0  # at least one sample this often (seconds of stream time)
    scene_threshold: float = 12.0  # a change this large since the last sample is sampled...
    min_gap: float = 0.5  # ...unless the last sample is more recent than this
    _last_time: float | None = field(default=None, init=False)
    _last_thumb: np.ndarray | None = field(default=None, init=False)

    def decide(self, t: float, thumb: np.ndarray) -> tuple[str | None, float]:
        """``(reason, scene score)``: reason is None when the frame is not sampled."""
        if self._last_time is None or self._last_thumb is None:
            self._take(t, thumb)
            return "first", 0.0
        score = scene_difference(thumb, self._last_thumb)
        since = t - self._last_time
        if since >= self.interval:
            reason = "interval"
        elif score >= self.scene_threshold and since >= self.min_gap:
            reason = "scene"
        else:
            return None, score
        self._take(t, thumb)
        return reason, score

    def _take(self, t: float, thumb: np.ndarray) -> None:
        self._last_time, self._last_thumb = t, thumb


class FrameSampler:
    """A :class:`~engine.hooks.FrameHook` that sends sampled frames, scaled down, to ``sink``."""

    def __init__(
        self,
        sink: Callable[[Sample], None],
        *,
        interval: float = 1.0,
        scene_threshold: float = 12.0,
        min_gap: float = 0.5,
        width: int = 320,
    ) -> None:
        self.sink = sink
        self.policy = SamplingPolicy(interval, scene_threshold, min_gap)
        self.width = width
        self._scaler = VideoReformatter()
        self.seq = 0
        self.by_reason: dict[str, int] = {}

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> None:
        reason, score = self.policy.decide(ctx.time, luma_thumbnail(plane_view(frame, 0)))
        if reason is None:
            return
        height = max(2, round(frame.height * self.width / frame.width / 2) * 2)
        small = self._scaler.reformat(frame, width=self.width, height=height, format="yuv420p")
        sample = Sample(
            stream_id=ctx.stream_id,
            seq=self.seq,
            time=ctx.time,
            received_at=ctx.received_at,
            width=self.width,
            height=height,
            yuv=small.to_ndarray().tobytes(),
            reason=reason,
            scene_score=score,
        )
        self.seq += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        self.sink(sample)
