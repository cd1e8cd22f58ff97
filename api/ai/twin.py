"""The creator twin: answers fans while the creator is away, in the creator's own words.

Opt-in by the creator (``ai_configs`` ``twin:<id>``). Grounded by retrieval over the creator's
own past chat messages (not deleted) and public, published post captions: passages whose text
holds one of the creator's banned words are left out before the provider sees them, and the
reply passes `api.ai.guard` after it (banned words, the chat filter, no claim to be human); a
refused reply's passages are dropped and the next tried. Every reply is labelled AI.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from api.ai.guard import OutputGuard, asks_if_human
from api.ai.llm import LlmProvider, Passage, ReplyRequest, Turn
from api.ai.retrieval import Retriever

CORPUS_MESSAGES = 500  # the creator's latest chat messages retrieved over
CORPUS_POSTS = 200  # and latest public post captions
TRIES = 3  # replies tried before the twin says its fallback line


@dataclass(frozen=True)
class Corpus:
    passages: list[Passage]
    messages: int
    posts: int


async def corpus(pool: asyncpg.Pool, creator_id: uuid.UUID) -> Corpus:
    messages = await pool.fetch(
        "SELECT id, body FROM chat_messages WHERE user_id = $1 AND deleted_at IS NULL "
        "ORDER BY sent_at DESC LIMIT $2",
        creator_id,
        CORPUS_MESSAGES,
    )
    posts = await pool.fetch(
        "SELECT id, caption FROM posts WHERE creator_id = $1 AND status = 'published' "
        "AND audience = 'public' AND caption <> '' ORDER BY created_at DESC LIMIT $2",
        creator_id,
        CORPUS_POSTS,
    )
    passages = [Passage(f"chat:{r['id']}", r["body"]) for r in messages]
    passages += [Passage(f"post:{r['id']}", r["caption"]) for r in posts]
    return Corpus(passages, len(messages), len(posts))


def label(handle: str) -> str:
    return f"AI twin of @{handle}"


def honest_answer(handle: str) -> str:
    return (
        f"I'm the AI twin of @{handle}, not @{handle} in person: I answer from their own "
        f"messages and posts while they are away."
    )


def fallback(handle: str) -> str:
    return f"@{handle} is away right now. I'm their AI twin and have nothing to say about that yet."


@dataclass(frozen=True)
class TwinReply:
    text: str
    sources: list[Passage]
    provider: str
    fallback: bool


async def answer(
    *,
    retriever: Retriever,
    provider: LlmProvider,
    guard: OutputGuard,
    handle: str,
    prompt: str,
    passages: list[Passage],
    banned: tuple[str, ...],
    history: list[Turn],
) -> TwinReply:
    if asks_if_human(prompt):
        return TwinReply(honest_answer(handle), [], "builtin-honesty", False)
    clean = [
        p
        for p, ok in zip(
            passages, await guard.without_banned([p.text for p in passages], banned), strict=True
        )
        if ok
    ]
    found = await retriever.retrieve(prompt, clean, k=4)
    system = (
        f"You are the AI twin of the creator @{handle}, answering a fan while they are away. "
        "You are an AI and say so when asked; never claim to be human. Speak in their style."
    )
    for _ in range(TRIES):
        if not found:
            break
        reply = await provider.reply(
            ReplyRequest(system=system, prompt=prompt, passages=found, history=history)
        )
        if await guard.allows(reply.text, banned):
            used = [p for p in found if p.id in set(reply.sources)]
            return TwinReply(reply.text, used, reply.provider, False)
        dropped = set(reply.sources) or {p.id for p in found}
        found = [p for p in found if p.id not in dropped]
    return TwinReply(fallback(handle), [], "builtin-fallback", True)
