"""Tip menus and goals: what a stream's room tips for.

| route | needs |
|---|---|
| ``GET /api/v1/streams/{stream_id}/tip-menu`` | nothing |
| ``POST /api/v1/tip-menu`` | ``stream.publish`` |
| ``PATCH /api/v1/tip-menu/{item_id}`` | the item's creator (or an admin) |
| ``GET /api/v1/streams/{stream_id}/goal`` | nothing |
| ``POST``/``DELETE /api/v1/streams/{stream_id}/goal`` | the stream's creator (or an admin) |

A tip names a menu item with ``menuItemId`` (`api.wallet.tips`); goal progress and completion
reach the room through `api.wallet.events`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.wallet import goals, menus
from api.wallet.errors import (
    MENU_ITEM_ID,
    GoalNotFound,
    NotMenuOwner,
    NotStreamOwner,
    StreamNotFound,
    UnknownItem,
)
from api.wallet.service import LEDGER
from teezu.errors import Invalid

api = Api("wallet")
PROMPT_MIN, PROMPT_MAX = 5, 500  # the product's quick prompts: 5-500 tokens


class PromptPriceOutOfRange(Invalid):
    code = "PROMPT_PRICE_OUT_OF_RANGE"


class MenuItemCreate(Input):
    label: str = Field(min_length=1, max_length=80)
    price: StrictInt = Field(ge=1, le=1_000_000, description="tokens")
    position: int = Field(default=0, ge=0, le=1000)
    kind: Literal["menu", "prompt"] = Field(
        default="menu",
        description="prompt: a quick prompt, shown in the room's input bar (5-500 tokens)",
    )
    trigger_action: str | None = Field(
        default=None, min_length=1, max_length=80, description="what a purchase sets off"
    )


class MenuItemUpdate(Input):
    label: str | None = Field(default=None, min_length=1, max_length=80)
    price: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    position: int | None = Field(default=None, ge=0, le=1000)
    active: bool | None = None


class GoalCreate(Input):
    title: str = Field(min_length=1, max_length=120)
    target: StrictInt = Field(ge=1, le=100_000_000, description="tokens")
    mode: Literal["tips", "pledge"] = Field(
        default="tips",
        description="tips count towards it; or refundable pledges (holds captured when it "
        "completes, released if the stream ends first or it is cancelled)",
    )


class MenuItemOut(Output):
    id: uuid.UUID
    label: str
    price: int
    position: int
    active: bool
    kind: Literal["menu", "prompt"] = "menu"
    trigger_action: str | None = None


class GoalOut(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    title: str
    target: int
    progress: int = Field(description="tokens tipped (or pledged and not refunded) so far")
    state: Literal["open", "completed", "cancelled"]
    mode: Literal["tips", "pledge"]
    created_at: datetime
    ended_at: datetime | None


async def _stream_creator(call: Call[Any, Any]) -> tuple[uuid.UUID, uuid.UUID | None]:
    """(stream id, its creator's user id) from the path; `StreamNotFound` if there is none."""
    stream_id = call.id("stream_id")
    row = await call.app[POOL].fetchrow("SELECT creator_id FROM streams WHERE id = $1", stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return stream_id, row["creator_id"]


def _may_manage(call: Call[Any, Any], owner: uuid.UUID | None) -> bool:
    p = call.principal
    return (owner is not None and owner == p.user_id) or p.can(Permission.SYSTEM_CONFIG_LIMITED)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/tip-menu",
    summary="The tip menu of a stream's creator",
    response=MenuItemOut,
    paginated=True,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_tip_menu(call: Call[None, None]) -> Page[MenuItemOut]:
    _, creator = await _stream_creator(call)
    items = await menus.menu_of(call.app[POOL], creator) if creator else []
    return Page([MenuItemOut.model_validate(i.public()) for i in items])


@api.route(
    "POST",
    "/api/v1/tip-menu",
    summary="Add an item to my tip menu",
    status=201,
    body=MenuItemCreate,
    response=MenuItemOut,
    permission=Permission.STREAM,
)
async def create_menu_item(call: Call[MenuItemCreate, None]) -> MenuItemOut:
    """422 PROMPT_PRICE_OUT_OF_RANGE: a quick prompt costs 5 to 500 tokens."""
    assert call.principal.user_id is not None
    b = call.body
    if b.kind == "prompt" and not PROMPT_MIN <= b.price <= PROMPT_MAX:
        raise PromptPriceOutOfRange(
            f"a quick prompt costs {PROMPT_MIN} to {PROMPT_MAX} tokens",
            meta={"min": PROMPT_MIN, "max": PROMPT_MAX},
        )
    item = await menus.create(
        call.app[POOL],
        call.principal.user_id,
        label=b.label,
        price=b.price,
        position=b.position,
        kind=b.kind,
        trigger_action=b.trigger_action,
    )
    return MenuItemOut.model_validate(item.public())


@api.route(
    "PATCH",
    "/api/v1/tip-menu/{item_id}",
    summary="Change or retire (active: false) an item of my tip menu",
    body=MenuItemUpdate,
    response=MenuItemOut,
    permission=Permission.STREAM,
    path_formats={"item_id": MENU_ITEM_ID},
)
async def update_menu_item(call: Call[MenuItemUpdate, None]) -> MenuItemOut:
    item_id = call.id("item_id")
    pool = call.app[POOL]
    item = await menus.get(pool, item_id)
    if item is None:
        raise UnknownItem("no such tip menu item", meta={"id": str(item_id)})
    if not _may_manage(call, item.creator_id):
        raise NotMenuOwner("only the menu's creator (or an admin) may change it")
    b = call.body
    changed = await menus.update(
        pool, item_id, label=b.label, price=b.price, position=b.position, active=b.active
    )
    assert changed is not None
    return MenuItemOut.model_validate(changed.public())


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/goal",
    summary="The stream's open goal (else its latest) with progress",
    response=GoalOut,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_goal(call: Call[None, None]) -> GoalOut:
    stream_id, _ = await _stream_creator(call)
    goal = await goals.current(call.app[POOL], stream_id)
    if goal is None:
        raise GoalNotFound("this stream has no goal", meta={"streamId": str(stream_id)})
    return GoalOut.model_validate(goal.public())


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/goal",
    summary="Open a goal on my stream (tips count towards it until it is reached)",
    status=201,
    body=GoalCreate,
    response=GoalOut,
    auth=True,
    errors=(409,),
    path_formats={"stream_id": STREAM_ID},
)
async def create_goal(call: Call[GoalCreate, None]) -> GoalOut:
    """409 GOAL_ALREADY_OPEN while another goal is open on the stream."""
    stream_id, creator = await _stream_creator(call)
    if not _may_manage(call, creator):
        raise NotStreamOwner("only the stream's creator (or an admin) may set its goal")
    goal = await goals.create(
        call.app[POOL],
        stream_id,
        title=call.body.title,
        target=call.body.target,
        mode=call.body.mode,
    )
    return GoalOut.model_validate(goal.public())


@api.route(
    "DELETE",
    "/api/v1/streams/{stream_id}/goal",
    summary="Cancel my stream's open goal (tips stay given; pledges are released)",
    response=GoalOut,
    auth=True,
    path_formats={"stream_id": STREAM_ID},
)
async def cancel_goal(call: Call[None, None]) -> GoalOut:
    stream_id, creator = await _stream_creator(call)
    if not _may_manage(call, creator):
        raise NotStreamOwner("only the stream's creator (or an admin) may cancel its goal")
    goal = await call.app[LEDGER].pledges.cancel_goal(stream_id)
    if goal is None:
        raise GoalNotFound("this stream has no open goal", meta={"streamId": str(stream_id)})
    return GoalOut.model_validate(goal.public())
