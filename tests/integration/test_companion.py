"""The AI companion personas: boundaries enforced before any reply (25 crossing prompts
refused, 25 fine ones answered), memory per member, bad input, the daily quota."""

from __future__ import annotations

import json
from pathlib import Path

from api.ai import store
from api.ai.guard import claims_human
from api.auth.rbac import Role
from api.keys import DOCUMENTS
from tests.conftest import MakeAccount, Server

PROMPTS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "ai" / "boundary_prompts.json").read_text()
)
KEYS = ["velvet", "nova", "luna", "raven", "sunny"]


async def test_personas_keep_their_boundaries(server: Server, account: MakeAccount) -> None:
    member = await account(Role.MEMBER_PLUS)
    r = await member.call("GET", "/api/v1/ai/personas")
    assert r.status == 200, r.body
    assert sorted(p["key"] for p in r.data) == sorted(KEYS)
    assert len(PROMPTS["crossing"]) >= 20 and len(PROMPTS["fine"]) >= 20

    for n, (prompt, rule) in enumerate(PROMPTS["crossing"]):
        key = KEYS[n % len(KEYS)]
        r = await member.call(
            "POST", f"/api/v1/ai/personas/{key}/messages", json={"prompt": prompt}
        )
        assert r.status == 200, r.body
        assert r.data["refused"] == rule, (prompt, r.data)
        assert r.data["sources"] == [] and r.data["ai"] is True

    sources = set()
    for n, prompt in enumerate(PROMPTS["fine"]):
        key = KEYS[n % len(KEYS)]
        r = await member.call(
            "POST", f"/api/v1/ai/personas/{key}/messages", json={"prompt": prompt}
        )
        assert r.status == 200, r.body
        d = r.data
        assert d["refused"] is None, (prompt, d)
        assert d["reply"] and not claims_human(d["reply"])
        assert d["label"].endswith("AI companion")
        assert all(s["id"].startswith(f"persona:{key}:") for s in d["sources"])
        sources.update(s["id"] for s in d["sources"])
    assert len(sources) >= 15  # replies come from many different lines

    # asked, a persona says it is an AI
    r = await member.call(
        "POST", "/api/v1/ai/personas/nova/messages", json={"prompt": "are you a real person?"}
    )
    assert "AI" in r.data["reply"] and r.data["refused"] is None
    # the refusals are logged, with their rule
    logged = await store.history(
        server.app[DOCUMENTS], member.id, kind="companion", with_="velvet", limit=100
    )
    assert any(x["refused"] == "minors" for x in logged)


async def test_memory_bad_input_and_quota(server: Server, account: MakeAccount) -> None:
    member = await account(Role.MEMBER)
    talk = "/api/v1/ai/personas/sunny/messages"
    r = await member.call("POST", talk, json={"prompt": "Hi, my name is sam and I love jazz"})
    assert r.status == 200, r.body
    r = await member.call("POST", talk, json={"prompt": "what helps you relax?"})
    assert r.data["reply"].startswith("Sam, ")
    r = await member.call("GET", "/api/v1/ai/personas/sunny/memory")
    assert r.data["facts"] == ["name: Sam", "likes: jazz"] and r.data["turns"] == 2
    r = await member.call("GET", "/api/v1/ai/personas/sunny/messages")
    assert [x["prompt"] for x in r.data][-1] == "what helps you relax?"
    assert (await member.call("DELETE", "/api/v1/ai/personas/sunny/memory")).status == 204
    r = await member.call("GET", "/api/v1/ai/personas/sunny/memory")
    assert r.data["facts"] == [] and r.data["turns"] == 0

    r = await member.call("POST", "/api/v1/ai/personas/nobody/messages", json={"prompt": "hi"})
    assert (r.status, r.code) == (404, "PERSONA_NOT_FOUND")
    r = await member.call("POST", talk, json={"prompt": ""})
    assert (r.status, r.code) == (422, "EMPTY_PROMPT")
    r = await member.call("POST", talk, json={"prompt": "y" * 5000})
    assert (r.status, r.code) == (422, "PROMPT_TOO_LONG")
    r = await member.call("POST", talk, json={})
    assert r.status == 422

    # a member (ai.basic) has 30 exchanges a day
    for n in range(28):
        await store.log_exchange(
            server.app[DOCUMENTS],
            {"user_id": str(member.id), "kind": "companion", "persona": "luna", "prompt": str(n)},
        )
    r = await member.call("POST", talk, json={"prompt": "hello again"})
    assert (r.status, r.code) == (429, "AI_QUOTA_EXCEEDED"), r.body
