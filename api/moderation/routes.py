"""The moderators' API for automated moderation: the flag queue, snapshots, resolving flags,
stream ratings, and lifting freezes.

Every moderator action is appended to ``moderation_log`` (with ``flag_id`` when it resolves a
flag) in the transaction that changes the state; snapshot reads go to ``audit_log``. Who may
lift a freeze is decided by ``api.moderation.freezes.who_lifts``: a moderator here, the
creator's ``/resume`` for a performer's freeze.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api import cursors
from api.auth import audit
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.keys import MODERATION, POOL, PUBSUB, SAFETY
from api.moderation import flag_store, store
from api.moderation.errors import (
    FLAG_ID,
    ActionNotApplicable,
    AlreadyResolved,
    CreatorConfirmationRequired,
    FlagNotFound,
    NotFrozen,
    SnapshotNotFound,
)
from api.moderation.freezes import who_lifts
from api.posts import store as posts
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams import store as streams
from api.streams.errors import STREAM_ID, StreamNotFound
from ingest.safety import request_freeze, request_unfreeze, safety_channel
from live.broadcasts import BROADCASTS
from teezu.storage import STORAGE

api = Api("moderation")

UUID_FLAG = {"flag_id": FLAG_ID}
UUID_STREAM = {"stream_id": STREAM_ID}
Rating = Literal["sfw", "adult"]
FlagAction = Literal["freeze", "set_rating", "mark_explicit", "reject_post"]
STREAM_ACTIONS = frozenset({"freeze", "set_rating", "mark_explicit"})
POST_ACTIONS = frozenset({"reject_post", "mark_explicit"})


class FlagQuery(Input):
    status: Literal["open", "resolved"] = "open"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=200, description="nextCursor of a page")


class MatchOut(Output):
    rule: str
    label: str
    score: float


class DetectionOut(Output):
    label: str
    score: float
    box: list[int]


class DecisionOut(Output):
    action: str
    actions: list[str]
    policy_version: str
    detector: str
    matches: list[MatchOut]
    detections: list[DetectionOut]


class FlagOut(Output):
    id: uuid.UUID
    kind: Literal["frame", "freeze", "post"]
    stream_id: uuid.UUID | None
    post_id: uuid.UUID | None
    subject_id: uuid.UUID | None = Field(description="The stream's or post's creator")
    reason: str
    status: Literal["open", "resolved"]
    resolution: Literal["dismissed", "confirmed"] | None
    note: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    age_seconds: int = Field(description="Seconds the flag waited (until resolved, or now)")
    decision: DecisionOut | None = Field(description="The automated decision and its scores")
    snapshot_url: str | None


class ResolveIn(Input):
    decision: Literal["dismiss", "confirm"]
    actions: list[FlagAction] = Field(default_factory=list, max_length=4)
    rating: Rating | None = Field(default=None, description="With the set_rating action")
    note: str = Field(default="", max_length=2000)


class RatingIn(Input):
    rating: Rating
    note: str = Field(default="", max_length=2000)


class UnfreezeIn(Input):
    note: str = Field(default="", max_length=2000)


class StreamSafetyOut(Output):
    stream_id: uuid.UUID
    rating: Rating
    explicit: bool
    frozen: bool
    frozen_reason: str | None
    frozen_at: datetime | None
    lifted_by: Literal["creator", "moderator"] | None = Field(
        description="Who may lift the current freeze: the creator (/resume) or a moderator"
    )


def _now() -> datetime:
    return datetime.now(UTC)


def flag_out(f: flag_store.FlagRow, now: datetime) -> FlagOut:
    end = f.resolved_at or now
    return FlagOut(
        id=f.id,
        kind=f.kind,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        stream_id=f.stream_id,
        post_id=f.post_id,
        subject_id=f.subject_id,
        reason=f.reason,
        status="open" if f.status == "pending" else "resolved",
        resolution=f.resolution,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        note=f.note,
        created_at=f.created_at,
        resolved_at=f.resolved_at,
        resolved_by=f.resolved_by,
        age_seconds=max(0, int((end - f.created_at).total_seconds())),
        decision=DecisionOut(**f.decision) if f.decision else None,
        snapshot_url=f"/api/v1/moderation/flags/{f.id}/snapshot" if f.snapshot_key else None,
    )


def safety_out(s: store.StreamSafety) -> StreamSafetyOut:
    return StreamSafetyOut(
        stream_id=s.stream_id,
        rating=s.rating,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        explicit=s.explicit,
        frozen=s.frozen,
        frozen_reason=s.frozen_reason,
        frozen_at=s.frozen_at,
        lifted_by=who_lifts(s.frozen_reason) if s.frozen else None,
    )


async def _flag(call: Call[Any, Any]) -> flag_store.FlagRow:
    flag_id = call.id("flag_id")
    flag = await flag_store.get(call.app[POOL], flag_id)
    if flag is None:
        raise FlagNotFound("no such flag", meta={"flagId": str(flag_id)})
    return flag


async def _stream(call: Call[Any, Any]) -> streams.StreamRow:
    stream_id = call.id("stream_id")
    stream = await streams.get_stream(call.app[POOL], stream_id)
    if stream is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return stream


@api.route(
    "GET",
    "/api/v1/moderation/flags",
    summary="Automated moderation flags, oldest first, with their scores and snapshot links",
    query=FlagQuery,
    response=FlagOut,
    paginated=True,
    permission=Permission.MODERATE_ALL,
)
async def flag_queue(call: Call[None, FlagQuery]) -> Page[FlagOut]:
    q = call.query
    status = "pending" if q.status == "open" else "resolved"
    rows = await flag_store.queue(call.app[POOL], status, q.limit, cursors.decode(q.cursor))
    now = _now()
    more = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) == q.limit else None
    return Page([flag_out(f, now) for f in rows], more)


@api.route(
    "GET",
    "/api/v1/moderation/flags/{flag_id}",
    summary="One flag",
    response=FlagOut,
    permission=Permission.MODERATE_ALL,
    path_formats=UUID_FLAG,
)
async def get_flag(call: Call[None, None]) -> FlagOut:
    return flag_out(await _flag(call), _now())


@api.route(
    "GET",
    "/api/v1/moderation/flags/{flag_id}/snapshot",
    summary="The flagged frame (JPEG; moderators only, every read audited)",
    permission=Permission.MODERATE_ALL,
    path_formats=UUID_FLAG,
    produces="image/jpeg",
)
async def flag_snapshot(call: Call[None, None]) -> web.Response:
    flag = await _flag(call)
    data = await call.app[STORAGE].get(flag.snapshot_key) if flag.snapshot_key else None
    if data is None:
        raise SnapshotNotFound("this flag has no stored snapshot", meta={"flagId": str(flag.id)})
    # Logged before the bytes leave: a failed send still counts as an access.
    await audit.record(
        call.app[POOL],
        "moderation.snapshot.read",
        actor_id=call.principal.user_id,
        subject_id=flag.subject_id,
        target=f"flag:{flag.id}",
        ip=call.ip,
    )
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "private, no-store"}
    )


def _check_actions(flag: flag_store.FlagRow, body: ResolveIn) -> set[str]:
    wanted: set[str] = set(body.actions)
    if body.decision == "dismiss" and wanted:
        raise ActionNotApplicable("a dismissal takes no actions", meta={"actions": sorted(wanted)})
    allowed = POST_ACTIONS if flag.post_id is not None else STREAM_ACTIONS
    if wanted - allowed:
        raise ActionNotApplicable(
            f"not applicable to a {flag.target[0]} flag",
            meta={"actions": sorted(wanted - allowed), "allowed": sorted(allowed)},
        )
    if wanted == {"reject_post", "mark_explicit"}:
        raise ActionNotApplicable("reject the post or publish it marked explicit, not both")
    if "set_rating" in wanted and body.rating is None:
        raise ActionNotApplicable("set_rating needs a rating", meta={"field": "rating"})
    if flag.post_id is not None and body.decision == "confirm" and not wanted:
        wanted.add("reject_post")  # confirming a post's flag removes it unless told otherwise
    return wanted


@api.route(
    "POST",
    "/api/v1/moderation/flags/{flag_id}/resolve",
    summary="Dismiss or confirm a flag (with actions: freeze, set_rating, mark_explicit, "
    "reject_post); exactly once, logged",
    body=ResolveIn,
    response=FlagOut,
    permission=Permission.MODERATE_ALL,
    errors=(409,),
    path_formats=UUID_FLAG,
    ranked="flag.resolve",
)
async def resolve_flag(call: Call[ResolveIn, None]) -> FlagOut:
    """403 `RANK_FORBIDDEN` for a flag about the moderator's own stream or post, or one of an
    account of an equal or higher role."""
    flag = await _flag(call)
    await check_may_act_on(call.app[POOL], call.principal, flag.subject_id, action="flag.resolve")
    b = call.body
    actions = _check_actions(flag, b)
    db = call.app[POOL]
    moderator = call.principal.user_id
    stream = None
    if "freeze" in actions:
        stream = await streams.get_stream(db, flag.stream_id) if flag.stream_id else None
        if stream is None or stream.state != "live":
            raise ActionNotApplicable(
                "only a live stream can be frozen", meta={"actions": ["freeze"]}
            )
    target_type, target_id = flag.target
    resolution = "dismissed" if b.decision == "dismiss" else "confirmed"
    async with db.acquire() as conn, conn.transaction():
        if not await flag_store.resolve(conn, flag.id, resolution, moderator, b.note):
            raise AlreadyResolved("this flag is already resolved")
        if flag.post_id is not None:
            if b.decision == "dismiss" or "mark_explicit" in actions:
                explicit = True if "mark_explicit" in actions else None
                await posts.review_outcome(
                    conn, flag.post_id, status="published", explicit=explicit
                )
            else:
                await posts.review_outcome(conn, flag.post_id, status="rejected")
        if "set_rating" in actions:
            assert flag.stream_id is not None and b.rating is not None
            await store.set_rating(conn, flag.stream_id, b.rating)
        if "mark_explicit" in actions and flag.stream_id is not None:
            await store.mark_explicit(conn, flag.stream_id)
        meta: dict[str, Any] = {"ip": call.ip, "actions": sorted(actions)}
        if b.rating is not None and "set_rating" in actions:
            meta["rating"] = b.rating
        await flag_store.log(
            conn,
            moderator,
            f"flag.{resolution}",
            target_type=target_type,
            target_id=target_id,
            subject_id=flag.subject_id,
            flag_id=flag.id,
            note=b.note,
            meta=meta,
        )
    # Effects on the live broadcast come after the commit: the record never claims more.
    if flag.stream_id is not None:
        sid = str(flag.stream_id)
        if "set_rating" in actions and b.rating is not None:
            _rate_live(call, sid, b.rating)
        if "mark_explicit" in actions:
            await _mark_live_explicit(call, sid)
        if "freeze" in actions:
            reason = "moderation: confirmed by a moderator"
            safety = call.app.get(SAFETY)
            if safety is None or await safety.freeze(sid, reason, by=moderator) is None:
                await request_freeze(call.app[PUBSUB], sid, reason, by=moderator)
    done = await flag_store.get(db, flag.id)
    assert done is not None
    return flag_out(done, _now())


def _rate_live(call: Call[Any, Any], stream_id: str, rating: str) -> None:
    """The running broadcast's monitor judges the next samples with the new rating (this node;
    a broadcast on another node takes it at its next start)."""
    moderation = call.app.get(MODERATION)
    monitor = moderation.monitors.get(stream_id) if moderation is not None else None
    if monitor is not None:
        monitor.rating = rating


async def _mark_live_explicit(call: Call[Any, Any], stream_id: str) -> None:
    broadcasts = call.app.get(BROADCASTS)
    broadcast = broadcasts.get(stream_id) if broadcasts is not None else None
    if broadcast is not None:
        await broadcast.pipeline.set_explicit(True)  # posters blurred from the next frame
    await call.app[PUBSUB].publish(safety_channel(stream_id), {"event": "explicit"})


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/safety",
    summary="A stream's rating, explicit mark and freeze (and who may lift it)",
    response=StreamSafetyOut,
    permission=Permission.MODERATE_ALL,
    path_formats=UUID_STREAM,
)
async def stream_safety(call: Call[None, None]) -> StreamSafetyOut:
    stream = await _stream(call)
    return safety_out(await store.get_safety(call.app[POOL], stream.id))


@api.route(
    "PUT",
    "/api/v1/streams/{stream_id}/rating",
    summary="Set a stream's content rating (sfw or adult; moderators, logged)",
    body=RatingIn,
    response=StreamSafetyOut,
    permission=Permission.MODERATE_ALL,
    path_formats=UUID_STREAM,
    ranked="stream.rating",
)
async def set_stream_rating(call: Call[RatingIn, None]) -> StreamSafetyOut:
    stream = await _stream(call)
    await check_may_act_on(
        call.app[POOL], call.principal, stream.creator_id, action="stream.rating"
    )
    db = call.app[POOL]
    async with db.acquire() as conn, conn.transaction():
        before = await store.get_safety(conn, stream.id)
        await store.set_rating(conn, stream.id, call.body.rating)
        await flag_store.log(
            conn,
            call.principal.user_id,
            "stream.rating",
            target_type="stream",
            target_id=str(stream.id),
            subject_id=stream.creator_id,
            note=call.body.note,
            meta={"ip": call.ip, "from": before.rating, "to": call.body.rating},
        )
    _rate_live(call, str(stream.id), call.body.rating)
    return safety_out(await store.get_safety(db, stream.id))


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/unfreeze",
    summary="Lift a moderation freeze (moderators; a safe-word freeze needs the creator's /resume)",
    body=UnfreezeIn,
    response=StreamSafetyOut,
    permission=Permission.MODERATE_ALL,
    errors=(409,),
    path_formats=UUID_STREAM,
)
async def unfreeze_stream(call: Call[UnfreezeIn, None]) -> StreamSafetyOut:
    stream = await _stream(call)
    db = call.app[POOL]
    state = await store.get_safety(db, stream.id)
    if not state.frozen:
        raise NotFrozen("the stream is not frozen")
    if who_lifts(state.frozen_reason) == "creator":
        raise CreatorConfirmationRequired(
            "a performer's freeze is lifted by the creator's confirmation (/resume)",
            meta={"reason": state.frozen_reason},
        )
    moderator = call.principal.user_id
    sid = str(stream.id)
    safety = call.app.get(SAFETY)
    lifted_here = safety is not None and await safety.unfreeze(sid, by=moderator)
    if not lifted_here:
        if stream.state == "live":  # held by another node: it lifts it and records it
            await request_unfreeze(call.app[PUBSUB], sid, by=moderator)
        # Recorded here too (idempotent), so the state is right even with no broadcast.
        await store.set_frozen(db, stream.id, reason=None, by=moderator)
    await flag_store.log(
        db,
        moderator,
        "stream.unfreeze",
        target_type="stream",
        target_id=sid,
        subject_id=stream.creator_id,
        note=call.body.note,
        meta={"ip": call.ip, "reason": state.frozen_reason},
    )
    return safety_out(await store.get_safety(db, stream.id))
