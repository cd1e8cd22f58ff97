"""Unlockables over HTTP: creators make them, everyone sees how far along they are, and the
payload is given to whoever has unlocked it.

| route | needs |
|---|---|
| ``POST /api/v1/unlockables`` | ``stream.publish`` (a room unlockable: on one's own stream) |
| ``PATCH /api/v1/unlockables/{unlockable_id}`` | its creator (or an admin) |
| ``GET /api/v1/creators/{creator_id}/unlockables`` | nothing (progress is the caller's) |
| ``GET /api/v1/unlockables/{unlockable_id}`` | unlocked for the caller, or its creator/admin |
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import Field, StrictBool, StrictInt

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.keys import POOL, PUBSUB
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams import store as streams
from api.streams.admission import may_view
from api.subscriptions.errors import CREATOR_ID
from api.unlockables import store
from api.unlockables.errors import (
    UNLOCKABLE_ID,
    NotStreamOwner,
    NotUnlockableOwner,
    SignInToUnlock,
    StreamNotFound,
    StreamRequired,
    UnlockableForbidden,
    UnlockableLocked,
    UnlockableNotFound,
)
from api.unlockables.events import WATCHER, UnlockWatcher
from api.wallet.events import MONEY_EVENTS

# PostgreSQL text cannot hold NUL: refused with the other validation errors.
TEXT = r"^[^\x00]*$"
api = Api("unlockables")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnlockableCreate(Input):
    title: str = Field(min_length=1, max_length=120, pattern=TEXT)
    payload: str = Field(
        min_length=1,
        max_length=4000,
        pattern=TEXT,
        description="text or a URL, shown once unlocked",
    )
    scope: Literal["viewer", "room"] = Field(
        description="viewer: each viewer's own tips to the creator (or to `streamId`) unlock "
        "it for them; room: the stream's tips since it was made unlock it for everyone there"
    )
    threshold: StrictInt = Field(ge=1, le=100_000_000, description="tokens")
    stream_id: uuid.UUID | None = Field(default=None, description="required for scope room")


class UnlockableUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=120, pattern=TEXT)
    payload: str | None = Field(default=None, min_length=1, max_length=4000, pattern=TEXT)
    active: StrictBool | None = None


class ListQuery(Input):
    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,17}\.[0-9a-f]{32}$",
        description="`nextCursor` of the previous page",
    )


class UnlockableOut(Output):
    id: uuid.UUID
    creator_id: uuid.UUID
    stream_id: uuid.UUID | None
    title: str
    scope: Literal["viewer", "room"]
    threshold: int
    active: bool
    created_at: datetime
    progress: int = Field(description="tokens counted so far (the caller's, or the room's)")
    remaining: int = Field(description="tokens still to tip before it unlocks")
    unlocked: bool


class UnlockedOut(UnlockableOut):
    payload: str


def _manages(p: Principal, item: store.Unlockable) -> bool:
    return item.creator_id == p.user_id or p.can(Permission.SYSTEM_CONFIG_LIMITED)


async def _progress(pool: asyncpg.Pool, p: Principal, item: store.Unlockable) -> tuple[int, bool]:
    """(progress, unlocked) for the caller: the room's tips, or the caller's own."""
    if item.scope == "room":
        progress = await store.room_progress(pool, item)
        return progress, item.unlocked_at is not None or progress >= item.threshold
    if p.user_id is None:
        return 0, False
    progress = await store.viewer_progress(pool, item, p.user_id)
    return progress, progress >= item.threshold or await store.has_unlocked(
        pool, item.id, p.user_id
    )


def _out(item: store.Unlockable, progress: int, unlocked: bool) -> dict[str, Any]:
    return {
        **item.public(),
        "progress": progress,
        "remaining": 0 if unlocked else max(0, item.threshold - progress),
        "unlocked": unlocked,
    }


@api.route(
    "POST",
    "/api/v1/unlockables",
    summary="Make an unlockable (content that unlocks at a tip threshold)",
    status=201,
    body=UnlockableCreate,
    response=UnlockedOut,
    permission=Permission.STREAM,
    errors=(403, 404),
)
async def create_unlockable(call: Call[UnlockableCreate, None]) -> UnlockedOut:
    """422 STREAM_REQUIRED for a room unlockable without `streamId`; 404 STREAM_NOT_FOUND;
    403 NOT_STREAM_OWNER for someone else's stream."""
    b = call.body
    me = call.principal.user_id
    assert me is not None
    pool = call.app[POOL]
    if b.scope == "room" and b.stream_id is None:
        raise StreamRequired(
            "a room unlockable belongs to one stream: send streamId",
            meta={"errors": [{"field": "body.streamId", "message": "required for scope room"}]},
        )
    if b.stream_id is not None:
        stream = await streams.get_stream(pool, b.stream_id)
        if stream is None:
            raise StreamNotFound("no such stream", meta={"streamId": str(b.stream_id)})
        if stream.creator_id != me:
            raise NotStreamOwner("an unlockable can only be on one's own stream")
    item = await store.create(
        pool,
        me,
        title=b.title,
        payload=b.payload,
        scope=b.scope,
        threshold=b.threshold,
        stream_id=b.stream_id,
    )
    return UnlockedOut(**_out(item, 0, False), payload=item.payload)


