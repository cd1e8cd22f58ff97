"""SQL for ``users`` and ``user_roles``. Every function takes a pool or connection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from api.auth.rbac import Role
from teezu.db import Db

_COLUMNS = (
    "u.id, u.email, u.handle, u.password_hash, u.date_of_birth, u.created_at, "
    "u.totp_secret, u.totp_enabled, u.totp_last_step, "
    "array(SELECT role FROM user_roles r WHERE r.user_id = u.id ORDER BY role) AS roles"
)


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    handle: str
    password_hash: str
    date_of_birth: date
    created_at: datetime
    totp_secret: str | None
    totp_enabled: bool
    totp_last_step: int
    roles: frozenset[Role]


class HandleTaken(Exception):
    pass


class EmailTaken(Exception):
    pass


def _row(r: asyncpg.Record) -> UserRow:
    return UserRow(**{**dict(r), "roles": frozenset(Role(x) for x in r["roles"])})


async def create_user(
    db: asyncpg.Pool,
    *,
    email: str,
    handle: str,
    password_hash: str,
    date_of_birth: date,
    roles: frozenset[Role] = frozenset({Role.MEMBER}),
) -> UserRow:
    """Insert a user with ``roles`` and an empty profile; raises EmailTaken / HandleTaken."""
    user_id = uuid.uuid4()
    try:
        async with db.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, email, handle, password_hash, date_of_birth) "
                "VALUES ($1, $2, $3, $4, $5)",
                user_id,
                email.lower(),
                handle.lower(),
                password_hash,
                date_of_birth,
            )
            await conn.executemany(
                "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)",
                [(user_id, str(r)) for r in roles],
            )
            await conn.execute("INSERT INTO profiles (user_id) VALUES ($1)", user_id)
    except asyncpg.UniqueViolationError as exc:
        if "email" in (exc.constraint_name or ""):
            raise EmailTaken(email) from None
        raise HandleTaken(handle) from None
    user = await get_by_id(db, user_id)
    assert user is not None
    return user


async def get_by_id(db: Db, user_id: uuid.UUID) -> UserRow | None:
    r = await db.fetchrow(f"SELECT {_COLUMNS} FROM users u WHERE u.id = $1", user_id)
    return _row(r) if r else None


async def get_by_email(db: Db, email: str) -> UserRow | None:
    # Erased accounts (api/privacy) are found by id only: never by email or handle.
    r = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM users u WHERE u.email = $1 AND u.status <> 'erased'",
        email.lower(),
    )
    return _row(r) if r else None


async def get_by_handle(db: Db, handle: str) -> UserRow | None:
    r = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM users u WHERE u.handle = $1 AND u.status <> 'erased'",
        handle.lower(),
    )
    return _row(r) if r else None


async def set_email(db: Db, user_id: uuid.UUID, email: str) -> None:
    """Raises `EmailTaken` when another account has it."""
    try:
        await db.execute("UPDATE users SET email = $2 WHERE id = $1", user_id, email.lower())
    except asyncpg.UniqueViolationError:
        raise EmailTaken(email) from None


async def set_password(db: Db, user_id: uuid.UUID, password_hash: str) -> None:
    await db.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


async def grant_role(db: Db, user_id: uuid.UUID, role: Role, *, by: uuid.UUID | None) -> bool:
    """True if the user did not have the role before."""
    status = await db.execute(
        "INSERT INTO user_roles (user_id, role, granted_by) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        user_id,
        str(role),
        by,
    )
    return bool(status == "INSERT 0 1")


async def revoke_role(db: Db, user_id: uuid.UUID, role: Role) -> bool:
    """True if the user had the role."""
    status = await db.execute(
        "DELETE FROM user_roles WHERE user_id = $1 AND role = $2", user_id, str(role)
    )
    return bool(status == "DELETE 1")


RBAC_SYNC_LOCK_ID = 0x7465657A7514  # pg_advisory_xact_lock key: "teezu" + issue 20


async def sync_rbac_tables(db: asyncpg.Pool) -> None:
    """Mirror the Python RBAC matrix into ``roles``/``permissions``/``role_permissions``.

    The matrix in `api.auth.rbac` is the one source; the tables exist so SQL can join on them
    and the audit log names real rows. Run at every start, in one transaction, one process at
    a time (nodes starting together would otherwise insert the same rows after each other's
    delete).
    """
    from api.auth.rbac import MATRIX, Permission

    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RBAC_SYNC_LOCK_ID)
        await conn.executemany(
            "INSERT INTO roles (name) VALUES ($1) ON CONFLICT DO NOTHING",
            [(str(r),) for r in Role],
        )
        await conn.executemany(
            "INSERT INTO permissions (name) VALUES ($1) ON CONFLICT DO NOTHING",
            [(str(p),) for p in Permission],
        )
        await conn.execute("DELETE FROM role_permissions")
        await conn.executemany(
            "INSERT INTO role_permissions (role, permission) VALUES ($1, $2)",
            [(str(r), str(p)) for r, perms in MATRIX.items() for p in sorted(perms)],
        )
        await conn.execute(
            "DELETE FROM permissions WHERE name <> ALL($1::text[])", [str(p) for p in Permission]
        )
