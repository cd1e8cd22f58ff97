"""Detectors used only by tests, loaded in worker processes by path ("tests.detectors:Name").

They prove the :class:`workers.detectors.Detector` interface takes other models, and make
queueing behaviour deterministic (a slow detector makes workers lag on purpose).
"""

from __future__ import annotations

import time

import numpy as np

from workers.detectors import Detection


class BrightnessDetector:
    """Reports "BRIGHT" with the picture's mean brightness (0..1) as the score."""

    name = "test-brightness"
    labels = ("BRIGHT",)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        h, w = bgr.shape[:2]
        return [Detection("BRIGHT", float(bgr.mean()) / 255.0, (0, 0, w, h))]


class SlowBrightnessDetector(BrightnessDetector):
    """The same, taking 0.3 s per picture: workers fall behind a fast sampler."""

    name = "test-slow-brightness"

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        time.sleep(0.3)
        return super().detect(bgr)


class BrokenDetector:
    name = "test-broken"
    labels = ()

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        raise RuntimeError("model exploded")
