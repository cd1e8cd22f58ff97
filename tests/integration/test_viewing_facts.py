"""Viewing facts from real viewing: a publisher, an LL-HLS viewer (viewing session + beacons)
and a WHEP viewer produce ``stream_viewers`` rows whose watch seconds are within one segment
duration of what each viewer played; forged and flooded beacons are bounded; the broadcast's
start, end, freeze, unfreeze and goal show up in ``stream_events``."""

from __future__ import annotations

import asyncio
import time
import uuid

import m3u8
import pytest

from tests.hlscheck import variant_url, wait_for_playlist
from tests.performers import stream_of
from tests.publisher import publish
from tests.viewer import watch

pytestmark = pytest.mark.asyncio(loop_scope="session")

BEACON_EVERY = 2.5  # seconds (the server refuses beacons closer than 2 s)


async def open_session(http, server, stream_id: str) -> str:
    url = f"{server.base_url}/api/v1/streams/{stream_id}/viewing-sessions"
    async with http.post(url) as res:
        body = await res.json()
        assert res.status == 201, body
        return body["data"]["viewingSessionId"]


async def beacon(http, server, stream_id: str, session: str, played: float, **more):
    url = f"{server.base_url}/api/v1/streams/{stream_id}/beacons"
    payload = {"viewingSessionId": session, "playedSeconds": played, **more}
    async with http.post(url, json=payload) as res:
        return res.status, await res.json()


async def play_hls(http, server, stream_id: str, session: str, url: str, seconds: float) -> float:
    """Play the live edge for about ``seconds`` like a player: fetch each new segment as it is
    listed, count as played the wall time since the first segment arrived (never more than the
    media fetched), and send beacons with the seconds played since the previous one. Returns
    the seconds played."""
    seen: set[str] = set()
    fetched = 0.0
    first_at: float | None = None
    reported = 0.0
    last_beacon = time.monotonic()
    started = time.monotonic()
    while True:
        async with http.get(url) as res:
            pl = m3u8.loads(await res.text(), uri=url)
        for seg in pl.segments:
            if not seg.uri or seg.uri in seen:
                continue
            if first_at is None and seg is not pl.segments[-1]:
                seen.add(seg.uri)  # start at the live edge, as a low-latency player does
                continue
            async with http.get(seg.absolute_uri) as res:
                assert res.status == 200
                await res.read()
            seen.add(seg.uri)
            fetched += seg.duration
            if first_at is None:
                first_at = time.monotonic()
        now = time.monotonic()
        played = 0.0 if first_at is None else min(now - first_at, fetched)
        done = first_at is not None and now - started >= seconds
        if done or (now - last_beacon >= BEACON_EVERY and played > reported):
            status, body = await beacon(
                http, server, stream_id, session, played - reported,
                latencySeconds=1.5, stalls=0, final=done,
            )  # fmt: skip
            assert status == 200, body
            reported, last_beacon = played, now
        if done:
            return reported
        await asyncio.sleep(0.2)