@api.route(
    "PATCH",
    "/api/v1/unlockables/{unlockable_id}",
    summary="Change or retire (active: false) an unlockable of mine",
    body=UnlockableUpdate,
    response=UnlockedOut,
    auth=True,
    errors=(403,),
    path_formats={"unlockable_id": UNLOCKABLE_ID},
)
async def update_unlockable(call: Call[UnlockableUpdate, None]) -> UnlockedOut:
    pool = call.app[POOL]
    item_id = call.id("unlockable_id")
    item = await store.get(pool, item_id)
    if item is None:
        raise UnlockableNotFound("no such unlockable", meta={"id": str(item_id)})
    if not _manages(call.principal, item):
        raise NotUnlockableOwner("only its creator (or an admin) may change an unlockable")
    b = call.body
    changed = await store.update(pool, item.id, title=b.title, payload=b.payload, active=b.active)
    assert changed is not None
    progress, unlocked = await _progress(pool, call.principal, changed)
    return UnlockedOut(**_out(changed, progress, unlocked), payload=changed.payload)


@api.route(
    "GET",
    "/api/v1/creators/{creator_id}/unlockables",
    summary="A creator's unlockables with the caller's progress (never their payloads)",
    query=ListQuery,
    response=UnlockableOut,
    paginated=True,
    path_formats={"creator_id": CREATOR_ID},
)
async def list_unlockables(call: Call[None, ListQuery]) -> Page[UnlockableOut]:
    """Room unlockables count the room's tips since they were made; per-viewer ones count the
    caller's own tips (0 for anonymous callers). Retired ones are listed for the creator."""
    creator = call.id("creator_id")
    q = call.query
    before = None
    if q.cursor:
        micros, _, item_id = q.cursor.partition(".")
        before = (_EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(item_id))
    pool = call.app[POOL]
    p = call.principal
    items = await store.of_creator(
        pool,
        creator,
        include_inactive=creator == p.user_id or p.can(Permission.SYSTEM_CONFIG_LIMITED),
        limit=q.limit,
        before=before,
    )
    out = []
    for item in items:
        progress, unlocked = await _progress(pool, p, item)
        out.append(UnlockableOut(**_out(item, progress, unlocked)))
    cursor = None
    if len(items) == q.limit:
        last = items[-1]
        delta = last.created_at - _EPOCH
        micros_ = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        cursor = f"{micros_}.{last.id.hex}"
    return Page(out, cursor)


@api.route(
    "GET",
    "/api/v1/unlockables/{unlockable_id}",
    summary="An unlockable's payload, once unlocked for the caller",
    response=UnlockedOut,
    errors=(401, 402, 403),
    path_formats={"unlockable_id": UNLOCKABLE_ID},
)
async def get_unlockable(call: Call[None, None]) -> UnlockedOut:
    """402 UNLOCKABLE_LOCKED until it is unlocked (meta: threshold, progress, remaining,
    scope); 401 UNAUTHENTICATED for a per-viewer one when not signed in; 403
    UNLOCKABLE_FORBIDDEN for a room one on a stream the caller may not watch. Its creator
    and admins always get it."""
    pool = call.app[POOL]
    p = call.principal
    item_id = call.id("unlockable_id")
    item = await store.get(pool, item_id)
    if item is None or (not item.active and not _manages(p, item)):
        raise UnlockableNotFound("no such unlockable", meta={"id": str(item_id)})
    progress, unlocked = await _progress(pool, p, item)
    if not _manages(p, item):
        if item.scope == "viewer" and p.user_id is None:
            raise SignInToUnlock("sign in: your own tips unlock this")
        if item.stream_id is not None:
            stream = await streams.get_stream(pool, item.stream_id)
            if stream is None or not await may_view(pool, p, stream):
                raise UnlockableForbidden(
                    "this unlockable belongs to a stream you may not watch",
                    meta={"streamId": str(item.stream_id)},
                )
        if not unlocked:
            raise UnlockableLocked(
                "tip more to unlock this",
                meta={
                    "scope": item.scope,
                    "threshold": item.threshold,
                    "progress": progress,
                    "remaining": max(0, item.threshold - progress),
                },
            )
    return UnlockedOut(**_out(item, progress, unlocked), payload=item.payload)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The tip hook that announces unlocks (after the wallet's lifecycle made MONEY_EVENTS)."""
    watcher = UnlockWatcher(app[POOL], app[PUBSUB])
    app[WATCHER] = watcher
    app[MONEY_EVENTS].tip_hooks.append(watcher.tipped)
    try:
        yield
    finally:
        await watcher.close()


def setup(app: web.Application) -> None:
    """Add the routes and the unlock watcher (call after `api.wallet.routes.setup`)."""
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
