"""The users API's errors."""

from __future__ import annotations

from teezu.errors import Forbidden, Invalid, NotFound


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class NotYourProfile(Forbidden):
    code = "NOT_PROFILE_OWNER"


class CannotFollowSelf(Invalid):
    code = "CANNOT_FOLLOW_SELF"
