"""Errors of unlockables; each names one caller-visible case with a stable code."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import BadRequest, Forbidden, NotFound, TeezuError, Unauthorized


class UnlockableError(TeezuError):
    """Root of the unlockables' errors."""


class UnlockableNotFound(UnlockableError, NotFound):
    code = "UNLOCKABLE_NOT_FOUND"


# ``{unlockable_id}`` in a path: a malformed one is an unknown unlockable.
UNLOCKABLE_ID = IdParam(UnlockableNotFound, "no such unlockable", "id")


class UnlockableLocked(UnlockableError):
    """Not unlocked yet: meta says the threshold, the progress and what remains to tip."""

    status = 402
    code = "UNLOCKABLE_LOCKED"


class SignInToUnlock(UnlockableError, Unauthorized):
    """A per-viewer unlockable counts the caller's own tips: anonymous callers have none."""

    code = "UNAUTHENTICATED"


class NotUnlockableOwner(UnlockableError, Forbidden):
    code = "NOT_UNLOCKABLE_OWNER"


class UnlockableForbidden(UnlockableError, Forbidden):
    """The caller may not watch the room this unlockable belongs to."""

    code = "UNLOCKABLE_FORBIDDEN"


class StreamRequired(UnlockableError, BadRequest):
    status = 422
    code = "STREAM_REQUIRED"


class StreamNotFound(UnlockableError, NotFound):
    code = "STREAM_NOT_FOUND"


class NotStreamOwner(UnlockableError, Forbidden):
    code = "NOT_STREAM_OWNER"
