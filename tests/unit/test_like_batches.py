"""`api.comments.likes.take_batch`: one kind per batch, each pair once, busy pairs wait, order
kept for what stays queued."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from api.comments.likes import take_batch

POSTS = [uuid.UUID(int=i) for i in range(3)]
USERS = [uuid.UUID(int=100 + i) for i in range(3)]


@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from(POSTS), st.sampled_from(USERS)), max_size=30),
    st.integers(min_value=1, max_value=10),
    st.sets(st.tuples(st.sampled_from(POSTS), st.sampled_from(USERS)), max_size=3),
)
def test_take_batch(items, limit, busy) -> None:
    loop = asyncio.new_event_loop()
    try:
        queue = deque((like, (p, u), loop.create_future()) for like, p, u in items)
        before = list(queue)
        if not queue:
            assert take_batch(queue, True, limit, busy) == []
            return
        kind = queue[0][0]
        batch = take_batch(queue, kind, limit, set(busy))
        pairs = [pair for _, pair, _ in batch]
        assert len(batch) <= limit
        assert all(like == kind for like, _, _ in batch)
        assert len(set(pairs)) == len(pairs) and not set(pairs) & busy
        # nothing lost, nothing duplicated, and both parts keep the queue's order
        assert sorted(map(id, batch + list(queue))) == sorted(map(id, before))
        assert [x for x in before if x in batch] == batch
        assert [x for x in before if x not in batch] == list(queue)
    finally:
        loop.close()
