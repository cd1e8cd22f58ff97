"""The rank rule at work: `check_may_act` is what every moderation and admin path calls before
it acts on an account (the rule itself is data and a pure function in `api.auth.rbac`).

Refusals are 403 ``RANK_FORBIDDEN`` with ``meta.reason`` (``self``, ``super_admin_only``,
``outranked``), the same on every path, REST and Socket.IO alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from api.auth.errors import RankForbidden
from api.auth.principal import Principal
from api.auth.rbac import Refusal, Role, rank_refusal
from teezu.db import Db

_MESSAGES = {
    Refusal.SELF: "you cannot do this to your own account",
    Refusal.SUPER_ADMIN_ONLY: "only a super admin can do this to a super admin",
    Refusal.OUTRANKED: "you cannot do this to an account whose role is equal to or above yours",
}


def check_may_act(
    actor: Principal,
    target_id: uuid.UUID,
    target_roles: Iterable[Role],
    *,
    action: str,
    room_owner: bool = False,
) -> None:
    """Raise `RankForbidden` unless ``actor`` may take ``action`` on the account."""
    why = rank_refusal(
        actor.roles,
        target_roles,
        same_account=actor.user_id == target_id,
        room_owner=room_owner,
    )
    if why is not None:
        raise RankForbidden(_MESSAGES[why], meta={"reason": str(why), "action": action})


async def roles_of(db: Db, user_id: uuid.UUID) -> frozenset[Role]:
    """The roles an account holds (none for an unknown or erased one)."""
    rows = await db.fetch("SELECT role FROM user_roles WHERE user_id = $1", user_id)
    return frozenset(Role(r["role"]) for r in rows)


async def check_may_act_on(
    db: Db, actor: Principal, target_id: uuid.UUID | None, *, action: str
) -> None:
    """`check_may_act` with the target's roles looked up; nothing to check without a target
    account (a report about a message whose author is unknown)."""
    if target_id is None:
        return
    check_may_act(actor, target_id, await roles_of(db, target_id), action=action)
