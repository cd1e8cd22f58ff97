"""The audit log: auth events and admin actions on other people's data (append-only)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from teezu.db import Db


async def record(
    db: Db,
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    target: str | None = None,
    ip: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Append one entry. ``actor`` did ``action`` to ``subject`` (a user) or ``target``."""
    await db.execute(
        "INSERT INTO audit_log (action, actor_id, subject_id, target, ip, meta) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        action,
        actor_id,
        subject_id,
        target,
        ip,
        json.dumps(meta or {}),
    )


async def entries(
    db: Db, *, subject_id: uuid.UUID | None = None, action: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, at, actor_id, action, subject_id, target, ip, meta FROM audit_log "
        "WHERE ($1::uuid IS NULL OR subject_id = $1) AND ($2::text IS NULL OR action = $2) "
        "ORDER BY id DESC LIMIT $3",
        subject_id,
        action,
        limit,
    )
    return [{**dict(r), "meta": json.loads(r["meta"])} for r in rows]
