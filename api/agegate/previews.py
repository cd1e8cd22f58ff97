"""Safe previews: the blurred version of a poster for viewers the age gate keeps out.

The engine writes one poster per stream (``poster.jpg``, refreshed every 4 s). It is sharp
until moderation marks the stream explicit, then blurred for everyone (``engine/poster.py``).
For a sharp poster of an adult stream, a viewer who does not meet their jurisdiction's rule
gets :func:`blur` of it instead, made the same way (scaled down to 24 px across and back up:
shapes and colours, no detail). CPU work: call it in a thread.
"""

from __future__ import annotations

import io

from PIL import Image

from teezu.images import image_size

BLUR_WIDTH = 24  # as engine.poster.PosterMaker.BLUR_WIDTH


def blur(jpeg: bytes) -> bytes:
    """The blurred JPEG of a poster JPEG, at the same size."""
    image_size(jpeg)  # the one pixel limit, before decoding (teezu.images)
    with Image.open(io.BytesIO(jpeg)) as opened:
        img = opened.convert("RGB")
        width, height = img.size
        size = (BLUR_WIDTH, max(2, round(BLUR_WIDTH * height / width)))
        tiny = img.resize(size, Image.Resampling.BOX)
        out = io.BytesIO()
        tiny.resize((width, height), Image.Resampling.BILINEAR).save(out, "JPEG", quality=80)
        return out.getvalue()
