"""Journey 6, the feed, at desktop and phone sizes in Chromium: a member opens their feed (the
followed creator's post first, a stranger's recommended after it), likes a post, writes a
comment and a reply, removes the reply, opens the creator's story, and blocks the stranger from
their profile (their post leaves the feed); the creator sees who saw the story and pins it.
Every screen is checked by axe and, on the phone, for overflow."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from playwright.async_api import Page, expect

from api.auth.rbac import Role
from teezu.storage import STORAGE
from tests.e2e.screens import Screens, chromium_at

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


def jpeg(colour: tuple[int, int, int]) -> bytes:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:] = colour
    cv2.putText(img, "TeezU", (60, 140), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    return data.tobytes()


async def published(server, creator, caption: str, at: datetime, story: bool = False) -> str:
    """A post (or story) as the scanner leaves it: published, with its previews in storage."""
    post_id = uuid.uuid4()
    storage = server.app[STORAGE]
    for name, colour in (
        ("original", (40, 90, 200)),
        ("preview", (40, 90, 200)),
        ("blurred", (90, 90, 90)),
    ):
        await storage.put(
            f"posts/{post_id}/{name}.jpg", jpeg(colour), "image/jpeg", "private, no-store"
        )
    await server.pool.execute(
        "INSERT INTO posts (id, creator_id, kind, content_type, caption, audience, rating, status, "
        "size_bytes, width, height, media_key, preview_key, blurred_key, created_at, published_at, "
        "expires_at) VALUES ($1, $2, 'image', 'image/jpeg', $3, 'public', 'sfw', 'published', 100, "
        "320, 240, $4, $5, $6, $7, $7, "
        "CASE WHEN $8 THEN $7::timestamptz + interval '24 hours' END)",
        post_id,
        creator.id,
        caption,
        f"posts/{post_id}/original.jpg",
        f"posts/{post_id}/preview.jpg",
        f"posts/{post_id}/blurred.jpg",
        at,
        story,
    )
    return str(post_id)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_member_reads_the_feed_likes_comments_and_blocks(
    server, account, viewport: str, tmp_path_factory, console
) -> None:
    phone = viewport == "phone"
    screens = Screens("6-feed", viewport, phone)
    followed = await account(Role.CREATOR)
    stranger = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    assert (await member.call("POST", f"/api/v1/users/{followed.handle}/follow")).status == 204
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:6]
    mine = await published(server, followed, f"Followed post {tag}", now - timedelta(hours=2))
    other = await published(server, stranger, f"Stranger post {tag}", now)
    story = await published(server, followed, f"Story {tag}", now, story=True)
    base = server.base_url

    async with chromium_at(tmp_path_factory.mktemp("feed"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": member.cookie(), "url": base}])
        page: Page = console.watch(await ctx.new_page(), f"feed-{viewport}")
        await page.goto(f"{base}/feed")
        posts = page.get_by_test_id("feed-post")
        first = posts.filter(has_text=f"Followed post {tag}")
        await first.wait_for()
        # The followed creator's post comes before the stranger's newer one.
        captions = [c for c in await posts.all_text_contents() if tag in c]
        assert f"Followed post {tag}" in captions[0] and f"Stranger post {tag}" in captions[1]
        await expect(first.get_by_text("Following")).to_be_visible()
        await screens.check(page, "feed")

        # The followed creator's story: opened from the row, marked seen.
        await page.get_by_role("button", name=f"Open @{followed.handle}'s story").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_text(f"Story {tag}").wait_for()
        await screens.check(page, "story")
        await dialog.get_by_role("button", name="Close").click()

        async def seen_by() -> list[str]:
            r = await followed.call("GET", f"/api/v1/stories/{story}/viewers")
            return [v["handle"] for v in r.data]

        deadline = asyncio.get_running_loop().time() + 10
        while await seen_by() != [member.handle]:
            assert asyncio.get_running_loop().time() < deadline, "the story was not marked seen"
            await asyncio.sleep(0.1)

        # Like: the count goes up and the button says it is pressed.
        await first.get_by_role("button", name=re.compile(r"^Like")).click()
        await expect(first.get_by_test_id("likes")).to_have_text("1")
        await expect(first.get_by_role("button", name=re.compile(r"^Unlike"))).to_have_attribute(
            "aria-pressed", "true"
        )
        r = await member.call("GET", f"/api/v1/posts/{mine}/likes")
        assert r.data["likes"] == 1 and r.data["likedByMe"]

        # A comment and a reply; the reply removed again.
        await first.get_by_role("button", name="0 comments").click()
        await first.get_by_label("Write a comment").fill(f"Lovely {tag}")
        await first.get_by_role("button", name="Send").click()
        comment = first.get_by_test_id("comment").filter(has_text=f"Lovely {tag}")
        await comment.wait_for()
        await comment.get_by_role("button", name="Replies (0)").click()
        await comment.get_by_label("Write a reply").fill(f"Agreed {tag}")
        await comment.get_by_role("button", name="Send").click()
        reply = comment.get_by_test_id("comment").filter(has_text=f"Agreed {tag}")
        await reply.wait_for()
        await screens.check(page, "comments")
        await reply.get_by_role("button", name="Remove").click()
        await comment.get_by_text("Removed by its author").wait_for()
        rows = await server.pool.fetch(
            "SELECT body, deleted_by FROM post_comments WHERE post_id = $1 ORDER BY created_at",
            uuid.UUID(mine),
        )
        assert [(r["body"], r["deleted_by"]) for r in rows] == [
            (f"Lovely {tag}", None),
            ("", "author"),
        ]

        # Block the stranger from their profile: their post leaves the feed.
        await page.goto(f"{base}/u/{stranger.handle}")
        await page.get_by_role("button", name="Block").click()
        await page.get_by_text("You blocked this account.").wait_for()
        await screens.check(page, "profile-blocked")
        await page.goto(f"{base}/feed")
        await first.wait_for()
        await expect(posts.filter(has_text=f"Stranger post {tag}")).to_have_count(0)
        assert (await member.call("GET", "/api/v1/me/blocks")).data[0]["handle"] == stranger.handle
        # Unblock again (the button turns back).
        await page.goto(f"{base}/u/{stranger.handle}")
        await page.get_by_role("button", name="Unblock").click()
        await page.get_by_role("button", name="Block").wait_for()

        # The creator: who saw the story, and pinning it as a highlight.
        await ctx.clear_cookies()
        await ctx.add_cookies([{"name": "session", "value": followed.cookie(), "url": base}])
        await page.goto(f"{base}/feed")
        await page.get_by_role("button", name=f"Open @{followed.handle}'s story").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_test_id("story-viewers")).to_contain_text(member.handle)
        await dialog.get_by_role("button", name="Keep as highlight").click()
        await expect(dialog.get_by_role("button", name="Remove highlight")).to_have_attribute(
            "aria-pressed", "true"
        )
        await screens.check(page, "story-author")
        assert await server.pool.fetchval(
            "SELECT highlight FROM posts WHERE id = $1", uuid.UUID(story)
        )
    assert other
    assert not console.page_errors(), console.page_errors()
