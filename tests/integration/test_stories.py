"""Stories over HTTP against the shared server: uploaded like posts (pending until scanned),
listed for followers, seen-by lists for their author, highlights, and expiry: the API stops
showing a story at its time, and the stories worker, run with a clock the test sets, removes
its media from storage and its row, keeping highlights."""

from __future__ import annotations

import uuid
from datetime import timedelta

import aiohttp
import pytest

from api.auth.rbac import Role
from teezu.storage import STORAGE
from tests.identity import image
from workers.stories import expire_stories

pytestmark = pytest.mark.asyncio(loop_scope="session")


def form(caption: str) -> aiohttp.FormData:
    f = aiohttp.FormData()
    f.add_field("file", image("PNG", (48, 32)), filename="s.png", content_type="image/png")
    f.add_field("caption", caption)
    return f


async def upload_and_publish(server, creator) -> dict:
    """Upload a story, then publish it as the scanner would (previews in storage)."""
    r = await creator.call("POST", "/api/v1/stories", data=form("a story"))
    assert r.status == 201, r.body
    story = r.data
    assert story["status"] == "pending" and story["previewUrl"] is None
    sid = uuid.UUID(story["id"])
    storage = server.app[STORAGE]
    for name in ("preview", "blurred"):
        await storage.put(f"posts/{sid}/{name}.jpg", b"\xff\xd8jpeg", "image/jpeg")
    await server.pool.execute(
        "UPDATE posts SET status = 'published', published_at = now(), "
        "preview_key = $2, blurred_key = $3 WHERE id = $1",
        sid,
        f"posts/{sid}/preview.jpg",
        f"posts/{sid}/blurred.jpg",
    )
    return story


