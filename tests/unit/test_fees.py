"""The fee split: whole tokens, exact sums, the stated rounding rule, exact reversals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.wallet.fees import BPS, FeeSchedule, reversal_split, split

FIRST = FeeSchedule(
    "2026-01", creator_bps=8000, platform_bps=2000, referral_bps=500, platform_rounding="floor"
)
CURRENT = FeeSchedule("2026-12", creator_bps=8000, platform_bps=2000, referral_bps=500)


@st.composite
def schedules(draw: st.DrawFn) -> FeeSchedule:
    platform = draw(st.integers(0, BPS))
    return FeeSchedule(
        "v",
        creator_bps=BPS - platform,
        platform_bps=platform,
        referral_bps=draw(st.integers(0, platform)),
        platform_rounding=draw(st.sampled_from(["floor", "ceil"])),
    )


amounts = st.integers(0, 10**12)


@given(amount=amounts, schedule=schedules(), referred=st.booleans())
def test_split_is_whole_tokens_summing_to_the_amount(amount, schedule, referred):
    s = split(amount, schedule, referred=referred)
    assert all(type(x) is int and x >= 0 for x in (s.creator, s.platform, s.referral))
    assert s.creator + s.platform + s.referral == amount
    # The rounding rule: the platform's cut (with the referral) is rounded as the schedule says,
    # the referral share down.
    exact = amount * schedule.platform_bps
    if schedule.platform_rounding == "ceil":
        assert (s.platform + s.referral - 1) * BPS < exact <= (s.platform + s.referral) * BPS
    else:
        assert s.platform + s.referral == exact // BPS
    assert s.referral == (amount * schedule.referral_bps // BPS if referred else 0)


@given(amount=st.integers(0, 10**9), schedule=schedules(), referred=st.booleans())
def test_creator_and_referral_shares_never_shrink_as_the_amount_grows(amount, schedule, referred):
    a, b = (
        split(amount, schedule, referred=referred),
        split(amount + 1, schedule, referred=referred),
    )
    assert b.creator >= a.creator and b.referral >= a.referral


@given(
    amount=st.integers(1, 10**6),
    cuts=st.lists(st.integers(1, 10**6), min_size=1, max_size=8),
    schedule=schedules(),
    referred=st.booleans(),
)
def test_a_split_reversed_in_parts_gives_back_exactly_the_split(amount, cuts, schedule, referred):
    done, total = 0, split(0, schedule, referred=referred)
    for cut in cuts:
        take = min(cut, amount - done)
        piece = reversal_split(amount, done, take, schedule, referred=referred)
        assert piece.total == take
        assert piece.creator >= 0 and piece.referral >= 0
        total = total.__class__(
            total.creator + piece.creator,
            total.platform + piece.platform,
            total.referral + piece.referral,
        )
        done += take
    rest = reversal_split(amount, done, amount - done, schedule, referred=referred)
    full = split(amount, schedule, referred=referred)
    assert (total.creator + rest.creator, total.platform + rest.platform) == (
        full.creator,
        full.platform,
    )
    assert total.referral + rest.referral == full.referral


@given(
    pieces=st.lists(st.integers(1, 10**6), min_size=1, max_size=40),
    schedule=schedules().filter(lambda s: s.platform_rounding == "ceil"),
    referred=st.booleans(),
)
def test_splitting_an_amount_into_tips_never_lowers_the_platform_fee(pieces, schedule, referred):
    """For any split of an amount into tips, the platform's fees (its own share, and its cut
    with the referral) add up to at least the fee on the whole amount."""
    whole = split(sum(pieces), schedule, referred=referred)
    parts = [split(p, schedule, referred=referred) for p in pieces]
    assert sum(p.platform for p in parts) >= whole.platform
    assert sum(p.platform + p.referral for p in parts) >= whole.platform + whole.referral


def test_round_down_could_be_gamed_and_round_up_cannot():
    """The finding: under the first schedule twenty 4-token tips paid no fee."""
    assert sum(split(4, FIRST, referred=False).platform for _ in range(20)) == 0
    assert split(80, FIRST, referred=False).platform == 16
    assert sum(split(4, CURRENT, referred=False).platform for _ in range(20)) == 20
    assert split(80, CURRENT, referred=False).platform == 16
    # any one-token tip pays a fee when the schedule takes one
    assert split(1, CURRENT, referred=False).platform == 1


@pytest.mark.parametrize(
    ("amount", "referred", "expected"),
    [
        (1, False, (0, 1, 0)),  # 20% of 1 = 0.2 -> platform 1: a fee on every tip
        (4, False, (3, 1, 0)),
        (5, False, (4, 1, 0)),
        (7, False, (5, 2, 0)),  # 20% of 7 = 1.4 -> platform 2
        (100, False, (80, 20, 0)),
        (100, True, (80, 15, 5)),
        (19, True, (15, 4, 0)),  # 20% of 19 = 3.8 -> 4; 5% of 19 = 0.95 -> referral 0
        (20, True, (16, 3, 1)),
    ],
)
def test_current_schedule_examples(amount, referred, expected):
    s = split(amount, CURRENT, referred=referred)
    assert (s.creator, s.platform, s.referral) == expected


@pytest.mark.parametrize(
    ("amount", "referred", "expected"),
    [
        (1, False, (1, 0, 0)),  # a 1-token tip went to the creator whole
        (7, False, (6, 1, 0)),  # 20% of 7 = 1.4 -> platform 1
        (100, False, (80, 20, 0)),
        (100, True, (80, 15, 5)),
        (19, True, (16, 3, 0)),  # 5% of 19 = 0.95 -> referral 0
        (20, True, (16, 3, 1)),
    ],
)
def test_first_schedule_examples(amount, referred, expected):
    s = split(amount, FIRST, referred=referred)
    assert (s.creator, s.platform, s.referral) == expected


@pytest.mark.parametrize("bad", [-1, 1.0, 2.5, True, "3"])
def test_amounts_must_be_non_negative_ints(bad):
    with pytest.raises(ValueError):
        split(bad, CURRENT, referred=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"creator_bps": 8000, "platform_bps": 1000, "referral_bps": 0},  # not 100%
        {"creator_bps": 8000, "platform_bps": 2000, "referral_bps": 2500},  # referral > platform
        {"creator_bps": 8000.0, "platform_bps": 2000, "referral_bps": 0},  # float
        {"creator_bps": -1, "platform_bps": 10001, "referral_bps": 0},
        {"creator_bps": 8000, "platform_bps": 2000, "referral_bps": 0, "platform_rounding": "up"},
    ],
)
def test_invalid_schedules_are_refused(kwargs):
    with pytest.raises(ValueError):
        FeeSchedule("bad", **kwargs)


def test_reversing_more_than_was_split_is_refused():
    with pytest.raises(ValueError):
        reversal_split(10, 8, 3, CURRENT, referred=False)
