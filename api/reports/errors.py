"""The caller-visible errors of reports, moderation actions and appeals."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Forbidden, Invalid, NotFound


class ReportNotFound(NotFound):
    code = "REPORT_NOT_FOUND"


class TargetNotFound(NotFound):
    code = "REPORT_TARGET_NOT_FOUND"


class AppealNotFound(NotFound):
    code = "APPEAL_NOT_FOUND"


# ``{report_id}`` and ``{appeal_id}`` in a path: malformed ones are unknown ones.
REPORT_ID = IdParam(ReportNotFound, "no such report", "reportId")
APPEAL_ID = IdParam(AppealNotFound, "no such appeal", "appealId")


class AlreadyResolved(Conflict):
    code = "ALREADY_RESOLVED"


class AppealOpen(Conflict):
    code = "APPEAL_ALREADY_OPEN"


class NotAppealable(Conflict):
    code = "NOT_APPEALABLE"


class ActionNotApplicable(Invalid):
    code = "ACTION_NOT_APPLICABLE"


class NotAffected(Forbidden):
    """Only the account a decision was about may appeal it."""

    code = "NOT_AFFECTED_USER"


class AccountSuspended(Forbidden):
    code = "ACCOUNT_SUSPENDED"


class AccountBanned(Forbidden):
    code = "ACCOUNT_BANNED"
