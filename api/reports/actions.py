"""What a moderation action does, and whether an account in some standing may act: pure logic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from api.reports.errors import AccountBanned, AccountSuspended, ActionNotApplicable

Action = Literal["dismiss", "remove", "warn", "suspend", "ban"]
TargetType = Literal["stream", "user", "message", "post", "comment"]
APPEALABLE: frozenset[str] = frozenset({"remove", "warn", "suspend", "ban"})


@dataclass(frozen=True)
class Effect:
    """What applying an action means: the account's new standing and the stream to freeze."""

    user_status: Literal["suspended", "banned"] | None = None
    suspended_until: datetime | None = None
    freeze_stream: bool = False
    reject_post: bool = False
    remove_comment: bool = False


def effect(
    action: Action,
    target_type: TargetType,
    subject_id: uuid.UUID | None,
    *,
    days: int,
    now: datetime,
) -> Effect:
    """The effect of ``action`` on a report's target; raises when it does not apply."""
    if action in ("warn", "suspend", "ban") and subject_id is None:
        raise ActionNotApplicable(
            f"'{action}' needs an account, and this report names none", meta={"action": action}
        )
    if action == "remove" and target_type == "user":
        raise ActionNotApplicable("an account is not content: warn, suspend or ban it")
    if action == "suspend":
        return Effect(user_status="suspended", suspended_until=now + timedelta(days=days))
    if action == "ban":
        return Effect(user_status="banned")
    if action == "remove" and target_type == "stream":
        return Effect(freeze_stream=True)
    if action == "remove" and target_type == "post":
        return Effect(reject_post=True)
    if action == "remove" and target_type == "comment":
        return Effect(remove_comment=True)
    # dismiss and warn change nothing but the log; removing a message is recorded for the chat
    # service to act on (it reads the moderation log).
    return Effect()


def check_standing(status: str, suspended_until: datetime | None, now: datetime) -> None:
    """Raise the envelope error if an account with this standing may not sign in or publish."""
    if status == "banned":
        raise AccountBanned("this account is banned (it may appeal: POST /api/v1/appeals)")
    if status == "suspended" and (suspended_until is None or suspended_until > now):
        raise AccountSuspended(
            "this account is suspended (it may appeal: POST /api/v1/appeals)",
            meta={"until": suspended_until.isoformat() if suspended_until else None},
        )
