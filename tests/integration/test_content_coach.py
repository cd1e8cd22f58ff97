"""The content coach on synthetic pictures with known exposure, contrast, blur and framing, and
its tags and best hours through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from api.ai.coach import measure
from api.auth.rbac import Role
from api.streams import store as streams
from tests.conftest import MakeAccount, Server


def png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def scene(brightness: int = 128, spread: int = 60, subject: tuple[float, float] = (1 / 3, 1 / 3)):
    """A grey picture with a textured square (the subject) centred at ``subject``."""
    rng = np.random.default_rng(7)
    h, w = 360, 480
    img = np.full((h, w), brightness, dtype=np.float32)
    cx, cy = int(subject[0] * w), int(subject[1] * h)
    patch = rng.integers(-spread, spread + 1, size=(80, 80)).astype(np.float32)
    img[cy - 40 : cy + 40, cx - 40 : cx + 40] += patch
    # a soft vignette so the background has some contrast of its own
    img += (np.indices((h, w))[1] / w - 0.5) * spread * 2.5
    return np.clip(img, 0, 255).astype(np.uint8)


def verdicts(img: np.ndarray) -> dict[str, str]:
    return {m.name: m.verdict for m in measure(png(img))}


def test_a_good_picture_passes() -> None:
    assert verdicts(scene()) == {
        "exposure": "ok",
        "contrast": "ok",
        "sharpness": "ok",
        "framing": "ok",
    }


@pytest.mark.parametrize(
    ("img", "name", "verdict"),
    [
        (scene(brightness=30, spread=20), "exposure", "underexposed"),
        (scene(brightness=225, spread=20), "exposure", "overexposed"),
        (scene(spread=8), "contrast", "low"),
        (cv2.GaussianBlur(scene(), (0, 0), 6), "sharpness", "blurry"),
        (scene(subject=(0.5, 0.5)), "framing", "off-thirds"),
    ],
)
def test_a_flaw_is_named(img: np.ndarray, name: str, verdict: str) -> None:
    assert verdicts(img)[name] == verdict


def test_blur_lowers_sharpness_monotonically() -> None:
    values = [
        next(
            m.value
            for m in measure(png(cv2.GaussianBlur(scene(), (0, 0), s)))
            if m.name == "sharpness"
        )
        for s in (0.5, 1.5, 3, 6)
    ]
    assert values == sorted(values, reverse=True)


async def test_the_coach_route(server: Server, account: MakeAccount) -> None:
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    row, _ = await streams.create_stream(
        server.pool, title="coach", creator_handle=creator.handle, creator_id=creator.id
    )
    await server.pool.execute(
        "UPDATE streams SET tags = $2 WHERE id = $1",
        row.id,
        ["yoga", "cooking", "gaming", "lingerie", "beach"],
    )
    evening = datetime.now(UTC).replace(hour=21, minute=5) - timedelta(days=1)
    for n in range(5):
        await server.pool.execute(
            "INSERT INTO stream_viewers (id, stream_id, kind, anonymous_id, joined_at) "
            "VALUES ($1, $2, 'llhls', $3, $4)",
            uuid.uuid4(),
            row.id,
            f"anon{n}",
            evening - timedelta(minutes=n),
        )
    r = await creator.call(
        "POST",
        "/api/v1/ai/content-coach?caption=morning stretches on my mat",
        data=png(scene()),
        headers={"Content-Type": "image/png"},
    )
    assert r.status == 200, r.body
    assert {m["name"] for m in r.data["measures"]} == {
        "exposure",
        "contrast",
        "sharpness",
        "framing",
    }
    assert r.data["tags"][0]["tag"] == "yoga"
    assert r.data["bestHours"][0] == {"hour": 21, "joins": 5}

    r = await creator.call(
        "POST",
        "/api/v1/ai/content-coach",
        data=b"not a picture",
        headers={"Content-Type": "image/png"},
    )
    assert (r.status, r.code) == (415, "NOT_A_PICTURE")
    r = await creator.call(
        "POST", "/api/v1/ai/content-coach", data=b"", headers={"Content-Type": "image/png"}
    )
    assert (r.status, r.code) == (415, "NOT_A_PICTURE")
    r = await member.call(
        "POST", "/api/v1/ai/content-coach", data=png(scene()), headers={"Content-Type": "image/png"}
    )
    assert r.status == 403
