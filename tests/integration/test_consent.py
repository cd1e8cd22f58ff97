"""Per-session consent: performers, check-ins, and WHIP go-live gated on both (the shared
server runs the gate as in production)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiohttp
import asyncpg
import pytest

from api.auth.rbac import Role
from api.keys import SAFETY
from tests.identity import verify
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def whip_refusal(base: str, stream_id: str, token: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}/whip/{stream_id}",
            data="v=0\r\n",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        ) as res,
    ):
        body = await res.json(content_type=None)
        return res.status, body


async def stream_with_guest(account):
    creator = await account(Role.CREATOR)
    guest = await account(Role.MEMBER)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Duo"})
    assert made.status == 201, made.body
    sid, token = made.data["id"], made.data["publishToken"]
    r = await creator.call(
        "POST", f"/api/v1/streams/{sid}/performers", json={"handle": guest.handle}
    )
    assert r.status == 201, r.body
    assert [p["role"] for p in r.data["performers"]] == ["creator", "co_performer"]
    return creator, guest, sid, token


async def wait_until(pool, sql: str, *args, expected) -> None:
    for _ in range(200):
        if await pool.fetchval(sql, *args) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {expected!r}: {sql}")


async def test_go_live_needs_verified_checked_in_performers(server, account):
    base = server.base_url
    creator, guest, sid, token = await stream_with_guest(account)
    moderator = await account(Role.MODERATOR)

    status, body = await whip_refusal(base, sid, token)
    assert (status, body["code"]) == (403, "PERFORMER_NOT_VERIFIED")
    assert sorted(body["meta"]["performers"]) == sorted([creator.handle, guest.handle])

    await verify(creator, moderator)
    status, body = await whip_refusal(base, sid, token)
    assert body["code"] == "PERFORMER_NOT_VERIFIED" and body["meta"]["performers"] == [guest.handle]
    await verify(guest, moderator)
    status, body = await whip_refusal(base, sid, token)
    assert (status, body["code"]) == (403, "CONSENT_REQUIRED")

    r = await creator.call("POST", f"/api/v1/streams/{sid}/consent")
    assert r.status == 201 and r.data["ready"] is False
    status, body = await whip_refusal(base, sid, token)
    assert body["code"] == "CONSENT_REQUIRED" and body["meta"]["performers"] == [guest.handle]
    # A revoked check-in no longer counts; confirming again does.
    await guest.call("POST", f"/api/v1/streams/{sid}/consent")
    r = await guest.call("DELETE", f"/api/v1/streams/{sid}/consent")
    assert r.status == 200 and r.data["ready"] is False and r.data["frozen"] is False
    assert (await whip_refusal(base, sid, token))[1]["code"] == "CONSENT_REQUIRED"
    r = await guest.call("POST", f"/api/v1/streams/{sid}/consent")
    assert r.data["ready"] is True

    async with aiohttp.ClientSession() as http:
        pub = await publish(http, base, sid, token)
        try:
            await wait_until(
                server.pool,
                "SELECT state FROM streams WHERE id = $1::uuid",
                sid,
                expected="live",
            )
            # Revoking consent while live freezes the stream (on the node holding it).
            r = await guest.call("DELETE", f"/api/v1/streams/{sid}/consent")
            assert r.status == 200 and r.data["frozen"] is True, r.body
            row = await server.pool.fetchrow(
                "SELECT frozen, frozen_reason, frozen_by FROM stream_safety "
                "WHERE stream_id = $1::uuid",
                sid,
            )
            assert row["frozen"] and row["frozen_reason"] == "consent revoked"
            assert row["frozen_by"] == guest.id
        finally:
            with contextlib.suppress(Exception):
                await pub.delete(http, base)
    await wait_until(
        server.pool,
        "SELECT count(*) FROM broadcasts WHERE stream_id = $1::uuid AND ended_at IS NULL",
        sid,
        expected=0,
    )
    # Check-ins are per session: the next broadcast needs new ones.
    await guest.call("POST", f"/api/v1/streams/{sid}/consent")
    status, body = await whip_refusal(base, sid, token)
    assert body["code"] == "CONSENT_REQUIRED" and body["meta"]["performers"] == [creator.handle]


async def test_performer_rules(server, account):
    creator, guest, sid, _ = await stream_with_guest(account)
    stranger = await account(Role.CREATOR)
    paths = f"/api/v1/streams/{sid}"
    r = await stranger.call("POST", f"{paths}/consent")
    assert (r.status, r.code) == (403, "NOT_A_PERFORMER")
    r = await stranger.call("GET", f"{paths}/performers")
    assert (r.status, r.code) == (403, "NOT_A_PERFORMER")
    r = await guest.call("POST", f"{paths}/performers", json={"handle": stranger.handle})
    assert (r.status, r.code) == (403, "NOT_STREAM_OWNER")
    r = await creator.call("POST", f"{paths}/performers", json={"handle": guest.handle})
    assert (r.status, r.code) == (409, "ALREADY_PERFORMER")
    r = await creator.call("POST", f"{paths}/performers", json={"handle": "nobody_here_x"})
    assert (r.status, r.code) == (404, "USER_NOT_FOUND")
    r = await creator.call("POST", f"/api/v1/streams/{uuid.uuid4()}/consent")
    assert (r.status, r.code) == (404, "STREAM_NOT_FOUND")
    moderator = await account(Role.MODERATOR)
    r = await moderator.call("GET", f"{paths}/performers")
    assert r.status == 200 and not r.data["ready"]
    # Removing a co-performer: the creator only, a real co-performer only.
    r = await guest.call("DELETE", f"{paths}/performers/{guest.id}")
    assert (r.status, r.code) == (403, "NOT_STREAM_OWNER")
    for bad in (stranger.id, creator.id, "not-a-uuid"):
        r = await creator.call("DELETE", f"{paths}/performers/{bad}")
        assert (r.status, r.code) == (404, "USER_NOT_FOUND"), bad
    r = await creator.call("DELETE", f"{paths}/performers/{guest.id}")
    assert r.status == 200 and [p["role"] for p in r.data["performers"]] == ["creator"]
    r = await guest.call("POST", f"{paths}/consent")
    assert (r.status, r.code) == (403, "NOT_A_PERFORMER")
    r = await creator.call("POST", f"{paths}/performers", json={"handle": guest.handle})
    assert r.status == 201
    # Check-ins are append-only.
    await guest.call("POST", f"{paths}/consent")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await server.pool.execute("DELETE FROM consent_checkins WHERE stream_id = $1::uuid", sid)


async def frozen(server, sid: str) -> bool:
    return bool(
        await server.pool.fetchval(
            "SELECT frozen FROM stream_safety WHERE stream_id = $1::uuid", sid
        )
    )


async def test_safe_word_and_resume(server, account, ready):
    creator, guest, sid, token = await stream_with_guest(account)
    await ready(sid, creator, guest)
    stranger = await account(Role.CREATOR)
    moderator = await account(Role.MODERATOR)
    base = f"/api/v1/streams/{sid}"
    r = await guest.call("POST", f"{base}/safe-word")
    assert (r.status, r.code) == (409, "STREAM_NOT_LIVE")
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, server.base_url, sid, token)
        try:
            r = await creator.call("DELETE", f"{base}/performers/{guest.id}")
            assert (r.status, r.code) == (409, "STREAM_LIVE")
            r = await stranger.call("POST", f"{base}/safe-word")
            assert (r.status, r.code) == (403, "NOT_A_PERFORMER")
            r = await guest.call("POST", f"{base}/safe-word")
            assert r.status == 200 and r.data["frozen"] and not r.data["alreadyFrozen"], r.body
            assert await frozen(server, sid)
            r = await moderator.call("POST", f"{base}/safe-word")
            assert r.status == 200 and r.data["alreadyFrozen"]
            # Only the creator resumes, and only by saying so.
            r = await guest.call("POST", f"{base}/resume", json={"confirm": True})
            assert (r.status, r.code) == (403, "NOT_STREAM_OWNER")
            r = await creator.call("POST", f"{base}/resume", json={})
            assert r.status == 422
            r = await creator.call("POST", f"{base}/resume", json={"confirm": True})
            assert r.status == 200 and r.data["frozen"] is False
            assert not await frozen(server, sid)
            # A revocation freezes, and blocks resuming until that performer confirms again.
            r = await guest.call("DELETE", f"{base}/consent")
            assert r.data["frozen"] and await frozen(server, sid)
            r = await creator.call("POST", f"{base}/resume", json={"confirm": True})
            assert (r.status, r.code) == (403, "CONSENT_REQUIRED")
            assert r.body["meta"]["performers"] == [guest.handle]
            await guest.call("POST", f"{base}/consent")
            r = await creator.call("POST", f"{base}/resume", json={"confirm": True})
            assert r.status == 200 and not await frozen(server, sid)
            logged = await server.pool.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'safety.safe_word' AND target = $1",
                f"stream:{sid}",
            )
            assert logged == 2
        finally:
            await pub.delete(http, server.base_url)


async def publish_and_wait_live(server, http, sid: str, token: str):
    pub = await publish(http, server.base_url, sid, token)
    await wait_until(
        server.pool, "SELECT state FROM streams WHERE id = $1::uuid", sid, expected="live"
    )
    return pub


async def end_broadcast(server, http, pub) -> None:
    await pub.delete(http, server.base_url)
    await wait_until(
        server.pool,
        "SELECT state FROM streams WHERE id = $1::uuid",
        pub.location.split("/")[2],
        expected="ended",
    )


async def test_the_next_broadcast_after_a_freeze(
    server, new_stream, check_in_again, performer, account, http
):
    """A performer's freeze (the safe word) ends with its broadcast: the next one, with new
    check-ins, starts live. Moderation's freeze outlives it: go-live is refused with 409
    STREAM_FROZEN until a moderator lifts it, which works with nothing live."""
    sid, token = await new_stream("Frozen, then again")
    moderator = await account(Role.MODERATOR)

    pub = await publish_and_wait_live(server, http, sid, token)
    r = await performer.call("POST", f"/api/v1/streams/{sid}/safe-word")
    assert r.status == 200 and r.data["frozen"], r.body
    await end_broadcast(server, http, pub)
    assert await frozen(server, sid)  # as the last broadcast ended
    assert (await whip_refusal(server.base_url, sid, token))[1]["code"] == "CONSENT_REQUIRED"
    await check_in_again(sid)
    pub = await publish_and_wait_live(server, http, sid, token)
    assert not await frozen(server, sid)
    assert server.broadcasts[sid].pipeline.frozen_reason is None

    outcome = await server.app[SAFETY].freeze(
        sid, "moderation: EXPOSED_GENITALIA 0.91", wait_for_viewers=False
    )
    assert outcome is not None
    await end_broadcast(server, http, pub)
    await check_in_again(sid)
    status, body = await whip_refusal(server.base_url, sid, token)
    assert (status, body["code"]) == (409, "STREAM_FROZEN"), body
    assert body["meta"]["reason"] == "moderation: EXPOSED_GENITALIA 0.91"
    # The creator cannot lift it; a moderator can, with nothing live.
    r = await performer.call("POST", f"/api/v1/streams/{sid}/resume", json={"confirm": True})
    assert r.status == 409, r.body
    r = await moderator.call("POST", f"/api/v1/streams/{sid}/unfreeze", json={"note": "ok"})
    assert r.status == 200, r.body
    pub = await publish_and_wait_live(server, http, sid, token)
    await end_broadcast(server, http, pub)
