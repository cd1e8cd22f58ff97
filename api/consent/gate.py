"""Whether a stream may go live: pure logic over its performers' states."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.consent.errors import ConsentRequired, PerformerNotVerified


@dataclass(frozen=True)
class PerformerState:
    user_id: uuid.UUID | None  # None: the stream's creator has no account (made before accounts)
    handle: str
    role: str  # "creator" | "co_performer"
    verified: bool
    checked_in: bool


def check_ready(performers: list[PerformerState]) -> None:
    """Raise unless every performer is verified and checked in for this session.

    Verification is reported first: checking in cannot fix it, and the performer needs to know.
    """
    unverified = [p.handle for p in performers if not p.verified]
    if unverified:
        raise PerformerNotVerified(
            "every performer needs an approved identity record before going live",
            meta={"performers": unverified},
        )
    missing = [p.handle for p in performers if not p.checked_in]
    if missing:
        raise ConsentRequired(
            "every performer must confirm consent for this session "
            "(POST /api/v1/streams/{id}/consent)",
            meta={"performers": missing},
        )
