"""The product's RBAC matrix (8 roles), as data, and the permissions each role grants.

The matrix is the product spec's table (seeds/admin-hub-and-api.txt, "RBAC Matrix (8 Roles)"):

| Feature        | Viewer | Member | Member+ | Provider | Creator | Mod  | Admin   | Super Admin |
|----------------|--------|--------|---------|----------|---------|------|---------|-------------|
| View Content   | Safe   | yes    | yes     | yes      | yes     | yes  | yes     | yes         |
| Chat / DM      | no     | yes    | yes     | yes      | yes     | yes  | yes     | yes         |
| AI Tools       | no     | Basic  | Full    | Pro      | Creator | Full | Full    | Debug       |
| Offer Services | no     | no     | no      | yes      | no      | no   | no      | yes         |
| Upload/Stream  | no     | no     | no      | Limited  | yes     | no   | yes     | yes         |
| Moderation     | no     | Report | Report  | Self     | Self    | yes  | yes     | yes         |
| System Config  | no     | no     | no      | no       | no      | no   | Limited | ROOT        |

Each cell becomes a set of `Permission`s; routes and Socket.IO events declare the permission
they need, and ownership ("Self": a creator moderates their own rooms only) is checked by the
service that knows the owner. Members may also buy a tier (basic/plus/premium/elite, a paid
platform membership: `api.memberships.plans`). The tier does not change the matrix; a live
membership on plus or above makes the account hold ``member_plus`` besides its own roles for as
long as it lasts (applied when the session is read), so Member+ is what those tiers get.

**Ranks.** A permission says what kind of action a role may take; the rank rule says on whom.
Every action that moderates or administers an account (a report's action, an appeal decision,
a chat ban or timeout, a freeze or rating from a flag, an identity review, a role change, an
erasure, a payout decision) asks `rank_refusal`:

- nobody acts on themselves;
- a super admin is acted on only by another super admin (`PEERS`: super admins are the one
  rank whose holders may act on each other, so one can always be stopped);
- otherwise the actor's rank must be above the target's (`RANK`: the highest of each one's
  roles). The audience's roles all rank 0; a creator or provider in their own room acts with
  `ROOM_OWNER_RANK`, above their audience and below the site's staff.

Roles follow the same order: a role is granted or revoked only by someone who outranks it
(`role_refusal`), so only super admins make admins and super admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    MEMBER_PLUS = "member_plus"
    PROVIDER = "provider"
    CREATOR = "creator"
    MODERATOR = "moderator"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


class MemberTier(StrEnum):
    BASIC = "basic"
    PLUS = "plus"
    PREMIUM = "premium"
    ELITE = "elite"


class Permission(StrEnum):
    CONTENT_VIEW_SAFE = "content.view_safe"
    CONTENT_VIEW = "content.view"  # explicit content (still subject to the age gate)
    CHAT = "chat.send"
    DM = "dm.send"
    AI_BASIC = "ai.basic"
    AI_FULL = "ai.full"
    AI_PRO = "ai.pro"
    AI_CREATOR = "ai.creator"
    AI_DEBUG = "ai.debug"
    SERVICES_OFFER = "services.offer"
    STREAM_LIMITED = "stream.publish_limited"  # provider: streams with the "limited" caps
    STREAM = "stream.publish"
    UPLOAD = "content.upload"
    REPORT = "moderation.report"
    MODERATE_OWN = "moderation.own"  # in one's own rooms and content
    MODERATE_ALL = "moderation.all"
    SYSTEM_CONFIG_LIMITED = "system.config_limited"
    SYSTEM_CONFIG_ROOT = "system.config_root"
    # Not a row of the spec's matrix: buying tokens and spending them (tips, shows) is open to
    # every signed-in role, like Chat; the Viewer column (anonymous, safe content) has no wallet.
    WALLET = "wallet.use"


P = Permission
_VIEW = {P.CONTENT_VIEW_SAFE, P.CONTENT_VIEW, P.WALLET}
_TALK = {P.CHAT, P.DM}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({P.CONTENT_VIEW_SAFE}),
    Role.MEMBER: frozenset(_VIEW | _TALK | {P.AI_BASIC, P.REPORT}),
    Role.MEMBER_PLUS: frozenset(_VIEW | _TALK | {P.AI_BASIC, P.AI_FULL, P.REPORT}),
    Role.PROVIDER: frozenset(
        _VIEW
        | _TALK
        | {P.AI_BASIC, P.AI_FULL, P.AI_PRO, P.SERVICES_OFFER, P.STREAM_LIMITED, P.UPLOAD}
        | {P.REPORT, P.MODERATE_OWN}
    ),
    Role.CREATOR: frozenset(
        _VIEW
        | _TALK
        | {P.AI_BASIC, P.AI_FULL, P.AI_CREATOR, P.STREAM_LIMITED, P.STREAM, P.UPLOAD}
        | {P.REPORT, P.MODERATE_OWN}
    ),
    Role.MODERATOR: frozenset(
        _VIEW | _TALK | {P.AI_BASIC, P.AI_FULL, P.REPORT, P.MODERATE_OWN, P.MODERATE_ALL}
    ),
    Role.ADMIN: frozenset(
        _VIEW
        | _TALK
        | {P.AI_BASIC, P.AI_FULL, P.STREAM_LIMITED, P.STREAM, P.UPLOAD}
        | {P.REPORT, P.MODERATE_OWN, P.MODERATE_ALL, P.SYSTEM_CONFIG_LIMITED}
    ),
    Role.SUPER_ADMIN: frozenset(Permission),  # every permission, ROOT config and AI debug
}


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """The union of what each role grants (a user may hold several roles)."""
    out: set[Permission] = set()
    for role in roles:
        out |= MATRIX[Role(role)]
    return frozenset(out)


def roles_with(permission: Permission) -> frozenset[Role]:
    """Every role that grants ``permission`` (the rest must be denied: tests iterate this)."""
    return frozenset(r for r, perms in MATRIX.items() if permission in perms)


# Authority over other accounts, by role (see the module docstring). Data, like the matrix.
RANK: dict[Role, int] = {
    Role.VIEWER: 0,
    Role.MEMBER: 0,
    Role.MEMBER_PLUS: 0,
    Role.PROVIDER: 0,
    Role.CREATOR: 0,
    Role.MODERATOR: 2,
    Role.ADMIN: 3,
    Role.SUPER_ADMIN: 4,
}
ROOM_OWNER_RANK = 1  # a creator or provider acting in their own room (Permission.MODERATE_OWN)
PEERS: frozenset[Role] = frozenset({Role.SUPER_ADMIN})  # may act on each other (not on self)


class Refusal(StrEnum):
    """Why the rank rule refuses an action."""

    SELF = "self"
    SUPER_ADMIN_ONLY = "super_admin_only"
    OUTRANKED = "outranked"


def rank_of(roles: Iterable[Role]) -> int:
    return max((RANK[Role(r)] for r in roles), default=0)


def rank_refusal(
    actor_roles: Iterable[Role],
    target_roles: Iterable[Role],
    *,
    same_account: bool,
    room_owner: bool = False,
) -> Refusal | None:
    """Why an actor may not act on a target account, or None if they may. Pure.

    ``room_owner``: the actor acts in a room they own (their rank is at least
    `ROOM_OWNER_RANK` there)."""
    if same_account:
        return Refusal.SELF
    actors, targets = frozenset(map(Role, actor_roles)), frozenset(map(Role, target_roles))
    if Role.SUPER_ADMIN in targets and Role.SUPER_ADMIN not in actors:
        return Refusal.SUPER_ADMIN_ONLY
    mine = max(rank_of(actors), ROOM_OWNER_RANK if room_owner else 0)
    theirs = rank_of(targets)
    if mine > theirs or (mine == theirs and actors & targets & PEERS):
        return None
    return Refusal.OUTRANKED


def role_refusal(actor_roles: Iterable[Role], role: Role) -> Refusal | None:
    """Why an actor may not grant or revoke ``role`` (on anyone), or None. Pure."""
    actors = frozenset(map(Role, actor_roles))
    mine = rank_of(actors)
    if RANK[role] < mine or (role in PEERS and role in actors):
        return None
    return Refusal.OUTRANKED
