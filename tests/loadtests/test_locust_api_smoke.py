"""The REST API locustfile at smoke size against a real API node (no timing asserted).

A fixed amount of work, not a duration: each of the 4 users signs up and makes 6 calls, then
Locust stops (``TEEZU_API_CALLS``); the ``-t`` limit is only a safety net."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from tests.apinode import ROOT, start_node, stop_node
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_locustfile_api_smoke(pg_dsn, tmp_path):
    port = free_port()
    node = await asyncio.to_thread(start_node, pg_dsn, tmp_path / "node", port)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "locust", "-f", "loadtests/locustfile_api.py",
            "--headless", "-u", "4", "-r", "4", "-t", "300s", "--stop-timeout", "2",
            "--host", f"http://127.0.0.1:{port}", "--json-file", str(tmp_path / "api"),
            "--only-summary",
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "TEEZU_API_CALLS": "6"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 400)
        assert proc.returncode == 0, out.decode()[-3000:]
    finally:
        await asyncio.to_thread(stop_node, node)
    # The final figures Locust writes at shutdown (its CSV is rewritten each second, so the last
    # second may be missing from it).
    stats = {row["name"]: row for row in json.loads((tmp_path / "api.json").read_text())}
    log = out.decode()[-3000:]
    # Every user signed up, and every call the users made succeeded (with the CSRF Origin).
    assert stats["auth/signup"]["num_requests"] == 4, log
    assert sum(r["num_failures"] for r in stats.values()) == 0, log
    # Six tasks per user, each one or two requests (follow then unfollow).
    assert 4 * 6 <= sum(r["num_requests"] for n, r in stats.items() if n != "auth/signup"), log
