"""`LlmProvider`: what writes the replies of the creator twin and the companion personas.

Two providers, chosen by ``TEEZU_AI_LLM`` (docs/ai.md, "Replies"):

- `RetrievalProvider` (``builtin``, the default): nothing outside the machine. No small
  generative model is clean enough to ship here (one compiles for ~21 minutes, one is split over
  unlicensed re-uploads, one is a weak base model), so a reply is *composed from retrieved
  passages*: the best passage for the prompt (the creator's own messages and posts for the
  twin; the persona's shipped lines for a companion), joined by a second one when it scores
  close. Every reply names the ids of the passages it came from.
- `OpenAiCompatibleProvider` (``openai``): any server speaking OpenAI's
  ``POST /v1/chat/completions`` (vLLM, llama.cpp's server, a hosted API), given the same
  retrieved passages in its system message; its reply names the passages it was given.

Retrieval happens before either provider (`api.ai.retrieval`), so both are grounded the same
way and the filters after them (`api.ai.guard`) see every reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import aiohttp


@dataclass(frozen=True)
class Passage:
    """A piece of text a reply may be made from: ``id`` is stable (``chat:<uuid>``,
    ``post:<uuid>``, ``persona:<key>:<n>``)."""

    id: str
    text: str
    score: float = 0.0  # cosine similarity to the prompt (filled by retrieval)


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class ReplyRequest:
    """``system`` says who speaks and how; ``passages`` are retrieved for ``prompt``, best
    first; ``history`` are earlier turns, oldest first."""

    system: str
    prompt: str
    passages: list[Passage]
    history: list[Turn] = field(default_factory=list)
    max_chars: int = 600


@dataclass(frozen=True)
class Reply:
    text: str
    sources: list[str]  # ids of the passages the reply came from
    provider: str


class LlmProviderError(RuntimeError):
    """The provider could not answer (unreachable, bad answer)."""


class LlmProvider(Protocol):
    name: str

    async def reply(self, request: ReplyRequest) -> Reply: ...

    async def close(self) -> None: ...


CLOSE_ENOUGH = 0.9  # a second passage joins the first when it scores at least this share of it


class RetrievalProvider:
    """Composes a reply from the retrieved passages (no model; pure and instant)."""

    name = "builtin-retrieval"

    async def reply(self, request: ReplyRequest) -> Reply:
        return compose(request)

    async def close(self) -> None:
        return None


def compose(request: ReplyRequest) -> Reply:
    """The best passage, and the next when it scores within `CLOSE_ENOUGH` of it, clipped to
    ``max_chars``. No passage: an empty reply (the caller says something honest instead)."""
    if not request.passages:
        return Reply("", [], RetrievalProvider.name)
    first = request.passages[0]
    chosen = [first]
    if len(request.passages) > 1:
        second = request.passages[1]
        if first.score > 0 and second.score >= CLOSE_ENOUGH * first.score:
            if len(first.text) + len(second.text) + 1 <= request.max_chars:
                chosen.append(second)
    text = " ".join(p.text.strip() for p in chosen)[: request.max_chars]
    return Reply(text, [p.id for p in chosen], RetrievalProvider.name)


class OpenAiCompatibleProvider:
    """``POST {base_url}/chat/completions`` with the passages in the system message."""

    name = "openai-compatible"

    def __init__(
        self, base_url: str, *, model: str, api_key: str = "", timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _messages(self, request: ReplyRequest) -> list[dict[str, str]]:
        sources = "\n".join(f"[{p.id}] {p.text}" for p in request.passages)
        system = (
            f"{request.system}\n\nAnswer only from these passages; do not invent facts.\n{sources}"
        )
        messages = [{"role": "system", "content": system}]
        messages += [{"role": t.role, "content": t.text} for t in request.history]
        messages.append({"role": "user", "content": request.prompt})
        return messages

    async def reply(self, request: ReplyRequest) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model,
            "messages": self._messages(request),
            "max_tokens": max(16, request.max_chars // 3),
            "temperature": 0.7,
        }
        try:
            async with self._session.post(
                f"{self.base_url}/chat/completions", json=body, headers=headers
            ) as r:
                if r.status != 200:
                    raise LlmProviderError(f"the model server answered {r.status}")
                data = await r.json()
            text = str(data["choices"][0]["message"]["content"])
        except (aiohttp.ClientError, TimeoutError, KeyError, IndexError, TypeError) as e:
            raise LlmProviderError(f"the model server failed: {type(e).__name__}") from e
        return Reply(text.strip()[: request.max_chars], [p.id for p in request.passages], self.name)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def create_provider(name: str, *, url: str, model: str, api_key: str) -> LlmProvider:
    """``builtin`` or ``openai`` (``TEEZU_AI_LLM``)."""
    if name == "builtin":
        return RetrievalProvider()
    if name == "openai":
        if not url:
            raise ValueError("TEEZU_AI_LLM=openai needs TEEZU_AI_LLM_URL")
        return OpenAiCompatibleProvider(url, model=model, api_key=api_key)
    raise ValueError(f"unknown LLM provider {name!r}; known: builtin, openai")
