"""Avatar images: sniffed from their bytes, re-encoded (no metadata survives), in two sizes.

`render` is CPU work: callers run it in a thread (`asyncio.to_thread`), never on the loop.
"""

from __future__ import annotations

import io
import uuid

import asyncpg
from PIL import Image, ImageOps

from teezu.db import Db
from teezu.errors import Invalid
from teezu.images import ImageTooLarge, UnreadableImage, image_size

SIZES = (256, 64)
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")  # what we decode; the name or declared type is ignored
CONTENT_TYPE = "image/webp"


class InvalidImage(Invalid):
    code = "INVALID_IMAGE"


def render(data: bytes) -> dict[int, bytes]:
    """Square WebP thumbnails of ``data`` (PNG, JPEG, WebP or GIF), one per size in `SIZES`.

    Only pixels are kept: EXIF (GPS, camera), ICC and text chunks are dropped by re-encoding.
    """
    try:
        image_size(data)  # the one pixel limit, from the header, before decoding (teezu.images)
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            img.seek(0)  # first frame of an animation
            upright = ImageOps.exif_transpose(img)  # honour orientation before dropping EXIF
            rgb = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    except ImageTooLarge:
        raise
    except (OSError, ValueError, SyntaxError, UnreadableImage):
        raise InvalidImage(
            "not an image we can read (PNG, JPEG, WebP or GIF)", meta={"accepted": list(FORMATS)}
        ) from None
    out: dict[int, bytes] = {}
    for size in SIZES:
        thumb = ImageOps.fit(rgb, (size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        thumb.save(buf, "WEBP", quality=85, method=4)
        out[size] = buf.getvalue()
    return out


async def save(db: asyncpg.Pool, user_id: uuid.UUID, images: dict[int, bytes]) -> int:
    """Store the sizes; returns the new avatar version (it goes into the URL for caching)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO avatars (user_id, size, content_type, data) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (user_id, size) DO UPDATE SET data = excluded.data, "
            "content_type = excluded.content_type",
            [(user_id, size, CONTENT_TYPE, data) for size, data in images.items()],
        )
        version: int = await conn.fetchval(
            "UPDATE profiles SET avatar_version = avatar_version + 1, updated_at = now() "
            "WHERE user_id = $1 RETURNING avatar_version",
            user_id,
        )
    return version


async def load(db: Db, user_id: uuid.UUID, size: int) -> bytes | None:
    data: bytes | None = await db.fetchval(
        "SELECT data FROM avatars WHERE user_id = $1 AND size = $2", user_id, size
    )
    return data
