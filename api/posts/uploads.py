"""Receiving a post or story upload: the multipart form, the file sniffed and probed off the
event loop, the original stored, the row written ``pending``, and the scanners told."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from api.keys import POOL, POST_SCANNER, PUBSUB, SETTINGS
from api.posts import media, store
from api.posts.downloads import EXTENSIONS
from api.posts.errors import InvalidPost
from api.posts.scanner import POSTS_PENDING
from api.routing import Call
from api.verification.errors import InvalidSubmission
from api.verification.upload import parse_form
from teezu.storage import STORAGE

# The request's hard ceiling; the file's own limit is TEEZU_POST_MAX_BYTES (at most this).
MAX_FORM = 64 * 1024**2 + 64 * 1024
STORY_LIFETIME = timedelta(hours=24)


async def upload(call: Call[Any, Any], *, story: bool) -> store.PostRow:
    """Store the caller's upload as a pending post (a story: one that expires in 24 h)."""
    settings = call.app[SETTINGS]
    header = call.request.headers.get("Content-Type", "")
    try:
        fields = await asyncio.to_thread(parse_form, call.body, header)
    except InvalidSubmission as exc:
        raise InvalidPost(str(exc)) from None
    upload = media.post_form(fields, max_bytes=min(settings.post_max_bytes, MAX_FORM))
    probe = await asyncio.to_thread(
        media.probe, upload, max_seconds=settings.post_max_video_seconds
    )
    assert call.principal.user_id is not None
    post_id = uuid.uuid4()
    key = f"posts/{post_id}/original{EXTENSIONS[upload.content_type]}"
    await call.app[STORAGE].put(key, upload.data, upload.content_type, "private, no-store")
    row = await store.create(
        call.app[POOL],
        post_id,
        creator_id=call.principal.user_id,
        kind=upload.kind,
        content_type=upload.content_type,
        caption=upload.caption,
        audience=upload.audience,
        rating=upload.rating,
        size_bytes=len(upload.data),
        width=probe.width,
        height=probe.height,
        duration=probe.duration,
        media_key=key,
        lifetime=STORY_LIFETIME if story else None,
    )
    # Any node's scanner may take it; this node's at once.
    await call.app[PUBSUB].publish(POSTS_PENDING, {"postId": str(post_id)})
    scanner = call.app.get(POST_SCANNER)
    if scanner is not None:
        scanner.wake()
    return row
