"""The probe's hostile values, one per finding, against the real server: each is a 4xx in the
envelope. (tests/integration/test_hostile_openapi.py sends the whole class to every route.)"""

from __future__ import annotations

import asyncio
import io
import uuid

import aiohttp
import pytest
from PIL import Image

from api.auth.rbac import Role
from tests.identity import form, image

pytestmark = pytest.mark.asyncio(loop_scope="session")


def bomb_png(width: int = 12_000, height: int = 12_000) -> bytes:
    """A 144-megapixel PNG of one colour: small on the wire, ~430 MB once decoded as RGB."""
    buf = io.BytesIO()
    Image.new("1", (width, height), 0).save(buf, "PNG", optimize=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_png()


def assert_refused(r, status: int, code: str) -> None:
    assert (r.status, r.code) == (status, code), r.body
    assert r.body["status"] == "error" and r.body["requestId"] == r.headers["X-Request-Id"]


@pytest.mark.parametrize("value", ["tip\x00message", "lone \ud800 surrogate"])
async def test_a_nul_tip_is_refused_the_same_way_when_retried_with_its_key(
    account, new_stream, value
):
    viewer = await account()
    stream_id, _ = await new_stream()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"amount": 5, "message": value}
    first = await viewer.call("POST", f"/api/v1/streams/{stream_id}/tip", json=body, headers=key)
    again = await viewer.call("POST", f"/api/v1/streams/{stream_id}/tip", json=body, headers=key)
    for r in (first, again):
        assert_refused(r, 422, "VALIDATION_ERROR")
        assert r.body["meta"]["errors"][0]["field"] == "body.message"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/users/a%00b", "path.handle"),
        ("/api/v1/streams?creator=a%00b", "query.creator"),
    ],
)
async def test_nul_in_a_path_or_query_is_refused(client, path, field):
    r = await client.call("GET", path)
    assert_refused(r, 422, "VALIDATION_ERROR")
    assert r.body["meta"]["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00-00:01"]
)
async def test_timestamps_that_overflow_in_utc_are_refused(client, account, stamp):
    r = await client.call("GET", "/api/v1/streams", params={"cursor": stamp})  # anonymous
    if stamp.endswith("-00:01"):  # a minute after year 1 began in UTC: a valid instant
        assert r.status == 200
    else:
        assert_refused(r, 422, "VALIDATION_ERROR")
        assert r.body["meta"]["errors"][0]["field"] == "query.cursor"
    creator = await account(Role.CREATOR)
    for name in ("from", "to"):
        r = await creator.call("GET", "/api/v1/creators/me/statement", params={name: stamp})
        if stamp.endswith("-00:01"):
            assert r.status in (200, 422) and r.code != "INTERNAL_ERROR"
        else:
            assert_refused(r, 422, "VALIDATION_ERROR")
            assert r.body["meta"]["errors"][0]["field"] == f"query.{name}"


async def test_a_decompression_bomb_is_refused_everywhere_an_image_is_decoded(account, bomb):
    """The one pixel limit (teezu.images): identity documents, avatars and posts alike."""
    performer = await account()
    files = {"idFront": ("front.png", bomb), "selfie": ("me.jpg", image("JPEG"))}
    r = await performer.call("POST", "/api/v1/verification/records", data=form(files=files))
    assert_refused(r, 422, "IMAGE_TOO_LARGE")
    assert r.body["meta"] == {"maxPixels": 40_000_000, "field": "idFront"}
    avatar = await performer.call(
        "PUT",
        f"/api/v1/users/{performer.handle}/avatar",
        data=bomb,
        headers={"Content-Type": "image/png"},
    )
    assert_refused(avatar, 422, "IMAGE_TOO_LARGE")
    creator = await account(Role.CREATOR)
    post = aiohttp.FormData()
    post.add_field("file", bomb, filename="x.png", content_type="image/png")
    r = await creator.call("POST", "/api/v1/posts", data=post)
    assert_refused(r, 422, "INVALID_MEDIA")
    assert r.body["meta"]["maxPixels"] == 40_000_000


async def test_the_limit_is_exact():
    from teezu.images import ImageTooLarge, image_size

    at_limit = await asyncio.to_thread(bomb_png, 8000, 5000)  # exactly 40 Mpixel
    assert image_size(at_limit) == (8000, 5000)
    over = await asyncio.to_thread(bomb_png, 8001, 5000)  # under Pillow's own (2x) error
    with pytest.raises(ImageTooLarge):
        image_size(over)


async def test_form_text_obeys_the_same_text_rule(account):
    """Multipart forms are not models: their text goes through the same rule (api.schema)."""
    creator = await account(Role.CREATOR)
    post = aiohttp.FormData()
    post.add_field("file", image("PNG", (16, 16)), filename="x.png", content_type="image/png")
    post.add_field("caption", "nul\x00caption")
    r = await creator.call("POST", "/api/v1/posts", data=post)
    assert_refused(r, 422, "INVALID_POST")
    assert r.body["meta"] == {"field": "caption"}
