"""The feed's pure ranking (api/feed/ranking.py): visibility against the access rules, the order,
and keyset paging, checked over generated members and items (hypothesis)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from api.feed import ranking
from api.feed.ranking import Candidate, Viewer

CREATORS = [uuid.UUID(int=i + 1) for i in range(6)]
ME = uuid.UUID(int=99)
T0 = datetime(2026, 12, 1, tzinfo=UTC)
PLACES = ["NL", "US", "US-TX", "DE"]
MOODS = ["calm", "playful", "flirty"]


@st.composite
def candidates(draw: st.DrawFn) -> Candidate:
    kind = draw(st.sampled_from(["post", "stream"]))
    audiences = ["public", "followers", "subscribers", "unknown"]
    if kind == "stream":
        audiences.append("ticketed")
    return Candidate(
        kind=kind,
        id=uuid.UUID(int=draw(st.integers(1, 2**64))),
        creator_id=draw(st.sampled_from([*CREATORS, ME])),
        created_at=T0 + timedelta(seconds=draw(st.integers(0, 50))),  # ties happen
        audience=draw(st.sampled_from(audiences)),
        rating=draw(st.sampled_from(["sfw", "adult"])),
        explicit=kind == "post" and draw(st.booleans()),
        state=draw(
            st.sampled_from(
                ["published", "pending", "review"] if kind == "post" else ["live", "idle"]
            )
        ),
        creator_status=draw(st.sampled_from(["active", "active", "suspended", "banned"])),
        geo_blocked=frozenset(draw(st.lists(st.sampled_from(PLACES), max_size=2))),
        mood=draw(st.none() | st.sampled_from(MOODS)) if kind == "stream" else None,
    )


@st.composite
def viewers(draw: st.DrawFn) -> Viewer:
    some = st.frozensets(st.sampled_from(CREATORS), max_size=4)
    signed_in = draw(st.booleans())
    return Viewer(
        user_id=ME if signed_in else None,
        follows=draw(some) if signed_in else frozenset(),
        subscriptions=draw(some) if signed_in else frozenset(),
        blocks=draw(some) if signed_in else frozenset(),
        staff=signed_in and draw(st.booleans()),
        sharp_adult=draw(st.booleans()),
        sharp_explicit=draw(st.booleans()),
        places=frozenset(draw(st.lists(st.sampled_from(PLACES), max_size=2))),
        moods=frozenset(draw(st.lists(st.sampled_from(MOODS), max_size=2))),
    )


def may_know(c: Candidate, v: Viewer) -> bool:
    """The access rules, written out independently of the module."""
    if c.creator_id == v.user_id or c.creator_id in v.blocks or c.creator_status != "active":
        return False
    if (c.kind == "post" and c.state != "published") or (c.kind == "stream" and c.state != "live"):
        return False
    if v.staff:
        return True
    if c.geo_blocked & v.places:
        return False
    return {
        "public": True,
        "ticketed": True,
        "followers": c.creator_id in v.follows,
        "subscribers": c.creator_id in v.subscriptions,
    }.get(c.audience, False)


def may_see_sharp(c: Candidate, v: Viewer) -> bool:
    if v.staff:
        return True
    if c.audience == "ticketed":
        return False
    return (not c.explicit or v.sharp_explicit) and (c.rating == "sfw" or v.sharp_adult)


@settings(max_examples=150, deadline=None)
@given(st.lists(candidates(), max_size=30, unique_by=lambda c: (c.kind, c.id)), viewers())
def test_a_member_never_sees_what_the_access_rules_hide(items: list[Candidate], v: Viewer):
    shown = ranking.rank(items, v)
    for r in shown:
        assert may_know(r.item, v), r
        assert (r.visibility == "sharp") == may_see_sharp(r.item, v), r
    # ...and everything the rules allow is there, once.
    allowed = {(c.kind, c.id) for c in items if may_know(c, v)}
    assert {(r.item.kind, r.item.id) for r in shown} == allowed
    assert len(shown) == len({(r.item.kind, r.item.id) for r in shown})


@settings(max_examples=150, deadline=None)
@given(st.lists(candidates(), max_size=30, unique_by=lambda c: (c.kind, c.id)), viewers())
def test_chosen_creators_come_first_then_newest(items: list[Candidate], v: Viewer):
    shown = ranking.rank(items, v)
    tiers = [r.tier for r in shown]
    assert tiers == sorted(tiers)
    for a, b in zip(shown, shown[1:], strict=False):
        if a.tier == b.tier:
            assert (a.item.created_at, a.item.id) > (b.item.created_at, b.item.id)
    chosen = v.follows | v.subscriptions
    for r in shown:
        is_chosen = r.item.creator_id in chosen
        assert (r.tier in (ranking.FOLLOWED_LIVE, ranking.FOLLOWED_POSTS)) == is_chosen
        assert (r.reason != "recommended") == is_chosen
        if r.item.kind == "stream" and not is_chosen:
            assert (r.tier == ranking.MOOD_LIVE) == (r.item.mood in v.moods)
    # Live streams of chosen creators before their posts, before any recommendation.
    first_recommended = next((i for i, r in enumerate(shown) if r.reason == "recommended"), None)
    if first_recommended is not None:
        assert all(r.reason == "recommended" for r in shown[first_recommended:])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(candidates(), max_size=30, unique_by=lambda c: (c.kind, c.id)),
    viewers(),
    st.integers(1, 7),
)
def test_keyset_pages_cover_the_feed_exactly_once(items: list[Candidate], v: Viewer, size: int):
    """Paging with `after` from each page's last item walks the ranked list in order."""
    full = ranking.rank(items, v)
    seen: list[ranking.Ranked] = []
    cursor = None
    while True:
        rest = [r for r in full if cursor is None or ranking.after(r.item, v, cursor)]
        page = rest[:size]
        seen += page
        if len(page) < size:
            break
        last = page[-1]
        cursor = (last.tier, last.item.created_at, last.item.id)
    assert [(r.item.kind, r.item.id) for r in seen] == [(r.item.kind, r.item.id) for r in full]


def test_a_repeated_item_is_shown_once():
    post = Candidate(
        "post", uuid.uuid4(), CREATORS[0], T0, "public", "sfw", False, "published", "active"
    )
    assert [r.item for r in ranking.rank([post, post], Viewer(user_id=None))] == [post]


def test_blocks_and_standing_apply_even_to_staff():
    staff = Viewer(user_id=ME, staff=True, blocks=frozenset({CREATORS[0]}))
    post = Candidate(
        "post", uuid.uuid4(), CREATORS[0], T0, "public", "sfw", False, "published", "active"
    )
    assert ranking.visibility(post, staff) == "hidden"
    banned = Candidate(
        "post", uuid.uuid4(), CREATORS[1], T0, "public", "sfw", False, "published", "banned"
    )
    assert ranking.visibility(banned, staff) == "hidden"


def test_adult_items_are_blurred_below_the_age_gate():
    anon = Viewer(user_id=None)
    adult = Candidate(
        "post", uuid.uuid4(), CREATORS[0], T0, "public", "adult", False, "published", "active"
    )
    assert ranking.visibility(adult, anon) == "blurred"
    assert ranking.visibility(adult, Viewer(user_id=ME, sharp_adult=True)) == "sharp"
    explicit = Candidate(
        "post", uuid.uuid4(), CREATORS[0], T0, "public", "sfw", True, "published", "active"
    )
    assert ranking.visibility(explicit, Viewer(user_id=ME, sharp_adult=True)) == "blurred"
