"""The poll's winner rule (api/engagement/polls.py): weight, then voters, else a tie."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.engagement.polls import OptionTally, decide, tally


def test_tally_fills_in_options_nobody_chose():
    assert tally(3, [(2, 1, 5)]) == [
        OptionTally(0, 0, 0),
        OptionTally(1, 0, 0),
        OptionTally(2, 1, 5),
    ]


def test_the_most_weight_wins_then_the_most_voters():
    assert decide(tally(2, [(0, 1, 40), (1, 2, 30)])).winner == 0
    assert decide(tally(2, [(0, 1, 30), (1, 3, 30)])).winner == 1  # equal tokens, more voters
    tied = decide(tally(3, [(0, 2, 30), (1, 2, 30), (2, 1, 5)]))
    assert (tied.winner, tied.tie) == (None, True)
    empty = decide(tally(2, []))
    assert (empty.winner, empty.tie) == (None, False)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 1000)), max_size=50))
def test_the_winner_has_no_rival_at_or_above_it(votes):
    rows: dict[int, tuple[int, int]] = {}
    for option, weight in votes:
        n, w = rows.get(option, (0, 0))
        rows[option] = (n + 1, w + weight)
    counted = tally(6, [(o, n, w) for o, (n, w) in rows.items()])
    result = decide(counted)
    if result.winner is None:
        assert not votes or result.tie
    else:
        best = counted[result.winner]
        assert all(
            (t.weight, t.votes) < (best.weight, best.votes) for t in counted if t is not best
        )
