"""Provider services' rules as pure functions: slots in the provider's zone, the cancellation
policy, and when a provider may stream a booked session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.services import policy
from api.services.policy import BookedSession, CancellationPolicy

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2030, 6, 1, 12, tzinfo=UTC)


def test_wall_clock_slots_become_instants():
    assert policy.slot_instant(datetime(2030, 1, 10, 15), AMS) == datetime(
        2030, 1, 10, 14, tzinfo=UTC
    )
    assert policy.slot_instant(datetime(2030, 7, 10, 15), AMS) == datetime(
        2030, 7, 10, 13, tzinfo=UTC
    )
    # 31 March 2030: 02:00 -> 03:00 in Amsterdam; 02:30 does not exist
    with pytest.raises(policy.SlotTimeError):
        policy.slot_instant(datetime(2030, 3, 31, 2, 30), AMS)
    # 27 October 2030: 02:30 happens twice; the first (summer time) is taken
    assert policy.slot_instant(datetime(2030, 10, 27, 2, 30), AMS) == datetime(
        2030, 10, 27, 0, 30, tzinfo=UTC
    )
    with pytest.raises(policy.SlotTimeError):
        policy.slot_instant(datetime(2030, 1, 10, 15, tzinfo=UTC), AMS)
    # the calendar's ends, where the instant would fall outside it: refused, not a crash
    for edge, zone in ((datetime.min, "Asia/Tokyo"), (datetime.max, "America/Anchorage")):
        with pytest.raises(policy.SlotTimeError):
            policy.slot_instant(edge, ZoneInfo(zone))
    assert policy.local_time(datetime(2030, 1, 10, 14, tzinfo=UTC), AMS) == "2030-01-10T15:00+01:00"
    with pytest.raises(ValueError):
        policy.zone("Mars/Olympus")
    with pytest.raises(ValueError):
        policy.zone("../etc/passwd")


@given(
    price=st.integers(1, 1_000_000),
    percent=st.integers(0, 100),
    hours=st.integers(0, 720),
    before=st.integers(-10_000, 100_000),  # minutes before the start when cancelled
    by_member=st.booleans(),
    accepted=st.booleans(),
)
def test_a_cancellation_never_charges_more_than_the_policy(
    price, percent, hours, before, by_member, accepted
):
    starts = T0 + timedelta(minutes=before)
    charge = policy.cancellation_charge(
        CancellationPolicy(hours, percent),
        price,
        now=T0,
        starts_at=starts,
        by_member=by_member,
        accepted=accepted,
    )
    assert 0 <= charge <= price
    if not (by_member and accepted) or starts - T0 >= timedelta(hours=hours):
        assert charge == 0
    else:
        assert charge == -(-price * percent // 100)


def test_a_provider_streams_only_for_an_accepted_booking_in_its_window():
    booker, other = uuid.uuid4(), uuid.uuid4()
    start = T0 + timedelta(hours=1)
    session = BookedSession("accepted", booker, start, start + timedelta(hours=1))
    assert not policy.may_go_live(session, start - timedelta(minutes=11))
    assert policy.may_go_live(session, start - policy.EARLY_START)
    assert policy.may_go_live(session, start + timedelta(minutes=59))
    assert not policy.may_go_live(session, start + timedelta(hours=1))
    for state in ("requested", "declined", "cancelled", "completed"):
        assert not policy.may_go_live(
            BookedSession(state, booker, start, start + timedelta(hours=1)), start
        )
    assert policy.admits(session, booker, start)
    assert not policy.admits(session, other, start)
    assert not policy.admits(session, booker, start + timedelta(hours=2))


def test_a_holds_life_covers_the_slot_and_the_grace():
    ends = T0 + timedelta(days=2)
    ttl = policy.hold_ttl_seconds(T0, ends)
    assert T0 + timedelta(seconds=ttl) >= ends + policy.COMPLETION_GRACE
    assert policy.hold_ttl_seconds(T0, T0 + policy.MAX_AHEAD) < 2**31
