"""Cuts one rendition's encoded packets into CMAF parts and segments. Pure: packets in, bytes out.

Video drives the cuts. A part closes every ``part_duration`` (a whole number of frames at the
constant output rate); a segment closes on the keyframe the engine forces every
``segment_duration``, so segments are whole parts and every segment starts independent. Each
part is one ``moof``+``mdat`` fragment and a segment's bytes are its parts' bytes in order, so a
player may fetch either. Audio packets go to the part their decode time falls in; because the
AAC encoder lags video by a frame or two, a part only closes once audio has reached its end (or
there is no audio at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


# Media sequence numbers start at 1, not 0: hls.js (1.6) only makes blocking LL-HLS playlist
# requests when the last complete segment's number is truthy, so with 0 a viewer who joins during
# a broadcast's second segment polls every target duration instead and stalls (measured: 1.7 s).
FIRST_SEQUENCE = 1


@dataclass(frozen=True)
class InitSegment:
    data: bytes
    codecs: str  # RFC 6381 list for the playlist / MSE, e.g. 'avc1.64001f,mp4a.40.2'
    width: int
    height: int


@dataclass(frozen=True)
class Part:
    """An LL-HLS partial segment: part ``index`` of segment ``sequence``."""

    sequence: int
    index: int
    start: float  # seconds on the stream timeline
    duration: float
    data: bytes  # moof + mdat
    independent: bool  # starts with a keyframe
    received_at: float = 0.0  # its newest frame's EncodedPacket.received_at (engine.latency)


@dataclass(frozen=True)
class Segment:
    sequence: int
    start: float
    duration: float
    data: bytes  # the parts' fragments, in order
    independent: bool
    part_count: int


@dataclass
class _OpenPart:
    sequence: int
    index: int
    start_dts: int
    video: list[EncodedPacket]
    end_dts: int | None = None
    ends_segment: bool = False


@dataclass
class _OpenSegment:
    sequence: int
    start_dts: int
    parts: list[Part] = field(default_factory=list)


class Packager:
    """Stateful packager for one rendition (its video + the stream's shared audio)."""

    def __init__(
        self,
        *,
        width: int,
        height: int,
        fps: int,
        segment_duration: float,
        part_duration: float | None = None,
        audio: AudioTrack | None,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.segment_duration = segment_duration
        self.part_duration = part_duration or segment_duration
        self.audio_track = audio
        self.init: InitSegment | None = None
        self._timescale = 0
        self._closing: list[_OpenPart] = []  # video complete, waiting for audio to catch up
        self._part: _OpenPart | None = None
        self._segment: _OpenSegment | None = None
        # Parts of segment N may still wait for audio while segment N+1 is already open.
        self._unfinished: dict[int, _OpenSegment] = {}
        self._audio: list[EncodedPacket] = []  # not yet assigned to a part
        self._audio_reached = -1  # highest audio dts seen, in audio timescale
        self._next_sequence = FIRST_SEQUENCE
        self._fragments = 0  # mfhd sequence numbers, across the whole stream

    def push(self, packet: EncodedPacket) -> list[InitSegment | Part | Segment]:
        out: list[InitSegment | Part | Segment] = []
        if packet.kind == "video":
            self._push_video(packet, out)
        elif self.audio_track is not None and self.init is not None:
            self._audio.append(packet)
            self._audio_reached = max(self._audio_reached, packet.dts)
        out.extend(self._ready())
        return out

    def flush(self) -> list[Part | Segment]:
        """Close everything still open (end of stream): no more audio will come."""
        if self._part is not None and self._part.video:
            last = self._part.video[-1]
            self._part.end_dts = last.dts + last.duration
            self._part.ends_segment = True
            self._closing.append(self._part)
            self._part = None
        self._audio_reached = 1 << 62
        return [e for e in self._ready() if not isinstance(e, InitSegment)]

    # ------------------------------------------------------------------------------

    def _push_video(self, packet: EncodedPacket, out: list[InitSegment | Part | Segment]) -> None:
        if self.init is None:
            if not packet.keyframe:
                return  # nothing is decodable before the first keyframe
            params = parameter_sets(packet.data)
            if params is None:
                return
            self._timescale = packet.timescale
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
        half_frame = packet.timescale // (2 * self.fps)
        seg_target = round(self.segment_duration * packet.timescale) - half_frame
        part_target = round(self.part_duration * packet.timescale) - half_frame
        part, seg = self._part, self._segment
        if part is None or seg is None:
            self._open(packet, new_segment=True)
            return
        new_segment = packet.keyframe and packet.dts - seg.start_dts >= seg_target
        if new_segment or packet.dts - part.start_dts >= part_target:
            part.end_dts = packet.dts
            part.ends_segment = new_segment
            self._closing.append(part)
            self._open(packet, new_segment=new_segment)
        else:
            part.video.append(packet)

    def _open(self, packet: EncodedPacket, *, new_segment: bool) -> None:
        if new_segment or self._segment is None:
            self._segment = _OpenSegment(self._next_sequence, packet.dts)
            self._unfinished[self._segment.sequence] = self._segment
            self._next_sequence += 1
            index = 0
        else:
            assert self._part is not None
            index = self._part.index + 1
        self._part = _OpenPart(self._segment.sequence, index, packet.dts, [packet])

    def _ready(self) -> list[InitSegment | Part | Segment]:
        out: list[InitSegment | Part | Segment] = []
        while self._closing:
            open_part = self._closing[0]
            assert open_part.end_dts is not None
            end_time = open_part.end_dts / self._timescale
            if self.audio_track is not None:
                if self._audio_reached < round(end_time * self.audio_track.sample_rate):
                    break  # audio for this span may still be on its way
            self._closing.pop(0)
            part = self._build(open_part, end_time)
            out.append(part)
            seg = self._unfinished[open_part.sequence]
            seg.parts.append(part)
            if open_part.ends_segment:
                out.append(
                    Segment(
                        sequence=seg.sequence,
                        start=seg.parts[0].start,
                        duration=end_time - seg.parts[0].start,
                        data=b"".join(p.data for p in seg.parts),
                        independent=seg.parts[0].independent,
                        part_count=len(seg.parts),
                    )
                )
                del self._unfinished[seg.sequence]
        return out

    def _build(self, part: _OpenPart, end_time: float) -> Part:
        assert part.end_dts is not None
        samples = []
        for i, p in enumerate(part.video):
            nxt = part.video[i + 1].dts if i + 1 < len(part.video) else part.end_dts
            samples.append(Sample(annexb_to_avcc(p.data), nxt - p.dts, p.keyframe, p.pts - p.dts))
        runs = [TrackRun(VIDEO_TRACK_ID, part.start_dts, samples)]
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
        self._fragments += 1
        start = part.start_dts / self._timescale
        return Part(
            sequence=part.sequence,
            index=part.index,
            start=start,
            duration=end_time - start,
            data=media_segment(self._fragments, runs),
            independent=part.video[0].keyframe,
            received_at=max(p.received_at for p in part.video),
        )
