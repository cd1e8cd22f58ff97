"""``/api/v1/ai/...`` and ``/api/v1/match/...``: the Erotic DNA quiz, match suggestions,
swipes and matches, and vibe search.

What each AI level unlocks (the RBAC matrix's "AI Tools" row; docs/ai.md):
``ai.basic`` the quiz, suggestions (up to 10), swipes, matches and vibe search;
``ai.full`` the filtered ``POST /ai/match-suggestions`` (up to 50, geo and language filters);
``ai.debug`` the scores behind each suggestion and search hit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal, cast

from aiohttp import web
from pydantic import Field

from api.auth.rbac import Permission
from api.keys import POOL, SETTINGS
from api.matching import compat, dna, store
from api.matching.errors import (
    CannotSwipeSelf,
    DnaAnswerInvalid,
    DnaNotFound,
    DnaRequired,
    EmptyQuery,
    MemberNotFound,
)
from api.matching.vibe import KINDS, VIBE, create_index
from api.routing import Api, Call, Page, RateLimit
from api.schema import Input, Output

api = Api("ai")

Mood = Literal["calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious"]
MatchStatus = Literal["active", "unmatched"]
Kind = Literal["stream", "creator", "post"]


# --- the quiz -------------------------------------------------------------------------------


class QuizQuestion(Output):
    key: str
    en: str
    nl: str
    moods: dict[str, float]


class Quiz(Output):
    questions: list[QuizQuestion]
    levels: int
    level_labels: dict[str, list[str]]
    moods: list[str]


class DnaIn(Input):
    answers: dict[str, int] = Field(
        description="preference key -> intensity 0..3 (a preference left out counts as 0)",
        max_length=len(dna.KEYS),
    )
    languages: list[str] = Field(default_factory=list, max_length=8)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    discoverable: bool = True


class DnaOut(Output):
    answers: dict[str, int]
    profile: dict[str, float] = Field(description="the unit vector over the 8 moods")
    dominant_mood: Mood
    languages: list[str]
    country: str | None
    discoverable: bool
    updated_at: datetime


def _dna_out(d: store.Dna) -> DnaOut:
    return DnaOut(
        answers=d.answers,
        profile={m: round(v, 4) for m, v in zip(dna.MOODS, d.profile, strict=True)},
        dominant_mood=cast(Mood, dna.dominant_mood(d.profile)),
        languages=d.languages,
        country=d.country,
        discoverable=d.discoverable,
        updated_at=d.updated_at,
    )


def _me(call: Call[Any, Any]) -> uuid.UUID:
    assert call.principal.user_id is not None
    return call.principal.user_id


@api.route(
    "GET",
    "/api/v1/ai/dna/quiz",
    summary="The Erotic DNA quiz: its preferences (NL and EN), the 4 levels and the 8 moods",
    response=Quiz,
    auth=True,
    permission=Permission.AI_BASIC,
)
async def get_quiz(call: Call[None, None]) -> Quiz:
    return Quiz(
        questions=[
            QuizQuestion(key=p.key, en=p.en, nl=p.nl, moods=dict(p.moods)) for p in dna.QUIZ
        ],
        levels=dna.LEVELS,
        level_labels={k: list(v) for k, v in dna.LEVEL_LABELS.items()},
        moods=list(dna.MOODS),
    )


@api.route(
    "GET",
    "/api/v1/ai/dna",
    summary="My Erotic DNA: my answers and the mood profile they make",
    response=DnaOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def get_my_dna(call: Call[None, None]) -> DnaOut:
    d = await store.get_dna(call.app[POOL], _me(call))
    if d is None:
        raise DnaNotFound("you have not taken the quiz yet")
    return _dna_out(d)


@api.route(
    "PUT",
    "/api/v1/ai/dna",
    summary="Save my quiz answers (replaces them); my mood profile is made from them",
    body=DnaIn,
    response=DnaOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(422,),
)
async def put_my_dna(call: Call[DnaIn, None]) -> DnaOut:
    b = call.body
    try:
        answers = dna.check_answers(b.answers)
    except dna.AnswerError as e:
        raise DnaAnswerInvalid(str(e), meta={"field": e.field}) from None
    languages = sorted(set(b.languages))
    for lang in languages:
        if len(lang) != 2 or not lang.isascii() or not lang.islower() or not lang.isalpha():
            raise DnaAnswerInvalid(
                "a language is a two-letter ISO 639-1 code", meta={"field": lang[:8]}
            )
    saved = await store.put_dna(
        call.app[POOL],
        _me(call),
        answers=answers,
        profile=dna.profile_vector(answers),
        languages=languages,
        country=b.country,
        discoverable=b.discoverable,
    )
    return _dna_out(saved)


@api.route(
    "DELETE",
    "/api/v1/ai/dna",
    summary="Delete my quiz answers and mood profile (I am no longer suggested to anyone)",
    status=204,
    auth=True,
    permission=Permission.AI_BASIC,
)
async def delete_my_dna(call: Call[None, None]) -> None:
    await store.delete_dna(call.app[POOL], _me(call))


# --- suggestions ----------------------------------------------------------------------------


class SuggestionQuery(Input):
    limit: int = Field(default=10, ge=1, le=10)
    kind: Literal["any", "creator", "member"] = "any"


class SuggestionFilter(Input):
    limit: int = Field(default=20, ge=1, le=50)
    kind: Literal["any", "creator", "member"] = "any"
    countries: list[str] | None = Field(default=None, max_length=50)
    languages: list[str] | None = Field(default=None, max_length=20)
    debug: bool = Field(default=False, description="the scores behind each suggestion (ai.debug)")


class Why(Output):
    shared: list[str] = Field(description="quiz preferences you are both into, strongest first")
    complements: list[str] = Field(description="pairs where one of you leads and one is led")
    mood: Mood | None = Field(description="your shared dominant mood, if you have one")
    languages: list[str]


class Scores(Output):
    profile: float
    kink: float
    distance: float


class Suggestion(Output):
    id: uuid.UUID
    handle: str
    creator: bool
    match_score: float
    dominant_mood: Mood
    country: str | None
    languages: list[str]
    why: Why
    scores: Scores | None = None


CANDIDATE_FACTOR = 5  # candidates read from the index per suggestion returned (re-ranked here)


async def _suggest(
    call: Call[Any, Any],
    *,
    limit: int,
    kind: str,
    countries: list[str] | None,
    languages: list[str] | None,
    debug: bool,
) -> list[Suggestion]:
    me = await store.get_dna(call.app[POOL], _me(call))
    if me is None:
        raise DnaRequired("take the Erotic DNA quiz first: suggestions are made from it")
    async with call.app[POOL].acquire() as conn, conn.transaction():
        found = await store.candidates(
            conn,
            me,
            limit=limit * CANDIDATE_FACTOR,
            countries=countries,
            languages=languages,
            kind=kind,
        )
    show_scores = debug and call.principal.can(Permission.AI_DEBUG)
    out = []
    for c in found:
        d = c.dna
        score = compat.match_score(
            me.answers, me.profile, me.languages, d.answers, d.profile, d.languages
        )
        why = compat.explain(
            me.answers, me.profile, me.languages, d.answers, d.profile, d.languages
        )
        out.append(
            Suggestion(
                id=d.user_id,
                handle=c.handle,
                creator=c.creator,
                match_score=score,
                dominant_mood=cast(Mood, dna.dominant_mood(d.profile)),
                country=d.country,
                languages=d.languages,
                why=Why(
                    shared=why.shared,
                    complements=why.complements,
                    mood=cast(Mood | None, why.mood),
                    languages=why.languages,
                ),
                scores=Scores(profile=why.profile, kink=why.kink, distance=round(c.distance, 4))
                if show_scores
                else None,
            )
        )
    out.sort(key=lambda s: (-s.match_score, s.handle))
    return out[:limit]


@api.route(
    "GET",
    "/api/v1/match/suggestions",
    summary="Members and creators who fit my Erotic DNA, best first, each with why",
    query=SuggestionQuery,
    response=Suggestion,
    paginated=True,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(409,),
)
async def get_suggestions(call: Call[None, SuggestionQuery]) -> Page[Suggestion]:
    q = call.query
    items = await _suggest(
        call, limit=q.limit, kind=q.kind, countries=None, languages=None, debug=False
    )
    return Page(items)


@api.route(
    "POST",
    "/api/v1/ai/match-suggestions",
    summary="Match suggestions with filters (countries, languages, kind; more of them)",
    body=SuggestionFilter,
    response=Suggestion,
    paginated=True,
    auth=True,
    permission=Permission.AI_FULL,
    errors=(409,),
)
async def post_suggestions(call: Call[SuggestionFilter, None]) -> Page[Suggestion]:
    b = call.body
    for value, size, upper in [(c, 2, True) for c in b.countries or []] + [
        (lang, 2, False) for lang in b.languages or []
    ]:
        if (
            len(value) != size
            or not value.isascii()
            or not value.isalpha()
            or value.isupper() != upper
        ):
            raise DnaAnswerInvalid(
                "countries are ISO 3166-1 alpha-2 (upper case), languages ISO 639-1 (lower case)",
                meta={"field": value[:8]},
            )
    items = await _suggest(
        call,
        limit=b.limit,
        kind=b.kind,
        countries=b.countries,
        languages=b.languages,
        debug=b.debug,
    )
    return Page(items)


# --- swipes and matches ----------------------------------------------------------------


class SwipeIn(Input):
    handle: str = Field(min_length=1, max_length=30)
    action: Literal["like", "pass"]


class MemberMatchOut(Output):
    id: uuid.UUID
    handle: str = Field(description="the other member")
    match_score: float
    matched_at: datetime
    status: MatchStatus


class SwipeOut(Output):
    action: Literal["like", "pass"]
    match: MemberMatchOut | None = Field(description="the match, when both of you liked each other")
    new_match: bool = Field(description="this swipe made the match")


async def _other(call: Call[Any, Any], handle: str) -> uuid.UUID:
    other = await store.user_id_of(call.app[POOL], handle)
    if other is None:
        raise MemberNotFound("no such member", meta={"handle": handle[:30]})
    return other


@api.route(
    "POST",
    "/api/v1/match/swipe",
    summary="Like or pass on a member; two likes make a match",
    body=SwipeIn,
    response=SwipeOut,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404, 422),
    rate_limit=RateLimit(120, 60, setting="swipe_rate_limit"),
)
async def swipe(call: Call[SwipeIn, None]) -> SwipeOut:
    me = _me(call)
    other = await _other(call, call.body.handle)
    if other == me:
        raise CannotSwipeSelf("you cannot swipe on yourself")
    pool = call.app[POOL]
    if await store.blocked_either_way(pool, me, other):
        raise MemberNotFound("no such member", meta={"handle": call.body.handle[:30]})
    async with pool.acquire() as conn:
        match, created = await store.swipe(conn, me, other, call.body.action)
    return SwipeOut(
        action=call.body.action,
        match=MemberMatchOut(
            id=match.id,
            handle=call.body.handle.lower(),
            match_score=match.match_score,
            matched_at=match.matched_at,
            status=cast(MatchStatus, match.status),
        )
        if match
        else None,
        new_match=created,
    )


class PageQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


@api.route(
    "GET",
    "/api/v1/match/matches",
    summary="My matches, newest first (limit/offset; nextCursor is the next offset)",
    query=PageQuery,
    response=MemberMatchOut,
    paginated=True,
    auth=True,
    permission=Permission.AI_BASIC,
)
async def list_matches(call: Call[None, PageQuery]) -> Page[MemberMatchOut]:
    q = call.query
    rows = await store.my_matches(call.app[POOL], _me(call), limit=q.limit, offset=q.offset)
    items = [
        MemberMatchOut(
            id=m.id,
            handle=handle,
            match_score=m.match_score,
            matched_at=m.matched_at,
            status=cast(MatchStatus, m.status),
        )
        for m, handle in rows
    ]
    return Page(items, str(q.offset + q.limit) if len(rows) == q.limit else None)


class UnmatchIn(Input):
    match_id: uuid.UUID


@api.route(
    "POST",
    "/api/v1/match/unmatch",
    summary="End one of my matches",
    body=UnmatchIn,
    status=204,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(404,),
)
async def unmatch(call: Call[UnmatchIn, None]) -> None:
    if not await store.unmatch(call.app[POOL], _me(call), call.body.match_id):
        raise MemberNotFound("you have no active match with this id")


# --- vibe search ----------------------------------------------------------------------------


class VibeQuery(Input):
    q: str = Field(min_length=1, max_length=200, description="free text, e.g. chill cosy chat")
    kind: Literal["all", "stream", "creator", "post"] = "all"
    live: bool = Field(default=False, description="live rooms only")
    limit: int = Field(default=20, ge=1, le=50)
    offset: int = Field(default=0, ge=0, le=1000)


class VibeHit(Output):
    kind: Kind
    id: uuid.UUID
    title: str
    handle: str | None
    live: bool
    score: float = Field(description="cosine similarity of the meaning to the query (-1..1)")


@api.route(
    "GET",
    "/api/v1/ai/vibe-search",
    summary="Search rooms, creators and posts by what a free text means (NL or EN)",
    query=VibeQuery,
    response=VibeHit,
    paginated=True,
    auth=True,
    permission=Permission.AI_BASIC,
    errors=(422,),
)
async def vibe_search(call: Call[None, VibeQuery]) -> Page[VibeHit]:
    q = call.query
    text = q.q.strip()
    if not text:
        raise EmptyQuery("say what vibe you are looking for")
    kinds = KINDS if q.kind == "all" else (q.kind,)
    hits = await call.app[VIBE].search(
        text, kinds=kinds, live_only=q.live, limit=q.limit, offset=q.offset
    )
    items = [
        VibeHit(
            kind=cast(Kind, h.kind),
            id=h.id,
            title=h.title,
            handle=h.handle,
            live=h.live,
            score=h.score,
        )
        for h in hits
    ]
    return Page(items, str(q.offset + q.limit) if len(hits) == q.limit else None)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    index = create_index(
        app[POOL],
        embedder=settings.ai_embedder,
        workers=settings.ai_embed_workers,
        interval=settings.ai_vibe_refresh,
    )
    app[VIBE] = index
    index.start()
    yield
    await index.close()


def setup(app: web.Application) -> None:
    """Add the matching routes and the vibe index (call after the app's own lifecycle)."""
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
