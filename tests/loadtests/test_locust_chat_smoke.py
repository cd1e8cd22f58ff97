"""The chat locustfile at smoke size: Locust's users connect, join, send acked messages and
receive them from an API node (no timing asserted).

The run is a fixed amount of work, not a duration: each user sends three messages and waits for
them to come back, then Locust stops (``TEEZU_CHAT_SENDS``); the ``-t`` limit is only a safety
net. (A 4 s run could end before a user on a loaded machine had even joined.)"""

from __future__ import annotations

import asyncio
import json
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
            "TEEZU_CHAT_SENDS": "3",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "locust", "-f", "loadtests/locustfile_chat.py",
            "--headless", "-u", "6", "-r", "6", "-t", "300s", "--stop-timeout", "2",
            "--host", f"http://127.0.0.1:{port}", "--json-file", str(tmp_path / "chat"),
            "--only-summary",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 400)
        assert proc.returncode == 0, out.decode()[-3000:]
    finally:
        await asyncio.to_thread(stop_node, node)
    # The final figures Locust writes at shutdown (its CSV is rewritten each second, so the last
    # second may be missing from it).
    stats = {
        (row["method"], row["name"]): row
        for row in json.loads((tmp_path / "chat.json").read_text())
    }
    log = out.decode()[-3000:]
    joins = stats[("socketio", "connect+join")]
    sends = stats[("socketio", "chat:send (ack)")]
    assert joins["num_requests"] == 6 and joins["num_failures"] == 0, log
    assert sends["num_requests"] == 6 * 3 and sends["num_failures"] == 0, log
    delivered = sum(r["num_requests"] for (t, _), r in stats.items() if t == "deliver")
    assert delivered >= 6 * 3, log  # every sender received its own three
