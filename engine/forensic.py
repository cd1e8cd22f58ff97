"""Forensic (per-viewer) watermark: a viewer id hidden in the picture, found again in a copy.

Media that leaves the platform (a downloaded post or VOD) carries its viewer's id, so a leaked
copy can be traced. The mark must survive what a leak does to video: re-encoding at a lower
bitrate and scaling down. It is a keyed spread-spectrum mark in low spatial frequencies and
over time; pure numpy here, file I/O in ``workers/forensic_render.py``.

**Payload**: 64 bits (the viewer id) + CRC-32 = 96 bits.

**Embedding**: the picture is divided into a 32x18 grid of cells, in coordinates relative to
its size (so a scaled copy has the same cells). Each cell carries one payload bit, six cells
per bit, assigned and signed by the secret key; inside its cell the mark is a smooth bump
(``sin^2`` in x and y: no edges for the encoder to spend bits on, nothing blocky to see) of
``strength`` luma levels. Its sign flips over time by a keyed chip sequence (one chip per
``GROUP`` frames, period ``PERIOD`` chips), which is what lets a blind detector cancel the
picture itself: a still background correlates to zero with a balanced chip sequence, while the
mark adds up frame after frame.

**Detection**: every frame's luma is scaled to 512x288; each cell's bump-weighted mean, less its
moving average over a few frames and clipped to a few levels (the picture, moving or not, is
taken out), is multiplied by the frame's chip and summed over frames; each bit is the sign of
its six cells' sum. Up to three of the least reliable bits are corrected by trying
their flips against the CRC. As a copy may start anywhere (trimmed), every chip phase is
tried, best correlation energy first. A wrong key gives random bits, which the CRC rejects.

Limits: cropping, or a change of aspect ratio, moves the cells (not handled); a frame rate
change breaks the chip timing (not handled); clips shorter than about 2 seconds carry too
little of the mark.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
import zlib
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

GRID_X, GRID_Y = 32, 18  # cells across and down (16:9)
PAYLOAD_BITS = 64
CRC_BITS = 32
BITS = PAYLOAD_BITS + CRC_BITS
GROUP = 3  # frames per chip (10 chip changes a second at 30 fps)
PERIOD = 64  # chips before the sequence repeats
ANALYSIS = (512, 288)  # detection works on luma scaled to this (16 x 16 pixels per cell)
STRENGTH = 3.0  # peak luma levels of a cell's bump (2 already survives 360p at 250 kb/s)
# Error correction: the payload's least reliable bits (smallest correlation) are flipped, up to
# FLIPS of the RELIABLE_SET weakest, cheapest first, until the CRC holds (soft-decision "Chase"
# decoding). 299 tries per phase keep a false match below one in ten million.
FLIPS, RELIABLE_SET = 3, 12
DETREND = 2 * GROUP + 1  # frames of the moving average that takes the picture out
CLIP = 3.0  # luma levels a cell's residual may count for (about the mark's own size)


@dataclass(frozen=True)
class Layout:
    """What the key decides: which bit each cell carries, its sign, and the chip sequence."""

    bit_of_cell: np.ndarray  # (GRID_Y, GRID_X) int: payload bit index of each cell
    sign_of_cell: np.ndarray  # (GRID_Y, GRID_X) +-1
    chips: np.ndarray  # (PERIOD,) +-1, balanced


@lru_cache(maxsize=8)
def layout(key: bytes) -> Layout:
    seed = hmac.new(key, b"teezu forensic watermark v1", hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(seed, "big"))
    cells = GRID_X * GRID_Y
    bits = np.arange(cells) % BITS  # each bit on cells // BITS (6) cells
    bit_of_cell = rng.permutation(bits).reshape(GRID_Y, GRID_X)
    sign_of_cell = rng.choice(np.array([-1, 1]), size=(GRID_Y, GRID_X))
    chips = rng.permutation(np.repeat(np.array([-1, 1]), PERIOD // 2))
    return Layout(bit_of_cell, sign_of_cell, chips)


def payload_bits(viewer: int) -> np.ndarray:
    """The 96 bits (0/1) carried for ``viewer`` (0 <= viewer < 2**64)."""
    if not 0 <= viewer < 1 << PAYLOAD_BITS:
        raise ValueError("a viewer id is a 64-bit unsigned number")
    data = viewer.to_bytes(8, "big")
    word = int.from_bytes(data + zlib.crc32(data).to_bytes(4, "big"), "big")
    return np.array([(word >> (BITS - 1 - i)) & 1 for i in range(BITS)], np.int8)


def viewer_number(viewer: str) -> int:
    """A viewer id as the mark carries it: an integer (``123``, ``0x7b``) or an account UUID,
    whose first 64 bits are carried (``identify`` reports them as a UUID prefix)."""
    try:
        return int(viewer, 0)
    except ValueError:
        return uuid.UUID(viewer).int >> 64


def _bump(n: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``n`` pixels split into ``cells`` cells: each pixel's cell and its sin^2 weight."""
    pos = (np.arange(n) + 0.5) * cells / n
    cell = np.minimum(pos.astype(np.int64), cells - 1)
    return cell, np.sin(np.pi * (pos - cell)) ** 2


