"""Socket.IO events of the room's engagement features: names and the payloads clients send.

Every client→server event is acknowledged like chat's (`api.chat.events`): ``{"ok": true,
...}`` or ``{"ok": false, "code", "message", "retryAfter"?, "meta"?}``. The payload models
join chat's in `api.chat.events.CLIENT_PAYLOADS`, the schema of every event the server takes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, StringConstraints

from api.schema import Checked

# client → server (each acknowledged)
MOOD_VOTE = "mood:vote"  # {streamId, mood}
MOOD_GET = "mood:get"  # {streamId}: the room's strip now
POLL_OPEN = "poll:open"  # the creator: {streamId, kind, question, options, seconds, weighted}
POLL_VOTE = "poll:vote"  # {streamId, pollId, option, amount?, idempotencyKey?}
POLL_CLOSE = "poll:close"  # the creator, early: {streamId, pollId}
POLL_GET = "poll:get"  # {streamId}: the open poll (or the last result)
DUEL_INVITE = "duel:invite"  # a creator: {streamId (theirs), opponentStreamId, seconds, rule}
DUEL_ACCEPT = "duel:accept"  # the invited creator: {streamId (theirs), duelId}
DUEL_DECLINE = "duel:decline"  # the invited creator (or the inviting one, withdrawing)
DUEL_END = "duel:end"  # either creator, early: a forfeit
SYNC_QUEUE = "sync:queue"  # the creator: {streamId, actions: [label, …]} after the queued ones
SYNC_DROP = "sync:drop"  # the creator: {streamId, actionId}
SYNC_VOTE = "sync:vote"  # {streamId, actionId, amount?, idempotencyKey?}: free, or a tip
SYNC_NEXT = "sync:next"  # the creator: take the heaviest queued action
SYNC_GET = "sync:get"  # {streamId}: the board
DUEL_GET = "duel:get"  # {streamId}: the live duel (or the open invitation, or the last result)

# server → client
MOOD_DISTRIBUTION = "mood:distribution"  # {streamId, counts, total, votes, windowSeconds}
POLL_OPENED = "poll:opened"  # {streamId, poll}
POLL_TALLY = "poll:tally"  # {streamId, pollId, tally: [{option, votes, weight}], voters}
POLL_CLOSED = "poll:closed"  # {streamId, poll} with its result and winner: once per poll
DUEL_INVITED = "duel:invited"  # {duel}: to both rooms
DUEL_DECLINED = "duel:declined"  # {duel}: declined, withdrawn or expired (state says which)
DUEL_STARTED = "duel:started"  # {duel}: both rooms
DUEL_SCORE = "duel:score"  # {duelId, scores: {challenger, opponent}}: after tips, throttled
SYNC_BOARD = "sync:board"  # {streamId, queued: [action], picked: [action]}: after changes
SYNC_PICKED = "sync:picked"  # {streamId, action}: the next action, once, in the stream's order
MOMENT_MARKED = "moment:marked"  # {streamId, id, at, heat}: a trending moment, once
DUEL_ENDED = "duel:ended"  # {duel} with its scores and winner: once per duel, both rooms

Mood = Literal["calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious"]
OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]

MAX_OPTIONS = 6


class _Payload(Checked):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    stream_id: uuid.UUID = Field(alias="streamId")


class RoomPayload(_Payload):
    """``mood:get``, ``poll:get``."""


class MoodVote(_Payload):
    mood: Mood


class PollOpen(_Payload):
    kind: Literal["poll", "challenge"] = "poll"
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    options: list[OptionText] = Field(min_length=2, max_length=MAX_OPTIONS)
    seconds: StrictInt = Field(ge=5, le=3600, description="until the deadline")
    weighted: bool = Field(
        default=False, description="votes are tips, weighted by their tokens; else one free vote"
    )


class PollVote(_Payload):
    poll_id: uuid.UUID = Field(alias="pollId")
    option: StrictInt = Field(ge=0, lt=MAX_OPTIONS)
    amount: StrictInt | None = Field(default=None, description="tokens: weighted polls only")
    idempotency_key: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")] | None = (
        Field(default=None, alias="idempotencyKey", description="weighted polls: the tip's key")
    )


class PollRef(_Payload):
    poll_id: uuid.UUID = Field(alias="pollId")


class DuelInvite(_Payload):
    opponent_stream_id: uuid.UUID = Field(alias="opponentStreamId")
    seconds: StrictInt = Field(ge=30, le=1800, description="the duel's length")
    rule: Literal["tips"] = Field(
        default="tips", description="how the winner is decided (shown before the start)"
    )


class DuelRef(_Payload):
    duel_id: uuid.UUID = Field(alias="duelId")


ActionLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class SyncQueue(_Payload):
    actions: list[ActionLabel] = Field(min_length=1, max_length=10)


class SyncRef(_Payload):
    action_id: uuid.UUID = Field(alias="actionId")


class SyncVote(SyncRef):
    amount: StrictInt | None = Field(default=None, description="tokens: a tipped vote")
    idempotency_key: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")] | None = (
        Field(default=None, alias="idempotencyKey", description="a tipped vote's key")
    )


PAYLOADS: dict[str, type[Checked]] = {
    MOOD_VOTE: MoodVote,
    MOOD_GET: RoomPayload,
    POLL_OPEN: PollOpen,
    POLL_VOTE: PollVote,
    POLL_CLOSE: PollRef,
    POLL_GET: RoomPayload,
    DUEL_INVITE: DuelInvite,
    DUEL_ACCEPT: DuelRef,
    DUEL_DECLINE: DuelRef,
    DUEL_END: DuelRef,
    DUEL_GET: RoomPayload,
    SYNC_QUEUE: SyncQueue,
    SYNC_DROP: SyncRef,
    SYNC_VOTE: SyncVote,
    SYNC_NEXT: RoomPayload,
    SYNC_GET: RoomPayload,
}
