"""Encoders: H.264 (libx264) per rendition, one AAC and one Opus encoder per stream, via PyAV.

All run in the stream's encoder thread (PyAV releases the GIL while encoding). They emit
:class:`EncodedPacket` values, plain bytes with timestamps, which is what leaves the engine: the
HLS packager and WebRTC egress consume the same packets, so each rendition is encoded once.
Opus exists only for WebRTC (browsers have no AAC there); it is fed the very PCM the AAC encoder
gets (see ``AudioEncoder.followers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import av
import numpy as np
from av.video.frame import PictureType

from teezu.settings import Settings

VIDEO_TIMESCALE = 90_000


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One encoded access unit. Video data is H.264 Annex B (SPS/PPS repeated on keyframes)."""

    kind: Literal["video", "audio"]
    rendition: str  # the video rung's name ("720p"); "audio" for AAC (HLS), "opus" for WebRTC
    data: bytes
    pts: int  # in ``timescale`` units, 0 at the start of the stream timeline
    dts: int
    duration: int
    timescale: int
    keyframe: bool
    # time.monotonic() when the pipeline's reader got the source frame (0: a filled slot or
    # audio): what engine.latency measures the later stages from.
    received_at: float = 0.0

    @property
    def time(self) -> float:
        return self.pts / self.timescale


@dataclass(frozen=True)
class VideoSettings:
    """One rung of the ladder: an H.264 rendition encoded once per stream."""

    name: str = "720p"
    width: int = 1280
    height: int = 720
    fps: int = 30
    bitrate: int = 2_500_000
    preset: str = "veryfast"
    keyint: int = 60  # frames between forced keyframes: one segment


def video_settings(settings: Settings) -> VideoSettings:
    """The top rendition the configuration asks for; one keyframe interval per segment."""
    return ladder(settings)[0]


def ladder(settings: Settings) -> list[VideoSettings]:
    """Every configured rung, tallest first, sharing frame rate, preset and keyframe interval."""
    keyint = round(settings.segment_duration * settings.output_fps)
    rungs = [
        VideoSettings(
            name=r.name,
            width=r.width,
            height=r.height,
            fps=settings.output_fps,
            bitrate=r.bitrate,
            preset=settings.x264_preset,
            keyint=keyint,
        )
        for r in settings.renditions
    ]
    return sorted(rungs, key=lambda r: r.height, reverse=True)


def rungs_for_source(rungs: list[VideoSettings], source_height: int | None) -> list[VideoSettings]:
    """Skip rungs taller than the source (no upscaled copies); always keep at least one.

    ``source_height`` None (no video yet, e.g. an audio-only publisher) keeps only the top rung.
    """
    if source_height is None:
        return rungs[:1]
    kept = [r for r in rungs if r.height <= source_height]
    return kept or rungs[-1:]


def x264_options(s: VideoSettings) -> dict[str, str]:
    """libx264 options shared by our encoder and the ffmpeg reference run of the benchmark."""
    return {
        "preset": s.preset,
        "tune": "zerolatency",
        "forced-idr": "1",
        # Fixed GOP = one segment; no scene-cut keyframes so every segment starts on one and
        # renditions stay aligned. SPS/PPS on every keyframe lets WebRTC viewers join anywhere.
        "x264-params": f"keyint={s.keyint}:min-keyint={s.keyint}:scenecut=0:repeat-headers=1",
        "maxrate": str(int(s.bitrate * 1.2)),
        "bufsize": str(int(s.bitrate * 2)),
    }


class VideoEncoder:
    """Constant-rate H.264 encoder for one rendition; input frames are stamped by slot number."""

    def __init__(self, settings: VideoSettings) -> None:
        if VIDEO_TIMESCALE % settings.fps:
            raise ValueError(f"fps {settings.fps} does not divide {VIDEO_TIMESCALE}")
        self.settings = settings
        self._tick = VIDEO_TIMESCALE // settings.fps
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width = settings.width
        ctx.height = settings.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, settings.fps)
        ctx.framerate = Fraction(settings.fps, 1)
        ctx.bit_rate = settings.bitrate
        ctx.options = x264_options(settings)
        ctx.open()
        self._ctx = ctx
        self.frames_encoded = 0

    def encode(
        self,
        frame: av.VideoFrame,
        slot: int,
        *,
        force_keyframe: bool = False,
        received_at: float = 0.0,
    ) -> list[EncodedPacket]:
        """Encode ``frame`` for output slot ``slot``. Stamps the frame (the caller owns it).

        ``force_keyframe`` adds an IDR off the segment grid (the switch to and from the slate:
        a WebRTC viewer joining later then starts from it, never from live pictures before it).
        """
        frame.pts = slot
        frame.time_base = self._ctx.time_base
        # Set explicitly every time: a repeated frame object must not carry a stale I flag.
        keyframe_due = force_keyframe or slot % self.settings.keyint == 0
        frame.pict_type = PictureType.I if keyframe_due else PictureType.NONE
        self.frames_encoded += 1
        return self._packets(self._ctx.encode(frame), received_at)

    def flush(self) -> list[EncodedPacket]:
        return self._packets(self._ctx.encode(None))

    def _packets(
        self, packets: list[av.Packet[Any]], received_at: float = 0.0
    ) -> list[EncodedPacket]:
        out = []
        for p in packets:
            assert p.pts is not None and p.dts is not None
            out.append(
                EncodedPacket(
                    kind="video",
                    rendition=self.settings.name,
                    data=bytes(p),
                    pts=p.pts * self._tick,
                    dts=p.dts * self._tick,
                    duration=self._tick,
                    timescale=VIDEO_TIMESCALE,
                    keyframe=p.is_keyframe,
                    received_at=received_at,
                )
            )
        return out


