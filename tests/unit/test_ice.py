"""ingest/ice.py's in-place ICE restart of an aioice agent, with real aioice agents and sockets.

``restart_agent`` sets private aioice attributes (aioice has no restart API): the first test
fails when aioice changes underneath, the second proves a restarted agent carries data to a
peer that restarted too, through the very object the DTLS layer reads from.
"""

from __future__ import annotations

import asyncio

import aioice
import pytest

from ingest.ice import pace_checks, restart_agent


def test_aioice_has_what_restart_agent_sets():
    assert aioice.__version__ == "0.13.0"  # pinned in pyproject.toml for this module
    agent = aioice.Connection(ice_controlling=False)
    for name in (
        "_local_username",
        "_local_password",
        "_remote_candidates",
        "_remote_candidates_end",
        "_check_list",
        "_check_list_done",
        "_check_list_state",
        "_nominating",
        "_nominated",
    ):
        assert hasattr(agent, name), name
    assert callable(agent._check_periodic)
    # The public read-only properties read what restart_agent writes.
    agent._local_username, agent._local_password = "abcdefgh", "p" * 24
    assert (agent.local_username, agent.local_password) == ("abcdefgh", "p" * 24)


async def _connect(controlling: aioice.Connection, controlled: aioice.Connection) -> None:
    for a, b in ((controlling, controlled), (controlled, controlling)):
        a.remote_username, a.remote_password = b.local_username, b.local_password
        for c in b.local_candidates:
            await a.add_remote_candidate(c)
        await a.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(controlling.connect(), controlled.connect()), 10)


@pytest.mark.asyncio(loop_scope="function")
async def test_restart_in_place_moves_the_data_path_to_the_new_session():
    server = aioice.Connection(ice_controlling=False, use_ipv6=False)
    client = aioice.Connection(ice_controlling=True, use_ipv6=False)
    fresh: aioice.Connection | None = None
    try:
        await asyncio.gather(server.gather_candidates(), client.gather_candidates())
        await _connect(client, server)
        await client.send(b"before")
        assert await asyncio.wait_for(server.recv(), 5) == b"before"
        old_pair = server._nominated[1]
        old_creds = (server.local_username, server.local_password)

        # A pending recv() (what aiortc's DTLS loop always has) must survive the restart.
        pending = asyncio.ensure_future(server.recv())

        # The client restarts: a new agent, new credentials, new sockets (as a browser does).
        fresh = aioice.Connection(ice_controlling=True, use_ipv6=False)
        await fresh.gather_candidates()
        restart_agent(server, fresh.local_username, fresh.local_password)
        assert (server.local_username, server.local_password) != old_creds
        assert server.remote_candidates == []
        for c in fresh.local_candidates:
            await server.add_remote_candidate(c)
        checks = asyncio.ensure_future(pace_checks(server))
        fresh.remote_username, fresh.remote_password = server.local_username, server.local_password
        for c in server.local_candidates:
            await fresh.add_remote_candidate(c)
        await fresh.add_remote_candidate(None)
        await client.close()  # the old ICE session is gone for good
        await asyncio.wait_for(fresh.connect(), 10)

        await fresh.send(b"after")
        assert await asyncio.wait_for(pending, 5) == b"after"
        # The server now sends over the pair the restarted client nominated.
        new_pair = server._nominated[1]
        assert new_pair is not old_pair
        assert new_pair.remote_candidate.port in {c.port for c in fresh.local_candidates}
        await server.send(b"back")
        assert await asyncio.wait_for(fresh.recv(), 5) == b"back"
        await asyncio.wait_for(checks, 5)
    finally:
        for agent in (server, client, fresh):
            if agent is not None:
                await agent.close()
