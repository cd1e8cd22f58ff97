"""Helpers for identity-verification tests: small real images and a submitted, approved record."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from PIL import Image

from tests.accounts import Account, Reply


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 40), colour: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def form(
    *,
    legal_name: str = "Jane Q. Performer",
    date_of_birth: str = "1990-04-01",
    aliases: str | None = "JQ, Janey",
    files: dict[str, tuple[str, bytes]] | None = None,
    extra: dict[str, str] | None = None,
) -> aiohttp.FormData:
    """A submission form; ``files`` maps field -> (file name, bytes) (default: front + selfie)."""
    data = aiohttp.FormData()
    data.add_field("legalName", legal_name)
    data.add_field("dateOfBirth", date_of_birth)
    if aliases is not None:
        data.add_field("aliases", aliases)
    for name, value in (extra or {}).items():
        data.add_field(name, value)
    chosen = (
        files
        if files is not None
        else {"idFront": ("front.png", image()), "selfie": ("me.jpg", image("JPEG"))}
    )
    for name, (filename, raw) in chosen.items():
        # A stream, not bytes: aiohttp warns that a large raw body would block the loop.
        data.add_field(name, io.BytesIO(raw), filename=filename, content_type="image/jpeg")
    return data


async def submit(acct: Account, **kw: Any) -> Reply:
    return await acct.call("POST", "/api/v1/verification/records", data=form(**kw))


async def verify(performer: Account, moderator: Account) -> str:
    """Submit a record for ``performer`` and have ``moderator`` approve it; returns its id."""
    r = await submit(performer)
    assert r.status == 201, r.body
    record_id: str = r.data["id"]
    ok = await moderator.call(
        "POST", f"/api/v1/verification/records/{record_id}/reviews", json={"status": "approved"}
    )
    assert ok.status == 201, ok.body
    return record_id
