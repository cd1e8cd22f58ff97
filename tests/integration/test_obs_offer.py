"""OBS Studio's WHIP output against our answer, from OBS's source.

``tests/fixtures/obs_whip_offer.sdp`` is the offer OBS 32.2.2 sends with an H.264 encoder and
Opus audio, rebuilt line by line from its source: ``plugins/obs-webrtc/whip-output.cpp``
(``ConfigureAudioTrack``: mid "0", Opus PT 111; ``ConfigureVideoTrack``: mid "1", H.264 PT 96,
the sdes:mid / rtp-stream-id header extensions, ssrc/msid lines; ``Setup``:
``disableAutoGathering``, so the offer has no candidates) and libdatachannel v0.21.0, the
version obs-deps builds for it (``Description::generateSdp``: session-level BUNDLE and LS
groups, ``a=setup:actpass``, ICE credentials, ``a=ice-options:ice2,trickle`` from libjuice
1.4.1, a SHA-256 fingerprint of its ECDSA P-256 certificate; ``Video::addH264Codec``'s
default ``profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1`` with nack,
nack pli and goog-remb; ``Audio::addOpusCodec``'s default fmtp). Only the random values
(ufrag/pwd, ssrcs, fingerprint, ids) are made up.

What that source needs from us: a 201 with a Location (relative is fine: it joins it to the
effective URL) and an answer ``setRemoteDescription`` accepts; the BUNDLE group kept (one
transport); a DTLS role that is not actpass; PT 111 Opus and PT 96 H.264 with
packetization-mode 1 accepted as offered (OBS's packetizers are fixed to those); rtcp-mux; all
our candidates in the answer, because OBS never trickles (it gathers only after the answer and
sends no PATCH), so we learn its address from its checks alone; and a 200 to its DELETE, which
carries its bearer token.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

OBS_OFFER = (Path(__file__).parents[1] / "fixtures" / "obs_whip_offer.sdp").read_text()


def sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    lines = sdp.replace("\r\n", "\n").strip().split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    media = [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)], strict=True)]
    return lines[: starts[0]], media


def test_fixture_is_what_libdatachannel_writes():
    session, media = sections(OBS_OFFER)
    assert "a=candidate" not in OBS_OFFER  # disableAutoGathering: no candidates in the offer
    assert "a=group:BUNDLE 0 1" in session and "a=setup:actpass" in session
    assert [m[0] for m in media] == [
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_obs_offer_gets_an_answer_obs_can_use(server, http, new_stream):
    stream_id, token = await new_stream("OBS")
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with http.post(
        f"{server.base_url}/whip/{stream_id}", data=OBS_OFFER, headers=headers
    ) as res:
        assert res.status == 201, await res.text()
        location = res.headers["Location"]
        answer = await res.text()
    try:
        assert location.startswith(f"/whip/{stream_id}/sessions/")
        session_lines, media = sections(answer)
        assert "a=group:BUNDLE 0 1" in session_lines
        audio, video = media
        assert audio[0].startswith("m=audio ") and video[0].startswith("m=video ")
        for m in media:
            assert "a=recvonly" in m
            assert "a=rtcp-mux" in m
            assert "a=setup:active" in m  # the answer to actpass; OBS is then the DTLS server
            assert any(x.startswith("a=fingerprint:sha-256 ") for x in m)
            assert any(x.startswith("a=ice-ufrag:") for x in m)
            assert any(x.startswith("a=candidate:") for x in m)
        assert {"a=mid:0"} <= set(audio) and {"a=mid:1"} <= set(video)
        assert audio[0].split()[3:] == ["111"] and "a=rtpmap:111 opus/48000/2" in audio
        assert video[0].split()[3] == "96" and "a=rtpmap:96 H264/90000" in video
        fmtp = next(x for x in video if x.startswith("a=fmtp:96 "))
        assert "packetization-mode=1" in fmtp
        # OBS's video RTP carries the mid header extension (id 1): keep it if echoed at all.
        mid_ext = [x for x in video if "sdes:mid" in x]
        assert mid_ext in ([], ["a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid"])
    finally:
        # OBS's SendDelete: its bearer token, and anything but 200 is logged as a failure.
        async with http.delete(
            server.base_url + location, headers={"Authorization": f"Bearer {token}"}
        ) as res:
            assert res.status == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_publisher_that_never_sends_candidates_connects(server, http, new_stream):
    """OBS's ICE behaviour with a real agent: no candidates in the offer and no PATCH ever."""
    stream_id, token = await new_stream("No candidates")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = "".join(
        line + "\r\n"
        for line in pc.localDescription.sdp.splitlines()
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    )
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with http.post(f"{server.base_url}/whip/{stream_id}", data=offer, headers=headers) as res:
        assert res.status == 201, await res.text()
        location = res.headers["Location"]
        answer = await res.text()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        session = server.broadcasts[stream_id]
        deadline = time.monotonic() + 15
        while session.publisher.ice.selected_remote() is None:
            assert time.monotonic() < deadline, "ICE did not connect"
            await asyncio.sleep(0.05)
        # Known only from its connectivity checks.
        assert session.publisher.ice.selected_remote().type == "prflx"
        deadline = time.monotonic() + 15
        while pc.connectionState != "connected":
            assert time.monotonic() < deadline, pc.connectionState
            await asyncio.sleep(0.05)
    finally:
        async with http.delete(
            server.base_url + location, headers={"Authorization": f"Bearer {token}"}
        ) as res:
            assert res.status == 200
        await pc.close()
