"""The engagement features' REST side: what was voted, for the studio and the admin hub.

| route | needs |
|---|---|
| ``GET /api/v1/streams/{stream_id}/moods`` | the stream's creator (or an admin) |
| ``GET /api/v1/admin/moods`` | ``system.config_limited`` (admins) |
| ``GET /api/v1/streams/{stream_id}/polls`` | the stream's creator (or an admin) |
| ``GET /api/v1/streams/{stream_id}/milestones``, ``.../avatar`` | nothing |
| ``PUT .../milestones``, ``PUT .../avatar`` | the stream's creator (or an admin) |
| ``GET /api/v1/streams/{stream_id}/moments`` | nothing |
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, StrictInt

from api.auth.rbac import Permission
from api.engagement import moments, mood_store, poll_store, reactions
from api.engagement.avatar import Thresholds
from api.engagement.errors import InvalidThresholds, NotRoomOwner
from api.engagement.moods import MOODS, Counts
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID, StreamNotFound

api = Api("engagement")


class MinutesQuery(Input):
    minutes: int = Field(default=60, ge=1, le=24 * 60, description="how far back")


class HoursQuery(Input):
    hours: int = Field(default=24, ge=1, le=24 * 31, description="how far back")


class MoodCounts(Output):
    calm: int
    playful: int
    flirty: int
    intense: int
    chill: int
    dreamy: int
    energetic: int
    mysterious: int


def _counts(counts: Counts) -> MoodCounts:
    return MoodCounts(**dict(zip(MOODS, counts, strict=True)))


class MoodVoteMinute(Output):
    minute: datetime
    counts: MoodCounts
    total: int


class StreamMoods(Output):
    stream_id: uuid.UUID
    minutes: list[MoodVoteMinute] = Field(description="minutes with votes, oldest first")


class MoodDistribution(Output):
    since: datetime
    counts: MoodCounts
    total: int
    streams: int = Field(description="streams with at least one vote")


class PollsQuery(Input):
    limit: int = Field(default=10, ge=1, le=50)


class OptionTallyOut(Output):
    option: int
    votes: int = Field(description="voters (a weighted poll: tips)")
    weight: int = Field(description="votes, or tipped tokens")


class PollOut(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    kind: Literal["poll", "challenge"]
    question: str
    options: list[str]
    weighted: bool
    state: Literal["open", "closed"]
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None
    closed_by: Literal["deadline", "creator"] | None
    tally: list[OptionTallyOut]
    voters: int
    winner: int | None = Field(description="the winning option; null: no votes, or a tie")
    tie: bool


async def stream_owner(call: Call[Any, Any]) -> uuid.UUID:
    """The path's stream id, if the caller is its creator or an admin."""
    stream_id = call.id("stream_id")
    row = await call.app[POOL].fetchrow("SELECT creator_id FROM streams WHERE id = $1", stream_id)
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    p = call.principal
    if not (
        (row["creator_id"] is not None and row["creator_id"] == p.user_id)
        or p.can(Permission.SYSTEM_CONFIG_LIMITED)
    ):
        raise NotRoomOwner("only the stream's creator (or an admin) may see this")
    return stream_id


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/moods",
    summary="My stream's mood votes per minute",
    query=MinutesQuery,
    response=StreamMoods,
    auth=True,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_moods(call: Call[None, MinutesQuery]) -> StreamMoods:
    stream_id = await stream_owner(call)
    until = datetime.now(UTC)
    since = until - timedelta(minutes=call.query.minutes)
    rows = await mood_store.stream_minutes(call.app[POOL], stream_id, since, until)
    return StreamMoods(
        stream_id=stream_id,
        minutes=[MoodVoteMinute(minute=m, counts=_counts(c), total=sum(c)) for m, c in rows],
    )


