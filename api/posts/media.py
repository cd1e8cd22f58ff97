"""Reading a post upload: the multipart form, the file's real type from its bytes, and a probe
of its size and duration. ``sniff`` and ``post_form`` are pure; ``probe`` decodes headers
(run it in a thread).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from api.posts.errors import InvalidMedia, InvalidPost, MediaTooLarge, UnsupportedMedia
from api.schema import text_problem
from api.verification.upload import sniff_image
from teezu.images import MAX_PIXELS, ImageTooLarge, UnreadableImage, image_size

ACCEPTED = ["image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime", "video/webm"]
FIELDS = ("file", "caption", "audience", "rating")
MAX_CAPTION = 2000


@dataclass(frozen=True)
class Upload:
    data: bytes
    content_type: str
    kind: Literal["image", "video"]
    caption: str
    audience: Literal["public", "followers", "subscribers"]
    rating: Literal["sfw", "adult"]


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration: float | None


def sniff(data: bytes) -> str | None:
    """The media type ``data`` really is (one of ``ACCEPTED``), or None. Names are ignored."""
    image = sniff_image(data)
    if image is not None:
        return image
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska/WebM
        return "video/webm"
    return None


def post_form(fields: dict[str, tuple[str | None, bytes]], *, max_bytes: int) -> Upload:
    """Check the form (``file``, optional ``caption``, ``audience``, ``rating``)."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidPost("unknown form fields", meta={"fields": unknown})
    if "file" not in fields:
        raise InvalidPost("the form needs a file", meta={"fields": ["file"]})
    try:
        caption = fields["caption"][1].decode().strip() if "caption" in fields else ""
        audience = fields["audience"][1].decode().strip() if "audience" in fields else "public"
        rating = fields["rating"][1].decode().strip() if "rating" in fields else "adult"
    except UnicodeDecodeError:
        raise InvalidPost("caption, audience and rating are UTF-8 text") from None
    for name, text in (("caption", caption), ("audience", audience), ("rating", rating)):
        problem = text_problem(text)  # the rule every JSON input obeys (api.schema)
        if problem is not None:
            raise InvalidPost(problem, meta={"field": name})
    if len(caption) > MAX_CAPTION:
        raise InvalidPost(f"caption over {MAX_CAPTION} characters", meta={"field": "caption"})
    if audience not in ("public", "followers", "subscribers"):
        raise InvalidPost(
            "audience is public, followers or subscribers", meta={"field": "audience"}
        )
    if rating not in ("sfw", "adult"):
        raise InvalidPost("rating is sfw or adult", meta={"field": "rating"})
    data = fields["file"][1]
    if len(data) > max_bytes:
        raise MediaTooLarge(f"file over {max_bytes} bytes", meta={"limit": max_bytes})
    if not data:
        raise InvalidPost("the file is empty", meta={"field": "file"})
    ctype = sniff(data)
    if ctype is None:
        raise UnsupportedMedia(
            "the file is not an image or video we accept (read from its bytes)",
            meta={"accepted": ACCEPTED},
        )
    kind: Literal["image", "video"] = "image" if ctype.startswith("image/") else "video"
    return Upload(data, ctype, kind, caption, audience, rating)  # type: ignore[arg-type]  # audience, rating: checked against their Literals above


def probe(upload: Upload, *, max_seconds: float) -> Probe:
    """Width, height and duration from the file's headers (no full decode). Blocking."""
    if upload.kind == "image":
        try:
            width, height = image_size(upload.data)  # the one pixel limit (teezu.images)
        except UnreadableImage:
            raise InvalidMedia("the image cannot be read") from None
        except ImageTooLarge as exc:
            raise InvalidMedia("image too large", meta=exc.meta) from None
        return Probe(width, height, None)
    import av

    try:
        with av.open(io.BytesIO(upload.data), "r") as container:
            if not container.streams.video:
                raise InvalidMedia("the file has no video track")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = (container.duration or 0) / av.time_base
    except av.FFmpegError:
        raise InvalidMedia("the video cannot be read") from None
    if not width or not height or width * height > MAX_PIXELS:
        raise InvalidMedia("the video has no usable picture size")
    if duration > max_seconds:
        raise InvalidMedia(
            f"videos are at most {max_seconds:g} seconds", meta={"maxSeconds": max_seconds}
        )
    return Probe(width, height, duration)
