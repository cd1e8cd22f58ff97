"""WHEP playback: aiortc viewers decode the ladder's packets; bad input; viewers end; no encode."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiortc.codecs.h264 import H264Encoder

from engine.pipeline import _EncoderLoop
from live.whep import VIEWERS
from tests.performers import stream_of
from tests.publisher import Published, publish
from tests.viewer import make_viewer_offer, watch

pytestmark = pytest.mark.asyncio(loop_scope="session")


def assert_envelope(body: bytes, code: str) -> dict:
    env = json.loads(body)
    assert env["status"] == "error"
    assert env["code"] == code, env
    assert env["message"] and env["requestId"]
    return env


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def go_live(server, http, stream_id: str, token: str) -> Published:
    """Publish and wait until the fanout knows the renditions (first media encoded)."""
    pub = await publish(http, server.base_url, stream_id, token)
    await wait_for(lambda: stream_id in server.broadcasts, what="fanout")
    await asyncio.wait_for(server.broadcasts[stream_id].fanout.started.wait(), 15)
    return pub


def viewers_of(server, stream_id: str) -> int:
    return server.app[VIEWERS].count(stream_id)


def encoder_loop(server, stream_id: str) -> _EncoderLoop:
    """The pipeline's encoder-thread state, found without patching anything."""
    pipeline = server.broadcasts[stream_id].pipeline
    loops = [o for o in gc.get_objects() if isinstance(o, _EncoderLoop) and o.p is pipeline]
    assert len(loops) == 1
    return loops[0]


class Broadcast:
    """The module's one broadcast, (re)started on demand.

    Every test uses it, so only one ladder encodes at a time: two 3-rung ladders plus their
    publishers would take more than this 2-vCPU machine has.
    """

    def __init__(self, server, http: aiohttp.ClientSession, performer) -> None:
        self.server, self.http, self.performer = server, http, performer
        self.stream_id = ""
        self.token = ""
        self.pub: Published | None = None

    async def ensure(self) -> tuple[str, str]:
        """``(stream_id, publish token)`` of a broadcast that is live now."""
        if self.pub is None or self.stream_id not in self.server.broadcasts:
            self.stream_id, self.token = await stream_of(self.server.pool, self.performer, "WHEP")
            self.pub = await go_live(self.server, self.http, self.stream_id, self.token)
        return self.stream_id, self.token

    async def end(self) -> None:
        if self.pub is not None:
            await self.pub.delete(self.http, self.server.base_url)
            self.pub = None


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def broadcast(server, performer) -> AsyncIterator[Broadcast]:
    async with aiohttp.ClientSession() as http:
        b = Broadcast(server, http, performer)
        yield b
        await b.end()


@pytest_asyncio.fixture(loop_scope="session")
async def live(broadcast: Broadcast) -> tuple[str, str]:
    return await broadcast.ensure()


async def test_viewer_decodes_the_ladder_with_keyframe_on_join(server, http, live):
    stream_id, _ = live
    await asyncio.sleep(1.0)  # join mid-GOP: without the replay, the next keyframe is ~1 s away
    top = await watch(http, server.base_url, stream_id)
    low = await watch(http, server.base_url, stream_id, rendition="480p")
    try:
        await top.wait_frames(video=30, audio=25)
        await low.wait_frames(video=30, audio=25)
        assert top.sizes == {(1280, 720)}
        assert low.sizes == {(854, 480)}
        assert top.first_frame_delay is not None and low.first_frame_delay is not None
        print(
            f"\nWHEP first decoded frame after POST: 720p {top.first_frame_delay * 1000:.0f} ms, "
            f"480p {low.first_frame_delay * 1000:.0f} ms (keyframes every 2 s)"
        )
        # The viewers joined mid-GOP and got the cached GOP from its keyframe.
        served = server.app[VIEWERS].by_stream[stream_id].values()
        subs = [t.subscription for v in served for t in v.tracks if t.kind == "video"]
        assert len(subs) == 2 and all(s is not None and s.replayed > 0 for s in subs)
    finally:
        await top.delete(http, server.base_url)
        await low.delete(http, server.base_url)


