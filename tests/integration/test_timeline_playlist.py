"""Room events reach a live broadcast's playlist: a real publisher, a mark published on the
stream's timeline channel (as the API nodes publish a poll's opening and close), and the
EXT-X-DATERANGE read back from the origin's playlist with the `m3u8` library: on the segment
(or part) its time falls in, then completed by its end and result."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import m3u8
import pytest

from engine.room_timeline import Mark, timeline_channel
from tests.hlscheck import fetch, variant_url, wait_for_playlist
from tests.performers import stream_of
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _ranges(pl: m3u8.M3U8) -> list[tuple[object, tuple[datetime, datetime]]]:
    """(date range, the wall-clock span of the segment, or of the pending parts, whose entries
    hold it) for every tag in the playlist."""
    found = []
    at = pl.program_date_time  # the first segment's (EXT-X-PROGRAM-DATE-TIME)
    for seg in pl.segments:
        length = seg.duration if seg.uri else sum(p.duration for p in seg.parts)
        span = (at, at + timedelta(seconds=length))
        for d in [*seg.dateranges, *(x for part in seg.parts for x in part.dateranges)]:
            found.append((d, span))
        at = span[1]
    return found


async def _until(http, url: str, test, what: str, timeout: float = 20.0):
    async with asyncio.timeout(timeout):
        while True:
            status, body = await fetch(http, url)
            if status == 200 and (found := test(m3u8.loads(body.decode()))):
                return found
            await asyncio.sleep(0.2)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


async def test_a_room_event_is_a_daterange_in_the_live_playlist(server, http, performer):
    stream_id, token = await stream_of(server.pool, performer, "Timeline")
    pub = await publish(http, server.base_url, stream_id, token, size=(426, 240))
    try:
        url = await variant_url(http, server.base_url, stream_id, height=240)
        await wait_for_playlist(http, url, segments=1, timeout=30)
        pubsub = server.broadcasts.pubsub
        channel = timeline_channel(stream_id)
        await pubsub.publish(channel, {"id": "broken"})  # malformed: skipped, not fatal
        opened = datetime.now(UTC)
        attrs = {"X-QUESTION": "Encore?", "X-OPTIONS": 2}
        await pubsub.publish(channel, Mark("poll-t1", "poll", opened, attrs=attrs).message())

        def listed(pl):
            return next(((d, s) for d, s in _ranges(pl) if d.id == "poll-t1"), None)

        tag, (seg_start, seg_end) = await _until(http, url, listed, "the poll's date range")
        assert tag.class_ == "com.teezu.poll" and tag.end_date is None
        assert dict(tag.x_client_attrs)["x_question"] == '"Encore?"'
        start = datetime.fromisoformat(tag.start_date)
        assert abs((start - opened).total_seconds()) < 0.1  # snapped to a frame of 1/30 s
        # written with the segment (or the pending parts) its time falls in
        # never written after the segment it falls in (ahead of the media's edge: with the
        # pending parts, until the media reaches it)
        assert seg_start - timedelta(seconds=0.001) <= start

        def placed(pl):
            hit = listed(pl)
            return (
                hit if hit and hit[1][0] - timedelta(seconds=0.001) <= start < hit[1][1] else None
            )

        await _until(http, url, placed, "the poll on the segment its time falls in")

        closed = opened + timedelta(seconds=1.5)
        done = Mark("poll-t1", "poll", opened, closed, {"X-WINNER": 0, "X-VOTERS": 3})
        await pubsub.publish(channel, done.message())

        def completed(pl):
            hit = listed(pl)
            return hit if hit and hit[0].end_date else None

        tag, _ = await _until(http, url, completed, "the poll's end")
        attrs_now = dict(tag.x_client_attrs)
        assert datetime.fromisoformat(tag.end_date) > datetime.fromisoformat(tag.start_date)
        assert attrs_now["x_winner"] == "0" and attrs_now["x_question"] == '"Encore?"'
    finally:
        await pub.delete(http, server.base_url)
