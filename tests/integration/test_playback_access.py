"""Signed playback at the origin and the edge: non-public streams need a token on every request."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urljoin

import m3u8
import pytest

from api.streams import store
from hls.access import sign_playback_token
from tests.hlscheck import fetch, wait_for_playlist
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _key(server) -> bytes:
    return await asyncio.to_thread(server.settings.playback_key_bytes)  # a file read


async def test_followers_stream_needs_a_valid_token_everywhere(
    server, http, hls_server, new_stream
):
    sid, publish_token = await new_stream("Followers", visibility="followers")
    other, _ = await store.create_stream(
        server.pool, title="Other", creator_handle="o", visibility="followers"
    )
    pub = await publish(http, server.base_url, sid, publish_token)
    try:
        master_url = f"{server.hls_url(hls_server)}/hls/{sid}/index.m3u8"
        key = await _key(server)
        good = sign_playback_token(key, sid, "fan1", int(time.time()) + 600, epoch=0)
        refused = {
            "": "PLAYBACK_TOKEN_REQUIRED",
            "?token=nonsense": "PLAYBACK_TOKEN_INVALID",
            "?token=" + sign_playback_token(key, sid, "fan1", int(time.time()) - 1, epoch=0): (
                "PLAYBACK_TOKEN_EXPIRED"
            ),
            "?token="
            + sign_playback_token(b"forged" * 6, sid, "fan1", int(time.time()) + 600, epoch=0): (
                "PLAYBACK_TOKEN_INVALID"
            ),
            "?token="
            + sign_playback_token(key, str(other.id), "fan1", int(time.time()) + 600, epoch=0): (
                "PLAYBACK_TOKEN_WRONG_STREAM"
            ),
        }
        for query, code in refused.items():
            async with http.get(master_url + query) as res:
                assert res.status == 403, query
                assert (await res.json())["code"] == code

        # With the token: the master, the live media playlist and every object it names.
        deadline = time.monotonic() + 20
        while True:
            status, body = await fetch(http, f"{master_url}?token={good}")
            if status == 200 or time.monotonic() > deadline:
                break
            await asyncio_sleep(0.2)
        assert status == 200, body
        master = m3u8.loads(body.decode(), uri=master_url)
        variant = master.playlists[0].absolute_uri
        assert "token=" in variant
        pl = await wait_for_playlist(http, variant, segments=1)
        named = [pl.segment_map[0].uri, pl.segments[0].uri, pl.rendition_reports[0].uri]
        named += [p.uri for s in pl.segments for p in s.parts][:2]
        uris = [urljoin(variant, u) for u in named]
        for uri in uris:
            assert "token=" in uri
            status, _ = await fetch(http, uri)
            assert status == 200, uri
            # The same object without the token is refused.
            status, body = await fetch(http, uri.split("?")[0])
            assert status == 403 and b"PLAYBACK_TOKEN_REQUIRED" in body
        # Blocking reload works with the token too.
        status, _ = await fetch(http, f"{variant}&_HLS_msn={pl.media_sequence}")
        assert status == 200
    finally:
        await pub.delete(http, server.base_url)


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_public_stream_needs_no_token(server, http, new_stream, hls_server):
    stream_id, token = await new_stream()
    async with http.get(f"{server.hls_url(hls_server)}/hls/{stream_id}/index.m3u8") as res:
        assert res.status == 404  # not live yet: no master, but not refused
        assert (await res.json())["code"] == "MEDIA_NOT_FOUND"


async def test_minting_tokens(server, http, new_stream):
    public_id, _ = await new_stream()
    async with http.post(f"{server.base_url}/api/v1/streams/{public_id}/playback-tokens") as res:
        assert res.status == 201
        data = (await res.json())["data"]
        assert data["viewerId"].startswith("anon-") and "token=" in data["playbackUrl"]

    row, publish_token = await store.create_stream(
        server.pool, title="Subs", creator_handle="s", visibility="subscribers"
    )
    url = f"{server.base_url}/api/v1/streams/{row.id}/playback-tokens"
    async with http.post(url, json={}) as res:
        assert res.status == 403
        assert (await res.json())["code"] == "PLAYBACK_DENIED"
    # The creator proves ownership with the publish token: a token for the creator only.
    auth = {"Authorization": f"Bearer {publish_token}"}
    async with http.post(url, json={"ttlSeconds": 120}, headers=auth) as res:
        assert res.status == 201
        data = (await res.json())["data"]
    assert data["viewerId"] == "creator"  # a stream made without an account
    assert 100 < data["expiresAt"] - time.time() <= 120
    assert data["expiresAt"] - 120 < data["refreshAt"] < data["expiresAt"]
    # No token for anyone else, and none longer than TEEZU_PLAYBACK_TOKEN_TTL (300 s).
    async with http.post(url, json={"viewerId": "fan"}, headers=auth) as res:
        assert res.status == 422 and (await res.json())["code"] == "VALIDATION_ERROR"
    async with http.post(url, json={"ttlSeconds": 3600}, headers=auth) as res:
        data = (await res.json())["data"]
    assert data["expiresAt"] - time.time() <= 300
    async with http.post(url, json={"ttlSeconds": 7 * 24 * 3600}, headers=auth) as res:
        assert res.status == 422 and (await res.json())["code"] == "VALIDATION_ERROR"
    async with http.post(url, data="{not json", headers=auth) as res:
        assert res.status == 415  # sent as text/plain
    json_type = {**auth, "Content-Type": "application/json"}
    async with http.post(url, data="{not json", headers=json_type) as res:
        assert res.status == 422 and (await res.json())["code"] == "VALIDATION_ERROR"


async def test_whep_on_a_non_public_stream_needs_a_token(server, http):
    from aiortc import RTCConfiguration, RTCPeerConnection

    row, _ = await store.create_stream(
        server.pool, title="Tickets", creator_handle="t", visibility="ticketed"
    )
    url = f"{server.base_url}/whep/{row.id}"
    headers = {"Content-Type": "application/sdp"}
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()
    async with http.post(url, data=offer, headers=headers) as res:
        assert res.status == 403
        assert (await res.json())["code"] == "PLAYBACK_TOKEN_REQUIRED"
    good = sign_playback_token(
        await _key(server), str(row.id), "t1", int(time.time()) + 60, epoch=0
    )
    auth = {**headers, "Authorization": f"Bearer {good}"}
    async with http.post(url, data=offer, headers=auth) as res:
        # Past the access check: the stream is simply not live.
        assert res.status == 409
        assert (await res.json())["code"] == "STREAM_OFFLINE"
