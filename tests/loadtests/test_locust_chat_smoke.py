"""The chat locustfile at smoke size: Locust's users connect, join, send acked messages and
receive them from an API node (no timing asserted)."""

from __future__ import annotations

import asyncio
import csv
import os
import sys

import asyncpg
import pytest

from tests.apinode import ROOT, start_node, stop_node
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_locustfile_chat_smoke(pg_dsn, tmp_path):
    port = free_port()
    node = await asyncio.to_thread(start_node, pg_dsn, tmp_path / "node", port)
    try:
        conn = await asyncpg.connect(pg_dsn)
        try:
            rooms = [
                str(
                    await conn.fetchval(
                        "INSERT INTO streams (id, creator_handle, title, publish_token_hash) "
                        "VALUES (gen_random_uuid(), 'locust', 'locust', '\\x00') RETURNING id"
                    )
                )
                for _ in range(3)
            ]
        finally:
            await conn.close()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TEEZU_CHAT_SIGNUP": "1",
            "TEEZU_CHAT_BUSY_ROOM": rooms[0],
            "TEEZU_CHAT_SMALL_ROOMS": ",".join(rooms[1:]),
            "TEEZU_CHAT_SENDER_SHARE": "1.0",
            "TEEZU_CHAT_SEND_WAIT": "0.4",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "locust", "-f", "loadtests/locustfile_chat.py",
            "--headless", "-u", "6", "-r", "6", "-t", "4s", "--stop-timeout", "2",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(tmp_path / "chat"),
            "--only-summary",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()[-3000:]
    finally:
        await asyncio.to_thread(stop_node, node)
    stats = {
        (row["Type"], row["Name"]): row
        for row in csv.DictReader((tmp_path / "chat_stats.csv").read_text().splitlines())
    }
    joins = stats[("socketio", "connect+join")]
    sends = stats[("socketio", "chat:send (ack)")]
    assert int(joins["Request Count"]) == 6 and int(joins["Failure Count"]) == 0
    assert int(sends["Request Count"]) > 0 and int(sends["Failure Count"]) == 0
    delivered = sum(int(r["Request Count"]) for (t, _), r in stats.items() if t == "deliver")
    assert delivered >= int(sends["Request Count"])  # every sender also receives its own
