"""Revoked playback access does not outlive the change: every kind of change, every server.

A viewer's token, issued while they may watch, is refused by the HLS origin (``hls/origin.py``),
the LL-HLS edge (``hls/edge.py``) and WHEP (``live/whep.py``) within 10 s after a change
takes their access away: the stream's visibility, their subscription ending, a ticket show
starting, a ban from the room, a geo-block on their place, their account suspended. Each change
goes through the real route or event that makes it; the node hears of it through the database's
change notice (migration 0067, ``api.streams.revocations``). Connected WHEP viewers are
disconnected too (``live/whep_guard.py``), proven with a real broadcast and real aiortc
viewers.

One node with the production defaults (age gate on: the streams are adult-rated), its edge,
127.0.0.1 trusted as a proxy so ``X-Viewer-Country`` places a request, and a 2-second
subscription period so a subscription can reach its grace period in a test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from api.auth.rbac import Role
from api.keys import POOL, SETTINGS
from api.streams.revocations import REVOCATIONS
from api.subscriptions.billing import billing_from, renew_due
from api.wallet.service import LEDGER
from live.whep import VIEWERS
from live.whep_guard import WHEP_GUARD
from tests.accounts import Account, create_user
from tests.chatclient import ChatClient
from tests.conftest import free_port
from tests.integration.wallet.conftest import fund
from tests.performers import make_ready
from tests.publisher import publish
from tests.servers import extra_server
from tests.viewer import make_viewer_offer, watch

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLACE = "X-Viewer-Country"
DEADLINE = 10.0  # seconds: the most a revoked token may keep working (the requirement)
SERVERS = ("app", "edge", "whep")
KINDS = ("visibility", "subscription", "ticket", "ban", "geo", "account")
PERIOD = 2  # seconds: the node's subscription period


@dataclass
class Node:
    base: str
    edge: str
    app: Any
    offer: str  # a WHEP viewer's offer (recvonly H.264 + Opus)
    reviewer: Account  # a moderator: verifies the creators who go live (the go-live gate)

    @property
    def pool(self) -> Any:
        return self.app[POOL]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def node(pg_dsn, tmp_path_factory) -> AsyncIterator[Node]:
    port, edge_port = free_port(), free_port()
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("revocation"),
        port,
        age_gate_enabled=True,
        edge_port=edge_port,
        moderation_enabled=False,
        # Dozens of sign-ins from 127.0.0.1 (the limits are proven by test_ratelimit.py).
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
        publisher_media_timeout=4.0,
        geoip_ranges={"127.0.0.0/8": "NL"},
        geoip_trusted_proxies=["127.0.0.1/32"],
        # The subscription case steps a subscription into its grace period (one short paid
        # period, a renewal run by the test); the node's own renewal job stays out of it.
        subscription_period_seconds=PERIOD,
        subscription_grace_seconds=600,
        subscription_retry_seconds=1,
        subscription_job_interval=3600,
    ) as (base, app):
        # The rules these tests expect, whatever ran before on this database (schemathesis
        # sets random ones through the admin route): a self-declaration is enough in NL.
        await app[POOL].execute(
            "DELETE FROM age_gate_rules; INSERT INTO age_gate_rules (country, region, "
            "requirement) VALUES ('*', '', 'self_declared')"
        )
        await asyncio.wait_for(app[REVOCATIONS].listening.wait(), 30)
        user = await create_user(_Pool(app), frozenset({Role.MODERATOR}))
        reviewer = Account(base, id=user.id, handle=user.handle, email=user.email)
        assert (await reviewer.login()).status == 200
        try:
            yield Node(
                base, f"http://127.0.0.1:{edge_port}", app, await make_viewer_offer(), reviewer
            )
        finally:
            await reviewer.close()


@dataclass
class _Pool:
    """What `create_user` needs of a server."""

    app: Any

    @property
    def pool(self) -> Any:
        return self.app[POOL]


@pytest_asyncio.fixture(loop_scope="session")
async def people(node: Node) -> AsyncIterator[Callable[..., Awaitable[Account]]]:
    made: list[Account] = []

    async def make(*roles: Role, adult: bool = True) -> Account:
        user = await create_user(node, frozenset(roles or {Role.MEMBER}))
        acct = Account(node.base, id=user.id, handle=user.handle, email=user.email)
        made.append(acct)
        assert (await acct.login()).status == 200
        if adult:
            r = await acct.call("POST", "/api/v1/me/age-declaration", json={"confirm": True})
            assert r.status == 201, r.body
        return acct

    yield make
    for acct in made:
        await acct.close()


async def token_of(viewer: Account, sid: str) -> tuple[int, Any]:
    r = await viewer.call(
        "POST", f"/api/v1/streams/{sid}/playback-tokens", json={}, headers={PLACE: "NL"}
    )
    return r.status, r.body


async def probe(node: Node, which: str, sid: str, token: str) -> tuple[int, str | None]:
    """Ask ``which`` server for the stream with ``token``: (status, envelope code or None).

    The token check comes first everywhere; past it, a stream not broadcasting here gets 404
    (origin), 307 to the app (edge) or 409 STREAM_OFFLINE (WHEP)."""
    headers = {PLACE: "NL"}
    async with aiohttp.ClientSession() as http:
        if which == "whep":
            headers |= {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
            request = http.post(f"{node.base}/whep/{sid}", data=node.offer, headers=headers)
        else:
            base = node.edge if which == "edge" else node.base
            url = f"{base}/hls/{sid}/index.m3u8?token={token}"
            request = http.get(url, headers=headers, allow_redirects=False)
        async with request as res:
            body = await res.json(content_type=None) if res.status >= 400 else None
            return res.status, (body or {}).get("code")


ADMITTED = {"app": (404, "MEDIA_NOT_FOUND"), "edge": (307, None), "whep": (409, "STREAM_OFFLINE")}


async def refused_within(node: Node, which: str, sid: str, token: str) -> tuple[int, str]:
    """Poll until ``which`` refuses ``token``; fails if it still plays after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        status, code = await probe(node, which, sid, token)
        if status in (403, 451):
            assert code is not None
            return status, code
        assert (status, code) == ADMITTED[which], (status, code)
        assert time.monotonic() < deadline, f"{which} still admits the token after {DEADLINE} s"
        await asyncio.sleep(0.1)


