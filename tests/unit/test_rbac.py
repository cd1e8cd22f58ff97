"""The RBAC matrix matches the product spec's table, cell by cell."""

from __future__ import annotations

import pytest

from api.auth.principal import ANONYMOUS, Principal
from api.auth.rbac import MATRIX, Permission, Role, permissions_of, roles_with

P = Permission
R = Role

# The product spec's rows: feature -> the roles that have it (any level but "no").
SPEC = {
    P.CONTENT_VIEW_SAFE: set(Role),
    P.CONTENT_VIEW: set(Role) - {R.VIEWER},
    P.CHAT: set(Role) - {R.VIEWER},
    P.AI_BASIC: set(Role) - {R.VIEWER},
    P.AI_DEBUG: {R.SUPER_ADMIN},
    P.SERVICES_OFFER: {R.PROVIDER, R.SUPER_ADMIN},
    P.STREAM: {R.CREATOR, R.ADMIN, R.SUPER_ADMIN},
    P.STREAM_LIMITED: {R.PROVIDER, R.CREATOR, R.ADMIN, R.SUPER_ADMIN},
    P.REPORT: set(Role) - {R.VIEWER},
    P.MODERATE_OWN: {R.PROVIDER, R.CREATOR, R.MODERATOR, R.ADMIN, R.SUPER_ADMIN},
    P.MODERATE_ALL: {R.MODERATOR, R.ADMIN, R.SUPER_ADMIN},
    P.SYSTEM_CONFIG_LIMITED: {R.ADMIN, R.SUPER_ADMIN},
    P.SYSTEM_CONFIG_ROOT: {R.SUPER_ADMIN},
    P.WALLET: set(Role) - {R.VIEWER},  # not in the spec's table: every signed-in role
}


@pytest.mark.parametrize("permission", list(SPEC))
def test_matrix_row(permission):
    assert roles_with(permission) == SPEC[permission]


def test_every_role_is_in_the_matrix():
    assert set(MATRIX) == set(Role)


def test_roles_combine():
    both = permissions_of([R.MEMBER, R.PROVIDER])
    assert P.SERVICES_OFFER in both and P.CHAT in both and P.STREAM not in both


def test_anonymous_sees_safe_content_only():
    assert not ANONYMOUS.authenticated
    assert ANONYMOUS.can(P.CONTENT_VIEW_SAFE)
    assert not ANONYMOUS.can(P.CONTENT_VIEW)
    assert not ANONYMOUS.can(P.CHAT)


def test_principal_permissions_follow_roles():
    import uuid

    creator = Principal(user_id=uuid.uuid4(), handle="c", roles=frozenset({R.CREATOR}))
    assert creator.authenticated and creator.can(P.STREAM) and not creator.can(P.MODERATE_ALL)


def test_the_rank_rule_over_every_pair_of_roles():
    """Nobody acts on themselves; super admins only by super admins; otherwise strictly
    higher rank, and never both ways between two accounts (except two super admins)."""
    from api.auth.rbac import RANK, Refusal, rank_refusal

    for actor in Role:
        assert rank_refusal({actor}, {actor}, same_account=True) is Refusal.SELF
        for target in Role:
            why = rank_refusal({actor}, {target}, same_account=False)
            if target is Role.SUPER_ADMIN and actor is not Role.SUPER_ADMIN:
                assert why is Refusal.SUPER_ADMIN_ONLY
            elif RANK[actor] > RANK[target] or actor is target is Role.SUPER_ADMIN:
                assert why is None
            else:
                assert why is Refusal.OUTRANKED
            back = rank_refusal({target}, {actor}, same_account=False)
            if why is None and back is None:
                assert actor is target is Role.SUPER_ADMIN
    # The audience is one rank: a member cannot ban a creator, nor a creator a member...
    assert rank_refusal({Role.CREATOR}, {Role.MEMBER}, same_account=False) is Refusal.OUTRANKED
    # ...except in the creator's own room, where the staff still outrank them.
    assert rank_refusal({Role.CREATOR}, {Role.MEMBER}, same_account=False, room_owner=True) is None
    assert rank_refusal({Role.CREATOR}, {Role.MODERATOR}, same_account=False, room_owner=True)
    # The highest role counts, on both sides.
    assert rank_refusal({Role.MODERATOR}, {Role.CREATOR, Role.ADMIN}, same_account=False)
    assert rank_refusal({Role.CREATOR, Role.ADMIN}, {Role.MODERATOR}, same_account=False) is None


def test_roles_are_granted_only_by_someone_who_outranks_them():
    from api.auth.rbac import role_refusal

    assert role_refusal({Role.ADMIN}, Role.MODERATOR) is None
    assert role_refusal({Role.ADMIN}, Role.CREATOR) is None
    assert role_refusal({Role.ADMIN}, Role.ADMIN) is not None
    assert role_refusal({Role.ADMIN}, Role.SUPER_ADMIN) is not None
    assert role_refusal({Role.SUPER_ADMIN}, Role.SUPER_ADMIN) is None
    assert role_refusal({Role.MODERATOR}, Role.MEMBER) is None
    assert role_refusal({Role.MODERATOR}, Role.MODERATOR) is not None
