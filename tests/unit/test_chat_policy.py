"""Who may read, send in and moderate a room: the pure decisions, over every role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.auth.errors import RankForbidden
from api.auth.principal import ANONYMOUS, Principal
from api.auth.rbac import Permission, Role, roles_with
from api.chat.errors import (
    AuthRequired,
    ChatForbidden,
    FollowersOnly,
    ModerationForbidden,
    RoomForbidden,
    TimedOut,
)
from api.chat.moderation import (
    can_moderate,
    check_followers_only,
    check_may_chat,
    check_not_muted,
    check_target,
    seconds_until,
)
from api.chat.rooms import Room, RoomSettings, check_read, is_owner

OWNER_ID = uuid.uuid4()


def room(visibility="public", creator_id=OWNER_ID, **settings) -> Room:
    return Room(uuid.uuid4(), visibility, "owner", creator_id, RoomSettings(**settings))


def person(*roles: Role, user_id=None, handle="someone") -> Principal:
    return Principal(user_id or uuid.uuid4(), handle, frozenset(roles))


@pytest.mark.parametrize("role", list(Role))
def test_moderation_follows_the_matrix(role):
    r = room()
    stranger = person(role)
    owner = person(role, user_id=OWNER_ID)
    assert can_moderate(stranger, r) == (role in roles_with(Permission.MODERATE_ALL))
    assert can_moderate(owner, r) == (role in roles_with(Permission.MODERATE_OWN))


@pytest.mark.parametrize("role", list(Role))
def test_chatting_follows_the_matrix(role):
    p = person(role)
    if role in roles_with(Permission.CHAT):
        assert check_may_chat(p) == p.user_id
    else:
        with pytest.raises(ChatForbidden):
            check_may_chat(p)
    with pytest.raises(AuthRequired):
        check_may_chat(ANONYMOUS)


def test_ownership_is_the_account_link():
    linked = room(creator_id=OWNER_ID)
    assert is_owner(person(Role.CREATOR, user_id=OWNER_ID), linked)
    assert not is_owner(person(Role.CREATOR, handle="owner"), linked)  # the id decides
    # a stream not linked to an account (made by the CLI for a handle) has no owner in chat
    assert not is_owner(person(Role.CREATOR, handle="owner"), room(creator_id=None))
    assert not is_owner(ANONYMOUS, linked)


@pytest.mark.parametrize("visibility", ["public", "followers", "subscribers", "ticketed"])
def test_read_access(visibility):
    r = room(visibility)
    member = person(Role.MEMBER)
    allowed = [person(Role.CREATOR, user_id=OWNER_ID), person(Role.MODERATOR)]
    if visibility == "public":
        allowed += [ANONYMOUS, member]
    for p in allowed:
        check_read(p, r, follows=False)
    if visibility == "public":
        return
    with pytest.raises(AuthRequired):
        check_read(ANONYMOUS, r, follows=True)
    with pytest.raises(RoomForbidden):
        check_read(member, r, follows=False)
    if visibility == "followers":
        check_read(member, r, follows=True)
    else:
        with pytest.raises(RoomForbidden):
            check_read(member, r, follows=True)


def test_targets():
    r = room()
    mod = person(Role.MODERATOR)
    owner = person(Role.CREATOR, user_id=OWNER_ID)
    member = [Role.MEMBER]
    check_target(mod, r, uuid.uuid4(), member)
    check_target(owner, r, uuid.uuid4(), member)
    check_target(owner, r, uuid.uuid4(), [Role.CREATOR])  # another creator in my room
    # The rank rule: not oneself, nobody of an equal or higher role.
    with pytest.raises(RankForbidden):
        check_target(mod, r, uuid.uuid4(), [Role.MODERATOR])
    with pytest.raises(RankForbidden):
        check_target(mod, r, mod.user_id, [Role.MODERATOR])
    with pytest.raises(RankForbidden):
        check_target(owner, r, OWNER_ID, [Role.CREATOR])
    with pytest.raises(ModerationForbidden):
        check_target(mod, r, OWNER_ID, [Role.CREATOR])
    for site in (Role.MODERATOR, Role.ADMIN, Role.SUPER_ADMIN):
        with pytest.raises(RankForbidden):
            check_target(owner, r, uuid.uuid4(), [Role.MEMBER, site])
    # A creator outside their own room is just audience.
    stranger = person(Role.CREATOR)
    with pytest.raises(RankForbidden):
        check_target(stranger, r, uuid.uuid4(), member)


def test_timeouts_expire_and_report_whole_seconds():
    r = room()
    user = uuid.uuid4()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    r.muted[user] = now + timedelta(seconds=90.2)
    with pytest.raises(TimedOut) as exc:
        check_not_muted(r, user, now)
    assert exc.value.retry_after == 91
    check_not_muted(r, user, now + timedelta(seconds=91))
    assert user not in r.muted  # forgotten once over
    assert seconds_until(now, now) == 1


def test_followers_only():
    r = room(followers_only=True)
    check_followers_only(r, exempt=True, follows=False)
    check_followers_only(r, exempt=False, follows=True)
    with pytest.raises(FollowersOnly):
        check_followers_only(r, exempt=False, follows=False)
    check_followers_only(room(), exempt=False, follows=False)
