"""Direct-message attachments: stored on upload, scanned by the posts' moderation workers, and
delivered only after a clean verdict.

An upload writes the message and its attachment row (``pending``) in one transaction and
pushes the message to the sender's own connections only. The node's `api.posts.scanner`
worker pool reads the file and the moderation policy decides, as for a post (`post_outcome`):
published and not explicit → ``clean``: the message is pushed to the recipient and the file
served to them; explicit or flagged for review → ``held``; refused → ``rejected``. Until
``clean`` the recipient neither sees the message in their history nor can fetch the file
(``ATTACHMENT_NOT_AVAILABLE``). A node without a post scanner leaves attachments pending.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from api.moderation.policy import decide
from api.posts.downloads import EXTENSIONS
from api.posts.media import Upload
from api.posts.scanner import PostScanner, post_outcome, scan_record
from teezu.db import Connection, Db
from teezu.storage import Storage
from workers.moderation import UnreadableMedia

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachmentRow:
    id: uuid.UUID
    message_id: uuid.UUID
    uploader_id: uuid.UUID
    kind: str
    content_type: str
    media_key: str
    status: str


_COLS = "id, message_id, uploader_id, kind, content_type, media_key, status"


def media_key(attachment_id: uuid.UUID, content_type: str) -> str:
    return f"dm/{attachment_id}/original{EXTENSIONS[content_type]}"


async def create(
    conn: Connection,
    attachment_id: uuid.UUID,
    message_id: uuid.UUID,
    uploader: uuid.UUID,
    upload: Upload,
) -> None:
    await conn.execute(
        "INSERT INTO message_attachments (id, message_id, uploader_id, kind, content_type, "
        "size_bytes, media_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        attachment_id,
        message_id,
        uploader,
        upload.kind,
        upload.content_type,
        len(upload.data),
        media_key(attachment_id, upload.content_type),
    )


async def get(db: Db, attachment_id: uuid.UUID) -> AttachmentRow | None:
    r = await db.fetchrow(f"SELECT {_COLS} FROM message_attachments WHERE id = $1", attachment_id)
    return AttachmentRow(**dict(r)) if r else None


def verdict_status(status: str, explicit: bool) -> str:
    """A post's scan outcome as an attachment's status (pure): only a clean, non-explicit
    verdict is delivered; anything explicit or needing a person is held."""
    if status == "rejected":
        return "rejected"
    if status == "review" or explicit:
        return "held"
    return "clean"


async def scan(
    db: asyncpg.Pool, storage: Storage, scanner: PostScanner, attachment: AttachmentRow
) -> str | None:
    """Scan one pending attachment and record the verdict (once: a conditional UPDATE);
    returns the new status, or None when it was not pending any more or could not be read."""
    data = await storage.get(attachment.media_key)
    if data is None:
        log.warning("attachment media missing", extra={"attachment_id": str(attachment.id)})
        return None
    record: dict[str, Any]
    try:
        result = await scanner.workers.scan(attachment.kind, data, frames=scanner.frames)
    except UnreadableMedia as exc:
        status, record = "rejected", {"error": str(exc)}
    else:
        decision = decide(scanner.policy, "adult", result.detections, "members")
        outcome = post_outcome(decision)
        status = verdict_status(outcome.status, outcome.explicit)
        record = scan_record(decision, result)
    async with db.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE message_attachments SET status = $2, scan = $3::jsonb, scanned_at = now() "
            "WHERE id = $1 AND status = 'pending' RETURNING id",
            attachment.id,
            status,
            json.dumps(record),
        )
        if done is None:
            return None
        await conn.execute(
            "UPDATE messages SET metadata = "
            "jsonb_set(metadata, '{attachment,status}', to_jsonb($2::text)) WHERE id = $1",
            attachment.message_id,
            status,
        )
    return status


class ScanTasks:
    """The node's running attachment scans: referenced, and cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except BaseException:  # noqa: BLE001  # cancelled or failed: logged where it ran
                pass
