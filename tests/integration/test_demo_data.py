"""The demo data exists with ``teezu serve --demo`` only, and says everywhere that it is demo data.

``test_demo_seed_*`` run `teezu.demo.seed` on a database of their own; the server test starts
``teezu serve`` without ``--demo`` as a user would (a fresh var/, default settings) and finds
none of it. The README's own path with ``--demo`` is tests/e2e/test_readme_path.py.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest
import pytest_asyncio

from api.auth.passwords import PasswordHasher
from api.streams import broadcasts
from api.users import store as users
from teezu import demo
from teezu.db import create_pool
from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
from teezu.settings import Settings
from tests.integration.wallet.conftest import fresh_database
from tests.servers import teezu_serve

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Everything the demo makes, whatever it is called.
DEMO_ROWS = {
    "demo accounts": (
        "SELECT count(*) FROM users WHERE handle = ANY($1) OR email LIKE '%@teezu.example'"
    ),
    "identity records": "SELECT count(*) FROM identity_records",
    "identity reviews": "SELECT count(*) FROM identity_reviews",
    "streams": "SELECT count(*) FROM streams",
    "consent check-ins": "SELECT count(*) FROM consent_checkins",
    "demo audit entries": "SELECT count(*) FROM audit_log WHERE meta ? 'demo'",
}
HANDLES = [demo.CREATOR_HANDLE, demo.REVIEWER_HANDLE]


async def counts(db) -> dict[str, int]:
    return {
        what: await db.fetchval(sql, HANDLES) if "$1" in sql else await db.fetchval(sql)
        for what, sql in DEMO_ROWS.items()
    }


async def test_serve_without_demo_makes_no_demo_data(tmp_path):
    var = tmp_path / "var"
    async with teezu_serve(var) as served:
        assert "studio (go live)" not in served.stdout()
        assert not (var / "demo-stream.json").exists()
        # The server's own embedded PostgreSQL under the fresh var/ (reused, not restarted).
        dsn = await asyncio.to_thread(lambda: EmbeddedPostgres(default_data_dir(var)).start())
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
            assert await counts(conn) == dict.fromkeys(DEMO_ROWS, 0)
        finally:
            await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def demo_pool(pg_dsn):
    pool = await create_pool(await fresh_database(pg_dsn, "teezu_demo"), min_size=1, max_size=4)
    yield pool
    await pool.close()


async def test_demo_seed_is_marked_made_once_and_checks_in_each_start(demo_pool, tmp_path):
    pool = demo_pool
    settings = Settings(var_dir=tmp_path / "var", bcrypt_rounds=4)
    made = await demo.seed(pool, settings)
    assert made.password and made.email == demo.CREATOR_EMAIL
    assert (settings.var_dir / "demo-stream.json").stat().st_mode & 0o777 == 0o600

    creator = await users.get_by_handle(pool, demo.CREATOR_HANDLE)
    reviewer = await users.get_by_handle(pool, demo.REVIEWER_HANDLE)
    assert creator is not None and reviewer is not None
    assert {str(r) for r in creator.roles} == {"creator"}
    assert {str(r) for r in reviewer.roles} == {"member"}  # no moderator rights
    hasher = PasswordHasher(4)
    try:
        assert await hasher.verify(made.password, creator.password_hash)
        # The demo reviewer has no password: nothing signs in as it.
        assert reviewer.password_hash == demo.NO_PASSWORD
        assert not await hasher.verify("", reviewer.password_hash)
    finally:
        hasher.close()

    # The identity record: provider "demo", approved by the demo reviewer, saying so.
    reviews = await pool.fetch(
        "SELECT r.provider, r.legal_name, v.status, v.reviewer_id, v.reason "
        "FROM identity_records r JOIN identity_reviews v ON v.record_id = r.id "
        "WHERE r.user_id = $1 ORDER BY v.id",
        creator.id,
    )
    assert [(r["status"], r["reviewer_id"]) for r in reviews] == [
        ("pending", None),
        ("approved", reviewer.id),
    ]
    assert reviews[1]["provider"] == demo.DEMO_PROVIDER == "demo"
    assert "demo data" in reviews[1]["reason"] and "demo data" in reviews[0]["legal_name"]
    audited = await pool.fetchrow(
        "SELECT actor_id, meta FROM audit_log WHERE action = 'identity.review.approved' "
        "AND subject_id = $1",
        creator.id,
    )
    assert audited["actor_id"] == reviewer.id and '"demo": true' in audited["meta"]

    # The stream: public, sfw, the demo creator's, checked in for its next broadcast.
    sid = uuid.UUID(made.stream_id)
    row = await pool.fetchrow(
        "SELECT s.visibility, s.creator_id, f.rating FROM streams s "
        "JOIN stream_safety f ON f.stream_id = s.id WHERE s.id = $1",
        sid,
    )
    assert (row["visibility"], row["creator_id"], row["rating"]) == ("public", creator.id, "sfw")
    checkins = "SELECT count(*) FROM consent_checkins WHERE stream_id = $1 AND user_id = $2"
    assert await pool.fetchval(checkins, sid, creator.id) == 1

    # A restart: the same stream and token, no password to print, no second check-in.
    again = await demo.seed(pool, settings)
    assert (again.stream_id, again.token, again.password) == (made.stream_id, made.token, None)
    assert await pool.fetchval(checkins, sid, creator.id) == 1
    # After a broadcast the check-in is spent; the next start checks the demo creator in again.
    await broadcasts.start_broadcast(pool, sid, "0123abcd", recording=False)
    await broadcasts.end_broadcast(
        pool, sid, "0123abcd", duration=1.0, renditions=["720p"], retention_seconds=60
    )
    await demo.seed(pool, settings)
    assert await pool.fetchval(checkins, sid, creator.id) == 2
    assert await pool.fetchval("SELECT count(*) FROM identity_records") == 1


async def test_demo_seed_never_takes_over_an_account_it_did_not_make(demo_pool, tmp_path):
    pool = demo_pool
    await users.create_user(
        pool,
        email="someone@example.org",
        handle=demo.CREATOR_HANDLE,
        password_hash="$2b$04$" + "x" * 53,
        date_of_birth=date(1990, 1, 1),
    )
    with pytest.raises(demo.DemoError, match="fresh TEEZU_VAR_DIR"):
        await demo.seed(pool, Settings(var_dir=tmp_path / "var", bcrypt_rounds=4))
    assert await pool.fetchval("SELECT count(*) FROM identity_records") == 0
    assert await pool.fetchval("SELECT count(*) FROM streams") == 0
