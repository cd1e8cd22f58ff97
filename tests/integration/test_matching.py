"""Matching against the real database: the quiz, suggestions (blocks, bans, filters, swipes),
swipe -> match exactly once under concurrent likes, the RBAC levels, and vibe search over the
real embedding model in its worker process."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest

from api.auth.rbac import Role
from api.matching import dna
from api.matching.vibe import VIBE
from api.streams import store as streams
from tests.accounts import Account, Reply
from tests.conftest import MakeAccount, Server

pytestmark = pytest.mark.asyncio(loop_scope="session")


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.data if status != 204 else None


def refused(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status and reply.code == code, (reply.status, reply.body)


async def quiz(acct: Account, answers: dict[str, int], **kw: Any) -> dict[str, Any]:
    return ok(await acct.call("PUT", "/api/v1/ai/dna", json={"answers": answers, **kw}))


async def suggested(acct: Account, **body: Any) -> list[str]:
    data = ok(await acct.call("POST", "/api/v1/ai/match-suggestions", json={"limit": 50, **body}))
    return [s["handle"] for s in data]


async def test_the_quiz_makes_a_profile_and_refuses_bad_answers(account: MakeAccount) -> None:
    me = await account(Role.MEMBER)
    q = ok(await me.call("GET", "/api/v1/ai/dna/quiz"))
    assert len(q["questions"]) >= 24 and q["levels"] == 4 and len(q["moods"]) == 8
    assert all(x["nl"] and x["en"] for x in q["questions"])
    refused(await me.call("GET", "/api/v1/ai/dna"), 404, "DNA_NOT_FOUND")
    refused(await me.call("GET", "/api/v1/match/suggestions"), 409, "DNA_REQUIRED")
    for bad, code in (
        ({"romance": 4}, "DNA_ANSWER_INVALID"),
        ({"romance": -1}, "DNA_ANSWER_INVALID"),
        ({"no_such_thing": 1}, "DNA_ANSWER_INVALID"),
        ({"romance": "lots"}, "VALIDATION_ERROR"),
    ):
        refused(await me.call("PUT", "/api/v1/ai/dna", json={"answers": bad}), 422, code)
    refused(
        await me.call("PUT", "/api/v1/ai/dna", json={"answers": {}, "languages": ["dutch"]}),
        422,
        "DNA_ANSWER_INVALID",
    )
    saved = await quiz(me, {"asmr": 3, "massage": 3, "romance": 2}, languages=["nl", "en"])
    assert saved["dominantMood"] == "calm"
    assert abs(sum(v * v for v in saved["profile"].values()) - 1) < 1e-3
    assert ok(await me.call("GET", "/api/v1/ai/dna"))["answers"]["asmr"] == 3
    # Edited: the profile follows the answers.
    assert (await quiz(me, {"party": 3, "dance": 3}))["dominantMood"] == "energetic"
    ok(await me.call("DELETE", "/api/v1/ai/dna"), 204)
    refused(await me.call("GET", "/api/v1/ai/dna"), 404, "DNA_NOT_FOUND")


async def test_suggestions_honour_blocks_bans_swipes_and_filters(
    server: Server, account: MakeAccount
) -> None:
    """Random populations (seeded): whatever the answers, countries and blocks, a member is
    never shown someone blocked either way, banned, already swiped, or outside the filter."""
    me = await account(Role.MEMBER_PLUS)
    others = [await account(Role.CREATOR if i % 3 == 0 else Role.MEMBER) for i in range(9)]
    handles = {o.handle: o for o in others}
    countries = ["NL", "BE", "DE"]
    for seed in range(6):
        rnd = random.Random(seed)
        await server.pool.execute(
            "DELETE FROM user_blocks WHERE blocker_id = ANY($1) OR blocked_id = ANY($1)",
            [o.id for o in [me, *others]],
        )
        await server.pool.execute("DELETE FROM match_swipes WHERE swiper_id = $1", me.id)
        await server.pool.execute(
            "UPDATE users SET status = 'active' WHERE id = ANY($1)", [o.id for o in others]
        )
        await quiz(me, {k: rnd.randrange(4) for k in dna.KEYS}, country="NL")
        for o in others:
            await quiz(
                o,
                {k: rnd.randrange(4) for k in dna.KEYS},
                country=rnd.choice(countries),
                languages=rnd.sample(["nl", "en", "de"], rnd.randrange(1, 3)),
            )
        picked = rnd.sample(sorted(handles), 6)
        blocked, blockers = set(picked[:2]), set(picked[2:4])
        banned, swiped = picked[4], picked[5]
        for h in blocked:
            ok(await me.call("POST", f"/api/v1/users/{h}/block"), 204)
        for h in blockers:
            ok(await handles[h].call("POST", f"/api/v1/users/{me.handle}/block"), 204)
        await server.pool.execute("UPDATE users SET status = 'banned' WHERE handle = $1", banned)
        ok(await me.call("POST", "/api/v1/match/swipe", json={"handle": swiped, "action": "pass"}))
        never = blocked | blockers | {banned, swiped}

        everyone = await suggested(me)
        mine = set(everyone) & set(handles)
        assert mine == set(handles) - never, (seed, mine, never)
        assert me.handle not in everyone
        only = rnd.sample(countries, 2)
        within = await suggested(me, countries=only)
        rows = await server.pool.fetch(
            "SELECT u.handle, d.country FROM erotic_dna d JOIN users u ON u.id = d.user_id "
            "WHERE u.handle = ANY($1)",
            within,
        )
        assert all(r["country"] in only for r in rows), (seed, only)
        # Exactly this population's allowed members of those countries (other tests' accounts
        # may be suggested too; a seed can leave nobody of ours there).
        expected = await server.pool.fetch(
            "SELECT u.handle FROM erotic_dna d JOIN users u ON u.id = d.user_id "
            "WHERE u.handle = ANY($1) AND d.country = ANY($2)",
            sorted(set(handles) - never),
            only,
        )
        assert set(within) & set(handles) == {r["handle"] for r in expected}, (seed, only)
        assert not set(within) & never
        speaks = await suggested(me, languages=["de"])
        langs = await server.pool.fetch(
            "SELECT languages FROM erotic_dna d JOIN users u ON u.id = d.user_id "
            "WHERE u.handle = ANY($1)",
            speaks,
        )
        assert all("de" in r["languages"] for r in langs)
        creators = await suggested(me, kind="creator")
        assert set(creators) & set(handles) <= {
            h for h, o in handles.items() if others.index(o) % 3 == 0
        }
    await server.pool.execute(
        "UPDATE users SET status = 'active' WHERE id = ANY($1)", [o.id for o in others]
    )


async def test_suggestions_are_ranked_and_explained(account: MakeAccount) -> None:
    me = await account(Role.MEMBER)
    twin = await account(Role.MEMBER)
    opposite = await account(Role.MEMBER)
    calm = {"asmr": 3, "massage": 3, "romance": 3, "praise": 2}
    await quiz(me, calm, languages=["nl"])
    await quiz(twin, calm, languages=["nl"])
    await quiz(opposite, {"spanking": 3, "party": 3, "dominance": 3}, languages=["en"])
    got = ok(await me.call("GET", "/api/v1/match/suggestions?limit=10"))
    order = [s["handle"] for s in got]
    assert order[0] == twin.handle  # the same answers: the best fit there is
    assert opposite.handle not in order or order.index(opposite.handle) > 0
    best = next(s for s in got if s["handle"] == twin.handle)
    assert best["why"]["shared"][:3] and set(best["why"]["shared"]) <= {
        "asmr",
        "massage",
        "romance",
        "praise",
    }
    assert best["why"]["mood"] == "calm" and best["why"]["languages"] == ["nl"]
    assert best["scores"] is None  # the scores are the debug level's


async def test_concurrent_mutual_likes_make_one_match(account: MakeAccount, server: Server) -> None:
    pairs = [(await account(Role.MEMBER), await account(Role.MEMBER)) for _ in range(8)]
    for a, b in pairs:
        await quiz(a, {"romance": 3})
        await quiz(b, {"romance": 2, "asmr": 1})

    async def like(x: Account, y: Account) -> dict[str, Any]:
        return ok(
            await x.call("POST", "/api/v1/match/swipe", json={"handle": y.handle, "action": "like"})
        )

    for a, b in pairs:
        r1, r2 = await asyncio.gather(like(a, b), like(b, a))
        assert [r1["newMatch"], r2["newMatch"]].count(True) == 1, (r1, r2)
        made = r1 if r1["newMatch"] else r2
        assert made["match"]["status"] == "active" and 0 < made["match"]["matchScore"] <= 1
        n = await server.pool.fetchval(
            "SELECT count(*) FROM matches WHERE user_a = least($1::uuid, $2::uuid) "
            "AND user_b = greatest($1::uuid, $2::uuid)",
            a.id,
            b.id,
        )
        assert n == 1
        # Liking again changes nothing; both see the match.
        assert (await like(a, b))["newMatch"] is False
        for x, y in ((a, b), (b, a)):
            listed = ok(await x.call("GET", "/api/v1/match/matches"))
            assert [m["handle"] for m in listed] == [y.handle]
    a, b = pairs[0]
    match_id = ok(await a.call("GET", "/api/v1/match/matches"))[0]["id"]
    ok(await a.call("POST", "/api/v1/match/unmatch", json={"matchId": match_id}), 204)
    assert ok(await b.call("GET", "/api/v1/match/matches")) == []
    refused(
        await a.call("POST", "/api/v1/match/unmatch", json={"matchId": match_id}),
        404,
        "USER_NOT_FOUND",
    )


async def test_swipe_refusals(account: MakeAccount) -> None:
    me = await account(Role.MEMBER)
    other = await account(Role.MEMBER)
    swipe = "/api/v1/match/swipe"
    refused(
        await me.call("POST", swipe, json={"handle": me.handle, "action": "like"}),
        422,
        "CANNOT_SWIPE_SELF",
    )
    refused(
        await me.call("POST", swipe, json={"handle": "nobody_here_x", "action": "like"}),
        404,
        "USER_NOT_FOUND",
    )
    refused(
        await me.call("POST", swipe, json={"handle": other.handle, "action": "love"}),
        422,
        "VALIDATION_ERROR",
    )
    ok(await other.call("POST", f"/api/v1/users/{me.handle}/block"), 204)
    # Someone who blocked you is, to you, no one.
    refused(
        await me.call("POST", swipe, json={"handle": other.handle, "action": "like"}),
        404,
        "USER_NOT_FOUND",
    )
    ok(await other.call("DELETE", f"/api/v1/users/{me.handle}/block"), 204)
    assert (
        ok(await me.call("POST", swipe, json={"handle": other.handle, "action": "like"}))["match"]
        is None
    )


ROUTES = [
    ("GET", "/api/v1/ai/dna/quiz", None),
    ("GET", "/api/v1/ai/dna", None),
    ("PUT", "/api/v1/ai/dna", {"answers": {}}),
    ("DELETE", "/api/v1/ai/dna", None),
    ("GET", "/api/v1/match/suggestions", None),
    ("POST", "/api/v1/ai/match-suggestions", {}),
    ("POST", "/api/v1/match/swipe", {"handle": "someone", "action": "like"}),
    ("GET", "/api/v1/match/matches", None),
    ("GET", "/api/v1/ai/vibe-search?q=chill", None),
]
FULL_ONLY = {"/api/v1/ai/match-suggestions"}


@pytest.mark.parametrize("role", list(Role))
async def test_the_ai_levels_gate_the_routes(role: Role, account: MakeAccount, client: Any) -> None:
    """Viewers (and anonymous callers) have no AI tools; Member has basic (no filtered
    suggestions); every other role has at least full."""
    acct = await account(role)
    for method, path, body in ROUTES:
        reply = (
            await acct.call(method, path, json=body)
            if body is not None
            else await acct.call(method, path)
        )
        bare = path.split("?")[0]
        denied = role is Role.VIEWER or (role is Role.MEMBER and bare in FULL_ONLY)
        if denied:
            refused(reply, 403, "FORBIDDEN")
        else:
            assert reply.status != 403, (role, path, reply.body)
        anon = (
            await client.call(method, path, json=body)
            if body is not None
            else await client.call(method, path)
        )
        assert anon.status == 401, (path, anon.body)


async def test_debug_level_sees_the_scores(account: MakeAccount) -> None:
    root = await account(Role.SUPER_ADMIN)
    plus = await account(Role.MEMBER_PLUS)
    other = await account(Role.MEMBER)
    for a in (root, plus, other):
        await quiz(a, {"cosy_chat": 3, "gaming": 2})
    seen = ok(await root.call("POST", "/api/v1/ai/match-suggestions", json={"debug": True}))
    assert seen and all(s["scores"] and 0 <= s["scores"]["kink"] <= 1 for s in seen)
    plain = ok(await plus.call("POST", "/api/v1/ai/match-suggestions", json={"debug": True}))
    assert plain and all(s["scores"] is None for s in plain)


async def test_vibe_search_finds_rooms_creators_and_posts_by_meaning(
    server: Server, account: MakeAccount
) -> None:
    creator = await account(Role.CREATOR)
    searcher = await account(Role.MEMBER)
    tag = uuid.uuid4().hex[:6]
    titles = {
        "cosy": f"Late night cosy chat by the fireplace {tag}",
        "party": f"Loud dance party with techno beats {tag}",
        "yoga": f"Morning yoga and slow stretching {tag}",
    }
    ids = {}
    for name, title in titles.items():
        row, _ = await streams.create_stream(
            server.pool, title=title, creator_handle=creator.handle, creator_id=creator.id
        )
        ids[name] = row.id
    await server.pool.execute("UPDATE streams SET state = 'live' WHERE id = $1", ids["party"])
    ok(
        await creator.call(
            "PATCH",
            f"/api/v1/users/{creator.handle}",
            json={"displayName": f"Gamer {tag}", "bio": "Ik speel videogames en praat over games"},
        )
    )
    post = uuid.uuid4()
    await server.pool.execute(
        "INSERT INTO posts (id, creator_id, kind, content_type, caption, audience, status, "
        "size_bytes, width, height, media_key) VALUES ($1, $2, 'image', 'image/jpeg', $3, "
        "'public', 'published', 10, 10, 10, 'x')",
        post,
        creator.id,
        f"Sunset at the beach, golden hour {tag}",
    )
    index = server.app[VIBE]
    assert await index.refresh() >= 5
    assert await index.refresh() == 0  # nothing changed: nothing embedded again

    async def top(q: str, **params: Any) -> list[dict[str, Any]]:
        query = {"q": q, "limit": "50", **params}
        return ok(await searcher.call("GET", "/api/v1/ai/vibe-search", params=query))

    def ours(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            h
            for h in hits
            if h["id"] in {str(v) for v in ids.values()} | {str(post), str(creator.id)}
        ]

    assert ours(await top("relaxed cozy evening conversation", kind="stream"))[0]["id"] == str(
        ids["cosy"]
    )
    assert ours(await top("feest met harde muziek en dansen", kind="stream"))[0]["id"] == str(
        ids["party"]
    )
    assert ours(await top("rustig bewegen en ademhalen in de ochtend", kind="stream"))[0][
        "id"
    ] == str(ids["yoga"])
    assert ours(await top("playing video games", kind="creator"))[0]["id"] == str(creator.id)
    assert ours(await top("zonsondergang aan zee", kind="post"))[0]["id"] == str(post)
    live = await top("anything at all", live="true", kind="stream")
    assert live and all(h["live"] and h["kind"] == "stream" for h in live)
    page = await top("chat", kind="all", limit="2")
    assert len(page) <= 2
    refused(
        await searcher.call("GET", "/api/v1/ai/vibe-search", params={"q": "   "}),
        422,
        "EMPTY_QUERY",
    )
    refused(
        await searcher.call("GET", "/api/v1/ai/vibe-search", params={"q": "x" * 201}),
        422,
        "VALIDATION_ERROR",
    )

    # A changed title is embedded again; a vector of another model too.
    await server.pool.execute(
        "UPDATE streams SET title = $2 WHERE id = $1", ids["yoga"], f"Pottery {tag}"
    )
    await server.pool.execute(
        "UPDATE ai_embeddings SET model = 'an-older-model' WHERE ref_id = $1", ids["cosy"]
    )
    assert await index.refresh() == 2
    models = await server.pool.fetch(
        "SELECT DISTINCT model FROM ai_embeddings WHERE ref_id = ANY($1)", list(ids.values())
    )
    assert [m["model"] for m in models] == [(await index.embeddings.model())[0]]
