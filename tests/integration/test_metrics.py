"""``GET /metrics``: Prometheus' text format, read by its own parser and by ``promtool check
metrics``, guarded by a bearer token or the loopback address, and metrics that move with the
work (frames in while publishing, held requests while a blocking request waits, tips)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.wallet.model import IdempotencyKey
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.hlscheck import variant_url, wait_for_playlist
from tests.integration.wallet.conftest import fund, live_stream
from tests.performers import stream_of
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def scrape(http, server) -> str:
    async with http.get(server.base_url + "/metrics") as res:
        assert res.status == 200, await res.text()
        assert res.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await res.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from Prometheus' own parser."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_parse_and_pass_promtool(server, http):
    text = await scrape(http, server)
    names = {f.name for f in text_string_to_metric_families(text)}
    for expected in (
        "teezu_http_responses",
        "teezu_hls_held_requests",
        "teezu_hls_part_delivery_seconds",
        "teezu_whip_sessions",
        "teezu_whep_sessions",
        "teezu_chat_connections",
        "teezu_chat_messages",
        "teezu_ledger_tips_committed",
        "teezu_ledger_failures",
        "teezu_db_pool_in_use",
        "teezu_event_loop_lag_seconds",
        "teezu_moderation_review_queue",
        "teezu_reports_overdue",
    ):
        assert expected in names, expected
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup.sh --test installs Debian's prometheus"
    check = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=text.encode(), capture_output=True
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


async def test_metrics_token_is_enforced(server, http, monkeypatch):
    monkeypatch.setattr(server.settings, "metrics_token", "t0ken")
    async with http.get(server.base_url + "/metrics") as res:
        assert res.status == 403
        body = await res.json()
        assert body["status"] == "error" and body["code"] == "METRICS_FORBIDDEN"
    headers = {"Authorization": "Bearer t0ken"}
    async with http.get(server.base_url + "/metrics", headers=headers) as res:
        assert res.status == 200


async def test_requests_are_counted_by_status(server, http):
    before = value(
        await scrape(http, server), "teezu_http_responses_total", server="app", status="404"
    )
    for _ in range(3):
        async with http.get(server.base_url + f"/api/v1/streams/{uuid.uuid4()}") as res:
            assert res.status == 404
    after = value(
        await scrape(http, server), "teezu_http_responses_total", server="app", status="404"
    )
    assert after - before == 3


async def test_tips_committed_move_by_the_tips_sent(server, http):
    ledger = server.app[LEDGER]
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    stream = await live_stream(server.pool, creator)
    from tests.integration.wallet.conftest import ensure_user

    await ensure_user(server.pool, viewer)
    await fund(ledger, viewer, 1000)
    before = await scrape(http, server)
    sent = 7
    outcomes = await asyncio.gather(
        *(
            ledger.tip(IdempotencyKey(viewer, f"metrics-{i}"), TipRequest(stream, 10))
            for i in range(sent)
        )
    )
    assert all(o.ok for o in outcomes)
    # A replay is not a new tip.
    assert (await ledger.tip(IdempotencyKey(viewer, "metrics-0"), TipRequest(stream, 10))).replayed
    after = await scrape(http, server)
    assert (
        value(after, "teezu_ledger_tips_committed_total")
        - value(before, "teezu_ledger_tips_committed_total")
        == sent
    )
    assert (
        value(after, "teezu_ledger_tip_tokens_committed_total")
        - value(before, "teezu_ledger_tip_tokens_committed_total")
        == sent * 10
    )


async def test_publishing_moves_frames_in_and_a_blocking_request_is_held(server, http, performer):
    stream_id, token = await stream_of(server.pool, performer, "Metrics")
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        url = await variant_url(http, server.base_url, stream_id)
        await wait_for_playlist(http, url, segments=1, timeout=20)
        session = server.broadcasts[stream_id]
        fps = session.pipeline.ladder[0].fps

        # Publish N more seconds (the publisher paces itself at fps) and compare frames in with
        # what it sent: N x fps, give or take the frames in flight at either scrape.
        track = pub.video
        assert track is not None
        seconds_published = 3
        first = await scrape(http, server)
        sent_from = track._n
        while track._n < sent_from + seconds_published * fps:
            await asyncio.sleep(0.05)
        second = await scrape(http, server)
        sent = track._n - sent_from
        moved = value(second, "teezu_stream_video_frames_in_total", stream=stream_id) - value(
            first, "teezu_stream_video_frames_in_total", stream=stream_id
        )
        assert abs(moved - sent) <= fps // 2, (moved, sent)
        assert abs(moved - seconds_published * fps) <= fps // 2 + 2, moved
        encoded = value(
            second, "teezu_rendition_frames_encoded_total", stream=stream_id, rendition="720p"
        )
        seconds = value(
            second, "teezu_rendition_encode_seconds_total", stream=stream_id, rendition="720p"
        )
        assert encoded > 0 and seconds > 0
        # Output bitrate: the encoded bytes move while publishing (x 8 / s: bits per second).
        out_bytes = [
            value(doc, "teezu_rendition_bytes_out_total", stream=stream_id, rendition="720p")
            for doc in (first, second)
        ]
        assert out_bytes[1] > out_bytes[0] > 0, out_bytes
        # The encoder's queue is bounded by the pipeline's backlog (2 video frames).
        queue = value(second, "teezu_stream_encoder_queue", stream=stream_id, media="video")
        assert 0 <= queue <= 2
        # RTP from the publisher: packets received move, loss and jitter are reported (loopback:
        # none lost, jitter well under a frame).
        rtp = [
            value(doc, "teezu_whip_rtp_packets_received_total", stream=stream_id, kind="video")
            for doc in (first, second)
        ]
        assert rtp[1] > rtp[0] > 0, rtp
        assert value(second, "teezu_whip_rtp_packets_lost", stream=stream_id, kind="video") >= 0
        jitter = value(second, "teezu_whip_rtp_jitter_seconds", stream=stream_id, kind="video")
        assert 0 <= jitter < 1 / fps, jitter

        # Where the frames' time went, per stage (engine.latency), and the shedding step.
        def delay(stage: str, quantile: str) -> float:
            return value(
                second,
                "teezu_stream_stage_delay_seconds",
                stream=stream_id,
                stage=stage,
                quantile=quantile,
            )

        for stage in ("encode:720p", "part:720p"):
            assert delay(stage, "0.99") >= delay(stage, "0.5") > 0, stage
        assert ("teezu_stream_shed_step", (("stream", stream_id),)) in samples(second)

        # A blocking playlist request for a segment two ahead waits; the gauge shows it.
        output = server.broadcasts[stream_id].hls
        live = output.live
        rendition = live.renditions["720p"]
        msn = rendition.last_segment + 2
        held = asyncio.create_task(http.get(url + f"?_HLS_msn={msn}"))
        for _ in range(200):
            if live.held:
                break
            await asyncio.sleep(0.01)
        during = await scrape(http, server)
        assert value(during, "teezu_hls_held_requests", server="app") >= 1
        res = await held
        # Answered when the segment is out, or 503 when it takes longer than the hold limit
        # (three target durations, RFC 8216bis), as two segments can on a loaded machine: the
        # hold itself is tests/integration/test_blocking_reload.py's subject, the gauge this one's.
        assert res.status in (200, 503), res.status
        res.release()
        after = await scrape(http, server)
        assert value(after, "teezu_whip_sessions") >= 1
    finally:
        await pub.delete(http, server.base_url)


async def test_chat_fanout_and_pool_wait_move_with_the_work(server, http, account):
    from api.auth.rbac import Role
    from api.streams import store as streams
    from tests.chatclient import ChatClient

    creator = await account(Role.CREATOR)
    room, _ = await streams.create_stream(
        server.pool, title="Fan-out", creator_handle=creator.handle, creator_id=creator.id
    )
    client = await ChatClient().connect(
        server.base_url, headers={"Cookie": f"session={creator.cookie()}"}
    )
    try:
        assert (await client.join(str(room.id)))["ok"]
        before = await scrape(http, server)
        sent = 5
        for i in range(sent):
            assert (await client.send(str(room.id), f"fan-out {i}"))["ok"]
        await client.wait_message(f"fan-out {sent - 1}")
        # A request that reads the database through the pool (chat's history writer keeps a
        # connection of its own, and the room's checks may be cached by now).
        async with http.get(f"{server.base_url}/api/v1/streams/{room.id}") as res:
            assert res.status == 200, await res.text()
        after = await scrape(http, server)
    finally:
        await client.close()
    packets = value(after, "teezu_chat_fanout_seconds_count") - value(
        before, "teezu_chat_fanout_seconds_count"
    )
    assert 1 <= packets <= sent  # a busy room's messages share packets
    assert value(after, "teezu_chat_fanout_seconds_sum") > value(
        before, "teezu_chat_fanout_seconds_sum"
    )
    # Every query took a pool connection; the waits add up (never fall).
    taken = value(after, "teezu_db_pool_acquisitions_total") - value(
        before, "teezu_db_pool_acquisitions_total"
    )
    assert taken >= 1  # the stream's read at least
    assert value(after, "teezu_db_pool_acquire_wait_seconds_total") >= value(
        before, "teezu_db_pool_acquire_wait_seconds_total"
    )
