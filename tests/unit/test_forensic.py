"""The forensic mark's arithmetic on synthesized frames (no codec): payload, keys, trimming,
error correction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine import forensic
from engine.forensic import ANALYSIS, Marker, cell_means, identify, payload_bits

KEY = b"unit-key"
VIEWER = 0xFEEDC0FFEE123456


def moving_frames(n: int, w: int = 640, h: int = 360) -> list[np.ndarray]:
    """Textured frames with motion and a still background: what a blind detector must ignore."""
    rng = np.random.default_rng(5)
    background = cv2.GaussianBlur(rng.integers(20, 235, (h, w)).astype(np.uint8), (0, 0), 6)
    frames = []
    for k in range(n):
        y = background.copy()
        cv2.circle(y, (40 + 9 * k % (w - 80), h // 2), 50, 230, -1)
        frames.append(y)
    return frames


def means_of(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [cell_means(cv2.resize(f, ANALYSIS, interpolation=cv2.INTER_AREA)) for f in frames]


def marked(n: int, viewer: int = VIEWER, key: bytes = KEY, strength: float = 3.0):
    frames = moving_frames(n)
    marker = Marker(key, viewer, frames[0].shape[1], frames[0].shape[0], strength)
    for f in frames:
        marker.mark(f)
    return frames


def test_payload_is_the_id_and_its_crc():
    bits = payload_bits(VIEWER)
    assert len(bits) == 96 and set(bits.tolist()) <= {0, 1}
    assert int("".join(map(str, bits[:64])), 2) == VIEWER
    with pytest.raises(ValueError):
        payload_bits(1 << 64)


def test_the_mark_is_faint_and_keyed():
    frames = moving_frames(3)
    original = [f.copy() for f in frames]
    marker = Marker(KEY, VIEWER, 640, 360)
    for f in frames:
        marker.mark(f)
    diff = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(frames, original, strict=True)]
    assert max(d.max() for d in diff) <= 3 and np.mean([d.mean() for d in diff]) < 1.0
    other = Marker(b"other", VIEWER, 640, 360)
    assert not np.array_equal(other._plus, marker._plus)
    assert forensic.layout(KEY) is forensic.layout(KEY)  # deterministic and cached


def test_identify_finds_the_viewer_and_only_with_its_key():
    means = means_of(marked(90))
    found = identify(KEY, means)
    assert found.viewer == VIEWER and found.confidence > 3
    assert identify(b"wrong", means).viewer is None
    assert identify(KEY, means_of(moving_frames(90))).viewer is None  # unmarked


def test_a_trimmed_copy_is_found_at_its_phase():
    means = means_of(marked(120))[17:]  # the copy starts 17 frames in
    found = identify(KEY, means)
    assert found.viewer == VIEWER and found.phase == 17


def test_error_correction_flips_the_weakest_bits():
    bits = payload_bits(VIEWER).astype(float) * 2 - 1
    strength = np.linspace(1.0, 2.0, 96)  # per-bit correlation magnitudes
    per_bit = bits * strength
    assert forensic._decode(per_bit) == VIEWER
    broken = per_bit.copy()
    weakest = np.argsort(strength)[:3]
    broken[weakest] *= -0.5  # three wrong, weak bits
    assert forensic._decode(broken) == VIEWER
    broken[np.argsort(strength)[-4:]] *= -1  # four strong wrong bits: not correctable
    assert forensic._decode(broken) is None


def test_too_short_a_clip_reports_nothing():
    assert identify(KEY, means_of(marked(6))).viewer is None
