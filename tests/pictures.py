"""Synthesized pictures for moderation tests.

``explicit_picture`` is four flat ellipses on an orange ground, found by a hill-climbing search
over ellipse parameters against NudeNet's ``320n.onnx``: the real model reports
``BUTTOCKS_EXPOSED`` on it at about 0.8 (about 0.73 after H.264 at 1 Mb/s and scaling to
320x180). No photograph is involved, and it is nothing a person would call explicit: it is an
input the model labels explicit, which is what the moderation path needs to be driven for real.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

# (centre, axes, angle, BGR colour) on a 320x180 canvas
_ELLIPSES = [
    ((42, 68), (61, 57), 90, (123, 137, 166)),
    ((192, 132), (23, 80), 152, (92, 114, 197)),
    ((151, 80), (42, 3), 6, (113, 110, 184)),
    ((231, 113), (33, 64), 132, (91, 107, 187)),
]
_GROUND = (255, 146, 59)  # BGR
EXPLICIT_LABEL = "BUTTOCKS_EXPOSED"


def explicit_picture(width: int = 320, height: int = 180) -> np.ndarray:
    """BGR uint8 picture (16:9) that NudeNet labels ``BUTTOCKS_EXPOSED`` (~0.8)."""
    sx, sy = width / 320, height / 180
    img = np.full((height, width, 3), _GROUND, np.uint8)
    for (cx, cy), (ax, ay), angle, colour in _ELLIPSES:
        cv2.ellipse(
            img,
            (round(cx * sx), round(cy * sy)),
            (round(ax * sx), round(ay * sy)),
            angle,
            0,
            360,
            colour,
            -1,
        )
    return img


def yuv420p(bgr: np.ndarray) -> np.ndarray:
    """Packed yuv420p planes ((h * 3 / 2, w) uint8) of a BGR picture, limited range as video."""
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