# --- one change of each kind ------------------------------------------------------------


async def change_visibility(node: Node, people, creator: Account, viewer: Account, sid: str):
    r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"visibility": "subscribers"})
    assert r.status == 200 and r.data["visibility"] == "subscribers", r.body
    return (403, "PLAYBACK_TOKEN_REVOKED"), (403, "PLAYBACK_DENIED")


async def change_subscription(node: Node, people, creator: Account, viewer: Account, sid: str):
    # (set up by `prepare`: a subscriber-only stream, the viewer in grace after an unpaid
    # renewal.) Cancelling in grace ends the subscription at once.
    sub_id = await node.pool.fetchval(
        "SELECT id FROM subscriptions WHERE subscriber_id = $1 AND creator_id = $2",
        viewer.id,
        creator.id,
    )
    r = await viewer.call("POST", f"/api/v1/subscriptions/{sub_id}/cancel")
    assert r.status == 200 and r.data["state"] == "ended", r.body
    return (403, "PLAYBACK_TOKEN_REVOKED"), (403, "PLAYBACK_DENIED")


async def change_ticket(node: Node, people, creator: Account, viewer: Account, sid: str):
    show = await creator.call(
        "POST", f"/api/v1/streams/{sid}/ticket-shows", json={"title": "Tickets", "price": 10}
    )
    assert show.status == 201, show.body
    started = await creator.call("POST", f"/api/v1/ticket-shows/{show.data['id']}/start")
    assert started.status == 200 and started.data["state"] == "running", started.body
    return (403, "PLAYBACK_TOKEN_REVOKED"), (403, "PLAYBACK_DENIED")


async def change_ban(node: Node, people, creator: Account, viewer: Account, sid: str):
    host = await ChatClient().connect(node.base, {"Cookie": f"session={creator.cookie()}"})
    try:
        ack = await host.call("chat:ban", {"streamId": sid, "userId": str(viewer.id)})
        assert ack["ok"] is True and ack["kind"] == "ban", ack
    finally:
        await host.close()
    return (403, "PLAYBACK_TOKEN_REVOKED"), (403, "BANNED")


async def change_geo(node: Node, people, creator: Account, viewer: Account, sid: str):
    r = await creator.call("PUT", f"/api/v1/streams/{sid}/geo-blocks", json={"places": ["NL"]})
    assert r.status == 200 and r.data["places"] == ["NL"], r.body
    return (451, "GEO_BLOCKED"), (451, "GEO_BLOCKED")


