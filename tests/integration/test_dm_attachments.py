"""Direct-message attachments are scanned before delivery (the posts' moderation workers and
policy): the recipient neither sees the message nor fetches the file before a clean verdict;
an explicit one is held; the sender always sees their own upload and its status."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from api.auth.rbac import Role
from tests.accounts import Account, create_user, unique_handle
from tests.conftest import free_port
from tests.integration.test_posts import form, png, safe_picture
from tests.pictures import explicit_picture
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def scanning(pg_dsn, tmp_path_factory) -> AsyncIterator[str]:
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("var-dm"),
        free_port(),
        edge_port=0,
        moderation_enabled=False,  # the post scanner starts its own worker
        post_scan_enabled=True,
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
    ) as (base, _app):
        yield base


async def _member(server, base: str, *roles: Role) -> Account:
    user = await create_user(server, frozenset(roles or {Role.MEMBER}), unique_handle("dma"))
    acct = Account(base, id=user.id, handle=user.handle, email=user.email)
    assert (await acct.login()).status == 200
    return acct


async def _verdict(sender: Account, cid: str, mid: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = await sender.call("GET", f"/api/v1/conversations/{cid}/messages")
        mine = next(m for m in r.data if m["id"] == mid)
        if mine["attachment"]["status"] != "pending":
            return mine["attachment"]
        assert time.monotonic() < deadline, "the attachment was never scanned"
        await asyncio.sleep(0.05)


async def test_attachments_are_delivered_only_after_a_clean_scan(server, scanning):
    creator = await _member(server, scanning, Role.CREATOR)
    fan = await _member(server, scanning)
    try:
        cid = (
            await creator.call("POST", "/api/v1/conversations", json={"handle": fan.handle})
        ).data["id"]
        picture = png(safe_picture())
        r = await creator.call(
            "POST", f"/api/v1/conversations/{cid}/attachments", data=form(picture, text="look")
        )
        assert r.status == 201, r.body
        sent = r.data
        assert sent["attachment"]["status"] == "pending" and sent["text"] == "look"
        url = sent["attachment"]["url"]
        # Before the verdict: not in the recipient's history, not fetchable by them.
        r = await fan.call("GET", url)
        if r.status == 404:  # the scan may not have finished yet
            assert r.code == "ATTACHMENT_NOT_AVAILABLE" and r.body["meta"]["status"] == "pending"
        assert (await creator.call("GET", url)).body == picture  # the sender's own
        verdict = await _verdict(creator, cid, sent["id"])
        assert verdict["status"] == "clean", verdict
        r = await fan.call("GET", url)
        assert r.status == 200 and r.body == picture and r.headers["Content-Type"] == "image/png"
        r = await fan.call("GET", f"/api/v1/conversations/{cid}/messages")
        assert [m["id"] for m in r.data] == [sent["id"]]

        # An explicit picture is held: the recipient never gets it.
        r = await creator.call(
            "POST",
            f"/api/v1/conversations/{cid}/attachments",
            data=form(png(explicit_picture(640, 360))),
        )
        assert r.status == 201, r.body
        held = r.data
        assert held["text"] == "📎"
        verdict = await _verdict(creator, cid, held["id"])
        assert verdict["status"] == "held", verdict
        r = await fan.call("GET", held["attachment"]["url"])
        assert (r.status, r.code) == (404, "ATTACHMENT_NOT_AVAILABLE")
        assert r.body["meta"]["status"] == "held"
        r = await fan.call("GET", f"/api/v1/conversations/{cid}/messages")
        assert held["id"] not in [m["id"] for m in r.data]
        r = await fan.call("GET", "/api/v1/conversations")
        assert next(c for c in r.data if c["id"] == cid)["unread"] == 1  # the clean one only

        # Bad uploads: the envelope's codes, nothing written.
        base = f"/api/v1/conversations/{cid}/attachments"
        r = await creator.call("POST", base, data=form(b"not an image"))
        assert (r.status, r.code) == (415, "UNSUPPORTED_MEDIA")
        r = await creator.call("POST", base, data=form(picture, caption="x"))
        assert (r.status, r.code) == (422, "INVALID_POST")
        r = await creator.call("POST", base, json={"text": "x"})
        assert r.status in (415, 422), r.body
        outsider = await _member(server, scanning)
        try:
            r = await outsider.call("POST", base, data=form(picture))
            assert (r.status, r.code) == (404, "CONVERSATION_NOT_FOUND")
            r = await outsider.call("GET", url)
            assert (r.status, r.code) == (404, "CONVERSATION_NOT_FOUND")
        finally:
            await outsider.close()
        count = await server.pool.fetchval(
            "SELECT count(*) FROM message_attachments a JOIN messages m ON m.id = a.message_id "
            "WHERE m.conversation_id = $1",
            uuid.UUID(cid),
        )
        assert count == 2
    finally:
        await creator.close()
        await fan.close()
