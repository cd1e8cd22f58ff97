"""Media playlist rendering, checked by the m3u8 parser players' tooling uses."""

from __future__ import annotations

import m3u8
import pytest

from hls.playlist import SegmentEntry, render_media_playlist, target_duration


def _segments(first: int, n: int, d: float = 2.0) -> list[SegmentEntry]:
    return [SegmentEntry(i, d, f"ab12cd34/seg{i}.m4s") for i in range(first, first + n)]


def test_live_playlist_tags():
    text = render_media_playlist(
        _segments(7, 3), init_uri="ab12cd34/init.mp4", segment_duration=2.0, ended=False
    )
    pl = m3u8.loads(text)
    assert pl.version == 7
    assert pl.media_sequence == 7
    assert pl.target_duration == 2
    assert not pl.is_endlist
    assert pl.is_independent_segments
    assert pl.segment_map[0].uri == "ab12cd34/init.mp4"
    assert [s.uri for s in pl.segments] == [f"ab12cd34/seg{i}.m4s" for i in (7, 8, 9)]
    assert [s.duration for s in pl.segments] == [2.0, 2.0, 2.0]


def test_ended_playlist_has_endlist():
    text = render_media_playlist(
        _segments(0, 2), init_uri="x/init.mp4", segment_duration=2.0, ended=True
    )
    assert m3u8.loads(text).is_endlist
    assert text.endswith("#EXT-X-ENDLIST\n")


def test_empty_ended_playlist_is_valid():
    text = render_media_playlist([], init_uri="x/init.mp4", segment_duration=2.0, ended=True)
    pl = m3u8.loads(text)
    assert pl.is_endlist and pl.media_sequence == 0 and not pl.segments


@pytest.mark.parametrize(
    ("durations", "expected"),
    [([2.0, 2.0], 2), ([2.0, 2.4], 2), ([2.0, 2.5], 3), ([1.0], 2), ([6.2], 6)],
)
def test_target_duration_rounds_like_rfc8216(durations, expected):
    assert target_duration(durations, 2.0) == expected


def test_sequence_gaps_are_refused():
    segs = [SegmentEntry(1, 2.0, "a"), SegmentEntry(3, 2.0, "b")]
    with pytest.raises(ValueError):
        render_media_playlist(segs, init_uri="i", segment_duration=2.0, ended=False)