async def test_stories_are_seen_pinned_and_expire(server, account, client):
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    stranger = await account(Role.MEMBER)
    assert (await member.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    fleeting = await upload_and_publish(server, creator)
    pinned = await upload_and_publish(server, creator)
    sid, pid = fleeting["id"], pinned["id"]

    # Listed for followers (and the author), never among posts or in the feed.
    r = await member.call("GET", "/api/v1/stories")
    assert r.status == 200, r.body
    assert [s["id"] for s in r.data if s["creatorId"] == str(creator.id)] == [sid, pid]
    assert r.data[0]["mediaUrl"] == f"/api/v1/posts/{sid}/media" and not r.data[0]["seen"]
    assert (await stranger.call("GET", "/api/v1/stories")).data == []
    r = await client.call("GET", f"/api/v1/users/{creator.handle}/stories")
    assert [s["id"] for s in r.data] == [sid, pid]
    r = await client.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert r.data == []
    r = await member.call("GET", "/api/v1/content/feed", params={"limit": "50"})
    assert not {sid, pid} & {i["id"] for i in r.data}

    # Seen by: once per viewer; only the author reads the list.
    for _ in range(2):
        assert (await member.call("POST", f"/api/v1/stories/{sid}/seen")).status == 204
    assert (await stranger.call("POST", f"/api/v1/stories/{sid}/seen")).status == 204
    r = await client.call("POST", f"/api/v1/stories/{sid}/seen")
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    r = await creator.call("GET", f"/api/v1/stories/{sid}/viewers")
    assert r.status == 200 and sorted(v["handle"] for v in r.data) == sorted(
        [member.handle, stranger.handle]
    )
    r = await member.call("GET", f"/api/v1/stories/{sid}/viewers")
    assert (r.status, r.code) == (403, "NOT_STORY_OWNER")
    assert (await member.call("GET", "/api/v1/stories")).data[0]["seen"]
    r = await member.call("GET", f"/api/v1/stories/{uuid.uuid4()}/viewers")
    assert (r.status, r.code) == (404, "STORY_NOT_FOUND")
    # A post is not a story.
    post_id = await server.pool.fetchval(
        "INSERT INTO posts (id, creator_id, kind, content_type, audience, status, size_bytes, "
        "width, height, media_key) VALUES ($1, $2, 'image', 'image/png', 'public', 'published', "
        "1, 1, 1, 'k') RETURNING id",
        uuid.uuid4(),
        creator.id,
    )
    r = await member.call("POST", f"/api/v1/stories/{post_id}/seen")
    assert (r.status, r.code) == (404, "STORY_NOT_FOUND")

    # Pin one as a highlight (only its author may).
    r = await member.call("PUT", f"/api/v1/stories/{pid}/highlight", json={"highlight": True})
    assert (r.status, r.code) == (403, "NOT_STORY_OWNER")
    r = await creator.call("PUT", f"/api/v1/stories/{pid}/highlight", json={"highlight": True})
    assert r.status == 200 and r.data["highlight"], r.body

    # Expiry, on the test's clock: a second past the 24 hours.
    row = await server.pool.fetchrow(
        "SELECT created_at, expires_at FROM posts WHERE id = $1", uuid.UUID(sid)
    )
    assert row["expires_at"] - row["created_at"] == timedelta(hours=24)
    later = row["expires_at"] + timedelta(seconds=1)
    storage = server.app[STORAGE]
    assert await storage.get(f"posts/{sid}/preview.jpg") is not None
    # Before the worker runs, the API already hides a story past its time.
    await server.pool.execute(
        "UPDATE posts SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])",
        [uuid.UUID(sid), uuid.UUID(pid)],
    )
    r = await member.call("GET", "/api/v1/stories")
    assert [s["id"] for s in r.data] == [pid]  # the highlight stays
    r = await member.call("GET", f"/api/v1/posts/{sid}")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    assert (await creator.call("GET", f"/api/v1/posts/{sid}")).status == 200  # its author
    deleted = await expire_stories(server.pool, storage, later)
    assert deleted >= 1
    assert (
        await server.pool.fetchval("SELECT count(*) FROM posts WHERE id = $1", uuid.UUID(sid)) == 0
    )
    assert (
        await server.pool.fetchval(
            "SELECT count(*) FROM story_views WHERE post_id = $1", uuid.UUID(sid)
        )
        == 0
    )
    for name in ("original.png", "preview.jpg", "blurred.jpg"):
        assert await storage.get(f"posts/{sid}/{name}") is None, name
    assert await storage.get(f"posts/{pid}/preview.jpg") is not None
    r = await creator.call("GET", f"/api/v1/posts/{sid}")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    # Unpinned, the highlight goes on the next pass.
    r = await creator.call("PUT", f"/api/v1/stories/{pid}/highlight", json={"highlight": False})
    assert r.status == 200
    assert await expire_stories(server.pool, storage, later) >= 1
    assert await storage.get(f"posts/{pid}/preview.jpg") is None


async def test_story_uploads_are_refused_with_the_envelope(server, account, client):
    member = await account(Role.MEMBER)
    r = await client.call("POST", "/api/v1/stories", data=form("x"))
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    r = await member.call("POST", "/api/v1/stories", data=form("x"))
    assert (r.status, r.code) == (403, "FORBIDDEN")
    creator = await account(Role.CREATOR)
    bad = aiohttp.FormData()
    bad.add_field("file", b"plain text" * 20, filename="a.png", content_type="image/png")
    r = await creator.call("POST", "/api/v1/stories", data=bad)
    assert (r.status, r.code) == (415, "UNSUPPORTED_MEDIA")
    r = await creator.call("POST", "/api/v1/stories", data=form("x" * 2001))
    assert (r.status, r.code) == (422, "INVALID_POST")
    r = await client.call("GET", "/api/v1/users/nobody_here_at_all/stories")
    assert (r.status, r.code) == (404, "USER_NOT_FOUND")
    assert (
        await server.pool.fetchval("SELECT count(*) FROM posts WHERE creator_id = $1", creator.id)
        == 0
    )