CASES = {
    # name: (target, body kind, content type, query, status, code)
    "wrong content type": ("live", "offer", "text/plain", "", 415, "UNSUPPORTED_MEDIA_TYPE"),
    "json content type": ("live", "offer", "application/json", "", 415, "UNSUPPORTED_MEDIA_TYPE"),
    "unknown stream": ("random", "offer", "application/sdp", "", 404, "STREAM_NOT_FOUND"),
    "not a stream id": ("garbage", "offer", "application/sdp", "", 404, "STREAM_NOT_FOUND"),
    "offline stream": ("offline", "offer", "application/sdp", "", 409, "STREAM_OFFLINE"),
    "malformed sdp": ("live", "garbage", "application/sdp", "", 400, "INVALID_SDP"),
    "empty sdp": ("live", "empty", "application/sdp", "", 400, "INVALID_SDP"),
    "truncated sdp": ("live", "truncated", "application/sdp", "", 400, "INVALID_SDP"),
    "binary body": ("live", "binary", "application/sdp", "", 400, "INVALID_SDP"),
    "video-less sdp": ("live", "audio-only", "application/sdp", "", 400, "SDP_NO_VIDEO"),
    "publisher's sendonly offer": ("live", "sendonly", "application/sdp", "", 400, "INVALID_SDP"),
    "vp8 only": ("live", "vp8", "application/sdp", "", 400, "NO_COMMON_CODEC"),
    "h264 mode 0 only": ("live", "mode0", "application/sdp", "", 400, "NO_COMMON_CODEC"),
    "audio without opus": ("live", "no-opus", "application/sdp", "", 400, "NO_COMMON_CODEC"),
    "oversized body": ("live", "huge", "application/sdp", "", 413, "PAYLOAD_TOO_LARGE"),
    "unknown rendition": (
        "live",
        "offer",
        "application/sdp",
        "?rendition=4k",
        400,
        "UNKNOWN_RENDITION",
    ),
}


