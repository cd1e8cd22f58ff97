"""The safe word: who may use it and what it does, whichever way it is triggered.

`use_safe_word` is the one path behind ``POST /api/v1/streams/{id}/safe-word`` and the
``safe_word`` Socket.IO event (the studio's big button): a performer of the stream or a site
moderator (``MODERATE_ALL``) freezes a live stream onto the slate (`ingest.safety`, whose
``on_frozen`` hook runs the ledger's kill switch); on a node that does not hold the broadcast
(the API role, another ingest node) the command travels on ``safety-commands`` and the kill
switch runs here at once. Every use is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.auth import audit
from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.consent import store
from api.consent.errors import NotAPerformer, NotLive
from api.keys import POOL, PUBSUB, SAFETY
from api.streams import store as streams
from api.streams.errors import StreamNotFound
from api.wallet.service import LEDGER
from ingest.safety import request_freeze

REASON = "safe word"


@dataclass(frozen=True)
class SafeWordResult:
    stream_id: uuid.UUID
    frozen: bool
    already_frozen: bool = False
    applied_ms: float | None = None  # call -> encoder on the slate (None: another node froze it)
    evidence_key: str | None = None


async def use_safe_word(
    app: web.Application, principal: Principal, stream_id: uuid.UUID, *, ip: str | None
) -> SafeWordResult:
    """Freeze the stream for ``principal``; raises `StreamNotFound`, `NotAPerformer` (403) or
    `NotLive` (409)."""
    db = app[POOL]
    stream = await streams.get_stream(db, stream_id)
    if stream is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    if not principal.can(Permission.MODERATE_ALL) and not await store.is_performer(
        db, stream, principal.user_id
    ):
        raise NotAPerformer("only this stream's performers and moderators can use the safe word")
    if stream.state != "live":
        raise NotLive("the stream is not live", meta={"state": stream.state})
    key = str(stream.id)
    by = principal.user_id
    safety = app.get(SAFETY)  # absent on the API role: it holds no broadcast
    outcome = await safety.freeze(key, REASON, by=by, wait_for_viewers=False) if safety else None
    if outcome is None:  # live on another node: it freezes on our command
        await request_freeze(app[PUBSUB], key, REASON, by=by)
        # Billing stops from here at once, not when that node gets to it (it stops it too,
        # through SafetyControl.on_frozen: the kill switch settles each hold exactly once).
        await app[LEDGER].stop_billing(stream.id, REASON)
        result = SafeWordResult(stream.id, frozen=True)
    else:
        result = SafeWordResult(
            stream.id,
            frozen=True,
            already_frozen=outcome.already_frozen,
            applied_ms=outcome.applied_ms,
            evidence_key=outcome.evidence_key,
        )
    await audit.record(
        db,
        "safety.safe_word",
        actor_id=by,
        subject_id=stream.creator_id,
        target=f"stream:{stream.id}",
        ip=ip,
    )
    return result


def wire(result: SafeWordResult) -> dict[str, Any]:
    """The Socket.IO ack's fields (the REST route's `SafeWordOut`, camelCase)."""
    return {
        "streamId": str(result.stream_id),
        "frozen": result.frozen,
        "alreadyFrozen": result.already_frozen,
        "appliedMs": result.applied_ms,
        "evidenceKey": result.evidence_key,
    }
