"""The visible watermark: the platform's mark and the creator's handle, burned into every rung.

It is a per-frame hook, so it draws on the normalized top picture before the lower rungs are
scaled from it: every rendition (and the WebRTC viewers, who get the same packets) carries it.

Cheap by construction. The overlay is drawn once per picture size (Pillow, RGBA) and turned
into per-plane YUV arrays in fixed point: for each of Y, U and V, ``256 - alpha`` and the
overlay premultiplied by alpha (U and V from 2x2-averaged alpha and colour, as yuv420p
subsamples them). Per frame, only the overlay's rectangle is touched, with integer numpy::

    plane[region] = (plane[region] * (256 - a) + overlay * a) >> 8

which costs tens of microseconds for a 1280x720 picture. (``loadtests/bench_watermark.py``
measures it against an FFmpeg ``overlay`` filter graph fed the same RGBA picture.) A frame the
hook may not write into (the decoder's own, see ``FrameContext.writable``) is copied first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.hooks import FrameContext, plane_view
from teezu.settings import Settings

Position = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


@dataclass(frozen=True)
class Overlay:
    """A watermark precomputed for one picture size (all arrays uint16, fixed point /256)."""

    x: int  # top-left corner in the picture, even
    y: int
    keep_y: np.ndarray  # 256 - alpha, full resolution
    add_y: np.ndarray  # overlay luma * alpha
    keep_c: np.ndarray  # the same for chroma, half resolution
    add_u: np.ndarray
    add_v: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.keep_y.shape
        return w, h


def render_rgba(lines: list[str], text_height: int) -> Image.Image:
    """White text with a dark outline (legible on any picture), tightly cropped, even-sized."""
    font = ImageFont.load_default(size=max(8, text_height))
    small = ImageFont.load_default(size=max(7, round(text_height * 0.7)))
    stroke = max(1, text_height // 12)
    fonts = [font] + [small] * (len(lines) - 1)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    boxes = [
        probe.textbbox((0, 0), t, font=f, stroke_width=stroke)
        for t, f in zip(lines, fonts, strict=True)
    ]
    width = max(b[2] - b[0] for b in boxes) + 2 * stroke
    gap = max(1, text_height // 6)
    height = sum(b[3] - b[1] for b in boxes) + gap * (len(lines) - 1) + 2 * stroke
    width, height = width + width % 2, height + height % 2
    image = Image.new("RGBA", (int(width), int(height)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    top: float = stroke
    for text, f, box in zip(lines, fonts, boxes, strict=True):
        draw.text(
            (stroke - box[0], top - box[1]),
            text,
            font=f,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )
        top += box[3] - box[1] + gap
    return image


def _yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited-range Y, U, V (float) of an RGB array, as swscale makes yuv420p."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return y, u, v


def build_overlay(
    rgba: Image.Image,
    width: int,
    height: int,
    *,
    position: Position = "bottom-right",
    opacity: float = 0.6,
    margin: float = 0.03,
) -> Overlay:
    """Place ``rgba`` on a ``width`` x ``height`` picture and precompute its blend arrays."""
    ow, oh = rgba.size
    if ow > width or oh > height:
        rgba = rgba.resize((min(ow, width) // 2 * 2, min(oh, height) // 2 * 2))
        ow, oh = rgba.size
    mx, my = int(width * margin) & ~1, int(height * margin) & ~1
    x = mx if position.endswith("left") else (width - ow - mx) & ~1
    y = my if position.startswith("top") else (height - oh - my) & ~1
    px = np.asarray(rgba, np.float32)
    alpha = px[..., 3] / 255.0 * opacity
    ly, lu, lv = _yuv(px[..., :3])

    def fixed(a: np.ndarray, value: np.ndarray | None) -> np.ndarray:
        a256 = np.rint(a * 256).astype(np.uint16)
        if value is None:
            return (256 - a256).astype(np.uint16)
        return np.rint(a * 256 * value).astype(np.uint16)

    # Chroma: 2x2 means, alpha-weighted for the colour so transparent pixels add nothing.
    def quarter(a: np.ndarray) -> np.ndarray:
        return a.reshape(oh // 2, 2, ow // 2, 2).mean(axis=(1, 3))

    a_c = quarter(alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_c = np.where(a_c > 0, quarter(alpha * lu) / a_c, 128.0)
        v_c = np.where(a_c > 0, quarter(alpha * lv) / a_c, 128.0)
    return Overlay(
        x=x,
        y=y,
        keep_y=fixed(alpha, None),
        add_y=fixed(alpha, ly),
        keep_c=fixed(a_c, None),
        add_u=fixed(a_c, u_c),
        add_v=fixed(a_c, v_c),
    )


def blend(frame: av.VideoFrame, ov: Overlay) -> None:
    """Burn ``ov`` into a writable yuv420p ``frame``, in place (only its rectangle)."""
    w, h = ov.size
    y = plane_view(frame, 0)[ov.y : ov.y + h, ov.x : ov.x + w]
    y[:] = (y * ov.keep_y + ov.add_y) >> 8
    cy, cx = ov.y // 2, ov.x // 2
    for index, add in ((1, ov.add_u), (2, ov.add_v)):
        c = plane_view(frame, index)[cy : cy + h // 2, cx : cx + w // 2]
        c[:] = (c * ov.keep_c + add) >> 8


def copy_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A new yuv420p frame with the same pictures (for a frame we may not write into)."""
    out = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for i in range(3):
        np.copyto(plane_view(out, i), plane_view(frame, i))
    return out


class VisibleWatermark:
    """A :class:`~engine.hooks.FrameHook` burning ``lines`` (mark, handle) into every frame."""

    def __init__(
        self,
        lines: list[str],
        *,
        position: Position = "bottom-right",
        opacity: float = 0.6,
        size: float = 0.04,
    ) -> None:
        self.lines = lines
        self.position: Position = position
        self.opacity = opacity
        self.size = size  # text height as a fraction of the picture height
        self._overlay: Overlay | None = None
        self._for: tuple[int, int] | None = None
        self.frames = 0
        self.copies = 0

    def overlay_for(self, width: int, height: int) -> Overlay:
        if self._for != (width, height) or self._overlay is None:
            rgba = render_rgba(self.lines, max(8, round(height * self.size)))
            self._overlay = build_overlay(
                rgba, width, height, position=self.position, opacity=self.opacity
            )
            self._for = (width, height)
        return self._overlay

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> av.VideoFrame | None:
        ov = self.overlay_for(frame.width, frame.height)
        replaced = None
        if not ctx.writable:
            frame = replaced = copy_frame(frame)
            self.copies += 1
        blend(frame, ov)
        self.frames += 1
        return replaced


def for_creator(handle: str, settings: Settings) -> VisibleWatermark:
    """The platform mark and ``@handle`` as ``TEEZU_WATERMARK_*`` settings place them."""
    return VisibleWatermark(
        [settings.watermark_text, f"@{handle}"],
        position=settings.watermark_position,
        opacity=settings.watermark_opacity,
        size=settings.watermark_size,
    )
