"""The REST API locustfile at smoke size against a real API node (no timing asserted)."""

from __future__ import annotations

import asyncio
import csv
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
            "--headless", "-u", "4", "-r", "4", "-t", "5s", "--stop-timeout", "2",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(tmp_path / "api"),
            "--only-summary",
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await asyncio.to_thread(stop_node, node)
    stats = {
        row["Name"]: row
        for row in csv.DictReader((tmp_path / "api_stats.csv").read_text().splitlines())
    }
    # Every user signed up, and every call the users made succeeded (with the CSRF Origin).
    assert int(stats["auth/signup"]["Request Count"]) == 4, out.decode()[-3000:]
    assert int(stats["Aggregated"]["Failure Count"]) == 0, out.decode()[-3000:]
    assert int(stats["auth/me"]["Request Count"]) > 0
    assert int(stats["Aggregated"]["Request Count"]) > 10
