"""Cuts a stream of encoded packets into CMAF segments. Pure: packets in, bytes out.

Video drives the cut: each keyframe at or past the segment target starts a new segment (the
engine forces one every segment). Audio packets belong to the segment their decode time falls
in; because the AAC encoder lags the video by a frame or two, a segment is only closed once an
audio packet at or past its end has arrived (or there is no audio at all).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.encoder import EncodedPacket
from hls.fmp4 import (
    AudioTrack,
    Sample,
    TrackRun,
    VideoTrack,
    aac_codec_string,
    annexb_to_avcc,
    avc_codec_string,
    init_segment,
    media_segment,
    parameter_sets,
)

VIDEO_TRACK_ID = 1
AUDIO_TRACK_ID = 2


@dataclass(frozen=True)
class InitSegment:
    data: bytes
    codecs: str  # RFC 6381 list for the playlist / MSE, e.g. 'avc1.64001f,mp4a.40.2'
    width: int
    height: int


@dataclass(frozen=True)
class Segment:
    sequence: int
    start: float  # seconds on the stream timeline
    duration: float
    data: bytes  # moof + mdat
    independent: bool  # starts with a keyframe


@dataclass
class _Open:
    sequence: int
    start_dts: int
    video: list[EncodedPacket]
    end_dts: int | None = None  # set when the next segment's keyframe arrives


class Packager:
    """Stateful segmenter for one rendition (video + shared audio)."""

    def __init__(
        self,
        *,
        width: int,
        height: int,
        fps: int,
        segment_duration: float,
        audio: AudioTrack | None,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.segment_duration = segment_duration
        self.audio_track = audio
        self.init: InitSegment | None = None
        self._video_timescale = 0
        self._closing: list[_Open] = []  # video complete, waiting for audio to catch up
        self._current: _Open | None = None
        self._audio: list[EncodedPacket] = []  # not yet assigned to a segment
        self._audio_reached = -1  # highest audio dts seen, in audio timescale
        self._next_sequence = 0

    def push(self, packet: EncodedPacket) -> list[InitSegment | Segment]:
        out: list[InitSegment | Segment] = []
        if packet.kind == "video":
            self._push_video(packet, out)
        elif self.audio_track is not None and self.init is not None:
            self._audio.append(packet)
            self._audio_reached = max(self._audio_reached, packet.dts)
        out.extend(self._ready())
        return out

    def flush(self) -> list[Segment]:
        """Close everything still open (end of stream): no more audio will come."""
        if self._current is not None and self._current.video:
            last = self._current.video[-1]
            self._current.end_dts = last.dts + last.duration
            self._closing.append(self._current)
            self._current = None
        self._audio_reached = 1 << 62
        return [s for s in self._ready() if isinstance(s, Segment)]

    # ------------------------------------------------------------------------------

    def _push_video(self, packet: EncodedPacket, out: list[InitSegment | Segment]) -> None:
        if self.init is None:
            if not packet.keyframe:
                return  # nothing is decodable before the first keyframe
            params = parameter_sets(packet.data)
            if params is None:
                return
            self._video_timescale = packet.timescale
            sps, pps = params
            tracks: list[VideoTrack | AudioTrack] = [
                VideoTrack(VIDEO_TRACK_ID, self.width, self.height, sps, pps, packet.timescale)
            ]
            codecs = [avc_codec_string(sps)]
            if self.audio_track is not None:
                tracks.append(self.audio_track)
                codecs.append(aac_codec_string(self.audio_track.audio_specific_config))
            self.init = InitSegment(init_segment(tracks), ",".join(codecs), self.width, self.height)
            out.append(self.init)
        target = round(self.segment_duration * packet.timescale)
        half_frame = packet.timescale // (2 * self.fps)
        cur = self._current
        if cur is None:
            self._current = _Open(self._take_sequence(), packet.dts, [packet])
            return
        if packet.keyframe and packet.dts - cur.start_dts >= target - half_frame:
            cur.end_dts = packet.dts
            self._closing.append(cur)
            self._current = _Open(self._take_sequence(), packet.dts, [packet])
        else:
            cur.video.append(packet)

    def _take_sequence(self) -> int:
        seq = self._next_sequence
        self._next_sequence += 1
        return seq

    def _ready(self) -> list[InitSegment | Segment]:
        out: list[InitSegment | Segment] = []
        while self._closing:
            seg = self._closing[0]
            assert seg.end_dts is not None
            end_time = seg.end_dts / self._video_timescale
            if self.audio_track is not None:
                rate = self.audio_track.sample_rate
                if self._audio_reached < round(end_time * rate):
                    break  # audio for this span may still be on its way
            self._closing.pop(0)
            out.append(self._build(seg, end_time))
        return out

    def _build(self, seg: _Open, end_time: float) -> Segment:
        assert seg.end_dts is not None
        samples = []
        for i, p in enumerate(seg.video):
            nxt = seg.video[i + 1].dts if i + 1 < len(seg.video) else seg.end_dts
            samples.append(Sample(annexb_to_avcc(p.data), nxt - p.dts, p.keyframe, p.pts - p.dts))
        runs = [TrackRun(VIDEO_TRACK_ID, seg.start_dts, samples)]
        if self.audio_track is not None:
            cut = round(end_time * self.audio_track.sample_rate)
            mine = [a for a in self._audio if a.dts < cut]
            self._audio = [a for a in self._audio if a.dts >= cut]
            if mine:
                runs.append(
                    TrackRun(
                        AUDIO_TRACK_ID,
                        mine[0].dts,
                        [Sample(a.data, a.duration, True) for a in mine],
                    )
                )
        start = seg.start_dts / self._video_timescale
        return Segment(
            sequence=seg.sequence,
            start=start,
            duration=end_time - start,
            data=media_segment(seg.sequence + 1, runs),
            independent=seg.video[0].keyframe,
        )
