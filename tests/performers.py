"""Performers who may go live, made the production way (the go-live gate stays on in tests).

A performer is verified through the real review flow (an identity record submitted over HTTP
with real images, approved by a moderator through the review API) once, and checks in over
HTTP for each broadcast (a check-in counts until the stream's broadcast ends).
"""

from __future__ import annotations

from typing import Any

from api.streams import store
from tests.accounts import Account
from tests.identity import verify


async def is_verified(performer: Account) -> bool:
    r = await performer.call("GET", "/api/v1/verification/status")
    assert r.status == 200, r.body
    return bool(r.data["verified"])


async def check_in(performer: Account, stream_id: str) -> None:
    """``performer`` confirms consent for ``stream_id``'s next broadcast."""
    r = await performer.call("POST", f"/api/v1/streams/{stream_id}/consent")
    assert r.status == 201, r.body


async def make_ready(stream_id: str, *performers: Account, reviewer: Account) -> None:
    """Each of ``performers`` verified (approved by ``reviewer`` unless already) and checked in.

    ``reviewer`` is a moderator on the same database; each account calls its own server.
    """
    for performer in performers:
        if performer.cookie() is None:  # made with login=False: sign in on its own client
            assert (await performer.login()).status == 200
        if not await is_verified(performer):
            await verify(performer, reviewer)
        await check_in(performer, stream_id)


async def stream_of(
    pool: Any, performer: Account, title: str = "Test stream", **kw: Any
) -> tuple[str, str]:
    """A new stream of ``performer`` (``kw``: visibility, recording), checked in for its first
    broadcast; returns ``(stream_id, publish_token)``. ``performer`` must be verified."""
    row, token = await store.create_stream(
        pool, title=title, creator_handle=performer.handle, creator_id=performer.id, **kw
    )
    await check_in(performer, str(row.id))
    return str(row.id), token
