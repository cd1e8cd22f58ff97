"""What each AI level allows per day (docs/ai.md, "Who may use what")."""

from __future__ import annotations

from api.auth.principal import Principal
from api.auth.rbac import Permission


def daily_quota(p: Principal) -> int | None:
    """Exchanges a day for the caller's AI level (None: no limit)."""
    if p.can(Permission.AI_DEBUG):
        return None
    if p.can(Permission.AI_PRO) or p.can(Permission.AI_CREATOR):
        return 500
    if p.can(Permission.AI_FULL):
        return 200
    return 30
