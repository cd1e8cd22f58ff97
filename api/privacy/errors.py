"""The caller-visible errors of exports and erasure."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, NotFound


class ExportNotFound(NotFound):
    """Unknown, forged, expired or another user's export: the same answer for each."""

    code = "EXPORT_NOT_FOUND"


class ExportInProgress(Conflict):
    code = "EXPORT_IN_PROGRESS"


class ExportNotReady(Conflict):
    code = "EXPORT_NOT_READY"


class AlreadyErased(Conflict):
    code = "ALREADY_ERASED"


class ErasureBlockedLive(Conflict):
    """A live broadcast must end first (its stream, media and chat are erased)."""

    code = "STREAM_LIVE"


class AccountNotFound(NotFound):
    code = "USER_NOT_FOUND"


# ``{export_id}`` and an account's ``{user_id}`` in a path: malformed ones are unknown ones.
EXPORT_ID = IdParam(ExportNotFound, "no such export")
ACCOUNT_ID = IdParam(AccountNotFound, "no such user")
