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


def teezu(*args: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEEZU_DATABASE_URL": dsn, "TEEZU_PORT": "8123"}
    return subprocess.run(
        [sys.executable, "-m", "teezu.cli", *args],
        env=env,
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
