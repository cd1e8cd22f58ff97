"""Where a broadcast's time goes: per-stage delays of its frames, and frames dropped per stage.

Stages of one video frame, each a delay in seconds (``time.monotonic()`` differences):

``decode``    complete encoded frame handed to aiortc's decoder -> decoded (queue wait included)
``deliver``   decoded -> read by the pipeline's reader task (aiortc's track queue, the loop)
``backlog``   read by the reader -> taken by the encoder thread
``encode``    taken -> encoded, per rung (``encode:720p`` ...; normalize, hooks and scaling too)
``part``      read by the reader -> the LL-HLS part holding it published, per rung (``part:720p``)
``whep``      read by the reader -> its packet handed to a WHEP viewer's track

Drops are counted by the stage that dropped: ``receive`` (aiortc's decoder queue),
``deliver`` (aiortc's track queue), ``backlog`` (the encoder's), ``shed`` (the shedding step
skipped the slot in every rung). Thread-safe: stages are recorded from the event loop, the
encoder thread and aiortc's decoder threads.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReceiveStamps:
    """Attached to each decoded frame by ``ingest.receiver`` (as the frame's ``opaque``)."""

    assembled_at: float | None  # the encoded frame entered the decoder queue
    decoded_at: float


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


class StageLatency:
    """Per-stage delay samples (the last ``window`` of each, for percentiles) and drop counts."""

    def __init__(self, window: int = 3000) -> None:
        self._lock = threading.Lock()
        self._window = window
        self._samples: dict[str, deque[float]] = {}
        self._recent: dict[str, list[float]] = {}  # since the last ``take_recent``
        self.counts: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.events: list[str] = []  # shedding steps, in order ("up:1:uniform-drops")

    def record(self, stage: str, seconds: float) -> None:
        with self._lock:
            samples = self._samples.get(stage)
            if samples is None:
                samples = self._samples[stage] = deque(maxlen=self._window)
            samples.append(seconds)
            self._recent.setdefault(stage, []).append(seconds)
            self.counts[stage] += 1

    def drop(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self.dropped[stage] += n

    def event(self, what: str) -> None:
        with self._lock:
            self.events.append(what)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {n, p50_ms, p99_ms, max_ms}}`` over the last ``window`` samples of each."""
        with self._lock:
            return {k: _stats(list(v), self.counts[k]) for k, v in self._samples.items() if v}

    def take_recent(self) -> dict[str, dict[str, float]]:
        """Like :meth:`summary`, over the samples since the previous call (for periodic logs)."""
        with self._lock:
            recent, self._recent = self._recent, {}
        return {k: _stats(v, len(v)) for k, v in recent.items() if v}


def _stats(values: list[float], n: int) -> dict[str, float]:
    return {
        "n": n,
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }
