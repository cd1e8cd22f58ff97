"""The platform's paid memberships, as data: the member tiers and Creator+.

A member tier (basic, plus, premium, elite) is a monthly platform membership a member buys
with tokens; Creator+ is the creators' one. What each unlocks is this table, read by the
code that enforces it:

| plan         | for      | price | badge    | AI tools | DMs/day   | roles   | sub. tiers |
|--------------|----------|-------|----------|----------|-----------|---------|------------|
| (none)       | anyone   | —     | —        | basic    | 20        | —       | 5          |
| basic        | members  | 50    | basic    | basic    | 50        | —       | —          |
| plus         | members  | 150   | plus     | full     | 200       | Member+ | —          |
| premium      | members  | 400   | premium  | full     | 1,000     | Member+ | —          |
| elite        | members  | 1,000 | elite    | full     | unlimited | Member+ | —          |
| creator_plus | creators | 500   | creator+ | creator  | —         | —       | 20         |

Prices are tokens a month; "sub. tiers" is how many active subscription tiers a creator may
keep.

**Tiers and the RBAC matrix.** The matrix's Member+ column is what a member on ``plus`` or
above gets: while such a membership grants access, the account holds the ``member_plus`` role
in addition to its own (`roles_granted`, applied when a session is read), so ``ai.full``
routes open to it. ``basic`` stays a Member. The role is never stored: it ends with the
membership. An admin can still grant ``member_plus`` by hand (a role change).

**DM allowance.** Accounts whose roles are all the audience's (viewer, member, Member+) may
send ``dm_per_day`` direct messages in any 24 hours; creators, providers and staff are not
counted (`dm_daily_limit`).

**Creator+** raises how many active subscription tiers a creator may keep and shows the
``creator+`` badge; it is for accounts that may stream (``stream.publish``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from api.auth.rbac import MemberTier, Role

AUDIENCE_ROLES = frozenset({Role.VIEWER, Role.MEMBER, Role.MEMBER_PLUS})


class PlanId(StrEnum):
    BASIC = MemberTier.BASIC.value
    PLUS = MemberTier.PLUS.value
    PREMIUM = MemberTier.PREMIUM.value
    ELITE = MemberTier.ELITE.value
    CREATOR_PLUS = "creator_plus"


AiLevel = Literal["basic", "full", "creator"]
Kind = Literal["member", "creator"]


@dataclass(frozen=True, slots=True)
class Plan:
    id: PlanId
    kind: Kind  # one live membership per kind and account
    rank: int  # order within its kind (for display and upgrades)
    price: int  # tokens per period
    badge: str
    ai_level: AiLevel
    dm_per_day: int | None  # None: unlimited (member plans only)
    roles: frozenset[Role]
    max_subscription_tiers: int | None  # creator plans only


FREE_DM_PER_DAY = 20
FREE_SUBSCRIPTION_TIERS = 5

PLANS: dict[PlanId, Plan] = {
    p.id: p
    for p in (
        Plan(PlanId.BASIC, "member", 1, 50, "basic", "basic", 50, frozenset(), None),
        Plan(
            PlanId.PLUS, "member", 2, 150, "plus", "full", 200,
            frozenset({Role.MEMBER_PLUS}), None,
        ),
        Plan(
            PlanId.PREMIUM, "member", 3, 400, "premium", "full", 1000,
            frozenset({Role.MEMBER_PLUS}), None,
        ),
        Plan(
            PlanId.ELITE, "member", 4, 1000, "elite", "full", None,
            frozenset({Role.MEMBER_PLUS}), None,
        ),
        Plan(PlanId.CREATOR_PLUS, "creator", 1, 500, "creator+", "creator", None, frozenset(), 20),
    )
}  # fmt: skip


def plans_of(ids: Iterable[str]) -> tuple[Plan, ...]:
    """The known plans among ``ids`` (stored plan names): the member tier, then Creator+."""
    found = {PLANS[PlanId(i)] for i in ids if i in PlanId.__members__.values()}
    return tuple(sorted(found, key=lambda p: (p.kind != "member", -p.rank)))


def roles_granted(ids: Iterable[str]) -> frozenset[Role]:
    """The roles live memberships add to an account's own (plus and above: Member+)."""
    out: set[Role] = set()
    for plan in plans_of(ids):
        out |= plan.roles
    return frozenset(out)


def member_plan(ids: Iterable[str]) -> Plan | None:
    return next((p for p in plans_of(ids) if p.kind == "member"), None)


def badges(ids: Iterable[str]) -> tuple[str, ...]:
    """The badges shown on the account's chat name: its member tier, then Creator+."""
    return tuple(p.badge for p in plans_of(ids))


def dm_daily_limit(roles: Iterable[Role], ids: Iterable[str]) -> int | None:
    """Direct messages the account may send in any 24 hours (None: not counted)."""
    if not set(map(Role, roles)) <= AUDIENCE_ROLES:
        return None
    plan = member_plan(ids)
    return FREE_DM_PER_DAY if plan is None else plan.dm_per_day


def subscription_tier_limit(ids: Iterable[str]) -> int:
    """Active subscription tiers a creator may keep."""
    limits = [p.max_subscription_tiers for p in plans_of(ids) if p.max_subscription_tiers]
    return max(limits, default=FREE_SUBSCRIPTION_TIERS)


def ai_level(ids: Iterable[str]) -> str:
    """The AI tools level the account's member plan names (the permissions are the gate)."""
    plan = member_plan(ids)
    return plan.ai_level if plan else "basic"


def may_join(plan: Plan, roles: Iterable[Role]) -> bool:
    """Member plans are for anyone signed in; Creator+ for those who may stream."""
    if plan.kind == "creator":
        return bool({Role.CREATOR, Role.ADMIN, Role.SUPER_ADMIN} & set(map(Role, roles)))
    return True
