"""The AI companions' and creator twins' errors."""

from __future__ import annotations

from teezu.errors import (
    Conflict,
    Invalid,
    NotFound,
    TooManyRequests,
    Unavailable,
    UnsupportedMediaType,
)


class EmptyPrompt(Invalid):
    code = "EMPTY_PROMPT"


class PromptTooLong(Invalid):
    code = "PROMPT_TOO_LONG"


class PersonaNotFound(NotFound):
    code = "PERSONA_NOT_FOUND"


class TwinNotFound(NotFound):
    code = "TWIN_NOT_FOUND"


class CreatorPresent(Conflict):
    code = "CREATOR_PRESENT"


class AiQuotaExceeded(TooManyRequests):
    code = "AI_QUOTA_EXCEEDED"


class ModelUnavailable(Unavailable):
    code = "AI_MODEL_UNAVAILABLE"


class NotAPicture(UnsupportedMediaType):
    code = "NOT_A_PICTURE"
