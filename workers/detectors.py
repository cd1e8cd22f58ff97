"""Detectors: models that look at one picture and say what they see, behind one interface.

A :class:`Detector` takes a BGR picture (numpy, uint8, any size) and returns
:class:`Detection`\\ s: a label from its own vocabulary, a score in [0, 1] and a box in the
picture's pixels. Detectors run inside moderation worker processes (``workers.moderation``),
never in the server process.

Detectors are found by name in :data:`DETECTORS` (``"nudenet"``, the default) or, for anything
else, by a ``"package.module:Factory"`` path imported in the worker (tests register theirs that
way). Nothing is downloaded: NudeNet's ``320n.onnx`` ships inside the ``nudenet`` wheel and is
loaded from the installed package's folder.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Detection:
    label: str
    score: float  # 0..1
    box: tuple[int, int, int, int]  # x, y, width, height in the analysed picture's pixels

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "score": round(self.score, 4), "box": list(self.box)}


class Detector(Protocol):
    name: str  # recorded with every decision, e.g. "nudenet-320n"
    labels: tuple[str, ...]  # everything it may report

    def detect(self, bgr: np.ndarray) -> list[Detection]: ...


class NudeNetDetector:
    """NudeNet's YOLOv8n detector (``320n.onnx`` from the ``nudenet`` wheel) on onnxruntime.

    NudeNet's own ``NudeDetector`` post-processes its 2,100 candidate boxes in a Python loop
    (~20 ms); this does the same thresholds and NMS with numpy and OpenCV in under 1 ms, with
    onnxruntime held to ``threads`` threads so several workers share a machine predictably.
    """

    name = "nudenet-320n"
    SIZE = 320
    MIN_SCORE = 0.2  # NudeNet's own candidate threshold
    NMS_SCORE, NMS_IOU = 0.25, 0.45  # NudeNet's NMS settings

    def __init__(self, threads: int = 1) -> None:
        import cv2
        import onnxruntime as ort

        cv2.setNumThreads(1)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(nudenet_model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.labels = nudenet_labels()

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        import cv2

        h, w = bgr.shape[:2]
        side = max(h, w)
        # As NudeNet: pad bottom/right to a square, scale to 320, RGB, 0..1, NCHW.
        square = cv2.copyMakeBorder(bgr, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT)
        blob = cv2.dnn.blobFromImage(
            square, 1 / 255.0, (self.SIZE, self.SIZE), (0, 0, 0), swapRB=True, crop=False
        )
        (out,) = self._session.run(None, {self._input: blob})
        rows = out[0].T  # (candidates, 4 + classes): cx, cy, w, h, class scores
        scores = rows[:, 4:]
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(rows)), best]
        keep = best_score >= self.MIN_SCORE
        if not keep.any():
            return []
        rows, best, best_score = rows[keep], best[keep], best_score[keep]
        scale = side / self.SIZE
        boxes = np.empty((len(rows), 4), np.float32)
        boxes[:, 0] = (rows[:, 0] - rows[:, 2] / 2) * scale
        boxes[:, 1] = (rows[:, 1] - rows[:, 3] / 2) * scale
        boxes[:, 2] = rows[:, 2] * scale
        boxes[:, 3] = rows[:, 3] * scale
        boxes[:, 0] = boxes[:, 0].clip(0, w)
        boxes[:, 1] = boxes[:, 1].clip(0, h)
        boxes[:, 2] = np.minimum(boxes[:, 2], w - boxes[:, 0])
        boxes[:, 3] = np.minimum(boxes[:, 3], h - boxes[:, 1])
        chosen = cv2.dnn.NMSBoxes(boxes.tolist(), best_score.tolist(), self.NMS_SCORE, self.NMS_IOU)
        return [
            Detection(
                self.labels[int(best[i])],
                float(best_score[i]),
                (int(boxes[i, 0]), int(boxes[i, 1]), int(boxes[i, 2]), int(boxes[i, 3])),
            )
            for i in np.asarray(chosen).reshape(-1)
        ]


def nudenet_model_path() -> Path:
    """``320n.onnx`` inside the installed ``nudenet`` package (found without importing it)."""
    spec = importlib.util.find_spec("nudenet")
    if spec is None or spec.origin is None:
        raise RuntimeError("the nudenet package is not installed (pip install nudenet)")
    path = Path(spec.origin).with_name("320n.onnx")
    if not path.is_file():
        raise RuntimeError(f"nudenet's model is missing at {path}")
    return path


def nudenet_labels() -> tuple[str, ...]:
    """NudeNet's class names, in the model's output order (from the package, not a copy)."""
    module = importlib.import_module("nudenet.nudenet")
    return tuple(vars(module)["__labels"])


DETECTORS: dict[str, Callable[[], Detector]] = {"nudenet": NudeNetDetector}


def register(name: str, factory: Callable[[], Detector]) -> None:
    """Add a detector by name (call it at import time of a module the workers import)."""
    DETECTORS[name] = factory


def load_detector(spec: str) -> Detector:
    """A registered name (``"nudenet"``) or a ``"package.module:Factory"`` path."""
    if spec in DETECTORS:
        return DETECTORS[spec]()
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise ValueError(f"unknown detector {spec!r}: not one of {sorted(DETECTORS)}")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory()
