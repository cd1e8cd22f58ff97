"""The feed, comments, likes and blocks over HTTP against the shared server (real PostgreSQL).

Posts are written as the scanner leaves them (``published``) straight into the database: the
scan itself is tests/integration/test_posts.py's subject. Live streams likewise get their state.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.auth.rbac import Role
from api.streams import store as streams
from tests.accounts import Account

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def publish(
    server,
    creator: Account,
    *,
    audience: str = "public",
    rating: str = "sfw",
    explicit: bool = False,
    at: datetime | None = None,
    caption: str = "",
) -> str:
    post_id = uuid.uuid4()
    await server.pool.execute(
        "INSERT INTO posts (id, creator_id, kind, content_type, caption, audience, rating, status, "
        "explicit, size_bytes, width, height, media_key, preview_key, blurred_key, created_at, "
        "published_at) VALUES ($1, $2, 'image', 'image/png', $3, $4, $5, 'published', $6, 10, "
        "32, 32, $7, $8, $9, $10, $10)",
        post_id,
        creator.id,
        caption,
        audience,
        rating,
        explicit,
        f"posts/{post_id}/original.png",
        f"posts/{post_id}/preview.jpg",
        f"posts/{post_id}/blurred.jpg",
        at or datetime.now(UTC),
    )
    return str(post_id)


async def go_live(server, creator: Account, *, mood: str | None = None) -> str:
    row, _ = await streams.create_stream(
        server.pool, title="Live now", creator_handle=creator.handle, creator_id=creator.id
    )
    await server.pool.execute(
        "UPDATE streams SET state = 'live', mood = $2 WHERE id = $1", row.id, mood
    )
    return str(row.id)


async def whole_feed(acct, limit: int = 3, **params: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        q = {"limit": str(limit), **params}
        if cursor:
            q["cursor"] = cursor
        r = await acct.call("GET", "/api/v1/content/feed", params=q)
        assert r.status == 200, r.body
        items += r.data
        cursor = r.body["nextCursor"]
        if cursor is None:
            return items
        assert len(r.data) == limit


async def test_feed_puts_chosen_creators_first_and_respects_access(server, account, client):
    followed = await account(Role.CREATOR)
    subscribed_to = await account(Role.CREATOR)
    stranger = await account(Role.CREATOR)
    blocked = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    t = datetime.now(UTC)
    assert (await member.call("POST", f"/api/v1/users/{followed.handle}/follow")).status == 204
    assert (await member.call("POST", f"/api/v1/users/{blocked.handle}/block")).status == 204
    # A subscription row as the subscriptions package writes one (its API is tested there).
    tier_id = uuid.uuid4()
    await server.pool.execute(
        "INSERT INTO subscription_tiers (id, creator_id, name, price) VALUES ($1, $2, 'Fan', 10)",
        tier_id,
        subscribed_to.id,
    )
    await server.pool.execute(
        "INSERT INTO subscriptions (id, subscriber_id, creator_id, tier_id, state, "
        "current_period_start, current_period_end, access_until, next_attempt_at) "
        "VALUES ($1, $2, $3, $4, 'active', now(), $5, $5, $5)",
        uuid.uuid4(),
        member.id,
        subscribed_to.id,
        tier_id,
        t + timedelta(days=30),
    )
    f_public = await publish(server, followed, at=t - timedelta(hours=5))
    f_followers = await publish(server, followed, audience="followers", at=t - timedelta(hours=1))
    s_subs = await publish(server, subscribed_to, audience="subscribers", at=t - timedelta(hours=3))
    x_public = await publish(server, stranger, at=t - timedelta(minutes=1))
    x_followers = await publish(server, stranger, audience="followers")
    x_subs = await publish(server, stranger, audience="subscribers")
    adult = await publish(server, stranger, rating="adult", at=t - timedelta(minutes=2))
    b_public = await publish(server, blocked)
    live_followed = await go_live(server, followed)
    live_stranger = await go_live(server, stranger, mood="calm")

    items = await whole_feed(member, limit=3)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)), "an item came twice across pages"
    mine = [i for i in ids if i in {f_public, f_followers, s_subs, live_followed}]
    # Chosen creators first: the followed live stream, then their posts newest first.
    assert ids[: len(mine)] == [live_followed, f_followers, s_subs, f_public]
    for hidden in (x_followers, x_subs, b_public):
        assert hidden not in ids
    assert ids.index(live_stranger) < ids.index(x_public) < ids.index(adult)
    by_id = {i["id"]: i for i in items}
    assert by_id[s_subs]["reason"] == "subscribed"
    assert by_id[f_public]["reason"] == "following"
    assert by_id[x_public]["reason"] == "recommended"
    assert by_id[f_public]["creatorHandle"] == followed.handle
    # The age gate is off on the shared server: adult posts are sharp for members.
    assert by_id[adult]["visibility"] == "sharp"
    assert by_id[x_public]["post"]["mediaUrl"] == f"/api/v1/posts/{x_public}/media"
    assert by_id[live_stranger]["stream"]["watchUrl"] == f"/watch/{live_stranger}"

    # Anonymous: public items only, explicit ones blurred (no CONTENT_VIEW).
    explicit = await publish(server, stranger, explicit=True)
    anon_items = {i["id"]: i for i in await whole_feed(client, limit=50)}
    assert f_followers not in anon_items and s_subs not in anon_items
    assert anon_items[explicit]["visibility"] == "blurred"
    assert anon_items[explicit]["post"]["mediaUrl"] is None
    assert anon_items[explicit]["post"]["previewUrl"].endswith("?variant=blurred")

    # A mood the member is in puts its live streams before other recommendations.
    mood_items = await whole_feed(member, limit=50, moods="calm")
    order = [i["id"] for i in mood_items]
    assert order.index(live_stranger) < order.index(x_public)
    # A banned creator disappears from feeds.
    await server.pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", stranger.id)
    try:
        gone = {i["id"] for i in await whole_feed(member, limit=50)}
        assert not gone & {x_public, adult, live_stranger}
    finally:
        await server.pool.execute("UPDATE users SET status = 'active' WHERE id = $1", stranger.id)
        await server.pool.execute(
            "UPDATE streams SET state = 'ended' WHERE creator_id = ANY($1)",
            [stranger.id, followed.id],
        )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"moods": "grumpy"}, "query.moods"),
        ({"moods": "CALM"}, "query.moods"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "51"}, "query.limit"),
    ],
)
async def test_feed_refuses_bad_input(client, params, field):
    r = await client.call("GET", "/api/v1/content/feed", params=params)
    assert (r.status, r.code) == (422, "VALIDATION_ERROR"), r.body
    assert field in [e["field"] for e in r.body["meta"]["errors"]]


async def test_comments_threads_filter_and_removal(server, account, client):
    creator = await account(Role.CREATOR)
    author = await account(Role.MEMBER)
    other = await account(Role.MEMBER)
    moderator = await account(Role.MODERATOR)
    post = await publish(server, creator)
    base = f"/api/v1/posts/{post}/comments"
    r = await author.call("POST", base, json={"text": "first!"})
    assert r.status == 201, r.body
    top = r.data
    assert top["authorHandle"] == author.handle and top["canRemove"] and top["parentId"] is None
    r = await other.call("POST", base, json={"text": "a reply", "parentId": top["id"]})
    assert r.status == 201, r.body
    reply = r.data
    # One level only: a reply to a reply is refused, nothing written.
    r = await author.call("POST", base, json={"text": "deeper", "parentId": reply["id"]})
    assert (r.status, r.code) == (422, "INVALID_REPLY")
    r = await author.call("POST", base, json={"text": "x" * 1001})
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")
    r = await client.call("POST", base, json={"text": "anon"})
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    other_post = await publish(server, creator)
    r = await author.call(
        "POST", f"/api/v1/posts/{other_post}/comments", json={"text": "x", "parentId": top["id"]}
    )
    assert (r.status, r.code) == (422, "INVALID_REPLY")
    r = await client.call("GET", base)
    assert r.status == 200 and [c["id"] for c in r.data] == [top["id"]]
    assert r.data[0]["replies"] == 1 and not r.data[0]["canRemove"]
    r = await client.call("GET", base, params={"parent": top["id"]})
    assert [c["id"] for c in r.data] == [reply["id"]]
    likes = await client.call("GET", f"/api/v1/posts/{post}/likes")
    assert likes.data["comments"] == 2

    # The creator's banned words apply to comments as to their chat.
    r = await creator.call("POST", "/api/v1/chat/banned-words", json={"word": "spoiler"})
    assert r.status == 201, r.body
    r = await author.call("POST", base, json={"text": "big SP0ILER here"})
    assert (r.status, r.code) == (422, "COMMENT_BLOCKED")
    r = await creator.call("PATCH", "/api/v1/chat/safety", json={"bannedWordAction": "hold"})
    assert r.status == 200, r.body
    r = await author.call("POST", base, json={"text": "spoiler again"})
    assert r.status == 201 and r.data["held"], r.body
    held = r.data["id"]
    assert held not in [c["id"] for c in (await other.call("GET", base)).data]
    assert held in [c["id"] for c in (await author.call("GET", base)).data]
    r = await other.call("POST", f"/api/v1/comments/{held}/approve")
    assert (r.status, r.code) == (404, "COMMENT_NOT_FOUND")
    r = await creator.call("POST", f"/api/v1/comments/{held}/approve")
    assert r.status == 200 and not r.data["held"]
    assert held in [c["id"] for c in (await other.call("GET", base)).data]

    # Removal: not by a stranger; by the author; by a moderator (logged).
    r = await other.call("DELETE", f"/api/v1/comments/{top['id']}")
    assert (r.status, r.code) == (403, "NOT_COMMENT_MODERATOR")
    r = await author.call("DELETE", f"/api/v1/comments/{top['id']}")
    assert r.status == 204
    r = await client.call("GET", base)
    first = next(c for c in r.data if c["id"] == top["id"])
    assert first["removed"] and first["text"] == "" and first["removedBy"] == "author"
    r = await moderator.call("DELETE", f"/api/v1/comments/{reply['id']}")
    assert r.status == 204
    logged = await server.pool.fetchval(
        "SELECT count(*) FROM moderation_log WHERE action = 'comment.remove' AND actor_id = $1",
        moderator.id,
    )
    assert logged == 1
    likes = await client.call("GET", f"/api/v1/posts/{post}/likes")
    assert likes.data["comments"] == 1  # the approved one

    # Reports name a comment.
    r = await other.call(
        "POST",
        "/api/v1/reports",
        json={"targetType": "comment", "targetId": held, "reason": "spam"},
    )
    assert r.status == 201, r.body
    r = await other.call(
        "POST",
        "/api/v1/reports",
        json={"targetType": "comment", "targetId": str(uuid.uuid4()), "reason": "spam"},
    )
    assert r.status == 404, r.body
    r = await author.call("GET", f"/api/v1/comments/{uuid.uuid4()}/nothing")
    assert r.status == 404


async def test_blocks_keep_two_accounts_apart(server, account):
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    post = await publish(server, creator)
    r = await member.call("POST", f"/api/v1/posts/{post}/comments", json={"text": "hi"})
    assert r.status == 201
    comment = r.data["id"]
    assert (await creator.call("POST", f"/api/v1/users/{member.handle}/block")).status == 204
    assert (await creator.call("POST", f"/api/v1/users/{member.handle}/block")).status == 204
    r = await creator.call("POST", f"/api/v1/users/{creator.handle}/block")
    assert (r.status, r.code) == (422, "CANNOT_BLOCK_SELF")
    r = await creator.call("GET", "/api/v1/me/blocks")
    assert [b["handle"] for b in r.data] == [member.handle]
    r = await member.call("POST", f"/api/v1/posts/{post}/comments", json={"text": "hi again"})
    assert (r.status, r.code) == (403, "BLOCKED")
    r = await member.call("PUT", f"/api/v1/posts/{post}/like")
    assert (r.status, r.code) == (403, "BLOCKED")
    r = await member.call("POST", f"/api/v1/users/{creator.handle}/follow")
    assert (r.status, r.code) == (403, "BLOCKED")
    r = await creator.call("GET", f"/api/v1/posts/{post}/comments")
    assert comment not in [c["id"] for c in r.data]
    feed = await whole_feed(member, limit=50)
    assert post not in [i["id"] for i in feed]
    assert (await creator.call("DELETE", f"/api/v1/users/{member.handle}/block")).status == 204
    r = await member.call("PUT", f"/api/v1/posts/{post}/like")
    assert r.status == 200


async def test_concurrent_likes_are_counted_exactly(server, account):
    creator = await account(Role.CREATOR)
    post = await publish(server, creator)
    members = await asyncio.gather(*(account(Role.MEMBER) for _ in range(12)))

    async def like_twice(m: Account) -> None:
        for _ in range(2):  # idempotent: the second is a no-op
            r = await m.call("PUT", f"/api/v1/posts/{post}/like")
            assert r.status == 200, r.body
            assert r.data["likedByMe"]

    await asyncio.gather(*(like_twice(m) for m in members))
    # Many more likes straight through the store, racing on the same post.
    from api.comments import store as comments

    extra = [uuid.uuid4() for _ in range(200)]
    await server.pool.executemany(
        "INSERT INTO users (id, email, handle, password_hash, date_of_birth) "
        "VALUES ($1, $2, $3, 'x', '1990-01-01')",
        [(u, f"{u.hex}@example.test", f"l{u.hex[:20]}") for u in extra],
    )

    from api.comments.likes import LIKES

    batcher = server.app[LIKES]  # what the route uses: concurrent likes share a statement

    async def like(i: int, user_id: uuid.UUID) -> None:
        if i % 2:
            async with server.pool.acquire() as conn, conn.transaction():
                await comments.like(conn, uuid.UUID(post), user_id)
        else:
            # the same like twice at once: one of them is new
            both = await asyncio.gather(*(batcher.like(uuid.UUID(post), user_id) for _ in "ab"))
            assert sorted(both) == [False, True]

    await asyncio.gather(*(like(i, u) for i, u in enumerate(extra)))
    r = await members[0].call("GET", f"/api/v1/posts/{post}/likes")
    assert r.data["likes"] == 212 and r.data["likedByMe"]
    rows = await server.pool.fetchval(
        "SELECT count(*) FROM post_likes WHERE post_id = $1", uuid.UUID(post)
    )
    assert rows == 212
    r = await members[0].call("DELETE", f"/api/v1/posts/{post}/like")
    r = await members[0].call("DELETE", f"/api/v1/posts/{post}/like")
    assert r.data["likes"] == 211 and not r.data["likedByMe"]


async def test_likes_need_an_account_and_a_visible_post(server, account, client):
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    hidden = await publish(server, creator, audience="followers")
    r = await client.call("PUT", f"/api/v1/posts/{hidden}/like")
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    r = await member.call("PUT", f"/api/v1/posts/{hidden}/like")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await member.call("PUT", "/api/v1/posts/not-a-uuid/like")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await member.call("POST", f"/api/v1/posts/{hidden}/comments", json={"text": "x"})
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
