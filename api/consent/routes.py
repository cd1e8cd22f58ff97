"""``/api/v1/streams/{id}/performers`` and ``/consent``: who performs, and their check-ins.

The creator invites co-performers; each performer (the creator included) confirms consent for
the session before the stream can go live (WHIP checks `store.ensure_ready`). Revoking consent
while live puts the stream on the slate at once (the safe word's freeze). ``/safe-word`` is the
kill switch's API trigger; ``/resume`` needs the creator's explicit confirmation.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from api.auth import audit
from api.auth.rbac import Permission
from api.consent import store
from api.consent.errors import (
    PERFORMER_ID,
    AlreadyPerformer,
    ConsentRequired,
    NotAPerformer,
    NotLive,
    PerformerNotFound,
    StreamLive,
)
from api.consent.gate import check_ready
from api.consent.safeword import use_safe_word
from api.keys import POOL, PUBSUB, SAFETY, SETTINGS
from api.moderation import store as safety_store
from api.moderation.errors import ModeratorRequired
from api.moderation.freezes import who_lifts
from api.routing import Api, Call
from api.schema import Input, Output
from api.streams import store as streams
from api.streams.errors import STREAM_ID, NotStreamOwner, StreamNotFound
from api.users import store as users
from api.wallet.service import LEDGER
from ingest.safety import request_freeze, request_unfreeze

api = Api("consent")
UUID_PATH = {"stream_id": STREAM_ID}


class PerformerOut(Output):
    user_id: uuid.UUID | None
    handle: str
    role: Literal["creator", "co_performer"]
    verified: bool
    checked_in: bool


class PerformersOut(Output):
    stream_id: uuid.UUID
    ready: bool = Field(description="Every performer verified and checked in: may go live")
    performers: list[PerformerOut]


class ConsentOut(PerformersOut):
    frozen: bool = Field(default=False, description="Revoked while live: the stream was frozen")


class InviteIn(Input):
    handle: str = Field(min_length=1, max_length=30)


async def _stream(call: Call[Any, Any]) -> streams.StreamRow:
    stream_id = call.id("stream_id")
    row = await streams.get_stream(call.app[POOL], stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return row


async def _performers_out(call: Call[Any, Any], stream: streams.StreamRow) -> PerformersOut:
    states = await store.performers(call.app[POOL], stream)
    return PerformersOut(
        stream_id=stream.id,
        ready=all(p.verified and p.checked_in for p in states),
        performers=[
            PerformerOut(
                user_id=p.user_id,
                handle=p.handle,
                role=p.role,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
                verified=p.verified,
                checked_in=p.checked_in,
            )
            for p in states
        ],
    )


async def _as_performer(call: Call[Any, Any]) -> streams.StreamRow:
    stream = await _stream(call)
    if not await store.is_performer(call.app[POOL], stream, call.principal.user_id):
        raise NotAPerformer("only this stream's performers can do this")
    return stream


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/performers",
    summary="A stream's performers and whether each is verified and checked in",
    response=PerformersOut,
    auth=True,
    errors=(403,),
    path_formats=UUID_PATH,
)
async def list_performers(call: Call[None, None]) -> PerformersOut:
    stream = await _stream(call)
    db = call.app[POOL]
    if not call.principal.can(Permission.MODERATE_ALL) and not await store.is_performer(
        db, stream, call.principal.user_id
    ):
        raise NotAPerformer("only this stream's performers and moderators can see this")
    return await _performers_out(call, stream)


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/performers",
    summary="Invite a co-performer (the stream's creator)",
    status=201,
    body=InviteIn,
    response=PerformersOut,
    auth=True,
    errors=(403, 409),
    path_formats=UUID_PATH,
)
async def add_performer(call: Call[InviteIn, None]) -> PerformersOut:
    stream = await _stream(call)
    if stream.creator_id is None or stream.creator_id != call.principal.user_id:
        raise NotStreamOwner("only the stream's creator invites performers")
    db = call.app[POOL]
    user = await users.get_by_handle(db, call.body.handle)
    if user is None:
        raise PerformerNotFound("no such user", meta={"handle": call.body.handle})
    if user.id == stream.creator_id or not await store.add_performer(
        db, stream.id, user.id, call.principal.user_id
    ):
        raise AlreadyPerformer("already a performer on this stream")
    return await _performers_out(call, stream)


@api.route(
    "DELETE",
    "/api/v1/streams/{stream_id}/performers/{user_id}",
    summary="Remove a co-performer (the stream's creator; not while live)",
    response=PerformersOut,
    auth=True,
    errors=(403, 409),
    path_formats={**UUID_PATH, "user_id": PERFORMER_ID},
)
async def remove_performer(call: Call[None, None]) -> PerformersOut:
    stream = await _stream(call)
    if stream.creator_id is None or stream.creator_id != call.principal.user_id:
        raise NotStreamOwner("only the stream's creator removes performers")
    if stream.state == "live":
        # Whoever is on camera stays listed (and consenting) until the broadcast ends.
        raise StreamLive("end the broadcast before changing who performs")
    user_id = call.id("user_id")
    db = call.app[POOL]
    if not await store.remove_performer(db, stream.id, user_id):
        raise PerformerNotFound("not a co-performer of this stream", meta={"userId": str(user_id)})
    await audit.record(
        db,
        "stream.performer.removed",
        actor_id=call.principal.user_id,
        subject_id=user_id,
        target=f"stream:{stream.id}",
        ip=call.ip,
    )
    return await _performers_out(call, stream)


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/consent",
    summary="Confirm my consent to perform in this session",
    status=201,
    response=ConsentOut,
    auth=True,
    errors=(403,),
    path_formats=UUID_PATH,
)
async def confirm_consent(call: Call[None, None]) -> ConsentOut:
    stream = await _as_performer(call)
    assert call.principal.user_id is not None
    await store.record(call.app[POOL], stream.id, call.principal.user_id, "confirm", call.ip)
    return ConsentOut(**(await _performers_out(call, stream)).model_dump())


@api.route(
    "DELETE",
    "/api/v1/streams/{stream_id}/consent",
    summary="Revoke my consent: a live stream is frozen on the slate at once",
    response=ConsentOut,
    auth=True,
    errors=(403,),
    path_formats=UUID_PATH,
)
async def revoke_consent(call: Call[None, None]) -> ConsentOut:
    stream = await _as_performer(call)
    user_id = call.principal.user_id
    assert user_id is not None
    db = call.app[POOL]
    # Recorded first: even if the freeze fails, the revocation stands and go-live is refused.
    await store.record(db, stream.id, user_id, "revoke", call.ip)
    frozen = False
    if stream.state == "live":
        key = str(stream.id)
        safety = call.app.get(SAFETY)  # absent on the API role
        outcome = (
            await safety.freeze(key, "consent revoked", by=user_id, wait_for_viewers=False)
            if safety
            else None
        )
        if outcome is None:  # live on another node: ask it, and stop the billing from here
            await request_freeze(call.app[PUBSUB], key, "consent revoked", by=user_id)
            await call.app[LEDGER].stop_billing(stream.id, "consent revoked")
        frozen = True
        await audit.record(
            db,
            "consent.revoked_live",
            actor_id=user_id,
            subject_id=stream.creator_id,
            target=f"stream:{stream.id}",
            ip=call.ip,
        )
    return ConsentOut(**(await _performers_out(call, stream)).model_dump(), frozen=frozen)


class SafeWordOut(Output):
    stream_id: uuid.UUID
    frozen: bool
    already_frozen: bool = False
    applied_ms: float | None = Field(default=None, description="Call -> encoder on the slate")
    evidence_key: str | None = None


class ResumeIn(Input):
    confirm: Literal[True] = Field(description="The creator's explicit confirmation")


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/safe-word",
    summary="The safe word: freeze a live stream on the slate now (performer or moderator)",
    response=SafeWordOut,
    auth=True,
    errors=(403, 409),
    path_formats=UUID_PATH,
)
async def safe_word(call: Call[None, None]) -> SafeWordOut:
    """The same path as the ``safe_word`` Socket.IO event (`api.consent.safeword`)."""
    stream = await _stream(call)
    r = await use_safe_word(call.app, call.principal, stream.id, ip=call.ip)
    return SafeWordOut(
        stream_id=r.stream_id,
        frozen=r.frozen,
        already_frozen=r.already_frozen,
        applied_ms=r.applied_ms,
        evidence_key=r.evidence_key,
    )


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/resume",
    summary="Resume a frozen stream (its creator, explicitly; every performer still consenting)",
    body=ResumeIn,
    response=SafeWordOut,
    auth=True,
    errors=(403, 409),
    path_formats=UUID_PATH,
)
async def resume(call: Call[ResumeIn, None]) -> SafeWordOut:
    stream = await _stream(call)
    if stream.creator_id is None or stream.creator_id != call.principal.user_id:
        raise NotStreamOwner("only the stream's creator can resume it")
    if stream.state != "live":
        raise NotLive("the stream is not live", meta={"state": stream.state})
    db = call.app[POOL]
    safety = await safety_store.get_safety(db, stream.id)
    if safety.frozen and who_lifts(safety.frozen_reason) == "moderator":
        raise ModeratorRequired(
            "a moderation freeze is lifted by a moderator, not by resuming",
            meta={"reason": safety.frozen_reason},
        )
    states = await store.performers(db, stream)
    revoked = await store.revoked(db, stream.id)
    if revoked:
        raise ConsentRequired(
            "a performer revoked consent: they must confirm again before resuming",
            meta={"performers": [p.handle for p in states if p.user_id in revoked]},
        )
    if call.app[SETTINGS].require_verification:
        check_ready(states)
    key = str(stream.id)
    control = call.app.get(SAFETY)  # absent on the API role
    if control is None or not await control.unfreeze(key, by=call.principal.user_id):
        await request_unfreeze(call.app[PUBSUB], key, by=call.principal.user_id)
    await audit.record(
        db,
        "safety.resume",
        actor_id=call.principal.user_id,
        subject_id=stream.creator_id,
        target=f"stream:{stream.id}",
        ip=call.ip,
    )
    return SafeWordOut(stream_id=stream.id, frozen=False)
