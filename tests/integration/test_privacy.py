"""GDPR: export and erasure against a server of their own (fresh database, S3 over HTTP, Redis).

A user gets data everywhere (profile, avatar, sessions, follows, chat over Socket.IO, a
purchase and tips through the wallet, a stream with media and a moderation snapshot in S3, a
report, a consent check-in, an identity record, a moderation decision about them). Their export
must hold it all and nothing of anyone else; after erasure, every PostgreSQL column, every S3
object and every Redis key and value is scanned: the user's email, handle and display name are
nowhere, and their id and legal name only in the rows the registry declares retained.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio as redis
from aiohttp import web
from blockbuster import blockbuster_ctx

from api.auth.rbac import Role
from api.keys import POOL
from api.mood.analyzer import ANALYZER
from api.privacy.exports import EXPORTER
from api.privacy.packages import REGISTRY
from api.privacy.registry import NO_PERSONAL_DATA
from api.routing import ROUTES
from teezu.storage import STORAGE
from tests.accounts import Account, Reply, create_user, unique_handle
from tests.chatclient import ChatClient
from tests.conftest import free_port
from tests.identity import image, submit
from tests.integration.wallet.conftest import fresh_database
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
BUCKET = "gdpr-media"


@dataclass
class Env:
    base_url: str
    app: web.Application
    dsn: str
    moto: MotoServer
    redis_url: str
    peer_url: str  # a second API process on the same database, Redis and S3
    made: list[Account] = field(default_factory=list)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[POOL]

    async def account(self, *roles: Role) -> Account:
        user = await create_user(self, frozenset(roles or {Role.MEMBER}), unique_handle("g"))
        acct = Account(self.base_url, id=user.id, handle=user.handle, email=user.email)
        self.made.append(acct)
        reply = await acct.call(
            "POST",
            "/api/v1/auth/login",
            json={"email": acct.email, "password": acct.password},
            headers={"User-Agent": "gdpr-test-browser/1.0"},
        )
        assert reply.status == 200, reply.body
        return acct


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(pg_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory):
    dsn = await fresh_database(pg_dsn, "teezu_gdpr")
    with MotoServer() as moto:
        await asyncio.to_thread(moto.client().create_bucket, Bucket=BUCKET)
        common: dict[str, Any] = {
            "edge_port": 0,
            "redis_url": redis_url,
            "storage_backend": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": moto.endpoint_url,
            "s3_access_key": ACCESS_KEY,
            "s3_secret_key": SECRET_KEY,
            "s3_region": REGION,
            "moderation_enabled": False,
            "rate_limit_requests": 1_000_000,
            "auth_rate_limit_requests": 1_000_000,
        }
        var = tmp_path_factory.mktemp("gdpr")
        async with (
            extra_server(dsn, var / "a", free_port(), **common) as (base, app),
            extra_server(dsn, var / "b", free_port(), **common) as (peer, _),
        ):
            made = Env(base, app, dsn, moto, redis_url, peer)
            try:
                yield made
            finally:
                for acct in made.made:
                    await acct.close()


def assert_envelope(reply: Reply, status: int, code: str) -> None:
    body = reply.body
    assert (reply.status, body["status"], body["code"]) == (status, "error", code), body
    assert body["message"] and body["requestId"] and isinstance(body["meta"], dict)


def _in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, reply.body
    return reply.body["data"] if isinstance(reply.body, dict) and "data" in reply.body else None


async def until(check: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def buy(env: Env, acct: Account) -> str:
    data = await ok(
        await acct.call(
            "POST", "/api/v1/wallet/purchase", json={"packageId": "tokens-100"}, headers=key()
        ),
        202,
    )
    purchase_id = data["purchase"]["id"]

    async def confirmed() -> bool:
        r = await acct.call("GET", f"/api/v1/wallet/purchases/{purchase_id}")
        return bool(r.status == 200 and r.data["state"] == "confirmed")

    await until(confirmed, "the purchase's webhook")
    return str(purchase_id)


async def new_stream(env: Env, acct: Account, title: str) -> str:
    data = await ok(
        await acct.call("POST", "/api/v1/streams", json={"title": title, "recording": True}), 201
    )
    return str(data["id"])


async def set_state(env: Env, stream_id: str, state: str) -> None:
    # A real broadcast is not needed for what is tested here (tips need a live stream).
    await env.pool.execute(
        "UPDATE streams SET state = $2, started_at = coalesce(started_at, now()), "
        "ended_at = CASE WHEN $2 = 'ended' THEN now() END WHERE id = $1",
        uuid.UUID(stream_id),
        state,
    )


@dataclass
class World:
    target: Account
    creator: Account  # someone the target follows and tips
    other: Account  # follows the target, chats next to them, tips them, reports them
    moderator: Account
    root: Account  # super admin
    display_name: str
    legal_name: str
    target_stream: str
    creator_stream: str
    record_id: str
    report_about: str  # a report about the target, acted on (warn)
    chat: ChatClient
    peer_chat: ChatClient  # the target's connection to the other API process
    session_cookie: str
    other_strings: list[str]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(env: Env) -> AsyncIterator[World]:
    target = await env.account(Role.CREATOR)
    creator = await env.account(Role.CREATOR)
    other = await env.account(Role.MEMBER)
    moderator = await env.account(Role.MODERATOR)
    root = await env.account(Role.SUPER_ADMIN)
    tag = uuid.uuid4().hex[:10]
    display_name = f"Zora Display {tag}"
    legal_name = f"Zoraida Legal {tag}"

    # Profile and avatar.
    await ok(
        await target.call(
            "PATCH",
            f"/api/v1/users/{target.handle}",
            json={"displayName": display_name, "bio": "I stream pottery"},
        )
    )
    other_name = f"Other Person {uuid.uuid4().hex[:8]}"
    await ok(
        await other.call("PATCH", f"/api/v1/users/{other.handle}", json={"displayName": other_name})
    )
    await ok(
        await target.call(
            "PUT",
            f"/api/v1/users/{target.handle}/avatar",
            data=image("PNG", (300, 300), "orange"),
            headers={"Content-Type": "image/png"},
        )
    )
    # Follows, both ways.
    await ok(await target.call("POST", f"/api/v1/users/{creator.handle}/follow"), 204)
    await ok(await other.call("POST", f"/api/v1/users/{target.handle}/follow"), 204)

    # Streams: the target's own (recorded, media and a moderation snapshot in S3), and one of
    # the creator's where the target chats and tips.
    target_stream = await new_stream(env, target, "Pottery live")
    creator_stream = await new_stream(env, creator, "Creator live")
    storage = env.app[STORAGE]
    await env.pool.execute(
        "INSERT INTO broadcasts (id, stream_id, run, recording, ended_at, duration_seconds) "
        "VALUES ($1, $2, 'abcdef01', true, now(), 12.5)",
        uuid.uuid4(),
        uuid.UUID(target_stream),
    )
    for k in (
        f"{target_stream}/poster.jpg",
        f"{target_stream}/abcdef01/720p/seg00001.m4s",
        f"moderation/{target_stream}/decision-1.jpg",
        f"{creator_stream}/poster.jpg",
    ):
        await storage.put(k, b"\xff\xd8jpeg-ish " + k.encode(), "image/jpeg")
    await set_state(env, target_stream, "live")
    await set_state(env, creator_stream, "live")

    # Chat over Socket.IO: the target and the other person in the creator's room.
    chat = await ChatClient().connect(
        env.base_url, headers={"Cookie": f"session={target.cookie()}"}
    )
    other_chat = await ChatClient().connect(
        env.base_url, headers={"Cookie": f"session={other.cookie()}"}
    )
    peer_chat = await ChatClient().connect(
        env.peer_url, headers={"Cookie": f"session={target.cookie()}"}
    )
    for c in (chat, other_chat, peer_chat):
        joined = await c.join(creator_stream)
        assert joined["ok"], joined
    sent = await chat.send(creator_stream, f"hello pottery fans {tag}")
    assert sent["ok"], sent
    other_text = f"other person's words {uuid.uuid4().hex[:8]}"
    assert (await other_chat.send(creator_stream, other_text))["ok"]
    presence = await chat.call("chat:presence", {"streamId": creator_stream})
    assert {u["id"] for u in presence["users"]} >= {str(target.id), str(other.id)}
    await other_chat.close()

    async def stored() -> bool:
        n = await env.pool.fetchval(
            "SELECT count(*) FROM chat_messages WHERE stream_id = $1", uuid.UUID(creator_stream)
        )
        return bool(n == 2)

    await until(stored, "chat history to be written")
    # The mood analysis of the target's message (in the embedding worker).
    await asyncio.wait_for(env.app[ANALYZER].idle.wait(), 120)

    # Money: a purchase each, a tip from the target, a tip to the target.
    await buy(env, target)
    await buy(env, other)
    await ok(
        await target.call(
            "POST",
            f"/api/v1/streams/{creator_stream}/tip",
            json={"amount": 10, "message": "lovely glaze"},
            headers=key(),
        ),
        201,
    )
    await ok(
        await other.call(
            "POST",
            f"/api/v1/streams/{target_stream}/tip",
            json={"amount": 20, "message": f"from {other_name}"},
            headers=key(),
        ),
        201,
    )

    # Trust and safety: a report filed by the target, one about them acted on by a moderator,
    # a consent check-in and an identity record.
    await ok(
        await target.call(
            "POST",
            "/api/v1/reports",
            json={"targetType": "user", "targetId": str(creator.id), "reason": "spam"},
        ),
        201,
    )
    about = await ok(
        await other.call(
            "POST",
            "/api/v1/reports",
            json={"targetType": "user", "targetId": str(target.id), "reason": "harassment"},
        ),
        201,
    )
    await ok(
        await moderator.call(
            "POST", f"/api/v1/moderation/reports/{about['id']}/actions", json={"action": "warn"}
        )
    )
    await ok(await target.call("POST", f"/api/v1/streams/{target_stream}/consent"), 201)
    await ok(await target.call("POST", "/api/v1/me/age-declaration", json={"confirm": True}), 201)
    await ok(
        await target.call(
            "PUT", f"/api/v1/streams/{target_stream}/geo-blocks", json={"places": ["GB", "US-TX"]}
        )
    )
    await ok(await target.call("PUT", "/api/v1/private-shows/price", json={"pricePerMinute": 25}))
    record = await submit(target, legal_name=legal_name, aliases="Zee")
    assert record.status == 201, record.body
    # Matching: the quiz, a mutual like (a match), and an embedding of the target's
    # own profile text (as the vibe index writes it; its model is tested in test_matching.py).
    # The other person likes the target: a swipe on you is their data, not in your export.
    for acct, answers in ((target, {"romance": 3, "asmr": 2}), (creator, {"romance": 2})):
        await ok(await acct.call("PUT", "/api/v1/ai/dna", json={"answers": answers}))
    for a, b in ((target, creator), (creator, target), (other, target)):
        swiped = await ok(
            await a.call("POST", "/api/v1/match/swipe", json={"handle": b.handle, "action": "like"})
        )
    assert swiped["newMatch"] is False
    await env.pool.execute(
        "INSERT INTO ai_embeddings (kind, ref_id, owner_id, model, text_hash, embedding) "
        "VALUES ('creator', $1, $1, 'test', 'x', array_fill(0.01, ARRAY[512])::vector)",
        target.id,
    )
    # Social: the target comments on the creator's post (the other person replies), likes it,
    # replies to the other person's comment, and blocks an account.
    post_id = uuid.uuid4()
    await env.pool.execute(
        "INSERT INTO posts (id, creator_id, kind, content_type, audience, rating, status, "
        "size_bytes, width, height, media_key) VALUES ($1, $2, 'image', 'image/png', 'public', "
        "'sfw', 'published', 10, 32, 32, 'posts/x/original.png')",
        post_id,
        creator.id,
    )
    comments = f"/api/v1/posts/{post_id}/comments"
    mine = await ok(await target.call("POST", comments, json={"text": f"my words {tag}"}), 201)
    await ok(
        await other.call("POST", comments, json={"text": "a reply", "parentId": mine["id"]}), 201
    )
    theirs = await ok(await other.call("POST", comments, json={"text": "their own"}), 201)
    await ok(
        await target.call(
            "POST", comments, json={"text": f"reply {tag}", "parentId": theirs["id"]}
        ),
        201,
    )
    await ok(await target.call("PUT", f"/api/v1/posts/{post_id}/like"))
    # A direct conversation with the creator, both sides writing.
    conv = await ok(
        await target.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    )
    dm = f"/api/v1/conversations/{conv['id']}/messages"
    await ok(await target.call("POST", dm, json={"text": f"private words {tag}"}), 201)
    await ok(await creator.call("POST", dm, json={"text": "the creator answers"}), 201)
    pest = await env.account(Role.MEMBER)
    await ok(await target.call("POST", f"/api/v1/users/{pest.handle}/block"), 204)
    # An affiliate code, and someone following its link.
    code = (await ok(await target.call("POST", "/api/v1/affiliates/code")))["code"]
    await ok(await other.call("POST", "/api/v1/affiliates/clicks", json={"code": code}))
    # Commerce: the target joins the basic member tier and books a provider's service.
    await ok(
        await target.call("POST", "/api/v1/memberships", json={"plan": "basic"}, headers=key()), 201
    )
    provider = await env.account(Role.PROVIDER)
    service = await ok(
        await provider.call(
            "POST",
            "/api/v1/services",
            json={
                "title": "Glaze coaching",
                "timeZone": "Europe/Amsterdam",
                "cancellation": {"freeCancelHours": 24, "lateCancelPercent": 50},
                "prices": [{"name": "Half hour", "price": 10}],
            },
        ),
        201,
    )
    [slot] = await ok(
        await provider.call(
            "POST",
            f"/api/v1/services/{service['id']}/slots",
            json={"slots": [{"start": f"{_in_days(30)}T10:00:00", "durationMinutes": 30}]},
        ),
        201,
    )
    await ok(
        await target.call(
            "POST",
            f"/api/v1/services/{service['id']}/bookings",
            json={"slotId": slot["id"], "priceId": service["prices"][0]["id"]},
            headers=key(),
        ),
        201,
    )
    cookie = target.cookie()
    assert cookie is not None

    yield World(
        target=target,
        creator=creator,
        other=other,
        moderator=moderator,
        root=root,
        display_name=display_name,
        legal_name=legal_name,
        target_stream=target_stream,
        creator_stream=creator_stream,
        record_id=record.data["id"],
        report_about=about["id"],
        chat=chat,
        peer_chat=peer_chat,
        session_cookie=cookie,
        other_strings=[str(other.id), other.handle, other.email, other_name, other_text],
    )
    for c in (chat, peer_chat):
        if c.sio.connected:
            await c.close()


# --- export ---------------------------------------------------------------------------------


async def test_export_holds_my_data_and_nothing_of_anyone_else(env: Env, world: World) -> None:
    t = world.target
    # The zip is built in a thread: nothing of ours blocks the loop meanwhile.
    with blockbuster_ctx(["api"]) as bb:
        # pymongo stats /.dockerenv when it opens a pool (the AI documents' export reads
        # MongoDB; tests/conftest.py allows the same)
        bb.functions["os.stat"].can_block_in("pymongo/pool_options.py", "get_container_env_info")
        started = await ok(await t.call("POST", "/api/v1/me/export"), 202)
        assert started["status"] in ("pending", "running", "done") and started["id"]
        await env.app[EXPORTER].wait(t.id)
    status = await ok(await t.call("GET", f"/api/v1/me/exports/{started['id']}"))
    assert status["status"] == "done" and status["progress"] == 100, status
    assert status["downloadUrl"] == f"/api/v1/me/exports/{started['id']}/download"
    assert status["sizeBytes"] > 0 and status["expiresAt"]

    async with t.session.get(t.base_url + status["downloadUrl"]) as res:
        assert res.status == 200
        assert res.headers["Content-Type"] == "application/zip"
        assert "attachment" in res.headers["Content-Disposition"]
        raw = await res.read()
    assert len(raw) == status["sizeBytes"]
    z = zipfile.ZipFile(io.BytesIO(raw))
    names = set(z.namelist())
    expected = {
        "manifest.json",
        "account.json",
        "sessions.json",
        "audit_log.json",
        "profile.json",
        "follows.json",
        "streams.json",
        "playback_revocations.json",
        "viewing_sessions.json",
        "posts.json",
        "story_views.json",
        "chat_messages.json",
        "chat_restrictions.json",
        "chat_safety.json",
        "wallet.json",
        "purchases.json",
        "tips.json",
        "tip_menu.json",
        "payouts.json",
        "subscriptions.json",
        "memberships.json",
        "services.json",
        "unlockables.json",
        "polls.json",
        "games.json",
        "shows.json",
        "reports_filed.json",
        "appeals.json",
        "moderation_decisions_about_me.json",
        "consent_checkins.json",
        "performer_invitations.json",
        "identity_records.json",
        "age_declarations.json",
        "geo_blocks.json",
        "erotic-dna.json",
        "matching.json",
        "chat_moods.json",
        "ai.json",
        "comments.json",
        "likes.json",
        "blocks.json",
        "direct_messages.json",
        "direct_message_unlocks.json",
        "direct_message_attachments.json",
        "affiliate.json",
        "avatar.webp",
    }
    assert names == expected, names ^ expected
    doc = {n: json.loads(z.read(n)) for n in names if n.endswith(".json")}
    assert doc["manifest.json"]["userId"] == str(t.id)
    assert set(doc["manifest.json"]["files"]) == expected - {"manifest.json"}

    assert sorted(c["text"].split()[0] for c in doc["comments.json"]) == ["my", "reply"]
    assert len(doc["likes.json"]) == 1 and len(doc["blocks.json"]) == 1
    (conv,) = doc["direct_messages.json"]
    assert conv["with"] == world.creator.handle
    assert [m["text"].split()[0] for m in conv["messagesSent"]] == ["private"]
    assert doc["direct_message_unlocks.json"] == []
    assert doc["direct_message_attachments.json"] == []
    affiliate = doc["affiliate.json"]
    assert affiliate["code"] and [c["clicks"] for c in affiliate["clicksPerDay"]] == [1]
    assert affiliate["referredBy"] is None and affiliate["referredAccounts"] == []
    account = doc["account.json"]
    assert (account["id"], account["email"], account["handle"]) == (str(t.id), t.email, t.handle)
    assert account["roles"] == ["creator"] and account["dateOfBirth"] == "1990-01-01"
    assert doc["profile.json"]["displayName"] == world.display_name
    assert doc["profile.json"]["avatarFile"] == "avatar.webp"
    assert z.read("avatar.webp")[:4] == b"RIFF" and z.read("avatar.webp")[8:12] == b"WEBP"
    assert doc["erotic-dna.json"]["answers"]["romance"] == 3
    matching = doc["matching.json"]
    assert [m["handle"] for m in matching["matches"]] == [world.creator.handle]
    assert [e["kind"] for e in matching["vibeSearchEmbeddings"]] == ["creator"]
    assert [m["streamId"] for m in doc["chat_moods.json"]] == [world.creator_stream]
    sessions = doc["sessions.json"]
    assert sessions and all(
        set(s) == {"createdAt", "lastSeenAt", "expiresAt", "ip", "userAgent"} for s in sessions
    )
    assert any(s["userAgent"] == "gdpr-test-browser/1.0" for s in sessions)
    assert [f["handle"] for f in doc["follows.json"]["following"]] == [world.creator.handle]
    assert doc["follows.json"]["followerCount"] == 1

    [stream] = doc["streams.json"]
    assert stream["id"] == world.target_stream and stream["title"] == "Pottery live"
    assert [b["run"] for b in stream["broadcasts"]] == ["abcdef01"]
    [message] = doc["chat_messages.json"]
    assert message["streamId"] == world.creator_stream
    assert message["text"].startswith("hello pottery fans")

    [purchase] = doc["purchases.json"]
    assert purchase["state"] == "confirmed" and purchase["tokens"] == 100
    assert "paymentMethod" not in purchase
    tips = doc["tips.json"]
    assert [(g["amount"], g["message"], g["streamId"]) for g in tips["given"]] == [
        (10, "lovely glaze", world.creator_stream)
    ]
    assert [(r["earned"], r["streamId"]) for r in tips["received"]] == [(16, world.target_stream)]
    wallet = doc["wallet.json"]
    assert {a["kind"] for a in wallet["accounts"]} >= {"wallet", "earnings"}
    # 100 bought, 10 tipped, 50 for the basic tier, 10 held for the booking
    assert [a["maintainedBalance"] for a in wallet["accounts"] if a["kind"] == "wallet"] == [30]
    [membership] = doc["memberships.json"]["memberships"]
    assert (membership["plan"], membership["state"]) == ("basic", "active")
    assert [c["price"] for c in doc["memberships.json"]["charges"]] == [50]
    [booking] = doc["services.json"]["bookings"]
    assert (booking["member_id"], booking["price"], booking["state"]) == (
        str(t.id),
        10,
        "requested",
    )
    shows = doc["shows.json"]
    assert (shows["privatePricePerMinute"], shows["privateShows"]) == (25, [])

    [filed] = doc["reports_filed.json"]
    assert filed["targetId"] == str(world.creator.id) and filed["reason"] == "spam"
    assert [a["action"] for a in doc["moderation_decisions_about_me.json"]] == ["warn"]
    [checkin] = doc["consent_checkins.json"]
    assert checkin["streamId"] == world.target_stream and checkin["action"] == "confirm"
    [declaration] = doc["age_declarations.json"]
    assert declaration["statement"] and declaration["ip"] == "127.0.0.1"
    assert sorted(b["place"] for b in doc["geo_blocks.json"]) == ["GB", "US-TX"]
    [record] = doc["identity_records.json"]
    assert record["legalName"] == world.legal_name and record["aliases"] == ["Zee"]
    assert {d["kind"] for d in record["documents"]} == {"id_front", "selfie"}
    assert [r["status"] for r in record["reviews"]] == ["pending"]

    # Nothing of anyone else (the person who follows, chats beside, tips and reports the
    # target), and no secrets.
    everything = b"".join(z.read(n) for n in names if n.endswith(".json"))
    for s in world.other_strings:
        assert s.encode() not in everything, s
    for secret in (
        b"$2b$",
        b"idhash",
        b"id_hash",
        b"passwordhash",
        b"password_hash",
        b'"password"',
        b"totpsecret",
        b"totp_secret",
        b"ciphertext",
        b"nonce",
        b"paymentmethod",
    ):
        assert secret not in everything.lower(), secret
    assert world.session_cookie.encode() not in everything
    hashed = await env.pool.fetchval("SELECT password_hash FROM users WHERE id = $1", t.id)
    assert hashed.encode() not in everything
    assert world.moderator.handle.encode() not in everything
    assert str(world.moderator.id).encode() not in everything


async def test_an_export_is_its_owners_alone(env: Env, world: World) -> None:
    t, other = world.target, world.other
    mine = await ok(await t.call("POST", "/api/v1/me/export"), 202)
    await env.app[EXPORTER].wait(t.id)
    for path in (f"/api/v1/me/exports/{mine['id']}", f"/api/v1/me/exports/{mine['id']}/download"):
        assert_envelope(await other.call("GET", path), 404, "EXPORT_NOT_FOUND")
        forged = path.replace(mine["id"], str(uuid.uuid4()))
        assert_envelope(await t.call("GET", forged), 404, "EXPORT_NOT_FOUND")
        assert_envelope(
            await t.call("GET", path.replace(mine["id"], "nope")), 404, "EXPORT_NOT_FOUND"
        )
        anonymous = Account(env.base_url)
        try:
            assert_envelope(await anonymous.call("GET", path), 401, "UNAUTHENTICATED")
        finally:
            await anonymous.close()

    # One running export per user: a second request while one runs is refused. (Someone
    # unrelated: the other person's own export would rightly name the target they follow.)
    other = await env.account(Role.MEMBER)
    running = uuid.uuid4()
    await env.pool.execute(
        "INSERT INTO privacy_exports (id, user_id, status) VALUES ($1, $2, 'running')",
        running,
        other.id,
    )
    assert_envelope(await other.call("POST", "/api/v1/me/export"), 409, "EXPORT_IN_PROGRESS")
    pending = await other.call("GET", f"/api/v1/me/exports/{running}")
    assert pending.status == 200 and pending.data["status"] == "running"
    assert pending.data["downloadUrl"] is None
    assert_envelope(
        await other.call("GET", f"/api/v1/me/exports/{running}/download"), 409, "EXPORT_NOT_READY"
    )
    # An export whose process died is given up after an hour, and no longer blocks a new one.
    await env.pool.execute(
        "UPDATE privacy_exports SET created_at = now() - interval '2 hours' WHERE id = $1", running
    )
    await ok(await other.call("POST", "/api/v1/me/export"), 202)
    abandoned = await other.call("GET", f"/api/v1/me/exports/{running}")
    assert abandoned.data["status"] == "failed", abandoned.body
    await env.app[EXPORTER].wait(other.id)


# --- erasure --------------------------------------------------------------------------------


async def test_erasure_refusals_before_it_happens(env: Env, world: World) -> None:
    t = world.target
    assert_envelope(
        await t.call("DELETE", "/api/v1/me", json={"password": "not my password"}),
        403,
        "WRONG_PASSWORD",
    )
    assert_envelope(await t.call("DELETE", "/api/v1/me", json={}), 422, "VALIDATION_ERROR")
    # The target's stream is live: the broadcast must end first; nothing was changed.
    assert_envelope(
        await t.call("DELETE", "/api/v1/me", json={"password": t.password}), 409, "STREAM_LIVE"
    )
    assert (await ok(await t.call("GET", "/api/v1/auth/me")))["handle"] == t.handle
    # Before erasure moderators see the decision about the target in the log.
    log = await ok(
        await world.moderator.call("GET", f"/api/v1/moderation/log?reportId={world.report_about}")
    )
    assert [e["action"] for e in log] == ["warn"]
    # Only a super admin erases others.
    assert_envelope(
        await world.moderator.call("POST", f"/api/v1/admin/users/{t.id}/erase"), 403, "FORBIDDEN"
    )
    assert_envelope(
        await world.root.call("POST", f"/api/v1/admin/users/{uuid.uuid4()}/erase"),
        404,
        "USER_NOT_FOUND",
    )


async def _scan_postgres(env: Env, world: World) -> list[str]:
    """Every place the target still appears: ``table.column (needle)``; the retained rows are
    checked against the registry's declarations here."""
    t = world.target
    forbidden = [t.email, t.handle, world.display_name]  # never anywhere
    retained_only = [str(t.id), world.legal_name]  # only in declared retained rows
    conditions: dict[str, list[str]] = {}
    for r in REGISTRY.retained():
        conditions.setdefault(r.table, []).append(f"({r.rows})")
    columns = await env.pool.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea', 'uuid', "
        "'ARRAY') ORDER BY 1, 2"
    )
    problems: list[str] = []
    scanned = 0
    for col in columns:
        table, column, kind = col["table_name"], col["column_name"], col["data_type"]
        for needle in forbidden + retained_only:
            if kind == "uuid":
                if needle != str(t.id):
                    continue
                hit = f'"{column}" = $2::uuid'
            elif kind == "bytea":
                hit = f"position(convert_to($2, 'UTF8') in \"{column}\") > 0"
            else:
                hit = f'strpos(lower("{column}"::text), lower($2)) > 0'
            scanned += 1
            n = await env.pool.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE $1::uuid IS NOT NULL AND {hit}',
                t.id,
                needle,
            )
            if not n:
                continue
            if needle in forbidden:
                problems.append(f"{table}.{column} holds {needle!r}")
                continue
            keep = conditions.get(table)
            if keep is None:
                problems.append(f"{table}.{column} holds {needle!r} and is not retained")
                continue
            stray = await env.pool.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE {hit} AND NOT ({" OR ".join(keep)})',
                t.id,
                needle,
            )
            if stray:
                problems.append(f"{table}.{column}: {stray} rows with {needle!r} not retained")
    assert scanned > 300  # the scan really walked the schema
    return problems


