"""The matching and AI API's errors."""

from __future__ import annotations

from teezu.errors import Conflict, Invalid, NotFound


class DnaNotFound(NotFound):
    code = "DNA_NOT_FOUND"


class DnaRequired(Conflict):
    code = "DNA_REQUIRED"


class DnaAnswerInvalid(Invalid):
    code = "DNA_ANSWER_INVALID"


class MemberNotFound(NotFound):
    code = "USER_NOT_FOUND"


class CannotSwipeSelf(Invalid):
    code = "CANNOT_SWIPE_SELF"


class EmptyQuery(Invalid):
    code = "EMPTY_QUERY"
