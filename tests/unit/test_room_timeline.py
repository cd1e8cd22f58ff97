"""Room events on the timeline: marks snapped to output frames, completed once, and written
into the live and VOD media playlists as EXT-X-DATERANGE tags, read back with the `m3u8`
library (the tag on the segment the event happened in, with its class and attributes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import m3u8
import pytest

from engine.room_timeline import Mark, RoomTimeline, merge
from hls.live import LiveBroadcast
from hls.packager import Part, Segment
from hls.playlist import DateRange, SegmentEntry, daterange_line, render_media_playlist

T0 = datetime(2026, 12, 8, 1, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_mark_lands_on_the_frame_it_happened_on():
    timeline = RoomTimeline(T0, fps=30)
    assert timeline.frame_time(at(1.017)) == at(31 / 30)  # slot round(30.51) = 31
    assert timeline.frame_time(at(-3)) == T0  # before the first frame: the first frame
    timeline.note(Mark("poll-1", "poll", at(1.017)))
    (mark,) = timeline.within()
    assert timeline.seconds(mark) == pytest.approx(31 / 30)


def test_a_later_mark_completes_an_event_without_rewriting_it():
    opened = Mark("poll-1", "poll", at(2), attrs={"X-QUESTION": "Encore?"})
    closed = Mark("poll-1", "poll", at(2.5), at(9), {"X-QUESTION": "changed", "X-WINNER": 1})
    done = merge(opened, closed)
    assert done.start == at(2) and done.end == at(9)
    assert done.attrs == {"X-QUESTION": "Encore?", "X-WINNER": 1}
    timeline = RoomTimeline(T0, fps=30)
    assert timeline.note(opened) is True
    assert timeline.note(opened) is False  # the same again changes nothing
    assert timeline.note(closed) is True
    assert timeline.within()[0].end == at(9)


def test_marks_refuse_unknown_kinds_and_naive_times():
    with pytest.raises(ValueError):
        Mark("x", "fireworks", at(0))
    with pytest.raises(ValueError):
        Mark("x", "poll", datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time is the point
    with pytest.raises(ValueError):
        Mark.from_message({"id": "x", "kind": "poll", "start": T0.isoformat(), "attrs": {"X": []}})
    round_trip = Mark("d", "duel", at(1), at(2), {"X-WINNER": "tie", "X-N": 3})
    assert Mark.from_message(round_trip.message()) == round_trip


def _broadcast() -> LiveBroadcast:
    live = LiveBroadcast(
        run="r1",
        renditions=["720p"],
        segment_duration=2.0,
        part_duration=0.5,
        window=4,
        started_at=T0,
        fps=30,
    )
    return live


def _publish(live: LiveBroadcast, sequences: range, parts_after: int = 0) -> None:
    for seq in sequences:
        for i in range(4):
            live.publish_part("720p", Part(seq, i, seq * 2 + i / 2, 0.5, b"p", i == 0))
        live.publish_segment("720p", Segment(seq, seq * 2.0, 2.0, b"s", True, 4))
    for i in range(parts_after):
        seq = sequences.stop
        live.publish_part("720p", Part(seq, i, seq * 2 + i / 2, 0.5, b"p", i == 0))


def _ranges_by_segment(text: str) -> dict[int, list]:
    """The date ranges m3u8 read before each segment (or before one of its parts)."""
    playlist = m3u8.loads(text)
    out = {}
    for i, seg in enumerate(playlist.segments):
        found = [*seg.dateranges, *(d for part in seg.parts for d in part.dateranges)]
        if found:
            out[playlist.media_sequence + i] = found
    return out


def test_the_live_playlist_carries_room_events_on_their_segments():
    live = _broadcast()
    _publish(live, range(6), parts_after=2)  # segments 2..5 listed (window 4), seg 6 pending
    live.note(Mark("milestone-a", "milestone", at(0.5), at(0.5), {"X-TITLE": "Wave"}))
    live.note(Mark("poll-p", "poll", at(5.1), attrs={"X-QUESTION": 'Say "hi"?'}))
    live.note(Mark("duel-d", "duel", at(9.3), attrs={"X-SECONDS": 120}))
    live.note(Mark("moment-m", "moment", at(12.6), attrs={"X-HEAT": 4.5}))  # in the pending part
    version = live.version
    live.note(Mark("poll-p", "poll", at(5.1), at(7.9), {"X-WINNER": 1, "X-VOTERS": 12}))
    assert live.version == version + 1  # a changed timeline renders a new playlist
    text = live.playlist("720p")
    by_segment = _ranges_by_segment(text)
    # the milestone ended before the window's first segment (4.0 s): gone
    assert "milestone-a" not in text
    (poll,) = by_segment[2]  # 5.1 s is in segment 2 (4.0–6.0 s)
    assert poll.class_ == "com.teezu.poll"
    assert datetime.fromisoformat(poll.start_date) == at(153 / 30)  # snapped to its frame
    assert datetime.fromisoformat(poll.end_date) == at(7.9)
    attrs = dict(poll.x_client_attrs)
    assert attrs["x_question"] == "\"Say 'hi'?\"" and attrs["x_winner"] == "1"
    (duel,) = by_segment[4]  # 9.3 s is in segment 4 (8.0–10.0 s)
    assert duel.class_ == "com.teezu.duel" and duel.end_date is None
    # past the last whole segment: written with the pending parts (m3u8 has no segment for it)
    assert 'ID="moment-m",CLASS="com.teezu.moment"' in text
    assert text.index("moment-m") > text.index("seg5.m4s")
    # a delta update (EXT-X-SKIP) keeps every date range in the window
    delta = live.playlist("720p", skip=True)
    assert all(i in delta for i in ("poll-p", "duel-d", "moment-m"))


def test_the_vod_playlist_replays_every_room_event():
    entries = [SegmentEntry(i, 2.0, f"seg{i}.m4s") for i in range(5)]
    ranges = [
        DateRange("poll-p", "com.teezu.poll", at(1.0), at(3.5), (("X-WINNER", 0),)),
        DateRange("duel-d", "com.teezu.duel", at(6.2), at(9.9), (("X-WINNER", "tie"),)),
    ]
    vod = render_media_playlist(
        entries,
        init_uri="init.mp4",
        segment_duration=2.0,
        ended=True,
        first_segment_time=T0,
        dateranges=ranges,
    )
    playlist = m3u8.loads(vod)
    assert playlist.is_endlist
    by_segment = _ranges_by_segment(vod)
    assert [d.id for d in by_segment[0]] == ["poll-p"] and [d.id for d in by_segment[3]] == [
        "duel-d"
    ]


def test_bad_date_ranges_are_refused():
    with pytest.raises(ValueError):
        daterange_line(DateRange("x", "c", T0, attrs=(("Y-NOT", 1),)))
    with pytest.raises(ValueError):
        daterange_line(DateRange("x", "c", T0, attrs=(("X-N", float("nan")),)))
    with pytest.raises(ValueError):  # no program date time to anchor them
        render_media_playlist(
            [SegmentEntry(0, 2.0, "seg0.m4s")],
            init_uri="i",
            segment_duration=2.0,
            ended=True,
            dateranges=[DateRange("x", "c", T0)],
        )
    # an end before the start is written as the start (END-DATE never precedes START-DATE)
    line = daterange_line(DateRange("x", "c", at(5), at(4)))
    assert line.count(T0.replace(second=5).isoformat(timespec="milliseconds")[:19]) == 2
