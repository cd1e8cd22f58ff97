"""Pipeline commands (freeze, unfreeze, explicit posters) against a real encoder thread, fed
synthesized frames directly (no WebRTC): what is encoded on either side of each command."""

from __future__ import annotations

import asyncio
import io

import av
import numpy as np
import pytest

from engine.hooks import FrameContext, plane_view
from engine.pipeline import StreamPipeline
from engine.slate import slate_distance, slate_image
from tests.feed import RUNGS, Collect, FrameTrack
from tests.feed import decode as decode_frames

pytestmark = pytest.mark.asyncio(loop_scope="session")


def decode(packets, rendition: str) -> list[tuple[float, float, bool]]:
    return [(t, slate_distance(y), k) for t, y, k in decode_frames(packets, rendition)]


async def test_freeze_unfreeze_and_posters_on_a_real_encoder_thread():
    collect = Collect()
    posters: list[bytes] = []
    hooked: list[FrameContext] = []

    class Spy:
        def on_frame(self, frame, ctx):
            hooked.append(ctx)

    pipeline = StreamPipeline(
        "unit-stream",
        RUNGS,
        [collect],
        poster_sink=posters.append,
        hooks=[Spy()],
        gap_fill_after=1e9,
    )
    track = FrameTrack(75)
    pipeline.start()
    pipeline.attach(track)
    while len(hooked) < 20:
        await asyncio.sleep(0.02)
    await pipeline.set_explicit(True)
    assert pipeline.explicit
    # The explicit flag replaces the poster before the command completes, from the last live
    # picture: no later frame is needed (the broadcast may end right after).
    assert len(posters) == 2
    frozen = await pipeline.freeze("unit")
    assert frozen.slot is not None and frozen.time == pytest.approx(frozen.slot / 30)
    hooks_at_freeze = len(hooked)
    posters_at_freeze = len(posters)
    slate_at_freeze = pipeline.stats.slate_slots
    while pipeline.stats.slate_slots < slate_at_freeze + 15:  # half a second of slate encoded
        await asyncio.sleep(0.02)
    # While frozen, live pictures reach no hook (not even moderation sampling).
    assert len(hooked) == hooks_at_freeze
    assert posters_at_freeze >= 3  # the freeze made a slate poster at once
    resumed = await pipeline.unfreeze()
    assert resumed is not None and resumed > frozen.time
    while track.n < track.count:
        await asyncio.sleep(0.05)
    await pipeline.stop()
    assert pipeline.error is None

    for rung in RUNGS:
        frames = decode(collect.packets, rung.name)
        before = [d for t, d, _ in frames if t < frozen.time]
        slate = [d for t, d, _ in frames if frozen.time <= t < resumed]
        after = [d for t, d, _ in frames if t >= resumed]
        # A late frame right after the unfreeze is preceded by repeats of the last picture,
        # the slate; once a live frame is out, the slate never comes back.
        first_live = next(i for i, d in enumerate(after) if d > 30)
        assert before and slate and after[first_live:]
        assert max(slate + after[:first_live]) < 10, rung.name
        assert min(before + after[first_live:]) > 30, rung.name
        # Keyframes at both switches, off the 1 s grid: nobody can join into the other side.
        keyed = {round(t * 30) for t, _, k in frames if k}
        assert frozen.slot in keyed and round(resumed * 30) in keyed
    assert all(c.stream_id == "unit-stream" and c.received_at > 0 for c in hooked)
    assert [c.slot for c in hooked] == sorted(c.slot for c in hooked)

    # Poster 2 (after set_explicit) is blurred: nearly no detail, unlike the first.
    def detail(jpeg: bytes) -> float:
        frame = next(av.open(io.BytesIO(jpeg)).decode(video=0))
        y = plane_view(frame.reformat(format="yuv420p"), 0).astype(np.float32)
        return float(np.abs(np.diff(y, axis=1)).mean())

    def rgb(jpeg: bytes) -> np.ndarray:
        return next(av.open(io.BytesIO(jpeg)).decode(video=0)).to_ndarray(format="rgb24")

    slate = np.asarray(slate_image(640, 360), np.int16)
    assert np.abs(rgb(posters[posters_at_freeze - 1]) - slate).mean() < 10
    assert detail(posters[0]) > 20  # the stripes
    assert detail(posters[1]) < detail(posters[0]) / 4  # blurred: no stripes left


async def test_commands_before_start_and_after_stop_complete_at_once():
    pipeline = StreamPipeline("idle", RUNGS, [Collect()])
    frozen = await pipeline.freeze("before start")
    assert frozen.slot is None and pipeline.frozen_reason == "before start"
    assert (await pipeline.freeze("again")).already_frozen
    await pipeline.set_explicit(True)
    assert pipeline.explicit
    assert await pipeline.unfreeze() is None and pipeline.frozen_reason is None
    pipeline.start()
    await pipeline.stop()
    result = await asyncio.wait_for(pipeline.freeze("after stop"), 5)
    assert result.slot is None
