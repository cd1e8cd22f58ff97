"""Identity records in PostgreSQL: inserts and reads only (the tables refuse UPDATE/DELETE)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from api.verification.upload import Submission
from teezu.db import Db

# A record with its newest review (its status) and the documents it holds.
_RECORD = """
SELECT r.id, r.user_id, u.handle, r.provider, r.legal_name, r.date_of_birth, r.aliases,
       r.created_at, v.status, v.reviewer_id, v.reason, v.at AS status_at,
       (SELECT coalesce(array_agg(d.kind || ':' || d.content_type ORDER BY d.kind), '{}')
          FROM identity_documents d WHERE d.record_id = r.id) AS documents
  FROM identity_records r
  -- Records of erased accounts are retained by law but locked and hidden (api/privacy).
  JOIN users u ON u.id = r.user_id AND u.status <> 'erased'
  JOIN LATERAL (SELECT status, reviewer_id, reason, at FROM identity_reviews
                 WHERE record_id = r.id ORDER BY id DESC LIMIT 1) v ON true
"""


@dataclass(frozen=True)
class RecordRow:
    id: uuid.UUID
    user_id: uuid.UUID
    handle: str
    provider: str
    legal_name: str
    date_of_birth: date
    aliases: list[str]
    created_at: datetime
    status: str
    reviewer_id: uuid.UUID | None
    reason: str
    status_at: datetime
    documents: dict[str, str]  # kind -> content type


def _row(r: Any) -> RecordRow:
    docs = dict(d.split(":", 1) for d in r["documents"])
    return RecordRow(**{**dict(r), "aliases": list(r["aliases"]), "documents": docs})


async def insert_record(
    db: asyncpg.Pool,
    record_id: uuid.UUID,
    user_id: uuid.UUID,
    provider: str,
    sub: Submission,
    encrypted: Iterable[tuple[str, str, bytes, bytes]],
) -> None:
    """The record, its encrypted documents ``(kind, type, nonce, ciphertext)``, 'pending'."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO identity_records (id, user_id, provider, legal_name, date_of_birth, "
            "aliases) VALUES ($1, $2, $3, $4, $5, $6)",
            record_id,
            user_id,
            provider,
            sub.legal_name,
            sub.date_of_birth,
            sub.aliases,
        )
        await conn.executemany(
            "INSERT INTO identity_documents (record_id, kind, content_type, nonce, ciphertext) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(record_id, *doc) for doc in encrypted],
        )
        await conn.execute(
            "INSERT INTO identity_reviews (record_id, status) VALUES ($1, 'pending')", record_id
        )


async def get_record(db: Db, record_id: uuid.UUID) -> RecordRow | None:
    r = await db.fetchrow(_RECORD + " WHERE r.id = $1", record_id)
    return _row(r) if r is not None else None


async def records_of(db: Db, user_id: uuid.UUID) -> list[RecordRow]:
    rows = await db.fetch(_RECORD + " WHERE r.user_id = $1 ORDER BY r.created_at DESC", user_id)
    return [_row(r) for r in rows]


async def pending(db: Db, limit: int) -> list[RecordRow]:
    """Records waiting for a reviewer, oldest first (the queue's order)."""
    rows = await db.fetch(
        _RECORD + " WHERE v.status = 'pending' ORDER BY r.created_at LIMIT $1", limit
    )
    return [_row(r) for r in rows]


async def add_review(
    db: asyncpg.Pool, record_id: uuid.UUID, status: str, reviewer_id: uuid.UUID, reason: str
) -> str | None:
    """Decide a pending record. Returns the status it had (None: no such record).

    Nothing is written unless it was 'pending': the row lock makes concurrent reviewers queue.
    """
    async with db.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            "SELECT id FROM identity_records WHERE id = $1 FOR UPDATE", record_id
        )
        if found is None:
            return None
        current: str = await conn.fetchval(
            "SELECT status FROM identity_reviews WHERE record_id = $1 ORDER BY id DESC LIMIT 1",
            record_id,
        )
        if current == "pending":
            await conn.execute(
                "INSERT INTO identity_reviews (record_id, status, reviewer_id, reason) "
                "VALUES ($1, $2, $3, $4)",
                record_id,
                status,
                reviewer_id,
                reason,
            )
        return current


async def load_document(db: Db, record_id: uuid.UUID, kind: str) -> tuple[str, bytes, bytes] | None:
    """``(content type, nonce, ciphertext)`` of one document."""
    r = await db.fetchrow(
        "SELECT content_type, nonce, ciphertext FROM identity_documents "
        "WHERE record_id = $1 AND kind = $2",
        record_id,
        kind,
    )
    return (r["content_type"], r["nonce"], r["ciphertext"]) if r is not None else None


async def verified(db: Db, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``user_ids`` with an approved record (its newest review says 'approved')."""
    rows = await db.fetch(
        "SELECT DISTINCT r.user_id FROM identity_records r "
        "JOIN LATERAL (SELECT status FROM identity_reviews WHERE record_id = r.id "
        "              ORDER BY id DESC LIMIT 1) v ON v.status = 'approved' "
        "WHERE r.user_id = ANY($1::uuid[])",
        list(user_ids),
    )
    return {r["user_id"] for r in rows}
