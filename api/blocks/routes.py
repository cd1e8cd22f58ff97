"""``/api/v1/users/{handle}/block`` and ``/api/v1/me/blocks``: a member blocks an account.

A block either way round keeps the two apart: the feed hides each from the other, neither can
comment on or like the other's posts, and a block ends their follows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from api.blocks import store
from api.blocks.errors import CannotBlockSelf
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import store as users
from api.users.errors import UserNotFound

api = Api("blocks")


class BlockQuery(Input):
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class BlockedAccount(Output):
    id: uuid.UUID
    handle: str
    since: datetime


async def _target(call: Call[None, None]) -> uuid.UUID:
    handle = call.path("handle")
    user = await users.get_by_handle(call.app[POOL], handle) if len(handle) <= 30 else None
    if user is None:
        raise UserNotFound("no such user", meta={"handle": call.path("handle")[:64]})
    if user.id == call.principal.user_id:
        raise CannotBlockSelf("you cannot block yourself")
    return user.id


@api.route(
    "POST",
    "/api/v1/users/{handle}/block",
    summary="Block this account (no feed, comments, likes or follows between us)",
    status=204,
    auth=True,
    errors=(422,),
)
async def block(call: Call[None, None]) -> None:
    target = await _target(call)
    assert call.principal.user_id is not None
    await store.block(call.app[POOL], call.principal.user_id, target)


@api.route(
    "DELETE",
    "/api/v1/users/{handle}/block",
    summary="Unblock this account",
    status=204,
    auth=True,
    errors=(422,),
)
async def unblock(call: Call[None, None]) -> None:
    target = await _target(call)
    assert call.principal.user_id is not None
    await store.unblock(call.app[POOL], call.principal.user_id, target)


@api.route(
    "GET",
    "/api/v1/me/blocks",
    summary="The accounts I blocked, newest first (limit/offset; nextCursor is the next offset)",
    query=BlockQuery,
    response=BlockedAccount,
    paginated=True,
    auth=True,
)
async def list_blocks(call: Call[None, BlockQuery]) -> Page[BlockedAccount]:
    q = call.query
    assert call.principal.user_id is not None
    rows = await store.blocked_by(
        call.app[POOL], call.principal.user_id, limit=q.limit, offset=q.offset
    )
    items = [BlockedAccount(id=r.user_id, handle=r.handle, since=r.since) for r in rows]
    return Page(items, str(q.offset + q.limit) if len(rows) == q.limit else None)
