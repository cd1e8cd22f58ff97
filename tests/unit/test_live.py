"""LiveBroadcast: what blocking requests wait for, and how publishes wake them."""

from __future__ import annotations

import asyncio

import pytest

from hls.live import LiveBroadcast
from hls.packager import Part, Segment

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _broadcast() -> LiveBroadcast:
    return LiveBroadcast(
        run="abcd1234",
        renditions=["720p", "240p"],
        segment_duration=2.0,
        part_duration=1 / 3,
        window=5,
    )


def _part(seq: int, idx: int) -> Part:
    return Part(seq, idx, seq * 2 + idx / 3, 1 / 3, b"p%d.%d" % (seq, idx), idx == 0)


def _segment(seq: int) -> Segment:
    return Segment(seq, seq * 2.0, 2.0, b"s%d" % seq, True, 6)


async def test_waiter_wakes_on_the_part_it_asked_for():
    live = _broadcast()
    waiter = asyncio.create_task(live.wait_for("720p", 0, 2, hold_for=5))
    for idx in range(2):
        live.publish_part("720p", _part(0, idx))
        await asyncio.sleep(0)
        assert not waiter.done()
    live.publish_part("240p", _part(0, 2))  # another rendition's part does not satisfy it
    await asyncio.sleep(0)
    assert not waiter.done()
    live.publish_part("720p", _part(0, 2))
    assert await waiter is True


async def test_held_requests_share_one_future_per_part_and_timeouts_do_not_cancel_it():
    live = _broadcast()
    hers = [asyncio.create_task(live.wait_for("720p", 0, 1, hold_for=5)) for _ in range(100)]
    short = asyncio.create_task(live.wait_for("720p", 0, 1, hold_for=0.02))
    other = asyncio.create_task(live.wait_for("240p", 0, 1, hold_for=5))
    whole = asyncio.create_task(live.wait_for("720p", 0, None, hold_for=5))
    await asyncio.sleep(0)
    state = live.renditions["720p"]
    # 101 requests for part 0.1, one for segment 0: two futures, not one wake-up per request.
    assert len(state.waiting) == 2
    assert await short is False  # timed out...
    live.publish_part("720p", _part(0, 0))
    live.publish_part("720p", _part(0, 1))
    assert all(await asyncio.gather(*hers))  # ...without cancelling the others' future
    assert not whole.done() and not other.done()
    assert list(state.waiting) == [(0, 1 << 30)]
    live.publish_segment("720p", _segment(0))
    assert await whole is True
    assert not state.waiting and not other.done()
    live.end()
    assert await other is True


async def test_waiter_times_out():
    live = _broadcast()
    assert await live.wait_for("720p", 3, None, hold_for=0.05) is False


async def test_end_releases_waiters():
    live = _broadcast()
    waiter = asyncio.create_task(live.wait_for("720p", 9, 0, hold_for=5))
    await asyncio.sleep(0)
    live.end()
    assert await waiter is True
    assert live.playlist("720p").endswith("#EXT-X-ENDLIST\n")


async def test_segment_request_waits_for_the_whole_segment():
    live = _broadcast()
    for idx in range(6):
        live.publish_part("720p", _part(0, idx))
    assert not live.renditions["720p"].contains(0, None)
    live.publish_segment("720p", _segment(0))
    assert live.renditions["720p"].contains(0, None)
    assert live.renditions["720p"].contains(0, 5)


async def test_too_far_ahead_and_preload_hint_rollover():
    live = _broadcast()
    for idx in range(6):
        live.publish_part("720p", _part(0, idx))
    assert live.too_far_ahead("720p", 2) and not live.too_far_ahead("720p", 1)
    assert 'PRELOAD-HINT:TYPE=PART,URI="part1.0.m4s"' in live.playlist("720p")
    live.publish_segment("720p", _segment(0))
    assert 'URI="part1.0.m4s"' in live.playlist("720p")


async def test_window_expires_segments_and_old_parts():
    live = _broadcast()
    expired = []
    for seq in range(8):
        for idx in range(6):
            live.publish_part("720p", _part(seq, idx))
        expired += live.publish_segment("720p", _segment(seq))
    assert expired == ["seg0.m4s", "seg1.m4s", "seg2.m4s"]
    assert min(k[0] for k in live.renditions["720p"].parts) == 4  # parts of the last 3+1 kept


async def test_playlist_is_rendered_once_per_version():
    live = _broadcast()
    live.publish_part("720p", _part(0, 0))
    first = live.playlist("720p")
    assert live.playlist("720p") is first
    live.publish_part("240p", _part(0, 0))  # rendition reports changed: a new rendering
    assert live.playlist("720p") is not first
