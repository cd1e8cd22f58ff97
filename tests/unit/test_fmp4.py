"""Tests for hls.fmp4: pure helpers plus real PyAV-encoded fragments checked with ffprobe/ffmpeg."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hls.fmp4 import (
    AudioTrack,
    Sample,
    TrackRun,
    VideoTrack,
    aac_codec_string,
    annexb_to_avcc,
    avc_codec_string,
    init_segment,
    iter_boxes,
    media_segment,
    parameter_sets,
    split_annexb,
)

FPS = 30
WIDTH, HEIGHT = 640, 360
N_FRAMES = 120  # 4 s
GOP = 60
FRAMES_PER_FRAGMENT = 10
SAMPLE_RATE = 48000
AAC_FRAME = 1024
VIDEO_TS = 90000
TICKS_PER_FRAME = VIDEO_TS // FPS

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
    reason="ffprobe/ffmpeg not on PATH",
)

# A real libx264 High-profile SPS (640x360) and its PPS.
SPS = bytes.fromhex("6764001eacb405017fcb08000003000800000301e478b175")
PPS = bytes.fromhex("68ef0fcb")


# --------------------------------------------------------------------------- pure tests


def test_split_annexb_3_and_4_byte_start_codes() -> None:
    data = (
        b"\x00\x00\x00\x01\x67\xaa\xbb"
        + b"\x00\x00\x01\x68\xcc"
        + b"\x00\x00\x00\x01\x65\x01\x02\x03"
    )
    assert split_annexb(data) == [b"\x67\xaa\xbb", b"\x68\xcc", b"\x65\x01\x02\x03"]


def test_split_annexb_edge_cases() -> None:
    assert split_annexb(b"") == []
    assert split_annexb(b"\x12\x34") == []  # no start code
    # garbage before the first start code is ignored, trailing zeros are stripped
    assert split_annexb(b"\xff\x00\x00\x01\x09\xf0\x00\x00") == [b"\x09\xf0"]
    # emulation-prevented zeros inside a NAL are kept
    assert split_annexb(b"\x00\x00\x01\x06\x00\x00\x03\x01\x80") == [b"\x06\x00\x00\x03\x01\x80"]


def test_annexb_to_avcc_lengths_and_drops() -> None:
    aud = b"\x09\xf0"
    idr = b"\x65" + bytes(range(1, 200))
    sei = b"\x06\x05\x01\x80"
    data = b"".join(b"\x00\x00\x00\x01" + n for n in (aud, SPS, PPS, sei)) + b"\x00\x00\x01" + idr
    out = annexb_to_avcc(data)
    assert out == struct.pack(">I", len(sei)) + sei + struct.pack(">I", len(idr)) + idr
    kept_all = annexb_to_avcc(data, drop_types=())
    lengths = []
    pos = 0
    while pos < len(kept_all):
        (n,) = struct.unpack_from(">I", kept_all, pos)
        lengths.append(n)
        pos += 4 + n
    assert pos == len(kept_all)
    assert lengths == [len(aud), len(SPS), len(PPS), len(sei), len(idr)]


def test_parameter_sets() -> None:
    data = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS
    assert parameter_sets(data + b"\x00\x00\x01\x65\x88") == (SPS, PPS)
    assert parameter_sets(b"\x00\x00\x00\x01" + SPS) is None
    assert parameter_sets(b"\x00\x00\x01\x41\x9a") is None


def test_codec_strings() -> None:
    assert avc_codec_string(bytes([0x67, 0x64, 0x00, 0x1F, 0xAC])) == "avc1.64001f"
    assert avc_codec_string(SPS) == "avc1.64001e"
    assert avc_codec_string(bytes([0x67, 0x42, 0xC0, 0x0D])) == "avc1.42c00d"
    assert aac_codec_string(b"\x11\x90") == "mp4a.40.2"
    assert aac_codec_string(b"\x11\x90\x56\xe5\x00") == "mp4a.40.2"
    assert aac_codec_string(b"\x2b\x92\x08\x00") == "mp4a.40.5"  # HE-AAC (SBR)
    assert aac_codec_string(b"\xf8\x1e\x20") == "mp4a.40.32"  # escaped object type


def _tracks() -> list[VideoTrack | AudioTrack]:
    return [
        VideoTrack(track_id=1, width=WIDTH, height=HEIGHT, sps=SPS, pps=PPS),
        AudioTrack(
            track_id=2, sample_rate=SAMPLE_RATE, channels=2, audio_specific_config=b"\x11\x90"
        ),
    ]


def _child(data: bytes, parent_start: int, parent_end: int, box_type: str):
    return next(b for b in iter_boxes(data, parent_start, parent_end) if b.type == box_type)


def test_init_segment_structure() -> None:
    init = init_segment(_tracks())
    boxes = list(iter_boxes(init))
    assert [b.type for b in boxes] == ["ftyp", "moov"]
    assert boxes[-1].end == len(init)
    assert init[8:12] == b"iso6"
    moov = boxes[1]
    children = [b.type for b in iter_boxes(init, moov.payload_offset, moov.end)]
    assert children == ["mvhd", "trak", "trak", "mvex"]
    mvex = _child(init, moov.payload_offset, moov.end, "mvex")
    trex = [b for b in iter_boxes(init, mvex.payload_offset, mvex.end)]
    assert [b.type for b in trex] == ["trex", "trex"]
    assert [struct.unpack_from(">I", init, b.payload_offset + 4)[0] for b in trex] == [1, 2]
    # avcC and esds are where they should be
    assert b"avcC" in init and b"esds" in init and b"\x11\x90" in init


def test_init_segment_rejects_bad_tracks() -> None:
    video = _tracks()[0]
    with pytest.raises(ValueError):
        init_segment([])
    with pytest.raises(ValueError):
        init_segment([video, video])


def test_media_segment_layout() -> None:
    v = [
        Sample(b"\x00\x00\x00\x02\x65\x01", 3000, True),
        Sample(b"\x00\x00\x00\x01\x41", 3000, False, -3000),
    ]
    a = [Sample(b"\xaa" * 7, 1024, True)]
    seg = media_segment(5, [TrackRun(1, 6000, v), TrackRun(3, 0, []), TrackRun(2, 2048, a)])
    moof, mdat = list(iter_boxes(seg))
    assert (moof.type, mdat.type) == ("moof", "mdat")
    assert seg[mdat.payload_offset : mdat.end] == v[0].data + v[1].data + a[0].data
    kids = list(iter_boxes(seg, moof.payload_offset, moof.end))
    assert [k.type for k in kids] == ["mfhd", "traf", "traf"]  # empty run dropped
    assert struct.unpack_from(">I", seg, kids[0].payload_offset + 4)[0] == 5
    expected_offsets = [mdat.payload_offset - moof.offset, mdat.payload_offset - moof.offset + 11]
    for traf, run_samples, offset, tfdt in zip(
        kids[1:], (v, a), expected_offsets, (6000, 2048), strict=True
    ):
        tfhd = _child(seg, traf.payload_offset, traf.end, "tfhd")
        assert struct.unpack_from(">I", seg, tfhd.payload_offset)[0] == 0x00020000
        tfdt_box = _child(seg, traf.payload_offset, traf.end, "tfdt")
        assert seg[tfdt_box.payload_offset] == 1
        assert struct.unpack_from(">Q", seg, tfdt_box.payload_offset + 4)[0] == tfdt
        trun = _child(seg, traf.payload_offset, traf.end, "trun")
        version_flags, count, data_offset = struct.unpack_from(">IIi", seg, trun.payload_offset)
        assert version_flags == 0x01000F01
        assert count == len(run_samples)
        assert data_offset == offset
        for i, s in enumerate(run_samples):
            dur, size, flags, cto = struct.unpack_from(
                ">IIIi", seg, trun.payload_offset + 12 + 16 * i
            )
            assert (dur, size, cto) == (s.duration, len(s.data), s.composition_offset)
            assert flags == (0x02000000 if s.is_sync else 0x01010000)
    with pytest.raises(ValueError):
        media_segment(1, [TrackRun(1, 0, [])])


def test_iter_boxes_largesize_and_errors() -> None:
    big = struct.pack(">I4sQ", 1, b"free", 20) + b"abcd"
    data = big + struct.pack(">I4s", 8, b"skip")
    assert [(b.type, b.offset, b.size, b.header_size) for b in iter_boxes(data)] == [
        ("free", 0, 20, 16),
        ("skip", 20, 8, 8),
    ]
    with pytest.raises(ValueError):
        list(iter_boxes(struct.pack(">I4s", 100, b"mdat")))


# --------------------------------------------------------------------------- real encode


@dataclass
class Encoded:
    video: VideoTrack
    audio: AudioTrack
    video_samples: list[Sample]  # decode order, decode time = index * TICKS_PER_FRAME
    audio_samples: list[Sample]  # decode time = index * AAC_FRAME (priming shifted to 0)
    fragments: list[bytes]  # one media_segment per FRAMES_PER_FRAGMENT video frames


def _video_frame(i: int, rng: np.random.Generator) -> av.VideoFrame:
    y = np.linspace(0, 255, HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, WIDTH, dtype=np.float32)[None, :]
    base = np.stack([(x + 4 * i) % 256 + 0 * y, (y + 2 * i) % 256 + 0 * x, (x + y) / 2], axis=-1)
    arr = (base + rng.integers(0, 24, size=base.shape)).clip(0, 255).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")
    frame.pts = i
    return frame


def _encode_video(x264_params: str, tune: str | None) -> list[av.Packet]:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = WIDTH, HEIGHT
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = Fraction(FPS)
    options = {"preset": "veryfast", "x264-params": x264_params}
    if tune:
        options["tune"] = tune
    ctx.options = options
    rng = np.random.default_rng(1)
    packets: list[av.Packet] = []
    for i in range(N_FRAMES):
        packets.extend(ctx.encode(_video_frame(i, rng)))
    packets.extend(ctx.encode(None))
    return packets


def _encode_audio() -> tuple[list[av.Packet], bytes]:
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = SAMPLE_RATE
    ctx.layout = "stereo"
    ctx.format = "fltp"
    packets: list[av.Packet] = []
    n = 0
    while n < 4 * SAMPLE_RATE:
        t = np.arange(n, n + AAC_FRAME) / SAMPLE_RATE
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = n
        packets.extend(ctx.encode(frame))
        n += AAC_FRAME
    packets.extend(ctx.encode(None))
    return packets, bytes(ctx.extradata)


def _video_samples(packets: list[av.Packet]) -> tuple[VideoTrack, list[Sample], int]:
    """Samples in decode order; returns (track, samples, first dts in frames)."""
    first = bytes(packets[0])
    assert packets[0].is_keyframe
    ps = parameter_sets(first)
    assert ps is not None
    track = VideoTrack(track_id=1, width=WIDTH, height=HEIGHT, sps=ps[0], pps=ps[1])
    dts0, pts0 = packets[0].dts, packets[0].pts
    samples = []
    for k, pkt in enumerate(packets):
        next_dts = packets[k + 1].dts if k + 1 < len(packets) else pkt.dts + 1
        # Signed composition offsets (trun v1) let decode time start at 0 while the first
        # presented frame still has pts 0: cto = (pts - pts0) - (dts - dts0).
        cto = (pkt.pts - pts0) - (pkt.dts - dts0)
        samples.append(
            Sample(
                data=annexb_to_avcc(bytes(pkt)),
                duration=(next_dts - pkt.dts) * TICKS_PER_FRAME,
                is_sync=pkt.is_keyframe,
                composition_offset=cto * TICKS_PER_FRAME,
            )
        )
    return track, samples, dts0


def _fragments(video: list[Sample], audio: list[Sample]) -> list[bytes]:
    fragments = []
    a = 0
    n_frag = len(video) // FRAMES_PER_FRAGMENT
    for k in range(n_frag):
        v_start = k * FRAMES_PER_FRAGMENT
        v_run = video[v_start : v_start + FRAMES_PER_FRAGMENT]
        end_s = Fraction(v_start + FRAMES_PER_FRAGMENT, FPS)
        a_start = a
        while a < len(audio) and (k == n_frag - 1 or Fraction(a * AAC_FRAME, SAMPLE_RATE) < end_s):
            a += 1
        runs = [
            TrackRun(1, v_start * TICKS_PER_FRAME, v_run),
            TrackRun(2, a_start * AAC_FRAME, audio[a_start:a]),
        ]
        fragments.append(media_segment(k + 1, runs))
    assert a == len(audio)
    return fragments


def _encode(x264_params: str, tune: str | None) -> Encoded:
    vpkts = _encode_video(x264_params, tune)
    assert len(vpkts) == N_FRAMES
    track, vsamples, _ = _video_samples(vpkts)
    apkts, asc = _encode_audio()
    assert apkts[0].pts == -AAC_FRAME  # encoder priming
    assert all(p.duration == AAC_FRAME for p in apkts)
    asamples = [Sample(bytes(p), p.duration, True) for p in apkts]
    audio = AudioTrack(track_id=2, sample_rate=SAMPLE_RATE, channels=2, audio_specific_config=asc)
    return Encoded(track, audio, vsamples, asamples, _fragments(vsamples, asamples))


@pytest.fixture(scope="module")
def encoded() -> Encoded:
    return _encode("keyint=60:min-keyint=60:scenecut=0:repeat-headers=1", "zerolatency")


def _ffprobe(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def _ffmpeg_decode(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_ffmpeg
def test_full_stream_probes_and_decodes(encoded: Encoded, tmp_path: Path) -> None:
    assert avc_codec_string(encoded.video.sps) == "avc1.64001e"
    assert aac_codec_string(encoded.audio.audio_specific_config) == "mp4a.40.2"
    path = tmp_path / "stream.mp4"
    path.write_bytes(init_segment([encoded.video, encoded.audio]) + b"".join(encoded.fragments))
    assert [b.type for b in iter_boxes(path.read_bytes())][:4] == ["ftyp", "moov", "moof", "mdat"]

    streams = {s["codec_type"]: s for s in _ffprobe(path, "-show_streams")["streams"]}
    v, a = streams["video"], streams["audio"]
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", WIDTH, HEIGHT)
    assert (a["codec_name"], int(a["sample_rate"]), a["channels"]) == ("aac", SAMPLE_RATE, 2)
    assert a.get("channel_layout") == "stereo"

    packets = _ffprobe(path, "-select_streams", "v", "-show_packets")["packets"]
    assert len(packets) == N_FRAMES
    for i, p in enumerate(packets):
        assert abs(float(p["pts_time"]) - i / FPS) < 0.001, (i, p["pts_time"])
        assert p["flags"].startswith("K") == (i % GOP == 0), (i, p["flags"])

    apackets = _ffprobe(path, "-select_streams", "a", "-show_packets")["packets"]
    assert len(apackets) == len(encoded.audio_samples)
    assert float(apackets[0]["pts_time"]) == 0.0
    audio_duration = float(apackets[-1]["pts_time"]) + float(apackets[-1]["duration_time"])
    assert abs(audio_duration - 4.0) < 0.05, audio_duration

    result = _ffmpeg_decode(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def _check_mid_stream(path: Path, first_frame: int, n_frames: int) -> None:
    packets = _ffprobe(path, "-select_streams", "v", "-show_packets")["packets"]
    assert len(packets) == n_frames
    assert packets[0]["flags"].startswith("K")
    assert abs(float(packets[0]["pts_time"]) - first_frame / FPS) < 0.001
    assert abs(float(packets[-1]["pts_time"]) - (first_frame + n_frames - 1) / FPS) < 0.001
    apackets = _ffprobe(path, "-select_streams", "a", "-show_packets")["packets"]
    assert apackets and abs(float(apackets[0]["pts_time"]) - first_frame / FPS) < 0.03
    result = _ffmpeg_decode(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@needs_ffmpeg
def test_mid_stream_fragments_honour_tfdt(encoded: Encoded, tmp_path: Path) -> None:
    """init + fragments 7 and 8 (frames 60..79, starting on the second keyframe) on their own."""
    init = init_segment([encoded.video, encoded.audio])
    k = GOP // FRAMES_PER_FRAGMENT  # fragment index starting at frame 60
    path = tmp_path / "mid.mp4"
    path.write_bytes(init + encoded.fragments[k] + encoded.fragments[k + 1])
    _check_mid_stream(path, GOP, 2 * FRAMES_PER_FRAGMENT)


@needs_ffmpeg
def test_regrouped_runs_decode(encoded: Encoded, tmp_path: Path) -> None:
    """The same samples regrouped: one moof whose runs span two original fragments."""
    init = init_segment([encoded.video, encoded.audio])
    first, count = GOP, 2 * FRAMES_PER_FRAGMENT
    end_s = Fraction(first + count, FPS)
    a_start = next(
        i
        for i in range(len(encoded.audio_samples))
        if Fraction(i * AAC_FRAME, SAMPLE_RATE) >= Fraction(first, FPS)
    )
    a_end = next(
        i
        for i in range(len(encoded.audio_samples))
        if Fraction(i * AAC_FRAME, SAMPLE_RATE) >= end_s
    )
    seg = media_segment(
        42,
        [
            TrackRun(2, a_start * AAC_FRAME, encoded.audio_samples[a_start:a_end]),  # audio first
            TrackRun(1, first * TICKS_PER_FRAME, encoded.video_samples[first : first + count]),
        ],
    )
    path = tmp_path / "regrouped.mp4"
    path.write_bytes(init + seg)
    _check_mid_stream(path, first, count)


@needs_ffmpeg
def test_b_frames_with_signed_composition_offsets(tmp_path: Path) -> None:
    """x264 with B-frames: negative dts shifted to 0, signed ctts keeps pts == frame index."""
    enc = _encode(
        "keyint=60:min-keyint=60:scenecut=0:repeat-headers=1:bframes=2:b-pyramid=none", None
    )
    assert any(s.composition_offset < 0 for s in enc.video_samples)
    assert any(s.composition_offset > 0 for s in enc.video_samples)
    path = tmp_path / "bframes.mp4"
    path.write_bytes(init_segment([enc.video, enc.audio]) + b"".join(enc.fragments))
    packets = _ffprobe(path, "-select_streams", "v", "-show_packets")["packets"]
    assert len(packets) == N_FRAMES
    # FFmpeg's mov demuxer keeps pts >= dts by adding the largest negative offset seen
    # (its "dts_shift") to every pts; a spec-following reader (MSE) uses pts = dts + cto.
    shift = -min(s.composition_offset for s in enc.video_samples) // TICKS_PER_FRAME
    dts = [round(float(p["dts_time"]) * FPS) for p in packets]
    assert dts == list(range(N_FRAMES))  # decode times start at 0 (tfdt), no gaps
    pts = sorted(round(float(p["pts_time"]) * FPS) - shift for p in packets)
    assert pts == list(range(N_FRAMES))
    keyframes = [round(float(p["pts_time"]) * FPS) - shift for p in packets if p["flags"][0] == "K"]
    assert keyframes == [0, GOP]
    result = _ffmpeg_decode(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