async def _scan_storage(env: Env, needles: list[str]) -> tuple[list[str], list[str]]:
    def run() -> tuple[list[str], list[str]]:
        client = env.moto.client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys += [o["Key"] for o in page.get("Contents", [])]
        hits = []
        for k in keys:
            body = client.get_object(Bucket=BUCKET, Key=k)["Body"].read()
            hits += [f"{k} holds {n!r}" for n in needles if n in k or n.encode() in body]
        return keys, hits

    return await asyncio.to_thread(run)


async def _scan_redis(env: Env, needles: list[str]) -> tuple[int, list[str]]:
    client = redis.from_url(env.redis_url)
    hits: list[str] = []
    seen = 0
    try:
        async for raw in client.scan_iter(count=500):
            seen += 1
            k = raw.decode(errors="replace")
            kind = (await client.type(raw)).decode()
            if kind == "string":
                values = [await client.get(raw) or b""]
            elif kind == "zset":
                values = await client.zrange(raw, 0, -1)
            elif kind == "set":
                values = list(await client.smembers(raw))
            elif kind == "hash":
                values = [x for kv in (await client.hgetall(raw)).items() for x in kv]
            elif kind == "list":
                values = await client.lrange(raw, 0, -1)
            else:
                values = []
            text = k + " " + " ".join(v.decode(errors="replace") for v in values)
            hits += [f"{k} holds {n!r}" for n in needles if n in text]
    finally:
        await client.aclose()
    return seen, hits


