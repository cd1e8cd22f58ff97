"""Feeding synthesized frames straight into a ``StreamPipeline`` (no WebRTC), and reading back
what it encoded: for engine tests that look at pixels on either side of an event."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from engine.encoder import EncodedPacket, VideoSettings
from engine.hooks import plane_view
from engine.pipeline import StreamInfo

RUNGS = [
    VideoSettings("360p", 640, 360, 30, 600_000, "ultrafast", 30),
    VideoSettings("180p", 320, 180, 30, 200_000, "ultrafast", 30),
]


class FrameTrack(MediaStreamTrack):
    """``count`` 640x360 frames, real-time paced: vertical stripes (lots of detail, far from the
    slate), or a flat grey of luma ``flat``."""

    kind = "video"

    def __init__(self, count: int, flat: int | None = None) -> None:
        super().__init__()
        self.n = 0
        self.count = count
        self.flat = flat

    async def recv(self) -> av.VideoFrame:
        if self.n >= self.count:
            raise MediaStreamError
        await asyncio.sleep(1 / 30)
        planes = np.full((540, 640), 128, np.uint8)
        if self.flat is None:
            stripes = np.where((np.arange(640) // 8) % 2, 220, 60).astype(np.uint8)
            planes[:360] = stripes[None, :]
        else:
            planes[:360] = self.flat
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


class Collect:
    """A packet consumer that keeps everything."""

    def __init__(self) -> None:
        self.packets: list[EncodedPacket] = []
        self.info: StreamInfo | None = None

    def on_start(self, info: StreamInfo) -> None:
        self.info = info

    def on_packet(self, packet: EncodedPacket) -> None:
        self.packets.append(packet)

    def on_end(self) -> None:
        pass

    async def drain(self) -> None:
        pass


def decode(packets: list[EncodedPacket], rendition: str) -> list[tuple[float, np.ndarray, bool]]:
    """``(time, luma plane, keyframe)`` of every frame of one rendition, in order."""
    ctx = av.CodecContext.create("h264", "r")
    mine = [p for p in packets if p.rendition == rendition]
    frames: list[av.VideoFrame] = []
    for p in mine:
        frames.extend(ctx.decode(av.Packet(p.data)))
    frames.extend(ctx.decode(None))
    return [
        (p.time, plane_view(f.reformat(format="yuv420p"), 0).copy(), p.keyframe)
        for p, f in zip(mine, frames, strict=True)
    ]