async def publisher_offer() -> str:
    from tests.integration.test_whip_errors import make_offer

    return await make_offer()


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_whep_post(case, server, http, new_stream, live):
    target, body_kind, ctype, query, status, code = CASES[case]
    live_id, _ = live
    offline_id, _ = await new_stream("never live")
    offer = await make_viewer_offer()
    body = {
        "offer": offer,
        "garbage": "hello, this is not SDP",
        "empty": "",
        "truncated": offer[: len(offer) // 3],
        "binary": b"\xff\xfe\x00\x01" * 100,
        "audio-only": await make_viewer_offer(video=False),
        "sendonly": await publisher_offer(),
        "vp8": offer.replace("H264/90000", "AV1/90000"),
        "mode0": offer.replace("packetization-mode=1", "packetization-mode=0"),
        "no-opus": offer.replace("opus/48000/2", "x-nope/48000/2"),
        "huge": offer + "a=x-padding:" + "x" * (server.settings.whip_max_body_bytes + 10) + "\r\n",
    }[body_kind]
    url_id = {
        "live": live_id,
        "offline": offline_id,
        "random": str(uuid.uuid4()),
        "garbage": "not-a-uuid",
    }[target]
    before = viewers_of(server, live_id)
    url = f"{server.base_url}/whep/{url_id}{query}"
    async with http.post(url, data=body, headers={"Content-Type": ctype}) as res:
        assert res.status == status, await res.text()
        assert res.headers["Content-Type"].startswith("application/json")
        assert_envelope(await res.read(), code)
    # Nothing was left half-open, and the stream still serves WHEP.
    assert viewers_of(server, live_id) == before == 0
    viewer = await watch(http, server.base_url, live_id)
    await viewer.wait_frames(video=1, timeout=10)
    assert await viewer.delete(http, server.base_url) == 200
    await wait_for(lambda: viewers_of(server, live_id) == 0, what="viewer gone")


async def test_any_bearer_token_is_accepted_until_playback_tokens_land(server, http, live):
    live_id, publish_token = live
    for token in ("x" * 43, publish_token):
        viewer = await watch(http, server.base_url, live_id, token=token)
        # The viewer's session resource needs the token its POST carried.
        for headers in ({}, {"Authorization": "Bearer " + "y" * 43}):
            async with http.delete(server.base_url + viewer.location, headers=headers) as res:
                assert res.status == 401
                assert_envelope(await res.read(), "INVALID_SESSION_TOKEN")
        assert viewers_of(server, live_id) == 1
        async with http.delete(f"{server.base_url}{viewer.location}?token={token}") as res:
            assert res.status == 200  # ?token= works as at the POST
        await viewer.close()
        await wait_for(lambda: viewers_of(server, live_id) == 0, what="viewer gone")


async def test_session_resource_delete_and_patch(server, http, live):
    live_id, _ = live
    viewer = await watch(http, server.base_url, live_id)
    assert viewer.location.startswith(f"/whep/{live_id}/sessions/")
    assert viewers_of(server, live_id) == 1
    # PATCH is trickle ICE / ICE restart, as for WHIP (tests/integration/test_whip_patch.py).
    async with http.patch(server.base_url + viewer.location) as res:
        assert res.status == 415
        assert_envelope(await res.read(), "UNSUPPORTED_MEDIA_TYPE")
    assert await viewer.delete(http, server.base_url) == 200
    assert viewers_of(server, live_id) == 0
    async with http.delete(server.base_url + viewer.location) as res:
        assert res.status == 404
        assert_envelope(await res.read(), "SESSION_NOT_FOUND")
    assert server.broadcasts[live_id].fanout.subscribers() == 0


async def test_broadcast_end_stops_its_viewers(server, http, broadcast):
    stream_id, _ = await broadcast.ensure()
    fanout = server.broadcasts[stream_id].fanout
    clients = [await watch(http, server.base_url, stream_id) for _ in range(2)]
    for c in clients:
        await c.wait_frames(video=5)
    served = list(server.app[VIEWERS].by_stream[stream_id].values())
    assert len(served) == 2

    await broadcast.end()
    await wait_for(lambda: viewers_of(server, stream_id) == 0, what="viewers stopped")
    assert stream_id not in server.app[VIEWERS].by_stream
    assert stream_id not in server.broadcasts
    assert fanout.ended and fanout.subscribers() == 0
    for v in served:
        assert v.stop_reason == "broadcast ended"
        assert v.pc.connectionState == "closed"
    for c in clients:
        await c.close()
    # A POST for the ended broadcast is refused.
    async with http.post(
        f"{server.base_url}/whep/{stream_id}",
        data=await make_viewer_offer(),
        headers={"Content-Type": "application/sdp"},
    ) as res:
        assert res.status == 409
        assert_envelope(await res.read(), "STREAM_OFFLINE")


async def test_viewers_never_cause_an_encode(server, http, live):
    stream_id, _ = live
    loop_state = encoder_loop(server, stream_id)
    encoders = list(loop_state.encoders)
    assert [e.settings.name for e in encoders] == ["720p", "480p", "240p"]

    def slots() -> list[int]:
        # Per rung, output slots encoded or left out by the load-shedding step in force.
        return [e.frames_encoded + s for e, s in zip(encoders, loop_state.skipped, strict=True)]

    async def frames_encoded(seconds: float = 2.0) -> list[int]:
        before = slots()
        await asyncio.sleep(seconds)  # a window of encoding; its length is not asserted
        after = slots()
        # Never more than the output slots issued: a slot is issued before its frames are
        # encoded or left out (read the encoders first: the slot counter only grows).
        assert max(after) <= loop_state.grid.next_slot, (after, loop_state.grid.next_slot)
        return [n - b for n, b in zip(after, before, strict=True)]

    alone = await frames_encoded()
    clients = [
        await watch(http, server.base_url, stream_id, rendition=r)
        for r in ("720p", "480p", "240p", "720p")
    ]
    for c in clients:
        await c.wait_frames(video=10)
    watched = await frames_encoded()
    try:
        # The same three encoders, in lockstep (one frame per rung per output slot, or one left
        # out by load shedding; never more than the slots issued), with or without viewers: no
        # rung is encoded again for them. (The rate itself is not asserted: it depends on the
        # machine's load.)
        assert loop_state.encoders == encoders
        for counts in (alone, watched):
            assert max(counts) - min(counts) <= 1, counts
            assert counts[0] > 0, counts
        # aiortc's own H.264 encoder exists per sender but never opened x264: packets were
        # only packed.
        for v in server.app[VIEWERS].by_stream[stream_id].values():
            video = [s for s in v.senders() if s.kind == "video"]
            assert len(video) == 1
            enc = video[0]._RTCRtpSender__encoder
            assert isinstance(enc, H264Encoder)
            assert enc.codec is None
            assert all(t.packets_sent > 0 for t in v.tracks)
    finally:
        for c in clients:
            await c.delete(http, server.base_url)
