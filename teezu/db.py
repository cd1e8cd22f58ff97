"""asyncpg pool creation and a minimal, concurrency-safe SQL migration runner.

Migrations are plain ``NNNN_name.sql`` files (default: ``teezu/migrations/``), applied in name
order, each in its own transaction, and recorded in ``schema_migrations`` with the sha256 of the
file. The whole run holds a session-level advisory lock on one connection, so several processes
starting at once apply each migration exactly once. The recorded version is the file stem
(e.g. ``0001_streams``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)

# A connection as our code holds one: asyncpg.connect()'s, or one acquired from the pool.
Connection = asyncpg.Connection | PoolConnectionProxy
# Where a query runs: the pool (one statement on any connection) or a connection (a transaction).
Db = asyncpg.Pool | Connection


@asynccontextmanager
async def connection(db: Db) -> AsyncIterator[Connection]:
    """A connection to run several statements on: one acquired from ``db`` if it is the pool,
    else ``db`` itself (so a caller's transaction takes the statements in)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db


MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_lock key for the migration runner (any constant bigint; "teezu" + 1 in ASCII)
MIGRATION_LOCK_ID = 0x7465657A7501
_NAME_RE = re.compile(r"^(\d{4,})_[A-Za-z0-9_\-]+\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz DEFAULT now(),
    checksum text
)
"""


class MigrationError(RuntimeError):
    """A migration set is inconsistent (edited after being applied, bad name) or failed."""


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset that skips asyncpg's reset query (see `create_pool`)."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool whose connections go back without a reset query.

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release: one more round trip per ``pool.fetch*`` call, which halved the
    ledger's tips per second. Nothing here leaves session state on a pooled connection (no
    ``SET``, ``LISTEN``, session advisory locks or cursors outside a transaction; the
    migration runner unlocks in ``finally``), and asyncpg still rolls back a transaction left
    open before the connection is reused.
    """
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_keep_session)
    assert pool is not None
    return pool


def _load(migrations_dir: Path) -> list[tuple[str, str, str]]:
    """[(version, checksum, sql)] in name order; rejects badly named or duplicate-numbered files."""
    found: list[tuple[str, str, str]] = []
    numbers: dict[str, str] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        m = _NAME_RE.match(path.name)
        if not m:
            raise MigrationError(f"migration file {path} is not named NNNN_name.sql")
        if m.group(1) in numbers:
            raise MigrationError(
                f"migrations {numbers[m.group(1)]} and {path.name} share the number {m.group(1)}"
            )
        numbers[m.group(1)] = path.name
        data = path.read_bytes()
        found.append((path.stem, hashlib.sha256(data).hexdigest(), data.decode("utf-8")))
    return found


async def apply_migrations(pool: asyncpg.Pool, migrations_dir: Path | None = None) -> list[str]:
    """Apply pending migrations; returns the versions applied by this call (in order)."""
    migrations_dir = Path(migrations_dir) if migrations_dir is not None else MIGRATIONS_DIR
    # Reading the files is blocking I/O: off the loop (migrations run at start-up, on it).
    if not await asyncio.to_thread(migrations_dir.is_dir):
        raise MigrationError(f"migrations directory {migrations_dir} does not exist")
    migrations = await asyncio.to_thread(_load, migrations_dir)
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        log.debug("waiting for migration lock %#x", MIGRATION_LOCK_ID)
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(_CREATE_TABLE)
            rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
            done = {r["version"]: r["checksum"] for r in rows}

            # verify everything before applying anything
            for version, checksum, _ in migrations:
                if version in done and done[version] != checksum:
                    raise MigrationError(
                        f"migration {version} was changed after it was applied "
                        f"(recorded sha256 {done[version]}, file {checksum}); "
                        "add a new migration instead of editing an applied one"
                    )
            unknown = sorted(set(done) - {v for v, _, _ in migrations})
            if unknown:
                log.warning("database has migrations not in %s: %s", migrations_dir, unknown)

            for version, checksum, sql in migrations:
                if version in done:
                    continue
                log.info("applying migration %s", version)
                try:
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                            version,
                            checksum,
                        )
                except asyncpg.PostgresError as e:
                    raise MigrationError(f"migration {version} failed: {e}") from e
                applied_now.append(version)
        finally:
            if not conn.is_closed():
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    if applied_now:
        log.info("applied %d migration(s): %s", len(applied_now), ", ".join(applied_now))
    else:
        log.info("database schema is up to date (%d migration(s))", len(migrations))
    return applied_now
