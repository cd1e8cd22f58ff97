"""``/api/v1/verification``: performers submit ID records; moderators review them.

Only the record's owner and moderators (`Permission.MODERATE_ALL`) see a record; anyone else
gets the same 404 as for an id that does not exist. Every read of an ID image, and every
moderator read of someone else's record, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.auth import audit
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.keys import POOL, SETTINGS
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.verification import store, upload
from api.verification.cipher import CIPHER, DocumentCipher
from api.verification.errors import (
    RECORD_ID,
    AlreadyReviewed,
    DocumentNotFound,
    RecordNotFound,
)
from api.verification.provider import IDENTITY, ManualReviewProvider

api = Api("verification")

UUID_PATH = {"record_id": RECORD_ID}
# Three images at the per-image cap plus the text fields; each image is checked on its own.
MAX_SUBMISSION = 3 * 8 * 1024**2 + 64 * 1024
Kind = Literal["id_front", "id_back", "selfie"]


class RecordOut(Output):
    id: uuid.UUID
    user_id: uuid.UUID
    handle: str
    provider: str
    legal_name: str
    date_of_birth: date
    aliases: list[str]
    status: Literal["pending", "approved", "rejected"]
    reviewer_id: uuid.UUID | None
    reason: str
    submitted_at: datetime
    status_at: datetime
    age_seconds: int = Field(description="Seconds since submission (the queue's age column)")
    documents: dict[str, str] = Field(description="Document kind -> sniffed image type")


class StatusOut(Output):
    verified: bool
    latest: RecordOut | None


class ReviewIn(Input):
    status: Literal["approved", "rejected"]
    reason: str = Field(default="", max_length=1000)


class QueueQuery(Input):
    limit: int = Field(default=50, ge=1, le=200)


def record_out(r: store.RecordRow, now: datetime) -> RecordOut:
    return RecordOut(
        id=r.id,
        user_id=r.user_id,
        handle=r.handle,
        provider=r.provider,
        legal_name=r.legal_name,
        date_of_birth=r.date_of_birth,
        aliases=r.aliases,
        status=r.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        reviewer_id=r.reviewer_id,
        reason=r.reason,
        submitted_at=r.created_at,
        status_at=r.status_at,
        age_seconds=max(0, int((now - r.created_at).total_seconds())),
        documents=r.documents,
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _visible(call: Call[Any, Any]) -> store.RecordRow:
    """The record if the caller owns it or moderates; the same 404 otherwise."""
    record_id = call.id("record_id")
    row = await store.get_record(call.app[POOL], record_id)
    p = call.principal
    if row is None or (row.user_id != p.user_id and not p.can(Permission.MODERATE_ALL)):
        raise RecordNotFound("no such verification record", meta={"recordId": str(record_id)})
    return row


@api.route(
    "POST",
    "/api/v1/verification/records",
    summary="Submit ID images, a selfie and legal details for review (multipart/form-data)",
    status=201,
    response=RecordOut,
    auth=True,
    raw_body=("multipart/form-data",),
    max_body=MAX_SUBMISSION,
)
async def submit_record(call: Call[bytes, None]) -> RecordOut:
    settings = call.app[SETTINGS]
    header = call.request.headers.get("Content-Type", "")

    def read() -> upload.Submission:  # MIME parsing and image headers: off the loop
        fields = upload.parse_form(call.body, header)
        return upload.submission(
            fields, max_image=settings.identity_max_image_bytes, today=_now().date()
        )

    sub = await asyncio.to_thread(read)
    assert call.principal.user_id is not None
    db = call.app[POOL]
    record_id = await call.app[IDENTITY].submit(db, call.principal.user_id, sub)
    await audit.record(
        db,
        "identity.submit",
        actor_id=call.principal.user_id,
        subject_id=call.principal.user_id,
        target=f"identity:{record_id}",
        ip=call.ip,
        meta={"documents": [d.kind for d in sub.documents]},
    )
    row = await store.get_record(db, record_id)
    assert row is not None
    return record_out(row, _now())


@api.route(
    "GET",
    "/api/v1/verification/status",
    summary="Whether I am a verified performer, and my newest record",
    response=StatusOut,
    auth=True,
)
async def my_status(call: Call[None, None]) -> StatusOut:
    assert call.principal.user_id is not None
    db = call.app[POOL]
    rows = await store.records_of(db, call.principal.user_id)
    verified = bool(await store.verified(db, [call.principal.user_id]))
    return StatusOut(verified=verified, latest=record_out(rows[0], _now()) if rows else None)


@api.route(
    "GET",
    "/api/v1/verification/queue",
    summary="Records waiting for review, oldest first (moderators)",
    response=RecordOut,
    paginated=True,
    query=QueueQuery,
    permission=Permission.MODERATE_ALL,
)
async def review_queue(call: Call[None, QueueQuery]) -> Page[RecordOut]:
    now = _now()
    rows = await store.pending(call.app[POOL], call.query.limit)
    await audit.record(
        call.app[POOL],
        "identity.queue.read",
        actor_id=call.principal.user_id,
        ip=call.ip,
        meta={"records": [str(r.id) for r in rows]},
    )
    return Page([record_out(r, now) for r in rows])


@api.route(
    "GET",
    "/api/v1/verification/records/{record_id}",
    summary="One verification record (its owner or a moderator)",
    response=RecordOut,
    auth=True,
    path_formats=UUID_PATH,
)
async def get_record(call: Call[None, None]) -> RecordOut:
    row = await _visible(call)
    if row.user_id != call.principal.user_id:
        await audit.record(
            call.app[POOL],
            "identity.record.read",
            actor_id=call.principal.user_id,
            subject_id=row.user_id,
            target=f"identity:{row.id}",
            ip=call.ip,
        )
    return record_out(row, _now())


@api.route(
    "GET",
    "/api/v1/verification/records/{record_id}/documents/{kind}",
    summary="One decrypted ID image (its owner or a moderator; every read is audited)",
    auth=True,
    path_formats=UUID_PATH,
    produces="application/octet-stream",
)
async def get_document(call: Call[None, None]) -> web.Response:
    row = await _visible(call)
    kind = call.path("kind")
    found = await store.load_document(call.app[POOL], row.id, kind) if len(kind) < 20 else None
    if found is None:
        raise DocumentNotFound("no such document", meta={"kind": kind[:20]})
    ctype, nonce, ciphertext = found
    data = await asyncio.to_thread(call.app[CIPHER].decrypt, row.id, kind, nonce, ciphertext)
    # Logged before the bytes leave: a failed send still counts as an access.
    await audit.record(
        call.app[POOL],
        "identity.document.read",
        actor_id=call.principal.user_id,
        subject_id=row.user_id,
        target=f"identity:{row.id}/{kind}",
        ip=call.ip,
        meta={"kind": kind},
    )
    # Never rendered inline: served as a download, with its real type in a header.
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{kind}"',
            "X-Image-Type": ctype,
            "Cache-Control": "no-store",
        },
    )


@api.route(
    "POST",
    "/api/v1/verification/records/{record_id}/reviews",
    summary="Approve or reject a pending record (moderators; not one's own)",
    status=201,
    body=ReviewIn,
    response=RecordOut,
    permission=Permission.MODERATE_ALL,
    errors=(409,),
    path_formats=UUID_PATH,
    ranked="identity.review",
)
async def review_record(call: Call[ReviewIn, None]) -> RecordOut:
    """403 `RANK_FORBIDDEN` for one's own record, or one of an equal or higher role."""
    row = await _visible(call)
    reviewer = call.principal.user_id
    assert reviewer is not None
    db = call.app[POOL]
    await check_may_act_on(db, call.principal, row.user_id, action="identity.review")
    before = await store.add_review(db, row.id, call.body.status, reviewer, call.body.reason)
    if before != "pending":
        raise AlreadyReviewed("this record was already decided", meta={"status": before})
    await audit.record(
        db,
        f"identity.review.{call.body.status}",
        actor_id=reviewer,
        subject_id=row.user_id,
        target=f"identity:{row.id}",
        ip=call.ip,
        meta={"reason": call.body.reason},
    )
    decided = await store.get_record(db, row.id)
    assert decided is not None
    return record_out(decided, _now())


def setup(app: web.Application) -> None:
    """The manual-review provider (keyed from settings) and the routes."""
    cipher = DocumentCipher(app[SETTINGS].identity_key_bytes())
    app[CIPHER] = cipher
    app[IDENTITY] = ManualReviewProvider(cipher)
    api.add_to(app)
