"""Reports, appeals, account standing and the moderation log in PostgreSQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Connection, Db

_REPORT = (
    "SELECT id, reporter_id, target_type, target_id, subject_id, reason, details, created_at, "
    "status, resolution, resolved_at FROM reports"
)
# Records about erased accounts are retained but locked and hidden (api/privacy): the queues
# and the log that moderators read leave them out.
_NOT_ERASED = "NOT EXISTS (SELECT 1 FROM users e WHERE e.id = {col} AND e.status = 'erased')"
_APPEAL = (
    "SELECT id, report_id, appellant_id, text, created_at, status, decided_by, decided_at "
    "FROM appeals"
)


@dataclass(frozen=True)
class ReportRow:
    id: uuid.UUID
    reporter_id: uuid.UUID | None
    target_type: str
    target_id: str
    subject_id: uuid.UUID | None
    reason: str
    details: str
    created_at: datetime
    status: str
    resolution: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class AppealRow:
    id: uuid.UUID
    report_id: uuid.UUID
    appellant_id: uuid.UUID
    text: str
    created_at: datetime
    status: str
    decided_by: uuid.UUID | None
    decided_at: datetime | None


async def create_report(
    db: Db,
    reporter_id: uuid.UUID,
    target_type: str,
    target_id: str,
    subject_id: uuid.UUID | None,
    reason: str,
    details: str,
) -> ReportRow:
    r = await db.fetchrow(
        "INSERT INTO reports (id, reporter_id, target_type, target_id, subject_id, reason, "
        "details) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        uuid.uuid4(),
        reporter_id,
        target_type,
        target_id,
        subject_id,
        reason,
        details,
    )
    assert r is not None  # the query always returns a row
    return ReportRow(**dict(r))


async def get_report(db: Db, report_id: uuid.UUID) -> ReportRow | None:
    r = await db.fetchrow(_REPORT + " WHERE id = $1", report_id)
    return ReportRow(**dict(r)) if r else None


async def reports_by(db: Db, reporter_id: uuid.UUID, limit: int) -> list[ReportRow]:
    rows = await db.fetch(
        _REPORT + " WHERE reporter_id = $1 ORDER BY created_at DESC LIMIT $2", reporter_id, limit
    )
    return [ReportRow(**dict(r)) for r in rows]


async def queue(db: Db, status: str, limit: int) -> list[ReportRow]:
    """Reports in ``status``, oldest first: the longest-waiting complaint is handled first."""
    rows = await db.fetch(
        _REPORT
        + " WHERE status = $1 AND "
        + _NOT_ERASED.format(col="subject_id")
        + " ORDER BY created_at LIMIT $2",
        status,
        limit,
    )
    return [ReportRow(**dict(r)) for r in rows]


async def resolve(conn: Connection, report_id: uuid.UUID, resolution: str) -> bool:
    """Mark an open report resolved (in the caller's transaction); False if it was not open."""
    status: str = await conn.execute(
        "UPDATE reports SET status = 'resolved', resolution = $2, resolved_at = now() "
        "WHERE id = $1 AND status = 'open'",
        report_id,
        resolution,
    )
    return status == "UPDATE 1"


async def set_standing(
    conn: Connection, user_id: uuid.UUID, status: str, until: datetime | None
) -> None:
    await conn.execute(
        # An erased account stays erased (api/privacy): a late decision does not revive it.
        "UPDATE users SET status = $2, suspended_until = $3 WHERE id = $1 AND status <> 'erased'",
        user_id,
        status,
        until,
    )
    # Signed-in sessions end now; the authenticator also refuses restricted accounts.
    await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)


async def standing(db: Db, user_id: uuid.UUID) -> tuple[str, datetime | None] | None:
    r = await db.fetchrow("SELECT status, suspended_until FROM users WHERE id = $1", user_id)
    return (r["status"], r["suspended_until"]) if r else None


async def log(
    conn: Db,
    actor_id: uuid.UUID | None,
    action: str,
    *,
    report: ReportRow | None = None,
    appeal_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    note: str = "",
    meta: dict[str, Any] | None = None,
) -> None:
    """Append to the moderation log (it refuses changes: see migration 0062)."""
    await conn.execute(
        "INSERT INTO moderation_log (actor_id, action, report_id, appeal_id, target_type, "
        "target_id, subject_id, note, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
        actor_id,
        action,
        report.id if report else None,
        appeal_id,
        report.target_type if report else None,
        report.target_id if report else None,
        subject_id if subject_id is not None else (report.subject_id if report else None),
        note,
        json.dumps(meta or {}),
    )


async def log_entries(db: Db, report_id: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, at, actor_id, action, report_id, appeal_id, target_type, target_id, "
        "subject_id, note, meta FROM moderation_log WHERE ($1::uuid IS NULL OR report_id = $1) "
        f"AND {_NOT_ERASED.format(col='subject_id')} ORDER BY id DESC LIMIT $2",
        report_id,
        limit,
    )
    return [{**dict(r), "meta": json.loads(r["meta"])} for r in rows]


async def create_appeal(
    db: Db, report_id: uuid.UUID, appellant_id: uuid.UUID, text: str
) -> AppealRow | None:
    """A new open appeal; None if one is already open for the report."""
    r = await db.fetchrow(
        "INSERT INTO appeals (id, report_id, appellant_id, text) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (report_id) WHERE status = 'open' DO NOTHING RETURNING *",
        uuid.uuid4(),
        report_id,
        appellant_id,
        text,
    )
    return AppealRow(**dict(r)) if r else None


async def get_appeal(db: Db, appeal_id: uuid.UUID) -> AppealRow | None:
    r = await db.fetchrow(_APPEAL + " WHERE id = $1", appeal_id)
    return AppealRow(**dict(r)) if r else None


async def open_appeals(db: Db, limit: int) -> list[AppealRow]:
    rows = await db.fetch(
        _APPEAL
        + " WHERE status = 'open' AND "
        + _NOT_ERASED.format(col="appellant_id")
        + " ORDER BY created_at LIMIT $1",
        limit,
    )
    return [AppealRow(**dict(r)) for r in rows]


async def decide_appeal(
    conn: Connection, appeal_id: uuid.UUID, decision: str, moderator: uuid.UUID
) -> bool:
    status: str = await conn.execute(
        "UPDATE appeals SET status = $2, decided_by = $3, decided_at = now() "
        "WHERE id = $1 AND status = 'open'",
        appeal_id,
        decision,
        moderator,
    )
    return status == "UPDATE 1"
