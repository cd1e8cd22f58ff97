"""Creators' streams through the API: create, change, publish credentials, who may watch."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.auth import audit
from api.auth.rbac import Role
from hls.access import verify_playback_token
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def make_stream(acct, **body) -> dict:
    r = await acct.call("POST", "/api/v1/streams", json={"title": "My show", **body})
    assert r.status == 201, r.body
    return r.data


async def test_creator_creates_and_changes_own_stream(server, account, client):
    creator = await account(Role.CREATOR)
    data = await make_stream(creator, visibility="followers", recording=True)
    assert data["creatorHandle"] == creator.handle and data["creatorId"] == str(creator.id)
    assert data["visibility"] == "followers" and data["recording"] is True
    assert data["publishToken"] and data["whipUrl"] == f"/whip/{data['id']}"
    sid = data["id"]
    row = await server.pool.fetchrow("SELECT creator_id FROM streams WHERE id = $1::uuid", sid)
    assert row["creator_id"] == creator.id

    got = await client.call("GET", f"/api/v1/streams/{sid}")
    assert got.status == 200 and "publishToken" not in got.data
    listed = await client.call("GET", f"/api/v1/streams?creator={creator.handle}")
    assert [s["id"] for s in listed.data] == [sid]

    r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"title": "Renamed"})
    assert r.status == 200 and r.data["title"] == "Renamed" and r.data["visibility"] == "followers"
    bad = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"visibility": "secret"})
    assert (bad.status, bad.code) == (422, "VALIDATION_ERROR")
    empty_title = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"title": ""})
    assert empty_title.status == 422


async def test_ownership_and_audited_admin_override(server, account):
    owner = await account(Role.CREATOR)
    rival = await account(Role.CREATOR)
    admin = await account(Role.ADMIN)
    sid = (await make_stream(owner))["id"]
    for method, path, body in [
        ("PATCH", f"/api/v1/streams/{sid}", {"title": "Hijacked"}),
        ("POST", f"/api/v1/streams/{sid}/publish-credentials", None),
        ("POST", f"/api/v1/streams/{sid}/publish-token", None),
    ]:
        r = await rival.call(method, path, json=body)
        assert (r.status, r.code) == (403, "NOT_STREAM_OWNER"), path
    r = await admin.call("PATCH", f"/api/v1/streams/{sid}", json={"title": "Moderated"})
    assert r.status == 200 and r.data["title"] == "Moderated"
    entries = await audit.entries(server.pool, subject_id=owner.id, action="admin.stream.update")
    assert entries and entries[0]["actor_id"] == admin.id
    assert entries[0]["target"] == f"stream:{sid}"
    missing = await owner.call("PATCH", "/api/v1/streams/not-a-uuid", json={"title": "x"})
    assert (missing.status, missing.code) == (404, "STREAM_NOT_FOUND")


async def test_publish_with_credentials_from_the_api(server, account, ready, http):
    creator = await account(Role.CREATOR)
    data = await make_stream(creator)
    sid = data["id"]
    await ready(sid, creator)
    creds = await creator.call("POST", f"/api/v1/streams/{sid}/publish-credentials")
    assert creds.status == 201 and creds.data["token"].startswith("pg1.")
    assert 0 < creds.data["expiresAt"] - time.time() <= 600
    # The grant publishes for real.
    pub = await publish(http, server.base_url, sid, creds.data["token"])
    try:
        assert sid in server.broadcasts
    finally:
        assert await pub.delete(http, server.base_url) == 200
    # ... only for its own stream.
    other = (await make_stream(creator))["id"]
    async with http.post(
        f"{server.base_url}/whip/{other}",
        data="v=0\r\n",
        headers={
            "Content-Type": "application/sdp",
            "Authorization": f"Bearer {creds.data['token']}",
        },
    ) as res:
        assert res.status == 401 and (await res.json())["code"] == "INVALID_PUBLISH_TOKEN"

    # Rotating the long-lived token: the old one stops working, the new one is accepted.
    await ready(sid, creator)  # checked in for the next broadcast: the gate is not the point
    rotated = await creator.call("POST", f"/api/v1/streams/{sid}/publish-token")
    assert rotated.status == 201 and rotated.data["expiresAt"] is None
    for token, want in ((data["publishToken"], 401), (rotated.data["token"], 400)):
        async with http.post(
            f"{server.base_url}/whip/{sid}",
            data="not sdp",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        ) as res:
            assert res.status == want  # 400: past the token check, the SDP is refused


async def test_playback_tokens_follow_visibility_and_relation(server, account, client):
    creator = await account(Role.CREATOR)
    fan = await account()
    stranger = await account()
    admin = await account(Role.ADMIN)
    assert (await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    key = await asyncio.to_thread(server.settings.playback_key_bytes)  # a file read

    expected = {
        "public": {"anon": 201, "stranger": 201, "fan": 201, "creator": 201, "admin": 201},
        "followers": {"anon": 403, "stranger": 403, "fan": 201, "creator": 201, "admin": 201},
        "subscribers": {"anon": 403, "stranger": 403, "fan": 403, "creator": 201, "admin": 201},
        "ticketed": {"anon": 403, "stranger": 403, "fan": 403, "creator": 201, "admin": 201},
    }
    who = {"anon": client, "stranger": stranger, "fan": fan, "creator": creator, "admin": admin}
    for visibility, outcome in expected.items():
        sid = (await make_stream(creator, visibility=visibility))["id"]
        for name, status in outcome.items():
            r = await who[name].call("POST", f"/api/v1/streams/{sid}/playback-tokens", json={})
            assert r.status == status, (visibility, name, r.body)
            if status == 403:
                assert r.code == "PLAYBACK_DENIED"
                continue
            grant = verify_playback_token(key, r.data["token"], sid, time.time())
            if name == "anon":
                assert grant.viewer_id.startswith("anon-")
            else:
                assert grant.viewer_id == who[name].id.hex  # bound to the account
    # A token is for the caller only: nobody names another viewer, the owner neither.
    sid = (await make_stream(creator, visibility="followers"))["id"]
    for caller in (fan, creator, admin):
        r = await caller.call(
            "POST", f"/api/v1/streams/{sid}/playback-tokens", json={"viewerId": "x"}
        )
        assert r.status == 422 and r.code == "VALIDATION_ERROR", r.body
    r = await fan.call("POST", f"/api/v1/streams/{sid}/playback-tokens", json={})
    assert r.status == 201 and r.data["viewerId"] == fan.id.hex
    # Unfollowing takes the right away.
    assert (await fan.call("DELETE", f"/api/v1/users/{creator.handle}/follow")).status == 204
    r = await fan.call("POST", f"/api/v1/streams/{sid}/playback-tokens", json={})
    assert r.status == 403
