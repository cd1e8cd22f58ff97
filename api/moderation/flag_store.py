"""SQL for the moderators' review of automated flags: the queue, resolving, the log entry.

A flag is resolved exactly once (a conditional update: a second try finds no pending row), in
the same transaction as its ``moderation_log`` entry, which cites the flag (``meta.flagId``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Connection, Db

_FLAG = """
SELECT f.id, f.kind, f.stream_id, f.post_id, f.reason, f.snapshot_key, f.status, f.resolution,
       f.note, f.created_at, f.resolved_at, f.resolved_by, f.decision_id,
       coalesce(s.creator_id, p.creator_id) AS subject_id,
       d.action AS d_action, d.actions AS d_actions, d.policy_version AS d_policy,
       d.detector AS d_detector, d.matches AS d_matches, d.detections AS d_detections,
       p.scan AS post_scan
FROM moderation_flags f
LEFT JOIN moderation_decisions d ON d.id = f.decision_id
LEFT JOIN streams s ON s.id = f.stream_id
LEFT JOIN posts p ON p.id = f.post_id
"""


@dataclass(frozen=True)
class FlagRow:
    id: uuid.UUID
    kind: str
    stream_id: uuid.UUID | None
    post_id: uuid.UUID | None
    reason: str
    snapshot_key: str | None
    status: str
    resolution: str | None
    note: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    subject_id: uuid.UUID | None  # the stream's or post's creator
    decision: dict[str, Any] | None  # the automated decision's scores, when one was made

    @property
    def target(self) -> tuple[str, str]:
        if self.post_id is not None:
            return "post", str(self.post_id)
        return "stream", str(self.stream_id)


def _row(r: Any) -> FlagRow:
    decision = None
    if r["d_action"] is not None:
        decision = {
            "action": r["d_action"],
            "actions": list(r["d_actions"]),
            "policy_version": r["d_policy"],
            "detector": r["d_detector"],
            "matches": json.loads(r["d_matches"]),
            "detections": json.loads(r["d_detections"]),
        }
    elif r["post_scan"] is not None:
        decision = json.loads(r["post_scan"])  # a post's scan has the same shape
    return FlagRow(
        id=r["id"],
        kind=r["kind"],
        stream_id=r["stream_id"],
        post_id=r["post_id"],
        reason=r["reason"],
        snapshot_key=r["snapshot_key"],
        status=r["status"],
        resolution=r["resolution"],
        note=r["note"],
        created_at=r["created_at"],
        resolved_at=r["resolved_at"],
        resolved_by=r["resolved_by"],
        subject_id=r["subject_id"],
        decision=decision,
    )


async def queue(
    db: Db, status: str, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[FlagRow]:
    """Flags in ``status``, oldest first (the longest wait first), after the ``after`` key."""
    if after is None:
        rows = await db.fetch(
            _FLAG + " WHERE f.status = $1 ORDER BY f.created_at, f.id LIMIT $2", status, limit
        )
    else:
        rows = await db.fetch(
            _FLAG + " WHERE f.status = $1 AND (f.created_at, f.id) > ($3, $4) "
            "ORDER BY f.created_at, f.id LIMIT $2",
            status,
            limit,
            after[0],
            after[1],
        )
    return [_row(r) for r in rows]


async def get(db: Db, flag_id: uuid.UUID) -> FlagRow | None:
    r = await db.fetchrow(_FLAG + " WHERE f.id = $1", flag_id)
    return _row(r) if r else None


async def resolve(
    conn: Connection, flag_id: uuid.UUID, resolution: str, moderator: uuid.UUID | None, note: str
) -> bool:
    """Resolve a pending flag (in the caller's transaction); False if it was not pending."""
    status: str = await conn.execute(
        "UPDATE moderation_flags SET status = 'resolved', resolution = $2, resolved_at = now(), "
        "resolved_by = $3, note = $4 WHERE id = $1 AND status = 'pending'",
        flag_id,
        resolution,
        moderator,
        note,
    )
    return status == "UPDATE 1"


async def log(
    conn: Db,
    actor_id: uuid.UUID | None,
    action: str,
    *,
    target_type: str,
    target_id: str,
    subject_id: uuid.UUID | None,
    flag_id: uuid.UUID | None = None,
    note: str = "",
    meta: dict[str, Any] | None = None,
) -> None:
    """Append to ``moderation_log`` (append-only: migration 0062)."""
    entry = dict(meta or {})
    if flag_id is not None:
        entry["flagId"] = str(flag_id)
    await conn.execute(
        "INSERT INTO moderation_log (actor_id, action, target_type, target_id, "
        "subject_id, note, meta) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        actor_id,
        action,
        target_type,
        target_id,
        subject_id,
        note,
        json.dumps(entry),
    )
