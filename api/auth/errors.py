"""Errors of accounts and sign-in, each with its stable code."""

from teezu.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


class PasswordTooLong(Invalid):
    """bcrypt reads 72 bytes; a longer password is refused rather than silently truncated."""

    code = "PASSWORD_TOO_LONG"


class Underage(Forbidden):
    code = "UNDERAGE"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


class HandleTaken(Conflict):
    code = "HANDLE_TAKEN"


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"


class WrongPassword(Forbidden):
    code = "WRONG_PASSWORD"


class LoginThrottled(TooManyRequests):
    code = "LOGIN_THROTTLED"


class InvalidTwoFactorCode(Invalid):
    code = "INVALID_2FA_CODE"


class InvalidChallenge(Unauthorized):
    code = "INVALID_2FA_CHALLENGE"


class TwoFactorState(Conflict):
    code = "TWO_FACTOR_STATE"


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"


class ReauthRequired(Forbidden):
    """A sensitive change needs a recent password confirmation (``POST /auth/reauth``)."""

    code = "REAUTH_REQUIRED"


class RankForbidden(Forbidden):
    """The rank rule (`api.auth.rbac.rank_refusal`): meta.reason is ``self``,
    ``super_admin_only`` or ``outranked``."""

    code = "RANK_FORBIDDEN"
