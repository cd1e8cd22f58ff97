"""Rendering a download with its viewer's forensic mark, and reading the mark back from a file.

File and codec work for ``engine.forensic`` (which holds the mark itself): PyAV decodes the
input, each frame's luma gets the mark, libx264 re-encodes the video (high quality: the mark
is a few luma levels) and the audio stream is copied untouched. Blocking and CPU-heavy: call it
from a worker process or the CLI (``teezu watermark apply`` / ``identify``), never the loop.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.forensic import (
    ANALYSIS,
    STRENGTH,
    Identification,
    Marker,
    cell_means,
    identify,
    identify_image,
    mark_image,
)
from engine.hooks import plane_view


def apply_mark(
    source: Path,
    target: Path,
    key: bytes,
    viewer: int,
    *,
    strength: float = STRENGTH,
    crf: int = 18,
) -> int:
    """Write ``target`` (MP4): ``source`` with ``viewer``'s mark. Returns frames marked."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        vin = src.streams.video[0]
        rate = vin.average_rate or Fraction(30, 1)
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": str(crf), "preset": "veryfast"}
        ain = src.streams.audio[0] if src.streams.audio else None
        aout = dst.add_stream_from_template(ain) if ain is not None else None
        marker: Marker | None = None
        streams = [vin] + ([ain] if ain is not None else [])
        for packet in src.demux(*streams):
            if packet.stream is ain:
                if packet.dts is not None and aout is not None:
                    packet.stream = aout
                    dst.mux(packet)
                continue
            for frame in packet.decode():
                assert isinstance(frame, av.VideoFrame)
                picture = frame.reformat(format="yuv420p")
                if picture is frame:  # never write into the decoder's own buffers
                    picture = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
                if marker is None:
                    marker = Marker(key, viewer, picture.width, picture.height, strength)
                marker.mark(plane_view(picture, 0))
                picture.pts = marker.frames - 1
                picture.time_base = 1 / rate
                dst.mux(vout.encode(picture))
        dst.mux(vout.encode(None))
    return marker.frames if marker is not None else 0


def read_means(path: Path) -> list[np.ndarray]:
    """The cell means of every frame of ``path``, in presentation order."""
    w, h = ANALYSIS
    means = []
    with av.open(str(path)) as src:
        for frame in src.decode(video=0):
            y = plane_view(frame.reformat(format="yuv420p"), 0)
            means.append(cell_means(cv2.resize(y, (w, h), interpolation=cv2.INTER_AREA)))
    return means


def apply_image_mark(source: Path, target: Path, key: bytes, viewer: int) -> tuple[int, int]:
    """Write ``target`` (JPEG, quality 95, no metadata): the picture ``source`` carrying
    ``viewer``'s still-picture mark. Returns the picture's (width, height)."""
    bgr = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{source} is not a picture OpenCV can read")
    marked = mark_image(key, viewer, bgr)  # same offset on every channel: BGR or RGB alike
    ok, data = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ValueError("could not encode the marked picture")
    target.write_bytes(data.tobytes())
    return bgr.shape[1], bgr.shape[0]


def _is_picture(path: Path) -> bool:
    head = path.read_bytes()[:12]
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def identify_file(path: Path, key: bytes) -> Identification:
    """The viewer marked in a video (temporal mark) or a picture (still-picture mark)."""
    if _is_picture(path):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise ValueError(f"{path} is not a picture OpenCV can read")
        return identify_image(key, gray)
    return identify(key, read_means(path))
