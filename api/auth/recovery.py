"""2FA recovery codes: ten one-time codes that stand in for a TOTP code when the phone is gone.

A code is 10 random characters of a 32-letter alphabet (50 bits), shown once as
``xxxxx-xxxxx``; only its SHA-256 is stored (like session ids: with this much entropy a slow
hash adds nothing, and guessing is throttled like passwords). Each code works once (a
conditional UPDATE, so two requests racing with one code cannot both win). Making a new set
replaces the old one; turning 2FA off deletes them.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import asyncpg

from teezu.db import Db

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
LENGTH = 10


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize(code: str) -> str:
    """What a person typed, as stored: lower case, without spaces and dashes."""
    return code.strip().lower().replace("-", "").replace(" ", "")


def hash_code(code: str) -> bytes:
    return hashlib.sha256(normalize(code).encode()).digest()


async def replace(db: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    """A new set of codes for the account (the old ones stop working); returns them (shown
    once, never stored)."""
    codes = [new_code() for _ in range(COUNT)]
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM two_factor_recovery_codes WHERE user_id = $1", user_id)
        await conn.executemany(
            "INSERT INTO two_factor_recovery_codes (user_id, code_hash) VALUES ($1, $2)",
            [(user_id, hash_code(c)) for c in codes],
        )
    return codes


async def use(db: Db, user_id: uuid.UUID, code: str) -> int | None:
    """Spend ``code``: the number of unused codes left, or None if it is not an unused code of
    this account."""
    normalized = normalize(code)
    if len(normalized) != LENGTH or not set(normalized) <= set(ALPHABET):
        return None
    spent = await db.fetchval(
        "UPDATE two_factor_recovery_codes SET used_at = now() "
        "WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id",
        user_id,
        hash_code(normalized),
    )
    if spent is None:
        return None
    return await remaining(db, user_id)


async def remaining(db: Db, user_id: uuid.UUID) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM two_factor_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            user_id,
        )
    )


async def delete(db: Db, user_id: uuid.UUID) -> None:
    await db.execute("DELETE FROM two_factor_recovery_codes WHERE user_id = $1", user_id)
