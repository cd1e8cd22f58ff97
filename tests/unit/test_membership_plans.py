"""The membership plans as data: what each tier unlocks, and how tiers meet the RBAC matrix."""

from __future__ import annotations

import pytest

from api.auth.rbac import MemberTier, Permission, Role, permissions_of
from api.memberships import plans
from api.memberships.plans import PLANS, PlanId


def test_every_member_tier_of_rbac_is_a_plan():
    assert {t.value for t in MemberTier} == {
        p.id.value for p in PLANS.values() if p.kind == "member"
    }


def test_each_member_tier_unlocks_more_than_the_one_below():
    tiers = sorted((p for p in PLANS.values() if p.kind == "member"), key=lambda p: p.rank)
    limits = [plans.FREE_DM_PER_DAY] + [p.dm_per_day for p in tiers]
    # strictly more DMs a day at each step (None: unlimited, the top)
    assert limits[-1] is None
    finite = [n for n in limits if n is not None]
    assert finite == sorted(finite) and len(set(finite)) == len(finite)
    assert [p.price for p in tiers] == sorted(p.price for p in tiers)


@pytest.mark.parametrize(
    ("live", "member_plus"),
    [([], False), (["basic"], False), (["plus"], True), (["premium"], True), (["elite"], True)],
)
def test_plus_and_above_grant_member_plus(live, member_plus):
    roles = frozenset({Role.VIEWER, Role.MEMBER}) | plans.roles_granted(live)
    assert (Role.MEMBER_PLUS in roles) is member_plus
    assert permissions_of(roles).__contains__(Permission.AI_FULL) is member_plus


def test_dm_allowance_counts_the_audience_only():
    member = [Role.VIEWER, Role.MEMBER]
    assert plans.dm_daily_limit(member, []) == plans.FREE_DM_PER_DAY
    assert plans.dm_daily_limit(member, ["premium"]) == 1000
    assert plans.dm_daily_limit(member, ["elite"]) is None
    assert plans.dm_daily_limit([Role.VIEWER, Role.MEMBER, Role.MEMBER_PLUS], ["plus"]) == 200
    for role in (Role.CREATOR, Role.PROVIDER, Role.MODERATOR):
        assert plans.dm_daily_limit([Role.MEMBER, role], []) is None


def test_badges_and_creator_plus():
    assert plans.badges(["creator_plus", "elite"]) == ("elite", "creator+")
    assert plans.badges(["unknown"]) == ()
    assert plans.subscription_tier_limit([]) == plans.FREE_SUBSCRIPTION_TIERS
    assert plans.subscription_tier_limit(["creator_plus"]) == 20
    assert plans.may_join(PLANS[PlanId.CREATOR_PLUS], [Role.CREATOR])
    assert not plans.may_join(PLANS[PlanId.CREATOR_PLUS], [Role.MEMBER, Role.PROVIDER])
    assert plans.may_join(PLANS[PlanId.ELITE], [Role.MEMBER])
