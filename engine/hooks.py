"""Per-frame hooks: code that sees (and may change) every live picture before it is encoded.

A hook runs in the stream's encoder thread, once per output frame, with the normalized top
frame (the tallest rung's size, yuv420p), before the lower rungs are scaled from it, so what a
hook draws is in every rendition. Hooks run in the order given to the pipeline; moderation
sampling comes before the watermark so the model sees the clean picture.

Rules for hook authors (the encoder thread has ~33 ms per frame for the whole ladder):

* be cheap: a few hundred microseconds at most, numpy on a region rather than the whole frame;
* never block: no I/O, no locks held by the event loop, no waiting on a queue; hand work to the
  event loop with ``loop.call_soon_threadsafe`` or to a bounded structure that drops;
* return ``None`` to keep the frame, or a frame of the same geometry and format to replace it.
  A hook may write into the frame's planes only when ``ctx.writable`` (else copy first), and
  never keeps a reference to a frame past the call: the encoder stamps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np


@dataclass(frozen=True, slots=True)
class FrameContext:
    """Where a frame sits in its stream."""

    stream_id: str
    slot: int  # output frame number on the stream's constant-rate grid
    time: float  # stream time of the slot, seconds
    received_at: float  # time.monotonic() when the decoded frame entered the pipeline
    # Whether the hook may write into the frame's planes. False when the frame is the decoder's
    # own output (already the output size): its buffers may still be the decoder's reference
    # pictures, so writing into them would corrupt the frames decoded after it.
    writable: bool = False


class FrameHook(Protocol):
    """Called in the encoder thread for every live frame (not for repeats, slates or fills)."""

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> av.VideoFrame | None: ...


def plane_view(frame: av.VideoFrame, index: int) -> np.ndarray:
    """A writable (height, width) uint8 view of one plane of a yuv420p frame (no copy).

    Planes are padded to ``line_size``; the view drops the padding.
    """
    plane = frame.planes[index]
    # A view of the plane's buffer, no copy.
    rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)  # type: ignore[call-overload]  # a VideoPlane is a buffer; PyAV's stubs do not say so
    return rows[: plane.height, : plane.width]


def run_hooks(hooks: list[FrameHook], frame: av.VideoFrame, ctx: FrameContext) -> av.VideoFrame:
    """Apply ``hooks`` in order; returns the frame to encode."""
    for hook in hooks:
        replaced = hook.on_frame(frame, ctx)
        if replaced is not None:
            if (replaced.width, replaced.height) != (frame.width, frame.height):
                raise ValueError(f"{hook!r} changed the frame size")
            frame = replaced
    return frame
