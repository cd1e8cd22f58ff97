"""Every bad WHIP input gets its status and envelope code, and leaves the stream usable."""

from __future__ import annotations

import uuid

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from api.streams import store

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def make_offer(*, video: bool = True, audio: bool = True) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if video:
        pc.addTransceiver("video", direction="sendonly")
    if audio:
        pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def only_vp9(sdp: str) -> str:
    """The offer with its video codecs renamed to one we do not decode."""
    return sdp.replace("VP8/90000", "VP9/90000").replace("H264/90000", "AV1/90000")


async def post(http, server, stream_id, body, *, token=None, content_type="application/sdp"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with http.post(f"{server.base_url}/whip/{stream_id}", data=body, headers=headers) as res:
        return res.status, res.headers, await res.read()


async def assert_usable(http, server, stream_id: str, token: str) -> None:
    """Nothing was left half-open: the stream is not live and a valid offer still goes live."""
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state != "live"
    assert stream_id not in server.broadcasts
    status, headers, body = await post(http, server, stream_id, await make_offer(), token=token)
    assert status == 201, body
    auth = {"Authorization": f"Bearer {token}"}
    async with http.delete(server.base_url + headers["Location"], headers=auth) as res:
        assert res.status == 200


def assert_envelope(body: bytes, code: str) -> dict:
    import json

    env = json.loads(body)
    assert env["status"] == "error"
    assert env["code"] == code, env
    assert env["message"] and env["requestId"]
    return env


CASES = {
    # name: (stream id kind, body kind, token kind, content type, status, code)
    "wrong content type": ("own", "offer", "good", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    "json content type": (
        "own",
        "offer",
        "good",
        "application/json",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "missing token": ("own", "offer", "none", "application/sdp", 401, "INVALID_PUBLISH_TOKEN"),
    "wrong token": ("own", "offer", "bad", "application/sdp", 401, "INVALID_PUBLISH_TOKEN"),
    "other stream's token": (
        "own",
        "offer",
        "other",
        "application/sdp",
        401,
        "INVALID_PUBLISH_TOKEN",
    ),
    "unknown stream": ("random", "offer", "good", "application/sdp", 404, "STREAM_NOT_FOUND"),
    "not a stream id": ("garbage", "offer", "good", "application/sdp", 404, "STREAM_NOT_FOUND"),
    "malformed sdp": ("own", "garbage", "good", "application/sdp", 400, "INVALID_SDP"),
    "empty sdp": ("own", "empty", "good", "application/sdp", 400, "INVALID_SDP"),
    "truncated sdp": ("own", "truncated", "good", "application/sdp", 400, "INVALID_SDP"),
    "video-less sdp": ("own", "audio-only", "good", "application/sdp", 400, "SDP_NO_VIDEO"),
    "unsupported video codec": ("own", "vp9", "good", "application/sdp", 400, "NO_COMMON_CODEC"),
    "oversized body": ("own", "huge", "good", "application/sdp", 413, "PAYLOAD_TOO_LARGE"),
    "binary body": ("own", "binary", "good", "application/sdp", 400, "INVALID_SDP"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_whip_post(case, server, http, new_stream):
    target, body_kind, token_kind, ctype, status, code = CASES[case]
    stream_id, token = await new_stream()
    other_id, other_token = await new_stream()
    offer = await make_offer()
    body = {
        "offer": offer,
        "garbage": "hello, this is not SDP",
        "empty": "",
        "truncated": offer[: len(offer) // 3],
        "audio-only": await make_offer(video=False),
        "vp9": only_vp9(offer),
        "huge": offer + "a=x-padding:" + "x" * (server.settings.whip_max_body_bytes + 10) + "\r\n",
        "binary": b"\xff\xfe\x00\x01" * 100,
    }[body_kind]
    url_id = {"own": stream_id, "random": str(uuid.uuid4()), "garbage": "not-a-uuid"}[target]
    sent_token = {"good": token, "none": None, "bad": "x" * 43, "other": other_token}[token_kind]

    got, headers, raw = await post(http, server, url_id, body, token=sent_token, content_type=ctype)
    assert got == status, raw
    assert headers["Content-Type"].startswith("application/json")
    assert_envelope(raw, code)
    await assert_usable(http, server, stream_id, token)


async def test_already_live_is_409_and_first_broadcast_survives(
    server, http, new_stream, check_in_again
):
    stream_id, token = await new_stream()
    status, headers, body = await post(http, server, stream_id, await make_offer(), token=token)
    assert status == 201, body
    session = server.broadcasts[stream_id]

    got, _, raw = await post(http, server, stream_id, await make_offer(), token=token)
    assert got == 409
    assert_envelope(raw, "STREAM_ALREADY_LIVE")
    # The first broadcast is untouched by the refused second publisher.
    assert server.broadcasts[stream_id] is session
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "live"

    auth = {"Authorization": f"Bearer {token}"}
    async with http.delete(server.base_url + headers["Location"], headers=auth) as res:
        assert res.status == 200
    await check_in_again(stream_id)  # the next broadcast needs its own check-in
    await assert_usable(http, server, stream_id, token)


async def test_whip_answer_shape(server, http, new_stream):
    stream_id, token = await new_stream()
    status, headers, body = await post(http, server, stream_id, await make_offer(), token=token)
    assert status == 201
    assert headers["Content-Type"].startswith("application/sdp")
    location = headers["Location"]
    assert location.startswith(f"/whip/{stream_id}/sessions/")
    answer = body.decode()
    assert answer.startswith("v=0")
    video = answer.split("m=video", 1)[1].split("m=audio", 1)[0]
    # H.264 preferred when offered; bitrate hints present for the browser's encoder.
    first_pt = video.split("\r\n", 1)[0].split()[2]
    assert f"a=rtpmap:{first_pt} H264/90000" in video
    assert "x-google-start-bitrate=" in video and "b=AS:" in video
    # The session resource needs the POST's token: without it (or with another) nothing ends.
    other = (await new_stream())[1]
    for headers in ({}, {"Authorization": f"Bearer {other}"}):
        async with http.delete(server.base_url + location, headers=headers) as res:
            assert res.status == 401
            assert_envelope(await res.read(), "INVALID_SESSION_TOKEN")
    assert stream_id in server.broadcasts
    auth = {"Authorization": f"Bearer {token}"}
    async with http.delete(server.base_url + location, headers=auth) as res:
        assert res.status == 200
    async with http.delete(server.base_url + location, headers=auth) as res:
        assert res.status == 404
        assert_envelope(await res.read(), "SESSION_NOT_FOUND")


async def test_unknown_route_and_method_use_envelope(server, http):
    async with http.get(f"{server.base_url}/api/v1/nope") as res:
        assert res.status == 404
        assert_envelope(await res.read(), "NOT_FOUND")
    async with http.get(f"{server.base_url}/whip/{uuid.uuid4()}") as res:
        assert res.status == 405
        assert_envelope(await res.read(), "METHOD_NOT_ALLOWED")
