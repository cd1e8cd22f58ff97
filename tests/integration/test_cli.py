"""The `teezu` command against a real database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest

from api.streams import store
from ingest.tokens import token_matches


def teezu(*args: str, dsn: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEEZU_DATABASE_URL": dsn,
        "TEEZU_PORT": "8123",
        "TEEZU_BCRYPT_ROUNDS": "4",
    }
    return subprocess.run(
        [sys.executable, "-m", "teezu.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_streams_create_prints_a_working_token(server, pg_dsn):
    proc = teezu("streams", "create", "--title", "From the CLI", "--creator", "cli", dsn=pg_dsn)
    assert proc.returncode == 0, proc.stderr
    stream_id = re.search(r"stream id:\s+(\S+)", proc.stdout).group(1)
    token = re.search(r"publish token:\s+(\S+)", proc.stdout).group(1)
    assert f"http://localhost:8123/studio/{stream_id}#token={token}" in proc.stdout
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.title == "From the CLI" and row.state == "idle"
    assert token_matches(token, row.publish_token_hash)
    assert token.encode() not in row.publish_token_hash  # stored hashed, never as given

    listed = teezu("streams", "list", dsn=pg_dsn)
    assert listed.returncode == 0 and stream_id in listed.stdout


def test_streams_create_rejects_an_empty_title(pg_dsn):
    proc = teezu("streams", "create", "--title", "  ", dsn=pg_dsn)
    assert proc.returncode == 2 and "--title" in proc.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_users_create_makes_the_first_admin_who_can_sign_in(server, pg_dsn, client):
    from api.users import store as users

    handle = f"root_{uuid.uuid4().hex[:8]}"
    # A stream made for this handle before the account existed becomes the account's.
    early = teezu("streams", "create", "--title", "Before", "--creator", handle, dsn=pg_dsn)
    early_id = re.search(r"stream id:\s+(\S+)", early.stdout).group(1)
    proc = teezu(
        "users",
        "create",
        "--email",
        f"{handle}@example.org",
        "--handle",
        handle,
        "--born",
        "1980-02-02",
        "--role",
        "admin",
        "--role",
        "creator",
        "--password-stdin",
        dsn=pg_dsn,
        stdin="a strong first password\n",
    )
    assert proc.returncode == 0, proc.stderr
    user = await users.get_by_handle(server.pool, handle)
    assert user is not None and {str(r) for r in user.roles} == {"admin", "creator"}
    row = await store.get_stream(server.pool, uuid.UUID(early_id))
    assert row is not None and row.creator_id == user.id
    r = await client.call(
        "POST",
        "/api/v1/auth/login",
        json={"email": f"{handle}@example.org", "password": "a strong first password"},
    )
    assert r.status == 200 and "system.config_limited" in r.data["user"]["permissions"]

    again = teezu(
        "users",
        "create",
        "--email",
        "x@example.org",
        "--handle",
        handle,
        "--born",
        "1980-02-02",
        "--password-stdin",
        dsn=pg_dsn,
        stdin="another password\n",
    )
    assert again.returncode == 1 and "HandleTaken" in again.stderr
    young = teezu(
        "users",
        "create",
        "--email",
        "y@example.org",
        "--handle",
        "young_one",
        "--born",
        "2020-01-01",
        "--password-stdin",
        dsn=pg_dsn,
        stdin="another password\n",
    )
    assert young.returncode == 2 and "18" in young.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_users_unban_restores_a_wrongly_banned_staff_account(server, pg_dsn, account):
    """The recovery path: a banned admin signs in again after `teezu users unban`, audited."""
    from api.auth import audit
    from api.auth.rbac import Role
    from api.reports import store as reports

    admin = await account(Role.ADMIN)
    async with server.pool.acquire() as conn:
        await reports.set_standing(conn, admin.id, "banned", None)
    assert (await admin.login()).code == "ACCOUNT_BANNED"
    no_reason = teezu("users", "unban", admin.handle, "--reason", " ", dsn=pg_dsn)
    assert no_reason.returncode == 2
    unknown = teezu("users", "unban", "nobody_at_all", "--reason", "x", dsn=pg_dsn)
    assert unknown.returncode == 1 and "nobody_at_all" in unknown.stderr
    proc = teezu("users", "unban", admin.handle, "--reason", "banned by mistake", dsn=pg_dsn)
    assert proc.returncode == 0, proc.stderr
    assert "lifted" in proc.stdout
    assert (await admin.login()).status == 200
    entries = await audit.entries(server.pool, subject_id=admin.id, action="admin.user.unbanned")
    assert len(entries) == 1
    assert entries[0]["meta"]["reason"] == "banned by mistake"
    assert entries[0]["meta"]["via"] == "cli" and entries[0]["meta"]["from"] == "banned"
    logged = await server.pool.fetchval(
        "SELECT count(*) FROM moderation_log WHERE subject_id = $1 AND action = 'unban'", admin.id
    )
    assert logged == 1
    again = teezu("users", "unban", admin.handle, "--reason", "again", dsn=pg_dsn)
    assert again.returncode == 0 and "nothing to do" in again.stdout
