"""The caller-visible errors of consent and the go-live gate."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Forbidden, NotFound


class ConsentRequired(Forbidden):
    """Going live before every performer checked in for this session."""

    code = "CONSENT_REQUIRED"


class PerformerNotVerified(Forbidden):
    """Going live with a performer whose identity record is not approved."""

    code = "PERFORMER_NOT_VERIFIED"


class NotAPerformer(Forbidden):
    code = "NOT_A_PERFORMER"


class PerformerNotFound(NotFound):
    code = "USER_NOT_FOUND"


class AlreadyPerformer(Conflict):
    code = "ALREADY_PERFORMER"


class NotLive(Conflict):
    code = "STREAM_NOT_LIVE"


class StreamLive(Conflict):
    code = "STREAM_LIVE"


# ``{user_id}`` of a co-performer in a path: a malformed one is no co-performer.
PERFORMER_ID = IdParam(PerformerNotFound, "not a co-performer of this stream", "userId")
