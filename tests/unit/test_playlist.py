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


def _ll_segments(first: int, n: int) -> list[SegmentEntry]:
    from hls.playlist import PartEntry

    return [
        SegmentEntry(
            i,
            2.0,
            f"seg{i}.m4s",
            parts=tuple(PartEntry(j, 1 / 3, f"part{i}.{j}.m4s", j == 0) for j in range(6)),
        )
        for i in range(first, first + n)
    ]


def _ll(pending: int = 2):
    from hls.playlist import LowLatency, PartEntry, RenditionReport

    return LowLatency(
        part_target=0.33334,
        pending=tuple(PartEntry(j, 1 / 3, f"part20.{j}.m4s", j == 0) for j in range(pending)),
        preload_hint=f"part20.{pending}.m4s",
        reports=(RenditionReport("../480p/index.m3u8", 20, 1),),
    )


def test_low_latency_playlist_tags():
    from datetime import UTC, datetime

    t0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    text = render_media_playlist(
        _ll_segments(10, 10),
        init_uri="init.mp4",
        segment_duration=2.0,
        ended=False,
        low_latency=_ll(),
        first_segment_time=t0,
    )
    pl = m3u8.loads(text)
    assert pl.version == 9
    assert pl.server_control.can_block_reload == "YES"
    assert pl.server_control.part_hold_back == 1.001 >= 3 * pl.part_inf.part_target
    assert pl.server_control.can_skip_until == 12.0
    assert pl.preload_hint.uri == "part20.2.m4s"
    assert [(r.uri, r.last_msn, r.last_part) for r in pl.rendition_reports] == [
        ("../480p/index.m3u8", 20, 1)
    ]
    assert pl.segments[0].program_date_time == t0
    # Parts only within three target durations of the end (the last 3 segments) + pending.
    with_parts = [s.uri for s in pl.segments if s.parts]
    assert with_parts == ["seg17.m4s", "seg18.m4s", "seg19.m4s", None]
    assert pl.segments[-1].parts[0].independent == "YES"


def test_delta_update_skips_all_but_the_last_skip_window():
    from datetime import UTC, datetime

    t0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    segs = _ll_segments(10, 10)  # 20 s of playlist; CAN-SKIP-UNTIL is 12 s
    text = render_media_playlist(
        segs,
        init_uri="i",
        segment_duration=2.0,
        ended=False,
        low_latency=_ll(),
        skip=True,
        first_segment_time=t0,
    )
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=4" in text
    pl = m3u8.loads(text)
    assert pl.media_sequence == 10  # unchanged by a delta update
    assert [s.uri for s in pl.segments if s.uri][0] == "seg14.m4s"
    # The date-time follows the first segment actually listed.
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-22T04:00:08.000Z" in text


def test_short_playlist_skips_nothing():
    text = render_media_playlist(
        _ll_segments(0, 5),
        init_uri="i",
        segment_duration=2.0,
        ended=False,
        low_latency=_ll(),
        skip=True,
    )
    assert "EXT-X-SKIP" not in text


def test_ended_playlist_drops_low_latency_tags():
    text = render_media_playlist(
        _ll_segments(0, 3), init_uri="i", segment_duration=2.0, ended=True, low_latency=_ll()
    )
    assert (
        "EXT-X-PART" not in text
        and "PRELOAD-HINT" not in text
        and text.endswith("#EXT-X-ENDLIST\n")
    )


def test_master_playlist():
    from hls.playlist import Variant, render_master_playlist

    text = render_master_playlist(
        [
            Variant(
                "a/720p/index.m3u8", 3_000_000, 2_600_000, 1280, 720, "avc1.64001f,mp4a.40.2", 30
            ),
            Variant("a/240p/index.m3u8", 600_000, 500_000, 426, 240, "avc1.640015,mp4a.40.2", 30),
        ]
    )
    pl = m3u8.loads(text)
    assert pl.is_variant
    first = pl.playlists[0].stream_info
    assert (first.bandwidth, first.average_bandwidth, first.resolution) == (
        3_000_000,
        2_600_000,
        (1280, 720),
    )
    assert first.codecs == "avc1.64001f,mp4a.40.2" and first.frame_rate == 30


def test_part_target_rounds_up():
    from hls.playlist import part_target

    assert part_target(1 / 3) == 0.33334
    assert part_target(0.2) == 0.2