@api.route(
    "GET",
    "/api/v1/admin/moods",
    summary="The platform's mood distribution (the admin hub)",
    query=HoursQuery,
    response=MoodDistribution,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def admin_moods(call: Call[None, HoursQuery]) -> MoodDistribution:
    until = datetime.now(UTC)
    since = until - timedelta(hours=call.query.hours)
    counts, streams = await mood_store.distribution(call.app[POOL], since, until)
    return MoodDistribution(since=since, counts=_counts(counts), total=sum(counts), streams=streams)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/polls",
    summary="My stream's polls and challenges with their results, newest first",
    query=PollsQuery,
    response=PollOut,
    paginated=True,
    auth=True,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_polls(call: Call[None, PollsQuery]) -> Page[PollOut]:
    stream_id = await stream_owner(call)
    polls = await poll_store.recent(call.app[POOL], stream_id, call.query.limit)
    return Page([PollOut.model_validate(p.wire()) for p in polls])


class MilestoneIn(Input):
    title: str = Field(min_length=1, max_length=80)
    target: StrictInt = Field(ge=1, le=100_000_000, description="tokens tipped to the stream")


class LadderIn(Input):
    milestones: list[MilestoneIn] = Field(max_length=10)


class MilestoneOut(Output):
    id: uuid.UUID
    stream_id: uuid.UUID
    title: str
    target: int
    progress: int = Field(description="tokens tipped to the stream since the milestone was set")
    reached_at: datetime | None


class ThresholdsIn(Input):
    happy: StrictInt = Field(ge=1, le=1_000_000)
    excited: StrictInt = Field(ge=1, le=1_000_000)
    wow: StrictInt = Field(ge=1, le=1_000_000)


class AvatarOut(Output):
    state: Literal["idle", "happy", "excited", "wow"]
    until: datetime | None
    thresholds: ThresholdsIn


async def _stream_exists(call: Call[Any, Any]) -> uuid.UUID:
    stream_id = call.id("stream_id")
    if not await call.app[POOL].fetchval("SELECT 1 FROM streams WHERE id = $1", stream_id):
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return stream_id


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/milestones",
    summary="The stream's milestones with their progress",
    response=MilestoneOut,
    paginated=True,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_milestones(call: Call[None, None]) -> Page[MilestoneOut]:
    stream_id = await _stream_exists(call)
    found = await reactions.milestones(call.app[POOL], stream_id)
    return Page([MilestoneOut.model_validate(m.wire()) for m in found])


@api.route(
    "PUT",
    "/api/v1/streams/{stream_id}/milestones",
    summary="Set my stream's milestones (the ones not reached yet are replaced)",
    body=LadderIn,
    response=MilestoneOut,
    paginated=True,
    auth=True,
    path_formats={"stream_id": STREAM_ID},
)
async def set_stream_milestones(call: Call[LadderIn, None]) -> Page[MilestoneOut]:
    stream_id = await stream_owner(call)
    ladder = [(m.title, m.target) for m in call.body.milestones]
    found = await reactions.set_ladder(call.app[POOL], stream_id, ladder)
    return Page([MilestoneOut.model_validate(m.wire()) for m in found])


def _avatar_out(row: reactions.AvatarRow) -> AvatarOut:
    now = row.avatar.at(datetime.now(UTC))
    t = row.thresholds
    return AvatarOut(
        state=now.state,  # type: ignore[arg-type]  # one of avatar.STATES
        until=now.until,
        thresholds=ThresholdsIn(happy=t.happy, excited=t.excited, wow=t.wow),
    )


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/avatar",
    summary="The creator's reactive avatar in this stream: its state now and its thresholds",
    response=AvatarOut,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_avatar(call: Call[None, None]) -> AvatarOut:
    stream_id = await _stream_exists(call)
    return _avatar_out(await reactions.avatar_of(call.app[POOL], stream_id))


@api.route(
    "PUT",
    "/api/v1/streams/{stream_id}/avatar",
    summary="Set the tip sizes my avatar reacts to (happy < excited < wow)",
    body=ThresholdsIn,
    response=AvatarOut,
    auth=True,
    path_formats={"stream_id": STREAM_ID},
)
async def set_stream_avatar(call: Call[ThresholdsIn, None]) -> AvatarOut:
    """422 INVALID_THRESHOLDS unless happy < excited < wow."""
    stream_id = await stream_owner(call)
    b = call.body
    try:
        thresholds = Thresholds(b.happy, b.excited, b.wow)
    except ValueError:
        raise InvalidThresholds(
            "thresholds must increase: happy < excited < wow",
            meta={"happy": b.happy, "excited": b.excited, "wow": b.wow},
        ) from None
    pool = call.app[POOL]
    await reactions.set_thresholds(pool, stream_id, thresholds)
    return _avatar_out(await reactions.avatar_of(pool, stream_id))


class MomentOut(Output):
    id: uuid.UUID
    at: datetime = Field(description="when the room's heat jumped")
    heat: float = Field(description="the room's heat then (activity points in ~10 s)")


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/moments",
    summary="The stream's trending moments, oldest first (for the replay's scrubber)",
    response=MomentOut,
    paginated=True,
    path_formats={"stream_id": STREAM_ID},
)
async def stream_moments(call: Call[None, None]) -> Page[MomentOut]:
    stream_id = await _stream_exists(call)
    found = await moments.moments_of(call.app[POOL], stream_id)
    return Page([MomentOut.model_validate(m) for m in found])