async def change_account(node: Node, people, creator: Account, viewer: Account, sid: str):
    # A moderator suspends the viewer's account over a report: their session ends, and the
    # tokens they hold for live streams with it.
    r = await node.reviewer.call(
        "POST",
        "/api/v1/reports",
        json={"targetType": "user", "targetId": str(viewer.id), "reason": "harassment"},
    )
    assert r.status == 201, r.body
    done = await node.reviewer.call(
        "POST",
        f"/api/v1/moderation/reports/{r.data['id']}/actions",
        json={"action": "suspend", "days": 3},
    )
    assert done.status == 200, done.body
    # Asking again, the viewer is anonymous: an adult stream wants a declaration.
    return (403, "PLAYBACK_TOKEN_REVOKED"), (403, "AGE_VERIFICATION_REQUIRED")


CHANGES = {
    "visibility": change_visibility,
    "subscription": change_subscription,
    "ticket": change_ticket,
    "ban": change_ban,
    "geo": change_geo,
    "account": change_account,
}


async def prepare(node: Node, people, kind: str) -> tuple[Account, Account, str]:
    """A creator, a viewer who may watch the creator's stream now, and the stream."""
    creator, viewer = await people(Role.CREATOR), await people()
    visibility = "subscribers" if kind == "subscription" else "public"
    made = await creator.call(
        "POST", "/api/v1/streams", json={"title": f"revoke {kind}", "visibility": visibility}
    )
    assert made.status == 201, made.body
    sid = made.data["id"]
    if kind in ("ticket", "account"):
        # A ticket show starts on a live stream, and a suspension voids tokens for live
        # streams: live as far as the database knows (it broadcasts on no node; the token
        # check comes before any media either way).
        await node.pool.execute(
            "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1", uuid.UUID(sid)
        )
    if kind == "subscription":
        tier = await creator.call(
            "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": "Fans", "price": 10}
        )
        assert tier.status == 201, tier.body
        await fund(node.app[LEDGER], viewer.id, 10)  # one period, so the renewal goes unpaid
        r = await viewer.call(
            "POST",
            f"/api/v1/creators/{creator.id}/subscribe",
            json={"tierId": tier.data["id"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status == 201, r.body
        await asyncio.sleep(PERIOD)  # the paid period ends; the renewal cannot be paid
        billing = billing_from(node.app[SETTINGS])
        while (
            await node.pool.fetchval(
                "SELECT state FROM subscriptions WHERE id = $1", uuid.UUID(r.data["subscriptionId"])
            )
            != "grace"
        ):
            await renew_due(node.pool, node.app[LEDGER].book, billing)
            await asyncio.sleep(0.2)
    return creator, viewer, sid


@pytest.mark.parametrize("which", SERVERS)
@pytest.mark.parametrize("kind", KINDS)
async def test_a_revoked_token_is_refused_within_ten_seconds(node, people, kind, which):
    creator, viewer, sid = await prepare(node, people, kind)
    status, body = await token_of(viewer, sid)
    assert status == 201, body
    token = body["data"]["token"]
    assert await probe(node, which, sid, token) == ADMITTED[which]
    notices = node.app[REVOCATIONS].notices

    media_refusal, api_refusal = await CHANGES[kind](node, people, creator, viewer, sid)

    assert await refused_within(node, which, sid, token) == media_refusal
    # The node heard of it from the database (not only at its cache's expiry)...
    assert node.app[REVOCATIONS].notices > notices
    # ... and asking the API again decides afresh: no new token either.
    status, body = await token_of(viewer, sid)
    assert (status, body["code"]) == api_refusal, body


async def test_other_viewers_keep_watching_after_one_viewers_revocation(node, people):
    """A per-viewer change (a ban) voids that viewer's tokens only."""
    creator, banned, sid = await prepare(node, people, "ban")
    other = await people()
    tokens = {}
    for who in (banned, other):
        status, body = await token_of(who, sid)
        assert status == 201, body
        tokens[who.id] = body["data"]["token"]
    await change_ban(node, people, creator, banned, sid)
    assert await refused_within(node, "edge", sid, tokens[banned.id]) == (
        403,
        "PLAYBACK_TOKEN_REVOKED",
    )
    for which in SERVERS:
        assert await probe(node, which, sid, tokens[other.id]) == ADMITTED[which]


# --- connected WHEP viewers -------------------------------------------------------------


async def test_connected_whep_viewers_are_disconnected_when_their_access_ends(node, people):
    """Real broadcast, real WebRTC viewers: a ban disconnects the banned viewer only; a
    visibility change disconnects the other; HLS refuses both tokens as well."""
    creator, banned, other = await people(Role.CREATOR), await people(), await people()
    made = await creator.call("POST", "/api/v1/streams", json={"title": "live revocation"})
    assert made.status == 201, made.body
    sid = made.data["id"]
    guard = node.app[WHEP_GUARD]
    await make_ready(sid, creator, reviewer=node.reviewer)
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, node.base, sid, made.data["publishToken"], size=(320, 240))
        viewers = []
        try:
            tokens = []
            for who in (banned, other):
                status, body = await token_of(who, sid)
                assert status == 201, body
                tokens.append(body["data"]["token"])
            for token in tokens:
                viewer = await _watch_when_live(http, node.base, sid, token)
                viewers.append(viewer)
                await viewer.wait_frames(5)
            assert node.app[VIEWERS].count(sid) == 2 and guard.count(sid) == 2
            stopped = guard.stopped["PLAYBACK_TOKEN_REVOKED"]

            await change_ban(node, people, creator, banned, sid)
            await _until(lambda: node.app[VIEWERS].count(sid) == 1, "the banned viewer's stop")
            await asyncio.wait_for(viewers[0].ended.wait(), DEADLINE)  # its tracks ended
            assert guard.stopped["PLAYBACK_TOKEN_REVOKED"] == stopped + 1
            frames = viewers[1].video_frames
            await viewers[1].wait_frames(frames + 5)  # the other one still plays
            status, _ = await probe(node, "edge", sid, tokens[1])
            assert status == 200  # live here: the master playlist itself

            r = await creator.call(
                "PATCH", f"/api/v1/streams/{sid}", json={"visibility": "followers"}
            )
            assert r.status == 200, r.body
            await _until(lambda: node.app[VIEWERS].count(sid) == 0, "the other viewer's stop")
            await asyncio.wait_for(viewers[1].ended.wait(), DEADLINE)
            assert guard.stopped["PLAYBACK_TOKEN_REVOKED"] == stopped + 2
            for which in ("app", "edge"):
                assert await probe(node, which, sid, tokens[1]) == (403, "PLAYBACK_TOKEN_REVOKED")
        finally:
            for viewer in viewers:
                await viewer.close()
            await pub.delete(http, node.base)


async def test_whep_viewers_of_an_open_stream_are_stopped_once_it_needs_a_token(node, people):
    """Admitted without a token (a public, sfw stream): once the stream needs one, the
    connection ends and the player must ask the API."""
    creator = await people(Role.CREATOR)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "open, then not"})
    assert made.status == 201, made.body
    sid = made.data["id"]
    await node.pool.execute(
        "INSERT INTO stream_safety (stream_id, rating) VALUES ($1, 'sfw') "
        "ON CONFLICT (stream_id) DO UPDATE SET rating = 'sfw'",
        uuid.UUID(sid),
    )
    await make_ready(sid, creator, reviewer=node.reviewer)
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, node.base, sid, made.data["publishToken"], size=(320, 240))
        viewer = None
        try:
            viewer = await _watch_when_live(http, node.base, sid, None)
            await viewer.wait_frames(5)
            r = await creator.call(
                "PATCH", f"/api/v1/streams/{sid}", json={"visibility": "subscribers"}
            )
            assert r.status == 200, r.body
            await _until(lambda: node.app[VIEWERS].count(sid) == 0, "the tokenless viewer's stop")
            assert node.app[WHEP_GUARD].stopped["PLAYBACK_TOKEN_REQUIRED"] >= 1
        finally:
            if viewer is not None:
                await viewer.close()
            await pub.delete(http, node.base)


async def _watch_when_live(http: aiohttp.ClientSession, base: str, sid: str, token: str | None):
    """A WHEP viewer, once the broadcast has media (409 STREAM_OFFLINE until then)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await watch(http, base, sid, token=token, audio=False)
        except AssertionError as exc:
            if "STREAM_OFFLINE" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
