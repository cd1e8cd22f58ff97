"""The one decoded-pixel limit, for every place that decodes an image a client sent (avatars,
posts, identity documents, the moderation worker's scans) or that we made (poster previews).

A small file can hold a huge picture: a 144-megapixel PNG of one colour compresses to a few
hundred kilobytes and decodes to over 400 MB. So the picture's size is read from the file's
header (Pillow opens lazily: nothing is decoded) and refused past `MAX_PIXELS` before anything
decodes it. Blocking (a little parsing): call it where the decode runs, in a thread.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from teezu.errors import Invalid

MAX_PIXELS = 40_000_000  # 40 Mpixel: above any phone camera, 160 MB as RGBA

# Pillow's own guard made ours, for any decode that skipped `image_size`: it refuses to open a
# picture over twice this (DecompressionBombError) and warns over it, which `image_size`
# turns into a refusal itself (so the warning is noise).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)


class ImageTooLarge(Invalid):
    code = "IMAGE_TOO_LARGE"


class UnreadableImage(Invalid):
    code = "INVALID_IMAGE"


def check_pixels(width: int, height: int, *, field: str | None = None) -> None:
    """Raise `ImageTooLarge` when a ``width`` x ``height`` picture is over the limit."""
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        _too_large(field)


def _too_large(field: str | None) -> None:
    meta: dict[str, object] = {"maxPixels": MAX_PIXELS}
    if field is not None:
        meta["field"] = field
    raise ImageTooLarge(f"image over {MAX_PIXELS} pixels", meta=meta)


def image_size(data: bytes, *, field: str | None = None) -> tuple[int, int]:
    """``(width, height)`` from an image's header, checked against the limit (nothing is
    decoded). Raises `UnreadableImage` when Pillow cannot read the header."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except Image.DecompressionBombError:  # Pillow's guard: over twice the limit
        _too_large(field)
        raise  # (unreachable: _too_large raises)
    except (OSError, ValueError, SyntaxError):
        raise UnreadableImage(
            "the image cannot be read", meta={"field": field} if field else None
        ) from None
    check_pixels(width, height, field=field)
    return width, height