def black_frame(width: int, height: int) -> av.VideoFrame:
    """A limited-range black yuv420p picture (Y=16, U=V=128)."""
    planes = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    planes[:height] = 16
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


class AudioEncoder:
    """AAC-LC encoder fed any PCM layout; timestamps are the running count of samples fed.

    ``followers`` (e.g. an :class:`OpusEncoder`) get every PCM frame this encoder gets, after
    resampling, trimming and silence filling, so all audio outputs share one timeline; their
    packets are returned along with the AAC ones.
    """

    def __init__(
        self,
        sample_rate: int = 48_000,
        bitrate: int = 128_000,
        followers: Sequence[OpusEncoder] = (),
    ) -> None:
        self.sample_rate = sample_rate
        self.followers = list(followers)
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate)
        ctx = av.CodecContext.create("aac", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = sample_rate
        ctx.layout = "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bitrate
        ctx.time_base = Fraction(1, sample_rate)
        ctx.open()
        self._ctx = ctx
        self.samples_fed = 0

    @property
    def audio_specific_config(self) -> bytes:
        return bytes(self._ctx.extradata or b"")

    @property
    def channels(self) -> int:
        return 2

    def encode(self, frame: av.AudioFrame, skip: int = 0) -> list[EncodedPacket]:
        """Encode ``frame`` (any format/rate), dropping its first ``skip`` samples."""
        out: list[EncodedPacket] = []
        for pcm in self._resampler.resample(frame):
            if skip:
                if skip >= pcm.samples:
                    skip -= pcm.samples
                    continue
                pcm = self._fltp(pcm.to_ndarray()[:, skip:])
                skip = 0
            out.extend(self._encode_pcm(pcm))
        return out

    def silence(self, samples: int) -> list[EncodedPacket]:
        out: list[EncodedPacket] = []
        while samples > 0:
            n = min(samples, 4800)
            out.extend(self._encode_pcm(self._fltp(np.zeros((2, n), dtype=np.float32))))
            samples -= n
        return out

    def flush(self) -> list[EncodedPacket]:
        out = self._packets(self._ctx.encode(None))
        for f in self.followers:
            out.extend(f.flush())
        return out

    def _fltp(self, planes: np.ndarray) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planes), format="fltp", layout="stereo"
        )
        frame.sample_rate = self.sample_rate
        return frame

    def _encode_pcm(self, pcm: av.AudioFrame) -> list[EncodedPacket]:
        # PyAV re-chunks to 1024-sample AAC frames and requires pts == samples fed so far.
        pcm.pts = self.samples_fed
        pcm.time_base = self._ctx.time_base
        self.samples_fed += pcm.samples
        out = self._packets(self._ctx.encode(pcm))
        for f in self.followers:
            out.extend(f.encode(pcm))
        return out

    def _packets(self, packets: list[av.Packet[Any]]) -> list[EncodedPacket]:
        out = []
        for p in packets:
            assert p.pts is not None
            # The first packet carries the encoder's priming (pts -1024): it would shift all
            # audio 21 ms late in a fragmented MP4 (no edit list), so it is dropped.
            if p.pts < 0:
                continue
            out.append(
                EncodedPacket(
                    kind="audio",
                    rendition="audio",
                    data=bytes(p),
                    pts=p.pts,
                    dts=p.pts,
                    duration=p.duration or 1024,
                    timescale=self.sample_rate,
                    keyframe=True,
                )
            )
        return out


class OpusEncoder:
    """Opus for WebRTC egress: 48 kHz stereo, 20 ms packets; pts = running sample count.

    Fed 48 kHz stereo PCM (the AAC encoder's, see ``AudioEncoder.followers``). Complexity 5
    instead of libopus' default 10 roughly halves its CPU (about 0.011 against 0.019 CPU s per
    media s here, AAC being 0.035) at no audible cost at 96 kb/s.
    """

    FRAME_SAMPLES = 960

    def __init__(self, bitrate: int = 96_000, complexity: int = 5) -> None:
        self.sample_rate = 48_000
        ctx = av.CodecContext.create("libopus", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = self.sample_rate
        ctx.layout = "stereo"
        ctx.format = "flt"  # PyAV converts the fltp input and re-chunks it to 960 samples
        ctx.bit_rate = bitrate
        ctx.time_base = Fraction(1, self.sample_rate)
        ctx.options = {
            "application": "audio",
            "frame_duration": "20",
            "compression_level": str(complexity),
        }
        ctx.open()
        self._ctx = ctx
        self.samples_fed = 0
        self._padding: int | None = None  # libopus' priming: the first packet's pts is -312

    def encode(self, pcm: av.AudioFrame) -> list[EncodedPacket]:
        """Encode 48 kHz stereo PCM (any sample format, any frame size)."""
        pcm.pts = self.samples_fed
        pcm.time_base = self._ctx.time_base
        self.samples_fed += pcm.samples
        return self._packets(self._ctx.encode(pcm))

    def flush(self) -> list[EncodedPacket]:
        return self._packets(self._ctx.encode(None))

    def _packets(self, packets: list[av.Packet[Any]]) -> list[EncodedPacket]:
        out = []
        for p in packets:
            assert p.pts is not None
            if self._padding is None:
                self._padding = max(0, -p.pts)
            pts = p.pts + self._padding  # 0, 960, 1920, ...: packets are never dropped
            out.append(
                EncodedPacket(
                    kind="audio",
                    rendition="opus",
                    data=bytes(p),
                    pts=pts,
                    dts=pts,
                    duration=p.duration or self.FRAME_SAMPLES,
                    timescale=self.sample_rate,
                    keyframe=True,
                )
            )
        return out
