"""WHIP PATCH (RFC 9725 §4.3): trickled candidates are used, bad input gets its status and the
JSON envelope, and nothing of the broadcast is disturbed by a refused PATCH."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.hlscheck import variant_url, wait_for_playlist
from tests.publisher import Published, publish, trickle_fragment

pytestmark = pytest.mark.asyncio(loop_scope="session")

SDPFRAG = "application/trickle-ice-sdpfrag"


def assert_envelope(body: bytes, code: str) -> dict:
    doc = json.loads(body)
    assert doc["status"] == "error" and doc["code"] == code, doc
    assert doc["message"] and doc["requestId"]
    return doc


async def wait_connected(server, stream_id: str, timeout: float = 15.0):
    session = server.broadcasts[stream_id]
    deadline = time.monotonic() + timeout
    while session.publisher.ice.selected_remote() is None:
        assert time.monotonic() < deadline, "ICE did not connect"
        await asyncio.sleep(0.05)
    return session


async def test_offer_without_candidates_connects_over_the_trickled_ones(server, http, new_stream):
    stream_id, token = await new_stream("Trickle")
    pub = await publish(http, server.base_url, stream_id, token, trickle=True)
    try:
        assert pub.trickled, "the publisher gathered no candidates to trickle"
        session = await wait_connected(server, stream_id)
        # Had the PATCH been ignored, the server would know the publisher only from its checks,
        # as a peer-reflexive candidate with a made-up foundation.
        remote = session.publisher.ice.selected_remote()
        sent = {
            (c.split()[4], int(c.split()[5])): c.split()[0][len("candidate:") :]
            for c in pub.trickled
        }
        assert remote.type == "host", remote
        assert sent.get((remote.host, remote.port)) == remote.foundation, (remote, sent)
        url = await variant_url(http, server.base_url, stream_id)
        await wait_for_playlist(http, url, segments=1, timeout=20)
    finally:
        assert await pub.delete(http, server.base_url) == 200


async def test_patch_bad_input(server, http, new_stream):
    stream_id, token = await new_stream("Bad PATCH")
    pub = await publish(http, server.base_url, stream_id, token)
    base = server.base_url
    offer = pub.pc.localDescription.sdp
    good = trickle_fragment(offer, [], end=True)

    async def patch(body=good, *, ctype=SDPFRAG, auth=token, if_match=pub.etag, url=None):
        headers = {"Content-Type": ctype}
        if auth is not None:
            headers["Authorization"] = f"Bearer {auth}"
        if if_match is not None:
            headers["If-Match"] = if_match
        async with http.patch(url or base + pub.location, data=body, headers=headers) as res:
            assert res.headers["Content-Type"].startswith("application/json"), res.status
            return res.status, await res.read()

    try:
        await wait_connected(server, stream_id)
        session = server.broadcasts[stream_id]
        other_token = (await new_stream())[1]
        cases = [
            (await patch(ctype="application/sdp"), 415, "UNSUPPORTED_MEDIA_TYPE"),
            (await patch(ctype="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
            (await patch(url=f"{base}/whip/{stream_id}/sessions/nope"), 404, "SESSION_NOT_FOUND"),
            (await patch(url=f"{base}{pub.location}x"), 404, "SESSION_NOT_FOUND"),
            (await patch("m=audio\r\na=candidate:junk\r\n"), 400, "INVALID_SDPFRAG"),
            (await patch("hello"), 400, "INVALID_SDPFRAG"),
            (await patch(b"\xff\xfe"), 400, "INVALID_SDPFRAG"),
            (await patch(if_match='"not-the-etag"'), 412, "ETAG_MISMATCH"),
            (await patch(if_match=f"W/{pub.etag}"), 412, "ETAG_MISMATCH"),  # weak never matches
            (await patch(if_match=None), 428, "IF_MATCH_REQUIRED"),
            (await patch(auth=None), 401, "INVALID_SESSION_TOKEN"),
            (await patch(auth=other_token), 401, "INVALID_SESSION_TOKEN"),
            (await patch("a=end-of-candidates\r\n" * 40_000), 413, "PAYLOAD_TOO_LARGE"),
        ]
        for (status, body), want_status, code in cases:
            assert status == want_status, (want_status, code, body)
            assert_envelope(body, code)
        # None of it touched the ICE session or the broadcast.
        assert server.broadcasts[stream_id] is session
        assert session.publisher.ice.etag == pub.etag and session.publisher.ice.restarts == 0
        assert session.stop_reason is None
        # And a good trickle PATCH is a 204 without body or ETag.
        headers = {
            "Content-Type": SDPFRAG,
            "Authorization": f"Bearer {token}",
            "If-Match": pub.etag,
        }
        async with http.patch(base + pub.location, data=good, headers=headers) as res:
            assert res.status == 204 and await res.read() == b""
            assert "ETag" not in res.headers
    finally:
        assert await pub.delete(http, base) == 200


async def test_restart_before_ice_connects_is_refused_and_harmless(server, http, new_stream):
    stream_id, token = await new_stream("Early restart")
    # Hold the publisher's answer back: the server's ICE cannot complete yet.
    pub = await _post_only(http, server.base_url, stream_id, token)
    try:
        frag = (
            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=ice-ufrag:newU\r\n"
            "a=ice-pwd:newpasswordnewpassword1\r\n"
        )
        status, body = await pub.patch(http, server.base_url, frag, if_match="*")
        assert status == 409, body
        assert_envelope(body.encode(), "ICE_RESTART_UNAVAILABLE")
        session = server.broadcasts[stream_id]
        assert session.publisher.ice.etag == pub.etag and session.stop_reason is None
    finally:
        assert await pub.delete(http, server.base_url) == 200


async def _post_only(http, base_url: str, stream_id: str, token: str) -> Published:
    """POST an offer without ever applying the answer (the publisher never connects)."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with http.post(
        f"{base_url}/whip/{stream_id}", data=pc.localDescription.sdp, headers=headers
    ) as res:
        assert res.status == 201, await res.text()
        return Published(pc, res.headers["Location"], None, None, token, res.headers["ETag"])
