"""``/api/v1/streams/{stream_id}/mood`` (the room's mood strip) and
``/api/v1/users/{handle}/mood`` (a member's recent mood: the profile colour), both read from
the one mood pipeline (`api.mood.analyzer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from aiohttp import web
from pydantic import Field

from api.chat.rooms import room_name
from api.keys import POOL, SETTINGS
from api.matching.vibe import VIBE
from api.mood import store
from api.mood.analyzer import ANALYZER, MoodAnalyzer
from api.realtime import CHAT
from api.routing import Api, Call
from api.schema import Input, Output
from api.streams import store as streams
from api.streams.errors import STREAM_ID, StreamNotFound
from api.users import store as users
from api.users.errors import UserNotFound

api = Api("ai")

Mood = Literal["calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious"]


class StripQuery(Input):
    minutes: int = Field(default=15, ge=1, le=240)


class MoodMinute(Output):
    minute: datetime
    moods: dict[str, int] = Field(description="messages per mood in this minute")
    messages: int
    polarity: float = Field(description="mean polarity, -1 (negative) .. 1 (positive)")
    intensity: float = Field(description="mean intensity, 0 .. 1")
    dominant: Mood | None


class MoodStrip(Output):
    stream_id: str
    minutes: list[MoodMinute]


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/mood",
    summary="The room's mood per minute (its chat's moods, polarity and intensity), oldest first",
    query=StripQuery,
    response=MoodStrip,
    path_formats={"stream_id": STREAM_ID},
)
async def get_strip(call: Call[None, StripQuery]) -> MoodStrip:
    stream_id = call.id("stream_id")
    if await streams.get_stream(call.app[POOL], stream_id) is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    since = store.minute_of(datetime.now(UTC)) - timedelta(minutes=call.query.minutes - 1)
    minutes = await store.strip(call.app[POOL], stream_id, since=since)
    return MoodStrip(
        stream_id=str(stream_id),
        minutes=[
            MoodMinute(
                minute=m.minute,
                moods=m.moods,
                messages=m.messages,
                polarity=m.polarity,
                intensity=m.intensity,
                dominant=cast(Mood | None, m.dominant),
            )
            for m in minutes
        ],
    )


class MemberMood(Output):
    mood: Mood | None = Field(description="the most frequent mood of their chat in the last day")
    messages: int


@api.route(
    "GET",
    "/api/v1/users/{handle}/mood",
    summary="A member's recent mood (their profile colour), from their chat of the last day",
    response=MemberMood,
    errors=(404,),
)
async def get_member_mood(call: Call[None, None]) -> MemberMood:
    handle = call.path("handle")
    user = await users.get_by_handle(call.app[POOL], handle) if len(handle) <= 30 else None
    if user is None:
        raise UserNotFound("no such user", meta={"handle": handle[:30]})
    since = datetime.now(UTC) - timedelta(days=1)
    mood, n = await store.recent_mood(call.app[POOL], user.id, since=since)
    return MemberMood(mood=cast(Mood | None, mood), messages=n)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.mood_enabled:
        yield
        return
    chat = app[CHAT]

    async def emit(event: str, data: dict[str, object], stream_id: str) -> None:
        await chat.transport.emit(event, data, room=room_name(stream_id))

    analyzer = MoodAnalyzer(
        app[POOL],
        app[VIBE].embeddings,  # one set of embedding workers per node
        batch=settings.mood_batch,
        interval=settings.mood_analysis_interval,
        queue=settings.mood_queue,
        emit=emit,
    )
    app[ANALYZER] = analyzer
    chat.delivered_hooks.append(
        lambda m: analyzer.submit(m.id, m.stream_id, m.user_id, m.sent_at, m.text)
    )
    analyzer.start()
    yield
    await analyzer.close()


def setup(app: web.Application) -> None:
    """Add the mood routes and the analyzer (after the chat's and the vibe index's lifecycles)."""
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
