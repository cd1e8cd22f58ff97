"""Minimal fragmented-MP4 (CMAF) writer for LL-HLS: init segments, moof/mdat fragments.

Hand-written because FFmpeg's mov muxer decides fragment boundaries itself and PyAV cannot ask
it to flush a fragment, while LL-HLS needs parts cut on exact frame boundaries with known
durations.

Everything here is pure: functions take bytes / dataclasses and return bytes, no I/O.
Supported codecs: H.264 (``avc1`` + ``avcC``) and AAC-LC (``mp4a`` + ``esds``).
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "AudioTrack",
    "Box",
    "Sample",
    "TrackRun",
    "VideoTrack",
    "aac_codec_string",
    "annexb_to_avcc",
    "avc_codec_string",
    "init_segment",
    "iter_boxes",
    "media_segment",
    "parameter_sets",
    "split_annexb",
]

NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

# ISO/IEC 14496-12 sample_flags: is_leading(2) depends_on(2) is_depended_on(2)
# has_redundancy(2) padding(3) non_sync(1) degradation_priority(16).
_SYNC_SAMPLE_FLAGS = 2 << 24
_NON_SYNC_SAMPLE_FLAGS = (1 << 24) | (1 << 16)

_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
# data-offset | sample-duration | sample-size | sample-flags | sample-composition-time-offset
_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800

_UNITY_MATRIX = struct.pack(">9i", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_HIGH_PROFILES = frozenset({100, 110, 122, 144, 44, 83, 86, 118, 128, 138, 139, 134, 135})


@dataclass(frozen=True)
class VideoTrack:
    """An H.264 video track."""

    track_id: int
    width: int
    height: int
    sps: bytes  # one SPS NAL unit, no start code
    pps: bytes  # one PPS NAL unit, no start code
    timescale: int = 90000


@dataclass(frozen=True)
class AudioTrack:
    """An AAC-LC audio track."""

    track_id: int
    sample_rate: int
    channels: int
    audio_specific_config: bytes  # e.g. the aac encoder's CodecContext.extradata
    timescale: int = 0  # 0 -> sample_rate

    @property
    def effective_timescale(self) -> int:
        """The timescale actually written (``sample_rate`` when ``timescale`` is 0)."""
        return self.timescale or self.sample_rate


@dataclass(frozen=True)
class Sample:
    """One coded sample (access unit / AAC frame)."""

    data: bytes  # video: 4-byte length-prefixed NAL units (AVCC); audio: raw AAC frame
    duration: int  # in the track's timescale
    is_sync: bool
    composition_offset: int = 0  # pts - dts in the track's timescale (may be negative)


@dataclass(frozen=True)
class TrackRun:
    """Consecutive samples of one track inside one fragment."""

    track_id: int
    base_decode_time: int  # tfdt, in the track's timescale
    samples: Sequence[Sample]


@dataclass(frozen=True)
class Box:
    """A box located in a byte string: ``data[offset:offset + size]`` is the whole box."""

    type: str
    offset: int
    size: int
    header_size: int = 8  # 16 when a 64-bit largesize is used

    @property
    def payload_offset(self) -> int:
        """Offset of the first byte after the box header."""
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        """Offset just past the box."""
        return self.offset + self.size


# --------------------------------------------------------------------------- box helpers


def _box(box_type: str, *payloads: bytes) -> bytes:
    body = b"".join(payloads)
    size = 8 + len(body)
    if size > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, box_type.encode("ascii"), size + 8) + body
    return struct.pack(">I4s", size, box_type.encode("ascii")) + body


def _full_box(box_type: str, version: int, flags: int, *payloads: bytes) -> bytes:
    return _box(box_type, struct.pack(">I", (version << 24) | (flags & 0xFFFFFF)), *payloads)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Walk the boxes found at one level of ``data[start:end]`` (top level by default).

    Handles 64-bit ``largesize`` and size 0 ("to the end"). Pass a box's ``payload_offset`` /
    ``end`` to walk its children. Raises ``ValueError`` on a truncated or malformed box.
    """
    stop = len(data) if end is None else end
    pos = start
    while pos < stop:
        if stop - pos < 8:
            raise ValueError(f"truncated box header at offset {pos}")
        size, raw_type = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if stop - pos < 16:
                raise ValueError(f"truncated largesize header at offset {pos}")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = stop - pos
        if size < header or pos + size > stop:
            raise ValueError(f"bad box size {size} at offset {pos}")
        yield Box(raw_type.decode("latin-1"), pos, size, header)
        pos += size


