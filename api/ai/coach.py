"""The content coach's picture measures (OpenCV), pure and blocking: call on a thread.

Each measure comes with the number behind it and the range it is judged against:

- exposure: mean luminance (0..255) and the share of clipped pixels (≤ 5 or ≥ 250);
- contrast: the luminance's standard deviation (RMS contrast);
- sharpness: the variance of the Laplacian on the picture scaled to 512 px on its long side;
- framing: where the subject is, taken as the centroid of the edge energy (Sobel magnitude),
  and its distance to the nearest rule-of-thirds point (as a share of the diagonal).
  opencv-python-headless ships no face model here (no Haar cascades, no DNN weights), so the
  subject is found by edges, not faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DARK, BRIGHT = 70.0, 185.0  # mean luminance outside this range: under- or overexposed
LOW_CONTRAST = 35.0
BLURRY = 100.0
OFF_THIRDS = 0.12  # a subject farther than this (share of the diagonal) from every third


class NotAPicture(ValueError):
    pass


@dataclass(frozen=True)
class Measure:
    name: str
    value: float
    verdict: str  # ok, or what is wrong
    advice: str


def _luma(data: bytes) -> np.ndarray:
    if not data:
        raise NotAPicture("the body is empty")
    raw = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(raw, cv2.IMREAD_COLOR)
    except cv2.error:
        img = None
    if img is None:
        raise NotAPicture("not a picture OpenCV can read")
    h, w = img.shape[:2]
    scale = 512 / max(h, w)
    if scale < 1:
        img = cv2.resize(
            img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def measure(data: bytes) -> list[Measure]:
    gray = _luma(data)
    mean = float(gray.mean())
    clipped = float(((gray <= 5) | (gray >= 250)).mean())
    if mean < DARK:
        exposure = Measure(
            "exposure", round(mean, 1), "underexposed", "add light or raise the exposure"
        )
    elif mean > BRIGHT:
        exposure = Measure(
            "exposure", round(mean, 1), "overexposed", "lower the exposure or the light"
        )
    else:
        exposure = Measure("exposure", round(mean, 1), "ok", f"{clipped:.0%} of pixels clipped")
    std = float(gray.std())
    contrast = Measure(
        "contrast",
        round(std, 1),
        "low" if std < LOW_CONTRAST else "ok",
        "add contrast or a stronger light direction" if std < LOW_CONTRAST else "good separation",
    )
    lap = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    sharpness = Measure(
        "sharpness",
        round(lap, 1),
        "blurry" if lap < BLURRY else "ok",
        "hold still, focus on the subject or use more light" if lap < BLURRY else "sharp",
    )
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    energy = cv2.magnitude(gx, gy)
    total = float(energy.sum())
    h, w = gray.shape
    if total <= 0:
        framing = Measure("framing", 1.0, "no subject", "there is nothing in the picture to frame")
    else:
        ys, xs = np.indices(energy.shape)
        cx = float((xs * energy).sum() / total) / w
        cy = float((ys * energy).sum() / total) / h
        thirds = [(a, b) for a in (1 / 3, 2 / 3) for b in (1 / 3, 2 / 3)]
        off = min(((cx - a) ** 2 + (cy - b) ** 2) ** 0.5 for a, b in thirds) / 2**0.5
        framing = Measure(
            "framing",
            round(off, 3),
            "off-thirds" if off > OFF_THIRDS else "ok",
            f"subject at ({cx:.2f}, {cy:.2f}); move it toward a third"
            if off > OFF_THIRDS
            else f"subject at ({cx:.2f}, {cy:.2f}), near a third",
        )
    return [exposure, contrast, sharpness, framing]
