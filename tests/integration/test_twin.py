"""The creator twin: opt-in, grounded in the creator's own messages and posts, labelled AI,
never emitting a banned word (its corpus is seeded with them) nor claiming to be human."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.ai import store
from api.ai.guard import claims_human
from api.auth.rbac import Role
from api.chat.normalize import banned_matches, normalize_word
from api.keys import DOCUMENTS
from api.streams import store as streams
from tests.conftest import MakeAccount, Server

BANNED = ("pineapple", "kiwi", "vodka")
CORPUS = [
    # (text, has a banned word)
    ("I made pineapple pizza tonight and it was amazing", True),
    ("Dinner was homemade lasagne with lots of cheese", False),
    ("Kiwi smoothies every morning, that's my secret", True),
    ("Breakfast is always oat porridge with berries", False),
    ("This weekend I'm going hiking in the mountains", False),
    ("Saturday night: vodka shots with the girls!", True),
    ("My favourite music is old soul and some jazz", False),
    ("I'm a real person, not a bot, I promise", False),  # a human claim: never emitted
    ("Thanks for all the tips, you are the best fans", False),
    ("Mijn kat slaapt de hele dag op de bank", False),
]


async def _seed(server: Server, creator_id: uuid.UUID, handle: str) -> dict[str, str]:
    """Chat messages of the creator in one of their rooms; returns text -> passage id."""
    row, _token = await streams.create_stream(
        server.pool, title="twin corpus", creator_handle=handle, creator_id=creator_id
    )
    ids = {}
    at = datetime.now(UTC) - timedelta(days=2)
    for n, (text, _banned) in enumerate(CORPUS):
        mid = uuid.uuid4()
        await server.pool.execute(
            "INSERT INTO chat_messages (id, stream_id, user_id, handle, body, sent_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            mid,
            row.id,
            creator_id,
            handle,
            text,
            at + timedelta(minutes=n),
        )
        ids[text] = f"chat:{mid}"
    return ids


async def test_twin_answers_from_the_creators_words_and_never_a_banned_one(
    server: Server, account: MakeAccount
) -> None:
    creator = await account(Role.CREATOR)
    fan = await account(Role.MEMBER)
    ids = await _seed(server, creator.id, creator.handle)
    for word in BANNED:
        r = await creator.call("POST", "/api/v1/chat/banned-words", json={"word": word})
        assert r.status == 201, r.body
    ask = f"/api/v1/ai/twins/{creator.handle}/messages"

    # not opted in: no twin
    r = await fan.call("POST", ask, json={"prompt": "hello"})
    assert (r.status, r.code) == (404, "TWIN_NOT_FOUND")
    r = await creator.call("PUT", "/api/v1/ai/twin", json={"enabled": True, "greeting": "hey"})
    assert r.status == 200, r.body
    assert r.data["enabled"] is True and r.data["corpus"]["messages"] == len(CORPUS)
    r = await fan.call("GET", f"/api/v1/ai/twins/{creator.handle}")
    assert r.data["away"] is True and r.data["label"] == f"AI twin of @{creator.handle}"

    banned_norm = tuple(normalize_word(w) for w in BANNED)
    banned_ids = {ids[t] for t, b in CORPUS if b}
    prompts = [
        "what did you have for dinner?",
        "do you like pizza with fruit on it?",
        "what do you drink in the morning?",
        "what's your breakfast?",
        "plans for the weekend?",
        "what do you drink on a night out?",
        "what music do you like?",
        "tell me something about your pet",
        "anything you want to say to your fans?",
        "prove to me you're a human being",
    ]
    seen_sources = set()
    for prompt in prompts:
        r = await fan.call("POST", ask, json={"prompt": prompt})
        assert r.status == 200, r.body
        d = r.data
        assert d["ai"] is True and d["label"] == f"AI twin of @{creator.handle}"
        assert not banned_matches(d["reply"], banned_norm), (prompt, d["reply"])
        assert not any(w in d["reply"].lower() for w in BANNED)
        assert not claims_human(d["reply"]), (prompt, d["reply"])
        sources = [s["id"] for s in d["sources"]]
        assert set(sources) <= set(ids.values()) and not set(sources) & banned_ids
        assert all(s["score"] is None for s in d["sources"])  # scores: ai.debug only
        if sources:
            seen_sources.add(sources[0])
    assert len(seen_sources) >= 5  # different prompts, different passages
    assert ids["Dinner was homemade lasagne with lots of cheese"] in seen_sources

    # asked whether it is a person, it says what it is
    r = await fan.call("POST", ask, json={"prompt": "Are you a real person?"})
    assert "AI twin" in r.data["reply"] and r.data["sources"] == []

    # bad input
    r = await fan.call("POST", ask, json={"prompt": "   "})
    assert (r.status, r.code) == (422, "EMPTY_PROMPT")
    r = await fan.call("POST", ask, json={"prompt": "x" * 1001})
    assert (r.status, r.code) == (422, "PROMPT_TOO_LONG")

    # the conversation is logged in MongoDB
    logged = await store.history(
        server.app[DOCUMENTS], fan.id, kind="twin", with_=str(creator.id), limit=50
    )
    assert len(logged) == len(prompts) + 1 and logged[0]["prompt"] == prompts[0]

    # while the creator is live, the twin steps aside
    await server.pool.execute("UPDATE streams SET state = 'live' WHERE creator_id = $1", creator.id)
    try:
        r = await fan.call("POST", ask, json={"prompt": "hi"})
        assert (r.status, r.code) == (409, "CREATOR_PRESENT")
    finally:
        await server.pool.execute(
            "UPDATE streams SET state = 'idle' WHERE creator_id = $1", creator.id
        )

    # opting out ends it
    r = await creator.call("PUT", "/api/v1/ai/twin", json={"enabled": False})
    r = await fan.call("POST", ask, json={"prompt": "hello"})
    assert (r.status, r.code) == (404, "TWIN_NOT_FOUND")
    # a member may not have a twin
    r = await fan.call("PUT", "/api/v1/ai/twin", json={"enabled": True})
    assert r.status == 403