# --------------------------------------------------------------------------- H.264 / AAC


def split_annexb(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL units.

    Bytes before the first start code are ignored; trailing zero bytes of each NAL unit
    (the leading zero of a 4-byte start code, trailing_zero_8bits) are stripped.
    """
    nals: list[bytes] = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1:
        begin = pos + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        nal = data[begin : len(data) if nxt == -1 else nxt].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        pos = nxt
    return nals


def annexb_to_avcc(data: bytes, drop_types: Collection[int] = (NAL_SPS, NAL_PPS, NAL_AUD)) -> bytes:
    """Convert an Annex B access unit to 4-byte length-prefixed NAL units (AVCC sample data).

    NAL unit types in ``drop_types`` (SPS, PPS and AUD by default; they live in avcC) are dropped.
    """
    return b"".join(
        struct.pack(">I", len(nal)) + nal
        for nal in split_annexb(data)
        if nal[0] & 0x1F not in drop_types
    )


def parameter_sets(data: bytes) -> tuple[bytes, bytes] | None:
    """First (SPS, PPS) NAL units of an Annex B access unit, or None if either is missing."""
    sps: bytes | None = None
    pps: bytes | None = None
    for nal in split_annexb(data):
        nal_type = nal[0] & 0x1F
        if nal_type == NAL_SPS and sps is None:
            sps = nal
        elif nal_type == NAL_PPS and pps is None:
            pps = nal
    return (sps, pps) if sps is not None and pps is not None else None


def avc_codec_string(sps: bytes) -> str:
    """RFC 6381 codec string for an SPS NAL unit, e.g. ``'avc1.64001f'``."""
    if len(sps) < 4:
        raise ValueError("SPS too short")
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def aac_codec_string(audio_specific_config: bytes) -> str:
    """RFC 6381 codec string for an AudioSpecificConfig, e.g. ``'mp4a.40.2'`` for AAC-LC."""
    if len(audio_specific_config) < 2:
        raise ValueError("AudioSpecificConfig too short")
    asc = audio_specific_config
    object_type = asc[0] >> 3
    if object_type == 31:  # escape: 6 more bits
        object_type = 32 + (((asc[0] & 0x07) << 3) | (asc[1] >> 5))
    return f"mp4a.40.{object_type}"


class _BitReader:
    def __init__(self, rbsp: bytes) -> None:
        self._data = rbsp
        self._pos = 0

    def bit(self) -> int:
        if self._pos >= 8 * len(self._data):
            raise ValueError("read past end of RBSP")
        value = (self._data[self._pos >> 3] >> (7 - (self._pos & 7))) & 1
        self._pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        value = 0
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return (1 << zeros) - 1 + value


def _avcc_high_profile_trailer(sps: bytes) -> bytes:
    """chroma_format / bit depth trailer of avcC for High profiles ('' if not applicable)."""
    if sps[1] not in _HIGH_PROFILES:
        return b""
    rbsp = sps[4:].replace(b"\x00\x00\x03", b"\x00\x00")  # undo emulation prevention
    try:
        reader = _BitReader(rbsp)
        reader.ue()  # seq_parameter_set_id
        chroma_format_idc = reader.ue()
        if chroma_format_idc == 3:
            reader.bit()  # separate_colour_plane_flag
        luma_minus8 = reader.ue()
        chroma_minus8 = reader.ue()
    except ValueError:
        return b""
    return bytes(
        [0xFC | (chroma_format_idc & 3), 0xF8 | (luma_minus8 & 7), 0xF8 | (chroma_minus8 & 7), 0]
    )


# --------------------------------------------------------------------------- init segment


def _avcc(track: VideoTrack) -> bytes:
    sps, pps = track.sps, track.pps
    return _box(
        "avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFC | 3, 0xE0 | 1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
        _avcc_high_profile_trailer(sps),
    )


def _descriptor(tag: int, *payloads: bytes) -> bytes:
    body = b"".join(payloads)
    n = len(body)
    size = [n & 0x7F]
    n >>= 7
    while n:
        size.insert(0, 0x80 | (n & 0x7F))
        n >>= 7
    return bytes([tag, *size]) + body


def _esds(track: AudioTrack) -> bytes:
    decoder_config = _descriptor(
        0x04,
        bytes([0x40, (5 << 2) | 1]),  # objectTypeIndication MPEG-4 Audio; streamType 5 (audio)
        struct.pack(">BHII", 0, 0, 0, 0),  # bufferSizeDB (24 bit), maxBitrate, avgBitrate
        _descriptor(0x05, track.audio_specific_config),
    )
    es = _descriptor(
        0x03,
        struct.pack(">HB", track.track_id & 0xFFFF, 0),  # ES_ID, no dependency/URL/OCR
        decoder_config,
        _descriptor(0x06, b"\x02"),  # SLConfigDescriptor, predefined = MP4
    )
    return _full_box("esds", 0, 0, es)


def _sample_entry(track: VideoTrack | AudioTrack) -> bytes:
    head = b"\x00" * 6 + struct.pack(">H", 1)  # reserved, data_reference_index
    if isinstance(track, VideoTrack):
        return _box(
            "avc1",
            head,
            b"\x00" * 16,  # pre_defined, reserved, pre_defined[3]
            struct.pack(">HHIII", track.width, track.height, 0x00480000, 0x00480000, 0),
            struct.pack(">H", 1),  # frame_count
            b"\x00" * 32,  # compressorname
            struct.pack(">Hh", 0x0018, -1),  # depth, pre_defined
            _avcc(track),
        )
    rate = track.sample_rate << 16 if track.sample_rate < 0x10000 else 0
    return _box(
        "mp4a",
        head,
        struct.pack(">IIHHHHI", 0, 0, track.channels, 16, 0, 0, rate),
        _esds(track),
    )


def _trak(track: VideoTrack | AudioTrack) -> bytes:
    is_video = isinstance(track, VideoTrack)
    if isinstance(track, VideoTrack):
        timescale, width, height = track.timescale, track.width, track.height
    else:
        timescale, width, height = track.effective_timescale, 0, 0
    tkhd = _full_box(
        "tkhd",
        0,
        0x3,  # track_enabled | track_in_movie
        struct.pack(">IIIII", 0, 0, track.track_id, 0, 0),  # times, track_ID, reserved, duration
        b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0 if is_video else 0x0100, 0),  # layer, group, volume
        _UNITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box("mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, 0x55C4, 0))  # 'und'
    handler, name = (b"vide", b"VideoHandler\x00") if is_video else (b"soun", b"SoundHandler\x00")
    hdlr = _full_box("hdlr", 0, 0, struct.pack(">I4s12x", 0, handler), name)
    media_header = (
        _full_box("vmhd", 0, 1, struct.pack(">HHHH", 0, 0, 0, 0))
        if is_video
        else _full_box("smhd", 0, 0, struct.pack(">hH", 0, 0))
    )
    dinf = _box("dinf", _full_box("dref", 0, 0, struct.pack(">I", 1), _full_box("url ", 0, 1)))
    stbl = _box(
        "stbl",
        _full_box("stsd", 0, 0, struct.pack(">I", 1), _sample_entry(track)),
        _full_box("stts", 0, 0, struct.pack(">I", 0)),
        _full_box("stsc", 0, 0, struct.pack(">I", 0)),
        _full_box("stsz", 0, 0, struct.pack(">II", 0, 0)),
        _full_box("stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = _box("minf", media_header, dinf, stbl)
    return _box("trak", tkhd, _box("mdia", mdhd, hdlr, minf))


def init_segment(tracks: Sequence[VideoTrack | AudioTrack]) -> bytes:
    """Build a CMAF initialization segment (ftyp + moov with empty sample tables + mvex/trex).

    All durations are 0 (live). Track IDs must be unique and non-zero.
    """
    if not tracks:
        raise ValueError("at least one track is required")
    ids = [t.track_id for t in tracks]
    if len(set(ids)) != len(ids) or min(ids) <= 0:
        raise ValueError(f"track ids must be unique and positive: {ids}")
    for track in tracks:
        if isinstance(track, VideoTrack) and (len(track.sps) < 4 or not track.pps):
            raise ValueError("video track needs an SPS (>= 4 bytes) and a PPS")
        if isinstance(track, AudioTrack) and len(track.audio_specific_config) < 2:
            raise ValueError("audio track needs an AudioSpecificConfig")
    ftyp = _box("ftyp", b"iso6", struct.pack(">I", 0), b"iso6cmfcisommp41dash")
    mvhd = _full_box(
        "mvhd",
        0,
        0,
        # creation/modification time, timescale, duration, rate 1.0, volume 1.0
        struct.pack(">IIIIiH", 0, 0, 1000, 0, 0x00010000, 0x0100),
        b"\x00" * 10,
        _UNITY_MATRIX,
        b"\x00" * 24,  # pre_defined
        struct.pack(">I", max(ids) + 1),  # next_track_ID
    )
    trex = [_full_box("trex", 0, 0, struct.pack(">IIIII", tid, 1, 0, 0, 0)) for tid in ids]
    moov = _box("moov", mvhd, *(_trak(t) for t in tracks), _box("mvex", *trex))
    return ftyp + moov


# --------------------------------------------------------------------------- media segment


def _traf(run: TrackRun, data_offset: int) -> bytes:
    entries = []
    for s in run.samples:
        flags = _SYNC_SAMPLE_FLAGS if s.is_sync else _NON_SYNC_SAMPLE_FLAGS
        entries.append(struct.pack(">IIIi", s.duration, len(s.data), flags, s.composition_offset))
    trun = _full_box(
        "trun", 1, _TRUN_FLAGS, struct.pack(">Ii", len(run.samples), data_offset), *entries
    )
    return _box(
        "traf",
        _full_box("tfhd", 0, _TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", run.track_id)),
        _full_box("tfdt", 1, 0, struct.pack(">Q", run.base_decode_time)),
        trun,
    )


def _moof(sequence_number: int, runs: Sequence[TrackRun], offsets: Sequence[int]) -> bytes:
    mfhd = _full_box("mfhd", 0, 0, struct.pack(">I", sequence_number))
    return _box("moof", mfhd, *(_traf(r, o) for r, o in zip(runs, offsets, strict=True)))


def media_segment(sequence_number: int, runs: Sequence[TrackRun]) -> bytes:
    """Build one CMAF fragment: a moof (mfhd + one traf per non-empty run) and one mdat.

    Sample data is laid out in the mdat in run order; each trun's data offset is relative to
    the start of the moof (tfhd default-base-is-moof). Runs without samples are left out.
    """
    runs = [r for r in runs if r.samples]
    if not runs:
        raise ValueError("media segment needs at least one sample")
    if len({r.track_id for r in runs}) != len(runs):
        raise ValueError("at most one run per track in a fragment")
    for run in runs:
        if run.base_decode_time < 0:
            raise ValueError(f"negative base_decode_time on track {run.track_id}")
        for s in run.samples:
            if not 0 <= s.duration <= 0xFFFFFFFF:
                raise ValueError(f"sample duration out of range: {s.duration}")
            if not -(2**31) <= s.composition_offset < 2**31:
                raise ValueError(f"composition offset out of range: {s.composition_offset}")
    payload = b"".join(s.data for r in runs for s in r.samples)
    mdat_header = 8 if len(payload) + 8 <= 0xFFFFFFFF else 16
    # Box sizes do not depend on the data-offset values: measure with zeros, then fill in.
    moof_size = len(_moof(sequence_number, runs, [0] * len(runs)))
    offsets = []
    pos = moof_size + mdat_header
    for run in runs:
        offsets.append(pos)
        pos += sum(len(s.data) for s in run.samples)
    if pos > 2**31 - 1:
        raise ValueError("fragment too large for a 32-bit trun data offset")
    return _moof(sequence_number, runs, offsets) + _box("mdat", payload)
