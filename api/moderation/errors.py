"""The caller-visible errors of the moderators' API for automated moderation."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Invalid, NotFound


class FlagNotFound(NotFound):
    code = "FLAG_NOT_FOUND"


class SnapshotNotFound(NotFound):
    code = "SNAPSHOT_NOT_FOUND"


class AlreadyResolved(Conflict):
    code = "ALREADY_RESOLVED"


class ActionNotApplicable(Invalid):
    """An action that does not fit the flag (freezing a post, a rating without one...)."""

    code = "ACTION_NOT_APPLICABLE"


class NotFrozen(Conflict):
    code = "NOT_FROZEN"


class CreatorConfirmationRequired(Conflict):
    """A performer's freeze (safe word, consent revoked) is lifted by the creator's ``/resume``."""

    code = "CREATOR_CONFIRMATION_REQUIRED"


class ModeratorRequired(Conflict):
    """A moderation freeze is lifted by a moderator, never by the creator's ``/resume``."""

    code = "MODERATOR_UNFREEZE_REQUIRED"


class StreamFrozen(Conflict):
    """Going live while moderation's freeze of the stream stands (a moderator lifts it).

    The same code and status as the wallet's refusal to sell on a frozen stream.
    """

    code = "STREAM_FROZEN"


# ``{flag_id}`` in a path: a malformed one is an unknown flag.
FLAG_ID = IdParam(FlagNotFound, "no such flag", "flagId")