def mark_pattern(key: bytes, viewer: int, width: int, height: int, strength: float) -> np.ndarray:
    """The luma offset image (float32, +-strength) added to frames whose chip is +1."""
    lay = layout(key)
    bits = payload_bits(viewer).astype(np.int8) * 2 - 1  # +-1
    signs = (lay.sign_of_cell * bits[lay.bit_of_cell]).astype(np.float32)
    cx, wx = _bump(width, GRID_X)
    cy, wy = _bump(height, GRID_Y)
    return (strength * np.outer(wy, wx) * signs[cy][:, cx]).astype(np.float32)


def chip(key: bytes, frame_index: int) -> int:
    """The sign of the mark on frame ``frame_index`` (counted from the start of the media)."""
    return int(layout(key).chips[(frame_index // GROUP) % PERIOD])


class Marker:
    """Adds one viewer's mark to consecutive frames of one size (luma planes, in place)."""

    def __init__(
        self, key: bytes, viewer: int, width: int, height: int, strength: float = STRENGTH
    ):
        self.key = key
        pattern = mark_pattern(key, viewer, width, height, strength)
        # Precomputed rounded offsets for both chip signs: per frame, one add and a clip.
        self._plus = np.rint(pattern).astype(np.int16)
        self._minus = -self._plus
        self.frames = 0

    def mark(self, y: np.ndarray) -> None:
        """Mark the next frame's luma plane (uint8, height x width), in place."""
        offset = self._plus if chip(self.key, self.frames) > 0 else self._minus
        y[:] = np.clip(y.astype(np.int16) + offset, 0, 255).astype(np.uint8)
        self.frames += 1


def cell_means(y_small: np.ndarray) -> np.ndarray:
    """Bump-weighted mean luma of each cell of a 512x288 luma plane: (GRID_Y, GRID_X)."""
    w, h = ANALYSIS
    if y_small.shape != (h, w):
        raise ValueError(f"expected a {w}x{h} luma plane, got {y_small.shape[::-1]}")
    _, wx = _bump(w, GRID_X)
    _, wy = _bump(h, GRID_Y)
    weight = np.outer(wy, wx).astype(np.float32)
    cells = (y_small.astype(np.float32) * weight).reshape(GRID_Y, h // GRID_Y, GRID_X, w // GRID_X)
    norm = weight.reshape(GRID_Y, h // GRID_Y, GRID_X, w // GRID_X).sum(axis=(1, 3))
    return cells.sum(axis=(1, 3)) / norm


@dataclass(frozen=True)
class Identification:
    viewer: int | None  # None: no mark made with this key was found
    confidence: float  # median |bit correlation| / its spread without the mark (chance: < 1)
    phase: int  # frame offset of the copy's first frame in the chip sequence
    frames: int


def identify(key: bytes, means: list[np.ndarray]) -> Identification:
    """Recover the viewer id from the cell means of consecutive frames (``cell_means``)."""
    if len(means) < GROUP * 4:
        return Identification(None, 0.0, 0, len(means))
    lay = layout(key)
    m = _residuals(np.stack(means).astype(np.float64))
    m *= lay.sign_of_cell  # undo each cell's sign once, for every phase
    n = len(means)
    flat = m.reshape(n, -1)
    bit_of = lay.bit_of_cell.reshape(-1)
    candidates = []
    for phase in range(GROUP * PERIOD):
        s = lay.chips[((np.arange(n) + phase) // GROUP) % PERIOD]
        per_cell = s @ flat  # correlation of each cell with the chips
        per_bit = np.bincount(bit_of, weights=per_cell, minlength=BITS)
        candidates.append((float(np.abs(per_bit).sum()), phase, per_bit))
    candidates.sort(key=lambda c: c[0], reverse=True)
    for _, phase, per_bit in candidates[:8]:
        viewer = _decode(per_bit)
        if viewer is not None:
            # Against the same frames correlated with chips the mark never used.
            null = np.random.default_rng(0).choice(np.array([-1.0, 1.0]), size=n) @ flat
            noise = float(np.std(np.bincount(bit_of, weights=null, minlength=BITS))) or 1.0
            return Identification(viewer, float(np.median(np.abs(per_bit))) / noise, phase, n)
    return Identification(None, 0.0, 0, n)


def _residuals(m: np.ndarray) -> np.ndarray:
    """What is left of each cell's mean once the picture is taken out.

    The picture changes slowly next to the chips (a new chip every GROUP frames): subtracting a
    centred moving average over DETREND frames removes it, moving things included, and keeps
    most of the mark. Residuals are then clipped to +-CLIP levels: a bright edge crossing a cell
    makes a few huge residuals that would otherwise outvote the mark's many small ones.
    """
    n = len(m)
    half = DETREND // 2
    padded = np.concatenate([np.repeat(m[:1], half, 0), m, np.repeat(m[-1:], half, 0)])
    sums = np.cumsum(np.concatenate([np.zeros_like(m[:1]), padded]), axis=0)
    average = (sums[DETREND:] - sums[:-DETREND])[:n] / DETREND
    return np.clip(m - average, -CLIP, CLIP)


def _decode(per_bit: np.ndarray) -> int | None:
    """The payload whose CRC holds, flipping the fewest / least reliable bits; None if none."""
    hard = (per_bit > 0).astype(np.int64)
    word = int("".join(map(str, hard)), 2)
    weakest = np.argsort(np.abs(per_bit))[:RELIABLE_SET]
    trials = [()] + [
        combo for k in range(1, FLIPS + 1) for combo in combinations(weakest.tolist(), k)
    ]
    trials.sort(key=lambda combo: float(np.abs(per_bit[list(combo)]).sum()) if combo else 0.0)
    for combo in trials:
        flipped = word
        for bit in combo:
            flipped ^= 1 << (BITS - 1 - bit)
        viewer, crc = flipped >> CRC_BITS, flipped & 0xFFFFFFFF
        if zlib.crc32(viewer.to_bytes(8, "big")) == crc:
            return viewer
    return None


# --- still pictures ---------------------------------------------------------------------------
#
# A single picture has no time over which the picture can be cancelled, so its mark lives in
# fine detail instead: a keyed +-1 chip pattern on an IMAGE_GRID of chips (relative to the
# picture's size, so a scaled copy has the same chips), every chip carrying one payload bit
# (IMAGE_GRID cells / BITS = 150 chips a bit) with a keyed sign. Detection scales the luma to
# the chip grid, takes out the picture with a 3x3 local mean (what is left is mostly the
# chips), and correlates. It survives JPEG at usual qualities and scaling; not cropping.

IMAGE_GRID = (160, 90)  # chips across and down
IMAGE_STRENGTH = 4.0  # luma levels of a chip


@lru_cache(maxsize=8)
def image_layout(key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Which bit each chip carries and its sign: two (90, 160) arrays, from the key."""
    seed = hmac.new(key, b"teezu forensic image mark v1", hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(seed, "big"))
    w, h = IMAGE_GRID
    bit_of_chip = rng.permutation(np.arange(w * h) % BITS).reshape(h, w)
    sign_of_chip = rng.choice(np.array([-1, 1]), size=(h, w))
    return bit_of_chip, sign_of_chip


def image_pattern(key: bytes, viewer: int) -> np.ndarray:
    """The +-1 chip pattern (IMAGE_GRID, int8) carrying ``viewer``."""
    bit_of_chip, sign_of_chip = image_layout(key)
    bits = payload_bits(viewer).astype(np.int8) * 2 - 1
    return (sign_of_chip * bits[bit_of_chip]).astype(np.int8)


def mark_image(
    key: bytes, viewer: int, rgb: np.ndarray, strength: float = IMAGE_STRENGTH
) -> np.ndarray:
    """A copy of ``rgb`` (height x width x 3, uint8) carrying ``viewer``'s mark."""
    import cv2

    h, w = rgb.shape[:2]
    chips = image_pattern(key, viewer).astype(np.float32) * strength
    offset = np.rint(cv2.resize(chips, (w, h), interpolation=cv2.INTER_NEAREST)).astype(np.int16)
    # The same offset on R, G and B moves luma by it and leaves colour alone.
    return np.clip(rgb.astype(np.int16) + offset[:, :, None], 0, 255).astype(np.uint8)


def identify_image(key: bytes, luma: np.ndarray) -> Identification:
    """Recover the viewer id from a picture's luma plane (any size)."""
    import cv2

    w, h = IMAGE_GRID
    small = cv2.resize(luma.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    residual = small - cv2.blur(small, (3, 3), borderType=cv2.BORDER_REFLECT)
    residual = np.clip(residual, -3 * IMAGE_STRENGTH, 3 * IMAGE_STRENGTH)  # edges outvote less
    bit_of_chip, sign_of_chip = image_layout(key)
    per_bit = np.bincount(
        bit_of_chip.reshape(-1), weights=(residual * sign_of_chip).reshape(-1), minlength=BITS
    )
    viewer = _decode(per_bit)
    if viewer is None:
        return Identification(None, 0.0, 0, 1)
    # Against the same residual correlated with a pattern the mark never used.
    null = np.random.default_rng(0).permutation(sign_of_chip.reshape(-1))
    noise = np.bincount(
        bit_of_chip.reshape(-1), weights=residual.reshape(-1) * null, minlength=BITS
    )
    spread = float(np.std(noise)) or 1.0
    return Identification(viewer, float(np.median(np.abs(per_bit))) / spread, 0, 1)
