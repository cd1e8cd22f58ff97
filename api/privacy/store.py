"""SQL for ``privacy_exports`` and ``privacy_erasures``; also the privacy package's own
registration (its export rows are personal data too)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from api.privacy.registry import REGISTRY, Cleanup, EraseContext, PersonalData, Retained
from teezu.db import Connection, Db

EXPORT_PREFIX = "privacy-exports"


def export_prefix(user_id: uuid.UUID) -> str:
    return f"{EXPORT_PREFIX}/{user_id}"


@dataclass(frozen=True)
class ExportRow:
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    progress: int
    storage_key: str | None
    size_bytes: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None


_EXPORT = (
    "SELECT id, user_id, status, progress, storage_key, size_bytes, error, created_at, "
    "finished_at, expires_at FROM privacy_exports"
)


async def create_export(db: Db, user_id: uuid.UUID) -> ExportRow | None:
    """A new pending export; None if one of the user's is already pending or running."""
    try:
        r = await db.fetchrow(
            "INSERT INTO privacy_exports (id, user_id) VALUES ($1, $2) RETURNING *",
            uuid.uuid4(),
            user_id,
        )
    except asyncpg.UniqueViolationError:
        return None
    assert r is not None  # the query always returns a row
    return ExportRow(**dict(r))


async def get_export(db: Db, export_id: uuid.UUID, user_id: uuid.UUID) -> ExportRow | None:
    """The export if it is the user's (anyone else's is None, like an unknown id)."""
    r = await db.fetchrow(_EXPORT + " WHERE id = $1 AND user_id = $2", export_id, user_id)
    return ExportRow(**dict(r)) if r else None


async def set_progress(db: Db, export_id: uuid.UUID, status: str, progress: int) -> bool:
    done = await db.execute(
        "UPDATE privacy_exports SET status = $2, progress = $3 "
        "WHERE id = $1 AND status IN ('pending', 'running')",
        export_id,
        status,
        progress,
    )
    return bool(done == "UPDATE 1")


async def finish_export(
    db: Db, export_id: uuid.UUID, key: str, size: int, keep_days: float
) -> bool:
    """Mark done; False if the row is gone or no longer running (erased meanwhile)."""
    done = await db.execute(
        "UPDATE privacy_exports SET status = 'done', progress = 100, storage_key = $2, "
        "size_bytes = $3, finished_at = now(), expires_at = now() + make_interval(secs => $4) "
        "WHERE id = $1 AND status = 'running'",
        export_id,
        key,
        size,
        keep_days * 86400,
    )
    return bool(done == "UPDATE 1")


async def fail_export(db: Db, export_id: uuid.UUID, error: str) -> None:
    await db.execute(
        "UPDATE privacy_exports SET status = 'failed', error = $2, finished_at = now() "
        "WHERE id = $1 AND status IN ('pending', 'running')",
        export_id,
        error,
    )


# An export still pending or running after this long was abandoned (its process stopped);
# real ones take seconds. Time rather than a process id: several processes share a host name.
STALE_AFTER = 3600.0


async def fail_abandoned(db: Db, user_id: uuid.UUID | None = None) -> int:
    """Mark abandoned exports failed (one user's, or everyone's), so they stop blocking a new
    export; a late finish of one then finds it failed and deletes its zip."""
    done = await db.execute(
        "UPDATE privacy_exports SET status = 'failed', error = 'abandoned', finished_at = now() "
        "WHERE status IN ('pending', 'running') AND created_at < now() - make_interval(secs => $1) "
        "AND ($2::uuid IS NULL OR user_id = $2)",
        STALE_AFTER,
        user_id,
    )
    return int(done.split()[-1])


async def expired_exports(db: Db) -> list[str]:
    """Delete expired exports' rows; their storage keys (for the caller to delete)."""
    rows = await db.fetch(
        "DELETE FROM privacy_exports WHERE status = 'done' AND expires_at < now() "
        "RETURNING storage_key"
    )
    return [r["storage_key"] for r in rows]


async def record_erasure(
    conn: Connection, user_id: uuid.UUID, *, by_admin: bool, retain_years: int, cleanup: Cleanup
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO privacy_erasures (user_id, by_admin, retain_until, cleanup) "
        "VALUES ($1, $2, now() + make_interval(years => $3), $4::jsonb) "
        "RETURNING erased_at, retain_until",
        user_id,
        by_admin,
        retain_years,
        json.dumps(cleanup.to_json()),
    )
    assert row is not None  # INSERT ... RETURNING
    return row


async def pending_cleanups(db: Db) -> list[tuple[uuid.UUID, Cleanup]]:
    rows = await db.fetch(
        "SELECT user_id, cleanup FROM privacy_erasures WHERE cleaned_at IS NULL ORDER BY erased_at"
    )
    return [(r["user_id"], Cleanup.from_json(json.loads(r["cleanup"]))) for r in rows]


async def mark_cleaned(db: Db, user_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE privacy_erasures SET cleaned_at = now(), cleanup = '{}' WHERE user_id = $1",
        user_id,
    )


async def _erase(ctx: EraseContext) -> None:
    await ctx.conn.execute("DELETE FROM privacy_exports WHERE user_id = $1", ctx.subject.user_id)
    ctx.cleanup.storage_prefixes.append(export_prefix(ctx.subject.user_id))


REGISTRY.register(
    PersonalData(
        name="privacy",
        tables=("privacy_exports", "privacy_erasures"),
        export=None,
        erase=_erase,
        retained=(
            Retained(
                "privacy_erasures", "user_id = $1", "proof that the erasure was done, and when"
            ),
        ),
        order=80,
    )
)
