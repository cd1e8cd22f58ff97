"""Profiles, avatars (sniffed, re-encoded, EXIF gone, off the loop) and follows."""

from __future__ import annotations

import io

import pytest
from blockbuster import blockbuster_ctx
from PIL import Image

from api.auth import audit
from api.auth.rbac import Role
from api.users.follows import is_follower

pytestmark = pytest.mark.asyncio(loop_scope="session")


def jpeg_with_gps(size=(640, 480)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 60))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS info
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    assert b"SpyCam" in data
    return data


async def test_profile_read_and_update(server, account, client):
    alice = await account()
    bob = await account()
    admin = await account(Role.ADMIN)
    r = await client.call("GET", f"/api/v1/users/{alice.handle}")
    assert r.status == 200 and r.data["handle"] == alice.handle and r.data["avatarUrl"] is None
    assert "email" not in r.data  # private
    r = await alice.call(
        "PATCH", f"/api/v1/users/{alice.handle}", json={"displayName": "Alice", "bio": "Hi"}
    )
    assert r.status == 200 and (r.data["displayName"], r.data["bio"]) == ("Alice", "Hi")
    r = await bob.call("PATCH", f"/api/v1/users/{alice.handle}", json={"bio": "pwned"})
    assert (r.status, r.code) == (403, "NOT_PROFILE_OWNER")
    r = await admin.call("PATCH", f"/api/v1/users/{alice.handle}", json={"bio": "Cleaned up"})
    assert r.status == 200 and r.data["bio"] == "Cleaned up"
    logged = await audit.entries(server.pool, subject_id=alice.id, action="admin.profile.update")
    assert logged and logged[0]["actor_id"] == admin.id
    r = await alice.call("PATCH", f"/api/v1/users/{alice.handle}", json={"bio": "x" * 1001})
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")
    r = await client.call("PATCH", f"/api/v1/users/{alice.handle}", json={"bio": "anon"})
    assert r.status == 401
    r = await client.call("GET", "/api/v1/users/nobody_at_all")
    assert (r.status, r.code) == (404, "USER_NOT_FOUND")


async def test_avatar_is_sniffed_reencoded_and_stripped(server, account, client):
    alice = await account()
    url = f"/api/v1/users/{alice.handle}/avatar"
    # The declared type is ignored: JPEG bytes sent as PNG are read as what they are.
    with blockbuster_ctx(["api"]):
        r = await alice.call(
            "PUT", url, data=jpeg_with_gps(), headers={"Content-Type": "image/png"}
        )
    assert r.status == 200, r.body
    assert r.data["avatarUrl"].startswith(url)
    for size in (256, 64):
        got = await client.call("GET", f"{url}?size={size}")
        assert got.status == 200 and got.headers["Content-Type"] == "image/webp"
        raw = got.body
        assert b"SpyCam" not in raw and b"Exif" not in raw
        with Image.open(io.BytesIO(raw)) as img:
            assert img.format == "WEBP" and img.size == (size, size)
            assert not img.getexif()
    bob = await account()
    r = await bob.call("PUT", url, data=jpeg_with_gps(), headers={"Content-Type": "image/jpeg"})
    assert (r.status, r.code) == (403, "NOT_PROFILE_OWNER")


@pytest.mark.parametrize(
    ("data", "ctype", "status", "code"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", 422, "INVALID_IMAGE"),
        (b"GIF89a" + b"\0" * 20, "image/gif", 422, "INVALID_IMAGE"),  # truncated
        (b"%PDF-1.4", "application/pdf", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"\xff\xd8" + b"\0" * (5 * 1024 * 1024), "image/jpeg", 413, "PAYLOAD_TOO_LARGE"),
    ],
)
async def test_avatar_refusals(account, data, ctype, status, code):
    alice = await account()
    r = await alice.call(
        "PUT", f"/api/v1/users/{alice.handle}/avatar", data=data, headers={"Content-Type": ctype}
    )
    assert (r.status, r.code) == (status, code), r.body


async def test_follow_unfollow_and_pages(server, account, client):
    star = await account(Role.CREATOR)
    fans = [await account() for _ in range(5)]
    for fan in fans:
        assert (await fan.call("POST", f"/api/v1/users/{star.handle}/follow")).status == 204
    assert (
        await fans[0].call("POST", f"/api/v1/users/{star.handle}/follow")
    ).status == 204  # again
    assert await is_follower(server.pool, fans[0].id, star.id)
    assert not await is_follower(server.pool, star.id, fans[0].id)
    me = await star.call("POST", f"/api/v1/users/{star.handle}/follow")
    assert (me.status, me.code) == (422, "CANNOT_FOLLOW_SELF")
    anon = await client.call("POST", f"/api/v1/users/{star.handle}/follow")
    assert anon.status == 401

    seen: list[str] = []
    offset: str | None = "0"
    while offset is not None:
        page = await client.call(
            "GET", f"/api/v1/users/{star.handle}/followers?limit=2&offset={offset}"
        )
        assert page.status == 200 and len(page.data) <= 2
        seen += [f["handle"] for f in page.data]
        offset = page.body["nextCursor"]
    assert sorted(seen) == sorted(f.handle for f in fans)
    assert seen[0] == fans[-1].handle  # newest first
    profile = await client.call("GET", f"/api/v1/users/{star.handle}")
    assert profile.data["followers"] == 5 and profile.data["creator"] is True
    following = await client.call("GET", f"/api/v1/users/{fans[0].handle}/following")
    assert [f["handle"] for f in following.data] == [star.handle]

    assert (await fans[0].call("DELETE", f"/api/v1/users/{star.handle}/follow")).status == 204
    assert not await is_follower(server.pool, fans[0].id, star.id)
    bad = await client.call("GET", f"/api/v1/users/{star.handle}/followers?limit=500")
    assert (bad.status, bad.code) == (422, "VALIDATION_ERROR")