async def wait_row(pool, session_id: uuid.UUID, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        row = await pool.fetchrow("SELECT * FROM stream_viewers WHERE id = $1", session_id)
        if row is not None and row["left_at"] is not None:
            return row
        assert time.monotonic() < deadline, f"session {session_id} did not end"
        await asyncio.sleep(0.1)


async def test_hls_and_whep_viewers_write_their_watch_time(server, http, performer):
    stream_id, token = await stream_of(server.pool, performer, "Facts")
    pub = await publish(http, server.base_url, stream_id, token)
    segment = server.settings.segment_duration
    try:
        url = await variant_url(http, server.base_url, stream_id)
        await wait_for_playlist(http, url, segments=2, timeout=20)

        # LL-HLS: a viewing session and its beacons, while a WHEP viewer watches too.
        session = await open_session(http, server, stream_id)
        # The smallest rung: this viewer decodes in Python on a loaded 2-core machine.
        whep = await watch(http, server.base_url, stream_id, rendition="240p")
        hls_played = await play_hls(http, server, stream_id, session, url, seconds=8)
        await whep.wait_frames(video=30)
        assert whep.first_video_at is not None
        # Played: from its first decoded picture until it hangs up.
        whep_played = time.monotonic() - whep.first_video_at
        await whep.delete(http, server.base_url)

        hls_row = await wait_row(server.pool, uuid.UUID(session))
        assert hls_row["kind"] == "llhls" and hls_row["beacons"] >= 2
        assert abs(hls_row["watch_seconds"] - hls_played) <= segment, (
            hls_row["watch_seconds"],
            hls_played,
        )
        whep_rows = await server.pool.fetch(
            "SELECT id FROM stream_viewers WHERE stream_id = $1 AND kind = 'whep'",
            uuid.UUID(stream_id),
        )
        assert len(whep_rows) == 1
        whep_row = await wait_row(server.pool, whep_rows[0]["id"])
        assert abs(whep_row["watch_seconds"] - whep_played) <= segment, (
            whep_row["watch_seconds"],
            whep_played,
        )
        qoe = await server.pool.fetchrow(
            "SELECT sum(beacons) AS beacons, sum(latency_sum) / sum(latency_count) AS latency "
            "FROM stream_qoe_minutes WHERE stream_id = $1",
            uuid.UUID(stream_id),
        )
        assert qoe["beacons"] == hls_row["beacons"] and qoe["latency"] == pytest.approx(1.5)
    finally:
        await pub.delete(http, server.base_url)


async def test_forged_and_flooded_beacons_are_bounded(server, http, performer):
    first, token_a = await stream_of(server.pool, performer, "Facts A")
    pub = await publish(http, server.base_url, first, token_a)
    other, _ = await stream_of(server.pool, performer, "Facts B")
    try:
        session = await open_session(http, server, first)
        # A made-up session, and a real one sent to another stream: 404, nothing counted.
        status, body = await beacon(http, server, first, str(uuid.uuid4()), 5)
        assert status == 404 and body["code"] == "VIEWING_SESSION_NOT_FOUND"
        status, body = await beacon(http, server, other, session, 5)
        assert status == 404 and body["code"] == "VIEWING_SESSION_NOT_FOUND"
        assert not await server.pool.fetchval(
            "SELECT count(*) FROM stream_qoe_minutes WHERE stream_id = $1", uuid.UUID(other)
        )
        # A flood: the first beacon counts (no more than the time since the session opened,
        # plus a second), the rest within 2 s are refused with the envelope.
        statuses = []
        for _ in range(10):
            statuses.append((await beacon(http, server, first, session, 600, stalls=100))[0])
        assert statuses[0] == 200 and set(statuses[1:]) == {429}
        row = await server.pool.fetchrow(
            "SELECT watch_seconds, beacons, extract(epoch FROM now() - joined_at)::float8 AS age "
            "FROM stream_viewers WHERE id = $1",
            uuid.UUID(session),
        )
        assert row["beacons"] == 1 and row["watch_seconds"] <= row["age"] + 1.0
        stalls = await server.pool.fetchval(
            "SELECT sum(stalls) FROM stream_qoe_minutes WHERE stream_id = $1", uuid.UUID(first)
        )
        assert stalls == 100
        # Out-of-range figures are a 422 with the envelope, not a 500.
        status, body = await beacon(http, server, first, session, -1)
        assert status == 422 and body["code"] == "VALIDATION_ERROR"
    finally:
        await pub.delete(http, server.base_url)


async def test_stream_events_follow_the_broadcast(server, http, performer):
    stream_id, token = await stream_of(server.pool, performer, "Events")
    sid = uuid.UUID(stream_id)
    pub = await publish(http, server.base_url, stream_id, token)
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1, timeout=20)
    await server.pool.execute(
        "INSERT INTO stream_safety (stream_id, frozen, frozen_reason, frozen_at) "
        "VALUES ($1, true, 'test', now()) ON CONFLICT (stream_id) DO UPDATE "
        "SET frozen = true, frozen_reason = 'test', frozen_at = now()",
        sid,
    )
    await server.pool.execute(
        "UPDATE stream_safety SET frozen = false, frozen_reason = NULL, frozen_at = NULL "
        "WHERE stream_id = $1",
        sid,
    )
    goal = uuid.uuid4()
    await server.pool.execute(
        "INSERT INTO stream_goals (id, stream_id, title, target) VALUES ($1, $2, 'g', 10)",
        goal,
        sid,
    )
    await server.pool.execute(
        "UPDATE stream_goals SET state = 'completed', ended_at = now() WHERE id = $1", goal
    )
    await pub.delete(http, server.base_url)
    deadline = time.monotonic() + 15
    while True:
        kinds = [
            r["kind"]
            for r in await server.pool.fetch(
                "SELECT kind FROM stream_events WHERE stream_id = $1 ORDER BY id", sid
            )
        ]
        if "end" in kinds or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert kinds == ["start", "freeze", "unfreeze", "goal_reached", "end"]
    with pytest.raises(Exception, match="append-only"):
        await server.pool.execute("DELETE FROM stream_events WHERE stream_id = $1", sid)


async def test_playback_tokens_open_and_keep_a_viewing_session(server, http, performer):
    stream_id, token = await stream_of(server.pool, performer, "Tokens")
    other, _ = await stream_of(server.pool, performer, "Tokens B")
    pub = await publish(http, server.base_url, stream_id, token)
    try:

        async def grant(stream: str, **body):
            url = f"{server.base_url}/api/v1/streams/{stream}/playback-tokens"
            async with http.post(url, json=body) as res:
                reply = await res.json()
                assert res.status == 201, reply
                return reply["data"]["viewingSessionId"]

        first = await grant(stream_id)
        assert await grant(stream_id, viewingSessionId=first) == first  # a refresh keeps it
        # Another stream's session is not continued: a new one is opened for this stream.
        theirs = await grant(other)
        mine = await grant(stream_id, viewingSessionId=theirs)
        assert mine not in (first, theirs)
        rows = await server.pool.fetch(
            "SELECT id FROM stream_viewers WHERE stream_id = $1", uuid.UUID(stream_id)
        )
        assert {str(r["id"]) for r in rows} == {first, mine}
    finally:
        await pub.delete(http, server.base_url)
