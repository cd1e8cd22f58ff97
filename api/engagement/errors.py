"""Every refusal of the room's engagement features, each with its stable code.

The same classes serve REST (through `api.envelope`) and Socket.IO acks (through
`api.chat.events.ack_error`).
"""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Forbidden, Invalid, NotFound, TeezuError, TooManyRequests


class EngagementError(TeezuError):
    """Root of the engagement package's errors."""


class VoteTooSoon(EngagementError, TooManyRequests):
    """A second mood vote within the room's vote interval."""

    code = "RATE_LIMITED"


class NotRoomOwner(EngagementError, Forbidden):
    """Only the stream's creator (or a site admin) runs its polls, challenges and milestones."""

    code = "NOT_STREAM_OWNER"


class PollNotFound(EngagementError, NotFound):
    code = "POLL_NOT_FOUND"


class PollClosed(EngagementError, Conflict):
    """Voting on (or closing) a poll that is no longer open."""

    code = "POLL_CLOSED"


class PollAlreadyOpen(EngagementError, Conflict):
    code = "POLL_ALREADY_OPEN"


class AlreadyVoted(EngagementError, Conflict):
    """A second free vote in one poll (a tipped vote may be repeated: each tip counts)."""

    code = "ALREADY_VOTED"


class UnknownOption(EngagementError, Invalid):
    code = "UNKNOWN_OPTION"


class TipRequired(EngagementError, Invalid):
    """A weighted poll counts tipped tokens: the vote needs ``amount`` and ``idempotencyKey``;
    a free poll takes neither."""

    code = "VOTE_WEIGHT_MISMATCH"


class InvalidThresholds(EngagementError, Invalid):
    code = "INVALID_THRESHOLDS"


POLL_ID = IdParam(PollNotFound, "no such poll", "pollId")


class DuelNotFound(EngagementError, NotFound):
    code = "DUEL_NOT_FOUND"


class DuelBusy(EngagementError, Conflict):
    """One of the two streams is in a live duel, or in an invitation not answered yet."""

    code = "DUEL_BUSY"


class DuelWithSelf(EngagementError, Invalid):
    code = "DUEL_WITH_SELF"


class DuelOpponentUnavailable(EngagementError, Conflict):
    """The invited stream is not live, or is frozen (its creator cannot duel now)."""

    code = "DUEL_OPPONENT_UNAVAILABLE"


class DuelNotPending(EngagementError, Conflict):
    """Answering an invitation that was answered, withdrawn or expired."""

    code = "DUEL_NOT_PENDING"


class DuelNotLive(EngagementError, Conflict):
    """Ending a duel that is not running."""

    code = "DUEL_NOT_LIVE"


class SyncActionNotFound(EngagementError, NotFound):
    code = "SYNC_ACTION_NOT_FOUND"


class SyncActionGone(EngagementError, Conflict):
    """Voting for an action that was picked or dropped."""

    code = "SYNC_ACTION_GONE"


class SyncQueueFull(EngagementError, Conflict):
    code = "SYNC_QUEUE_FULL"


class SyncQueueEmpty(EngagementError, Conflict):
    """ "Next" with no action queued."""

    code = "SYNC_QUEUE_EMPTY"
