"""``/api/v1/ai/twin``, ``/api/v1/ai/twins/{handle}``, ``/api/v1/ai/personas``: the creator
twin and the AI companion personas.

What each AI level unlocks here (docs/ai.md, "Who may use what"): ``ai.basic`` talking to the
companions and to creators' twins, 30 exchanges a day; ``ai.full`` 200 a day; ``ai.pro`` 500;
``ai.creator`` 500 and the creator's own twin (opt-in, settings); ``ai.debug`` no quota and the
retrieved sources' scores in each reply.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field
from pymongo.asynchronous.database import AsyncDatabase

from api.ai import boundaries, coach, companion, store, twin
from api.ai.errors import (
    AiQuotaExceeded,
    CreatorPresent,
    EmptyPrompt,
    ModelUnavailable,
    NotAPicture,
    PersonaNotFound,
    PromptTooLong,
    TwinNotFound,
)
from api.ai.guard import OutputGuard
from api.ai.levels import daily_quota
from api.ai.llm import LlmProvider, LlmProviderError, Passage, Turn, create_provider
from api.ai.retrieval import Retriever
from api.auth.rbac import Permission
from api.chat.rooms import load_banned
from api.keys import DOCUMENTS, POOL, SETTINGS
from api.matching import store as matching
from api.matching.vibe import VIBE
from api.mood import store as moods
from api.realtime import CHAT
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import store as users
from teezu.documents import Document

api = Api("ai")

MAX_PROMPT = 1000  # characters in one prompt
HISTORY = 6  # earlier turns given to the provider


@dataclass
class AiParts:
    retriever: Retriever
    provider: LlmProvider
    guard: OutputGuard
    rules: boundaries.Boundaries


PARTS: web.AppKey[AiParts] = web.AppKey("ai_parts", AiParts)


def _me(call: Call[Any, Any]) -> uuid.UUID:
    assert call.principal.user_id is not None
    return call.principal.user_id


async def _check_quota(call: Call[Any, Any]) -> None:
    quota = daily_quota(call.principal)
    if quota is None:
        return
    since = datetime.now(UTC) - timedelta(days=1)
    used = await store.count_since(call.app[DOCUMENTS], _me(call), since)
    if used >= quota:
        raise AiQuotaExceeded(
            f"you have used your {quota} AI exchanges of the last 24 hours",
            meta={"quota": quota},
            retry_after=3600,
        )


def _prompt(text: str) -> str:
    prompt = text.strip()
    if not prompt:
        raise EmptyPrompt("say something first")
    if len(prompt) > MAX_PROMPT:
        raise PromptTooLong(
            f"a prompt is at most {MAX_PROMPT} characters", meta={"max": MAX_PROMPT}
        )
    return prompt


class PromptIn(Input):
    prompt: str = Field(max_length=8000, description=f"what you say (1..{MAX_PROMPT} characters)")


class SourceOut(Output):
    id: str = Field(description="chat:<message id>, post:<post id> or persona:<key>:<n>")
    score: float | None = Field(default=None, description="similarity to the prompt (ai.debug)")


def _sources(call: Call[Any, Any], passages: list[Passage]) -> list[SourceOut]:
    debug = call.principal.can(Permission.AI_DEBUG)
    return [SourceOut(id=p.id, score=p.score if debug else None) for p in passages]


def _history(rows: list[Document]) -> list[Turn]:
    turns: list[Turn] = []
    for r in rows:
        turns.append(Turn("user", str(r.get("prompt", ""))))
        if r.get("reply"):
            turns.append(Turn("assistant", str(r["reply"])))
    return turns


# --- the creator twin -----------------------------------------------------------------------


class TwinIn(Input):
    enabled: bool = Field(description="answer fans with my AI twin while I am away")
    greeting: str = Field(default="", max_length=200)


class TwinCorpus(Output):
    messages: int = Field(description="my chat messages the twin answers from")
    posts: int = Field(description="my public post captions the twin answers from")


class TwinSettingsOut(Output):
    enabled: bool
    greeting: str
    label: str = Field(description="what fans see above every twin reply")
    corpus: TwinCorpus


class TwinOut(Output):
    handle: str
    enabled: bool
    away: bool = Field(description="the creator is not live now (the twin answers only then)")
    label: str
    greeting: str


class TwinReplyOut(Output):
    reply: str
    ai: bool = Field(description="always true: this was written by an AI")
    label: str
    sources: list[SourceOut]
    fallback: bool = Field(description="nothing fit: the twin's honest fallback line")
    provider: str


async def _settings_out(call: Call[Any, Any], creator_id: uuid.UUID) -> TwinSettingsOut:
    found = await store.twin(call.app[DOCUMENTS], creator_id)
    grounded = await twin.corpus(call.app[POOL], creator_id)
    handle = call.principal.handle or ""
    return TwinSettingsOut(
        enabled=bool(found and found["enabled"]),
        greeting=str(found["greeting"]) if found else "",
        label=twin.label(handle),
        corpus=TwinCorpus(messages=grounded.messages, posts=grounded.posts),
    )


@api.route(
    "GET",
    "/api/v1/ai/twin",
    summary="My AI twin's settings and what it answers from (creators)",
    response=TwinSettingsOut,
    auth=True,
    permission=Permission.AI_CREATOR,
)
async def get_my_twin(call: Call[None, None]) -> TwinSettingsOut:
    return await _settings_out(call, _me(call))


@api.route(
    "PUT",
    "/api/v1/ai/twin",
    summary="Turn my AI twin on or off (it answers fans while I am away, labelled AI)",
    body=TwinIn,
    response=TwinSettingsOut,
    auth=True,
    permission=Permission.AI_CREATOR,
    errors=(422,),
)
async def put_my_twin(call: Call[TwinIn, None]) -> TwinSettingsOut:
    await store.put_twin(
        call.app[DOCUMENTS], _me(call), enabled=call.body.enabled, greeting=call.body.greeting
    )
    return await _settings_out(call, _me(call))


@dataclass(frozen=True)
class _Creator:
    id: uuid.UUID
    handle: str
    greeting: str
    away: bool


async def _twin_of(call: Call[Any, Any]) -> _Creator:
    handle = call.path("handle").lower()[:30]
    pool = call.app[POOL]
    user = await users.get_by_handle(pool, handle)
    config = await store.twin(call.app[DOCUMENTS], user.id) if user else None
    if (
        user is None
        or config is None
        or not config["enabled"]
        or (call.principal.user_id and await matching.blocked_either_way(pool, _me(call), user.id))
    ):
        raise TwinNotFound("this creator has no AI twin", meta={"handle": handle})
    live = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM streams WHERE creator_id = $1 AND state = 'live')", user.id
    )
    return _Creator(user.id, user.handle, str(config.get("greeting") or ""), not live)


@api.route(
    "GET",
    "/api/v1/ai/twins/{handle}",
    summary="A creator's AI twin: on, and whether the creator is away",
    response=TwinOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def get_twin(call: Call[None, None]) -> TwinOut:
    c = await _twin_of(call)
    return TwinOut(
        handle=c.handle, enabled=True, away=c.away, label=twin.label(c.handle), greeting=c.greeting
    )


@api.route(
    "POST",
    "/api/v1/ai/twins/{handle}/messages",
    summary="Ask a creator's AI twin (answers while they are away, from their own words)",
    body=PromptIn,
    response=TwinReplyOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404, 409, 422, 429, 503),
)
async def ask_twin(call: Call[PromptIn, None]) -> TwinReplyOut:
    prompt = _prompt(call.body.prompt)
    c = await _twin_of(call)
    if not c.away:
        raise CreatorPresent(
            f"@{c.handle} is live now: talk to them in their room", meta={"handle": c.handle}
        )
    await _check_quota(call)
    docs, parts, pool = call.app[DOCUMENTS], call.app[PARTS], call.app[POOL]
    grounded = await twin.corpus(pool, c.id)
    past = await store.history(docs, _me(call), kind="twin", with_=str(c.id), limit=HISTORY // 2)
    try:
        result = await twin.answer(
            retriever=parts.retriever,
            provider=parts.provider,
            guard=parts.guard,
            handle=c.handle,
            prompt=prompt,
            passages=grounded.passages,
            banned=await load_banned(pool, c.id),
            history=_history(past),
        )
    except LlmProviderError as e:
        raise ModelUnavailable("the AI model is not answering; try again later") from e
    await store.log_exchange(
        docs,
        {
            "user_id": str(_me(call)),
            "kind": "twin",
            "creator_id": str(c.id),
            "prompt": prompt,
            "reply": result.text,
            "sources": [p.id for p in result.sources],
            "refused": None,
            "provider": result.provider,
        },
    )
    return TwinReplyOut(
        reply=result.text,
        ai=True,
        label=twin.label(c.handle),
        sources=_sources(call, result.sources),
        fallback=result.fallback,
        provider=result.provider,
    )


# --- the companion personas ------------------------------------------------------------------


class Greeting(Output):
    en: str
    nl: str


class PersonaOut(Output):
    key: str
    name: str
    style: str
    moods: list[str]
    boundaries: list[str] = Field(description="the boundary rules it keeps (docs/ai.md)")
    greeting: Greeting
    label: str = Field(description="what the member sees above every reply")


def _persona_out(p: Document) -> PersonaOut:
    return PersonaOut(
        key=p["key"],
        name=p["name"],
        style=p["style"],
        moods=list(p["moods"]),
        boundaries=list(p["boundaries"]),
        greeting=Greeting(en=p["greeting"]["en"], nl=p["greeting"]["nl"]),
        label=f"{p['name']} · AI companion",
    )


@api.route(
    "GET",
    "/api/v1/ai/personas",
    summary="The AI companion personas",
    response=PersonaOut,
    paginated=True,
    auth=True,
    permission=Permission.AI_BASIC,
)
async def list_personas(call: Call[None, None]) -> Page[PersonaOut]:
    return Page([_persona_out(p) for p in await store.personas(call.app[DOCUMENTS])])


async def _persona(call: Call[Any, Any]) -> Document:
    key = call.path("key")[:40]
    found = await store.persona(call.app[DOCUMENTS], key)
    if found is None:
        raise PersonaNotFound("no such AI companion", meta={"persona": key})
    return found


class CompanionReplyOut(Output):
    reply: str
    ai: bool = Field(description="always true: this was written by an AI")
    label: str
    persona: str
    refused: str | None = Field(description="the boundary rule the prompt crossed, if any")
    sources: list[SourceOut]
    provider: str


@api.route(
    "POST",
    "/api/v1/ai/personas/{key}/messages",
    summary="Talk to an AI companion (its boundaries are checked before it answers)",
    body=PromptIn,
    response=CompanionReplyOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404, 422, 429, 503),
)
async def talk_to_persona(call: Call[PromptIn, None]) -> CompanionReplyOut:
    prompt = _prompt(call.body.prompt)
    persona = await _persona(call)
    await _check_quota(call)
    docs, parts, me = call.app[DOCUMENTS], call.app[PARTS], _me(call)
    memory = await store.memory(docs, me, persona["key"])
    mood, _n = await moods.recent_mood(
        call.app[POOL], me, since=datetime.now(UTC) - timedelta(days=1)
    )
    past = await store.history(docs, me, kind="companion", with_=persona["key"], limit=HISTORY // 2)
    try:
        result = await companion.answer(
            retriever=parts.retriever,
            provider=parts.provider,
            guard=parts.guard,
            rules=parts.rules,
            persona=persona,
            prompt=prompt,
            mood=mood,
            memory=memory,
            history=_history(past),
        )
    except LlmProviderError as e:
        raise ModelUnavailable("the AI model is not answering; try again later") from e
    if result.refused is None:
        await store.remember(
            docs,
            me,
            persona["key"],
            facts=companion.facts_in(prompt),
            summary=companion.summary(memory, prompt),
        )
    await store.log_exchange(
        docs,
        {
            "user_id": str(me),
            "kind": "companion",
            "persona": persona["key"],
            "prompt": prompt,
            "reply": result.text,
            "sources": [p.id for p in result.sources],
            "refused": result.refused,
            "provider": result.provider,
        },
    )
    return CompanionReplyOut(
        reply=result.text,
        ai=True,
        label=f"{persona['name']} · AI companion",
        persona=persona["key"],
        refused=result.refused,
        sources=_sources(call, result.sources),
        provider=result.provider,
    )


class ExchangeOut(Output):
    prompt: str
    reply: str
    refused: str | None
    at: datetime


class HistoryQuery(Input):
    limit: int = Field(default=30, ge=1, le=100)


@api.route(
    "GET",
    "/api/v1/ai/personas/{key}/messages",
    summary="My latest exchanges with an AI companion, oldest first",
    query=HistoryQuery,
    response=ExchangeOut,
    paginated=True,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def persona_history(call: Call[None, HistoryQuery]) -> Page[ExchangeOut]:
    persona = await _persona(call)
    rows = await store.history(
        call.app[DOCUMENTS],
        _me(call),
        kind="companion",
        with_=persona["key"],
        limit=call.query.limit,
    )
    return Page(
        [
            ExchangeOut(
                prompt=str(r.get("prompt", "")),
                reply=str(r.get("reply", "")),
                refused=r.get("refused"),
                at=r["at"],
            )
            for r in rows
        ]
    )


class MemoryOut(Output):
    persona: str
    summary: str
    facts: list[str]
    turns: int


@api.route(
    "GET",
    "/api/v1/ai/personas/{key}/memory",
    summary="What an AI companion remembers about me",
    response=MemoryOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def persona_memory(call: Call[None, None]) -> MemoryOut:
    persona = await _persona(call)
    m = await store.memory(call.app[DOCUMENTS], _me(call), persona["key"])
    return MemoryOut(
        persona=persona["key"],
        summary=str((m or {}).get("summary") or ""),
        facts=[str(f) for f in (m or {}).get("facts") or []],
        turns=int((m or {}).get("turns") or 0),
    )


@api.route(
    "DELETE",
    "/api/v1/ai/personas/{key}/memory",
    summary="Make an AI companion forget me (its memory of me; the log stays until erasure)",
    status=204,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def forget_me(call: Call[None, None]) -> None:
    persona = await _persona(call)
    await store.forget(call.app[DOCUMENTS], _me(call), persona["key"])


# --- set-up ---------------------------------------------------------------------------------


async def _ready(db: AsyncDatabase[Document]) -> None:
    """Indexes, and the shipped persona configs written to ``ai_configs``."""
    await store.ensure_indexes(db)
    for persona in await asyncio.to_thread(companion.load_personas):
        await store.put_persona_in(db, persona)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    provider = create_provider(
        settings.ai_llm,
        url=settings.ai_llm_url,
        model=settings.ai_llm_model,
        api_key=settings.ai_llm_api_key,
    )
    app[PARTS] = AiParts(
        retriever=Retriever(app[VIBE].embeddings),  # one set of embedding workers per node
        provider=provider,
        guard=OutputGuard(app[CHAT].scorer),
        rules=await asyncio.to_thread(boundaries.load),
    )
    yield
    await provider.close()


def setup(app: web.Application) -> None:
    """Add the AI companion and twin routes (after the matching routes and the chat)."""
    app[DOCUMENTS].on_ready(_ready)
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)


# --- the content coach ----------------------------------------------------------------------


class CoachQuery(Input):
    caption: str = Field(default="", max_length=500, description="the planned caption or title")


class CoachMeasure(Output):
    name: str
    value: float
    verdict: str
    advice: str


class CoachTag(Output):
    tag: str
    score: float = Field(description="cosine similarity of the tag to the caption")


class CoachHour(Output):
    hour: int = Field(description="hour of the day, UTC")
    joins: int = Field(description="viewers who joined my rooms in this hour (last 30 days)")


class CoachReport(Output):
    measures: list[CoachMeasure]
    tags: list[CoachTag]
    best_hours: list[CoachHour]


@api.route(
    "POST",
    "/api/v1/ai/content-coach",
    summary="Coach a picture before posting: exposure, contrast, sharpness, framing, tags, hours",
    query=CoachQuery,
    response=CoachReport,
    auth=True,
    permission=Permission.UPLOAD,
    errors=(415, 422),
    raw_body=("image/png", "image/jpeg", "image/webp", "application/octet-stream"),
    max_body=10 * 1024 * 1024,
)
async def content_coach(call: Call[bytes, CoachQuery]) -> CoachReport:
    try:
        measures = await asyncio.to_thread(coach.measure, call.body)
    except coach.NotAPicture as e:
        raise NotAPicture(str(e)) from None
    pool, me = call.app[POOL], _me(call)
    tags: list[CoachTag] = []
    caption = call.query.caption.strip()
    if caption:
        vocabulary = [
            r["tag"]
            for r in await pool.fetch(
                "SELECT DISTINCT lower(t) AS tag FROM streams, unnest(tags) AS t "
                "WHERE t <> '' LIMIT 2000"
            )
        ]
        if vocabulary:
            found = await call.app[PARTS].retriever.retrieve(
                caption, [Passage(t, t) for t in vocabulary], k=5
            )
            tags = [CoachTag(tag=p.id, score=p.score) for p in found]
    hours = await pool.fetch(
        "SELECT extract(hour FROM v.joined_at AT TIME ZONE 'UTC')::int AS hour, count(*) AS joins "
        "FROM stream_viewers v JOIN streams s ON s.id = v.stream_id WHERE s.creator_id = $1 "
        "AND v.joined_at > now() - interval '30 days' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
        me,
    )
    return CoachReport(
        measures=[CoachMeasure(**vars(m)) for m in measures],
        tags=tags,
        best_hours=[CoachHour(hour=r["hour"], joins=r["joins"]) for r in hours],
    )