async def test_erasure_leaves_nothing_identifying_outside_locked_records(
    env: Env, world: World
) -> None:
    t = world.target
    needles = [str(t.id), t.email, t.handle, world.display_name, world.legal_name]
    # Before: the target is in Redis (presence with the handle, rate limits) and S3.
    seen, before = await _scan_redis(env, needles)
    assert any("presence" in h for h in before) and any("rl:" in h for h in before), before
    keys, _ = await _scan_storage(env, needles)
    assert f"{world.target_stream}/poster.jpg" in keys
    assert any(k.startswith(f"privacy-exports/{t.id}/") for k in keys)

    await set_state(env, world.target_stream, "ended")
    erased = await ok(await t.call("DELETE", "/api/v1/me", json={"password": t.password}))
    assert erased["userId"] == str(t.id) and erased["retainUntil"] > erased["erasedAt"]
    assert {"ledger_transactions", "identity_records", "consent_checkins", "moderation_log"} <= set(
        erased["retained"]
    )
    assert t.cookie() in (None, "")  # the cookie was cleared

    # The erased account: no session, no sign-in, no profile, no second erasure.
    stale = Account(env.base_url)
    stale.session.cookie_jar.update_cookies({"session": world.session_cookie})
    try:
        assert_envelope(await stale.call("GET", "/api/v1/auth/me"), 401, "UNAUTHENTICATED")
        assert_envelope(
            await stale.call("DELETE", "/api/v1/me", json={"password": t.password}),
            401,
            "UNAUTHENTICATED",
        )
        assert_envelope(await stale.call("POST", "/api/v1/me/export"), 401, "UNAUTHENTICATED")
    finally:
        await stale.close()
    assert_envelope(
        await world.other.call("GET", f"/api/v1/users/{t.handle}"), 404, "USER_NOT_FOUND"
    )
    assert_envelope(
        await world.root.call("POST", f"/api/v1/admin/users/{t.id}/erase"), 409, "ALREADY_ERASED"
    )
    # The open chat connections were closed, on this process and (over pub/sub) the other.
    for c in (world.chat, world.peer_chat):
        await until(lambda c=c: asyncio.sleep(0, not c.sio.connected), "chat disconnect")

    # Retained records are locked and hidden: moderators no longer see the identity record.
    assert_envelope(
        await world.moderator.call("GET", f"/api/v1/verification/records/{world.record_id}"),
        404,
        "VERIFICATION_NOT_FOUND",
    )
    queue = await ok(await world.moderator.call("GET", "/api/v1/verification/queue"))
    assert all(q["id"] != world.record_id for q in queue)
    log = await ok(
        await world.moderator.call("GET", f"/api/v1/moderation/log?reportId={world.report_about}")
    )
    assert log == []  # kept (append-only), but hidden
    assert (
        await env.pool.fetchval("SELECT count(*) FROM moderation_log WHERE subject_id = $1", t.id)
        == 1
    )
    row = await env.pool.fetchrow(
        "SELECT u.status, u.password_hash, u.totp_secret, e.cleaned_at, e.by_admin "
        "FROM users u JOIN privacy_erasures e ON e.user_id = u.id WHERE u.id = $1",
        t.id,
    )
    assert row["status"] == "erased" and row["totp_secret"] is None
    assert not row["password_hash"].startswith("$2") and row["cleaned_at"] is not None
    assert row["by_admin"] is False

    # PostgreSQL, S3 and Redis: scanned whole.
    assert await _scan_postgres(env, world) == []
    keys, hits = await _scan_storage(env, needles + [world.target_stream])
    assert hits == [] and f"{world.creator_stream}/poster.jpg" in keys  # others' media stay
    seen, hits = await _scan_redis(env, needles)
    assert seen > 0 and hits == []

    # Other people's data is untouched: the other person's message and tip, the creator's tip.
    assert (
        await env.pool.fetchval(
            "SELECT count(*) FROM chat_messages WHERE user_id = $1", world.other.id
        )
        == 1
    )
    # The other person's reply stays in its thread under the emptied, authorless comment; the
    # counts lost the target's like and comments.
    kept = await env.pool.fetch(
        "SELECT c.body, c.author_id, c.deleted_by, r.author_id AS replier FROM post_comments c "
        "JOIN post_comments r ON r.parent_id = c.id WHERE r.author_id = $1",
        world.other.id,
    )
    assert [(k["body"], k["author_id"], k["deleted_by"]) for k in kept] == [("", None, "author")]
    counts = await env.pool.fetchrow(
        "SELECT sum(s.likes) AS likes, sum(s.comments) AS comments FROM post_counter_slots s "
        "WHERE s.post_id = (SELECT post_id FROM post_comments WHERE author_id = $1 LIMIT 1)",
        world.other.id,
    )
    assert (counts["likes"], counts["comments"]) == (0, 2)
    # The creator keeps their side of the conversation, now with an erased account.
    convs = await ok(await world.creator.call("GET", "/api/v1/conversations"))
    assert [(c["otherId"], c["lastText"]) for c in convs] == [(None, "the creator answers")]
    creator_balance = await ok(await world.creator.call("GET", "/api/v1/wallet/balance"))
    assert creator_balance["earnings"] == 8
    # The books still balance.
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "teezu.cli", "ledger", "check"],
        env={**os.environ, "TEEZU_DATABASE_URL": env.dsn, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # Last: a sign-in attempt with the old email (like any unknown email) is just refused.
    assert_envelope(await t.login(), 401, "INVALID_CREDENTIALS")


async def test_admin_erasure_of_another_account(env: Env, world: World) -> None:
    victim = await env.account(Role.MEMBER)
    await ok(await victim.call("POST", "/api/v1/me/export"), 202)
    await env.app[EXPORTER].wait(victim.id)
    done = await ok(await world.root.call("POST", f"/api/v1/admin/users/{victim.id}/erase"))
    assert done["userId"] == str(victim.id)
    assert_envelope(await victim.call("GET", "/api/v1/auth/me"), 401, "UNAUTHENTICATED")
    assert await env.pool.fetchval(
        "SELECT by_admin FROM privacy_erasures WHERE user_id = $1", victim.id
    )
    assert not await env.pool.fetchval(
        "SELECT count(*) FROM privacy_exports WHERE user_id = $1", victim.id
    )
    keys, hits = await _scan_storage(env, [str(victim.id)])
    assert hits == [], hits
    audit = await env.pool.fetchrow(
        "SELECT actor_id FROM audit_log WHERE action = 'account.erased' AND subject_id = $1",
        victim.id,
    )
    assert audit["actor_id"] == world.root.id


async def test_every_table_is_registered(env: Env) -> None:
    """A table holding personal data must be registered (api/privacy/registry.py) before it
    ships: every table of the database is either registered or declared free of it."""
    tables = {
        r["table_name"]
        for r in await env.pool.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    }
    assert tables - REGISTRY.tables() - NO_PERSONAL_DATA == set()
    assert REGISTRY.tables() - tables == set()  # no registration names a missing table
    assert not REGISTRY.tables() & NO_PERSONAL_DATA
    # Every retained declaration is valid SQL over its table.
    for r in REGISTRY.retained():
        await env.pool.fetchval(f"SELECT count(*) FROM {r.table} WHERE {r.rows}", uuid.uuid4())


async def test_the_routes_are_documented(env: Env) -> None:
    paths = {(r.method, r.path) for r in env.app[ROUTES]}
    assert {
        ("POST", "/api/v1/me/export"),
        ("GET", "/api/v1/me/exports/{export_id}"),
        ("GET", "/api/v1/me/exports/{export_id}/download"),
        ("DELETE", "/api/v1/me"),
        ("POST", "/api/v1/admin/users/{user_id}/erase"),
    } <= paths


async def test_erasure_with_two_factor_needs_a_current_code(env: Env) -> None:
    import pyotp

    acct = await env.account(Role.MEMBER)
    secret = pyotp.random_base32()
    await env.pool.execute(
        "UPDATE users SET totp_secret = $2, totp_enabled = true WHERE id = $1", acct.id, secret
    )
    body = {"password": acct.password}
    assert_envelope(await acct.call("DELETE", "/api/v1/me", json=body), 422, "INVALID_2FA_CODE")
    stale_code = pyotp.TOTP(secret).at(time.time() - 3600)
    assert_envelope(
        await acct.call("DELETE", "/api/v1/me", json={**body, "code": stale_code}),
        422,
        "INVALID_2FA_CODE",
    )
    assert await env.pool.fetchval("SELECT status FROM users WHERE id = $1", acct.id) == "active"
    code = pyotp.TOTP(secret).now()
    await ok(await acct.call("DELETE", "/api/v1/me", json={**body, "code": code}))
    row = await env.pool.fetchrow(
        "SELECT status, totp_secret, totp_enabled FROM users WHERE id = $1", acct.id
    )
    assert tuple(row) == ("erased", None, False)


async def test_wrong_erasure_passwords_count_toward_the_back_off(env: Env) -> None:
    acct = await env.account(Role.MEMBER)
    for _ in range(5):
        assert_envelope(
            await acct.call("DELETE", "/api/v1/me", json={"password": "guess again"}),
            403,
            "WRONG_PASSWORD",
        )
    # Ten failures in a row: 32 s to wait (set here rather than waited for).
    await env.pool.execute(
        "UPDATE login_throttle SET failures = 10 WHERE key = $1", f"acct:{acct.email}"
    )
    throttled = await acct.call("DELETE", "/api/v1/me", json={"password": acct.password})
    assert_envelope(throttled, 429, "LOGIN_THROTTLED")
    assert int(throttled.headers["Retry-After"]) > 0
    assert await env.pool.fetchval("SELECT status FROM users WHERE id = $1", acct.id) == "active"
