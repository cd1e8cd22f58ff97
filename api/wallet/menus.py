"""Tip menus: a creator's priced actions ("song request: 50 tokens"), tipped for by id.

A tip names the item and the amount the viewer agreed to; the tip is refused if the item is
gone (``UNKNOWN_ITEM``) or its price changed since (``MENU_PRICE_CHANGED``), so nobody pays
another price than the one they saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Db

_COLUMNS = (
    "id, creator_id, label, price, position, active, created_at, updated_at, kind, trigger_action"
)


@dataclass(frozen=True)
class MenuItem:
    id: uuid.UUID
    creator_id: uuid.UUID
    label: str
    price: int
    position: int
    active: bool
    created_at: datetime
    updated_at: datetime
    kind: str = "menu"  # menu | prompt (a quick prompt, shown in the room's input bar)
    trigger_action: str | None = None  # what a purchase sets off (recorded with the tip)

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "label": self.label,
            "price": self.price,
            "position": self.position,
            "active": self.active,
            "kind": self.kind,
            "triggerAction": self.trigger_action,
        }


async def menu_of(db: Db, creator_id: uuid.UUID) -> list[MenuItem]:
    """The creator's active items, in their order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM tip_menu_items WHERE creator_id = $1 AND active "
        "ORDER BY position, created_at",
        creator_id,
    )
    return [MenuItem(**dict(r)) for r in rows]


async def get(db: Db, item_id: uuid.UUID) -> MenuItem | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM tip_menu_items WHERE id = $1", item_id)
    return MenuItem(**dict(row)) if row else None


async def create(
    db: Db,
    creator_id: uuid.UUID,
    *,
    label: str,
    price: int,
    position: int = 0,
    kind: str = "menu",
    trigger_action: str | None = None,
) -> MenuItem:
    row = await db.fetchrow(
        "INSERT INTO tip_menu_items (id, creator_id, label, price, position, kind, "
        f"trigger_action) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        uuid.uuid4(),
        creator_id,
        label,
        price,
        position,
        kind,
        trigger_action,
    )
    assert row is not None  # the query always returns a row
    return MenuItem(**dict(row))


async def update(
    db: Db,
    item_id: uuid.UUID,
    *,
    label: str | None = None,
    price: int | None = None,
    position: int | None = None,
    active: bool | None = None,
) -> MenuItem | None:
    row = await db.fetchrow(
        "UPDATE tip_menu_items SET label = coalesce($2, label), price = coalesce($3, price), "
        "position = coalesce($4, position), active = coalesce($5, active), updated_at = now() "
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        item_id,
        label,
        price,
        position,
        active,
    )
    return MenuItem(**dict(row)) if row else None
