"""The probe's whole class of hostile values, sent to every field of every route, derived from
the served OpenAPI document: no 5xx anywhere, and the JSON envelope on every 4xx.

For each operation, each string, integer and date field (body properties, array items, query,
path and header parameters) gets the values that found the bugs of issue 11 (NUL, lone
surrogates, Unicode digits, timestamps that overflow in UTC, absurd dates, 10 MB strings,
negative numbers, 2**63) while every other field holds a valid value: ids of real objects this
test created (a stream, a report, a payout ...), so the hostile value is what the server has
to deal with. Each operation is called as a principal allowed to use it (a super admin who is
also a creator, the owner of those objects).

Per operation the test prints the share of its requests (those whose hostile value is not the
path's own id) that got past authentication and lookup (not 401, not a permission 403, not
404), and fails below 90 %: a test that only ever hit "not found" would prove nothing.

The default run sends the listed values to every field (under a minute); ``-m soak`` adds
random text and numbers (25 more per field, any code point) and runs each field twice.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from api.ai import store as ai_store
from api.auth.rbac import Role
from api.chat.events import ChatMessage
from api.keys import DOCUMENTS
from api.moderation import store as moderation
from api.reports import store as reports
from api.streams import store as streams
from api.verification.provider import IDENTITY
from api.verification.upload import Document, Submission
from api.wallet.model import IdempotencyKey
from api.wallet.payouts import PAYOUTS
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.accounts import Account
from tests.identity import image
from tests.integration.wallet.conftest import fund, make_old, shift
from tests.openapi_values import Operation, example, kind, operations, properties

pytestmark = pytest.mark.asyncio(loop_scope="session")

TEN_MB = "x" * (10 * 1024 * 1024)
LONG = "y" * 6000  # long, yet inside HTTP's 8 KiB request line (URLs and headers)
# (value, in the default run?) per kind of field.
STRINGS = [
    ("nul\x00byte", True),
    ("lone \ud800 surrogate", True),
    ("²³٣", True),  # Unicode digits: isdigit() is true, int() refuses
    ("\udfff", False),
    ("\x00", False),
    ("', \"--; DROP TABLE users; \\", False),
    ("\u202e\ufeff\u200b", False),
]
INTEGERS = [
    (-1, True),
    (2**63, True),
    (-(2**63) - 1, False),
    (2**64 + 1, False),
    (0, False),
    ("²", True),  # a Unicode digit where a number belongs
    (1.5, False),
]
DATES = [
    ("0001-01-01T00:00:00+14:00", True),  # before year 1 once in UTC
    ("9999-12-31T23:59:59-14:00", True),  # after year 9999 once in UTC
    ("99999-01-01", False),
    ("0000-00-00", False),
    ("²⁰²⁶-01-01", True),
    ("2026-02-30T25:61:61Z", False),
]
# Raised so this run's thousands of requests from one address are not rate limited (the suite's
# server raises them for every test; tests/integration/test_ratelimit.py proves the limits).
WRONG_PASSWORD = "certainly not the password"


def hostile_values(field_kind: str, where: str, *, soak: bool) -> list[Any]:
    table = {"string": STRINGS, "enum": STRINGS, "integer": INTEGERS, "number": INTEGERS}
    values = [v for v, _ in table.get(field_kind, DATES)]
    if field_kind in ("date", "date-time"):
        values = [v for v, _ in DATES] + [v for v, _ in STRINGS[:2]]
    if field_kind in ("string", "enum", "date", "date-time"):
        values.append(TEN_MB if where == "body" else LONG)
    if soak:
        values += _random_values(field_kind, 25)
    if where != "body":
        values = [str(v) for v in values]
    return values


def _random_values(field_kind: str, n: int) -> list[Any]:
    """Random text (any code point, surrogates and NUL included) or integers (up to 2**70
    either way), from a fixed seed so a failure can be replayed."""
    rng = random.Random(f"{field_kind}-{n}")
    if field_kind in ("integer", "number"):
        return [rng.randint(-(2**70), 2**70) for _ in range(n)]
    return [
        "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(0, 300))) for _ in range(n)
    ]


@dataclass
class World:
    """Real objects, by the name a path or body field gives their id."""

    root: Account  # super admin + creator: may call every operation
    ids: dict[str, str] = field(default_factory=dict)
    by_path: dict[tuple[str, str], str] = field(default_factory=dict)  # (path prefix, param)

    def value(self, path: str, name: str) -> str | None:
        for (prefix, param), value in self.by_path.items():
            if param == name and path.startswith(prefix):
                return value
        return self.ids.get(name)


async def _ok(reply: Any, what: str) -> Any:
    assert reply.status < 300, (what, reply.status, reply.body)
    return reply.data


@pytest_asyncio.fixture(loop_scope="session")
async def world(server, account) -> World:
    """Everything an operation may name, created the way the product creates it."""
    root = await account(Role.SUPER_ADMIN, Role.CREATOR)
    member = await account(Role.MEMBER)
    creator = await account(Role.CREATOR)
    pool = server.pool
    w = World(root)
    ids = w.ids
    ids.update(
        creatorId=str(root.id),
        creator_id=str(root.id),
        handle=member.handle,
        userId=str(member.id),
        user_id=str(member.id),
        role="member_plus",
        provider="sandbox",
        kind="id_front",
    )
    # An AI companion (the shipped persona "velvet"), and an AI twin for the member whose
    # handle the paths name (written to MongoDB directly: only creators opt in by the API).
    ids["key"] = "velvet"
    await ai_store.put_twin(server.app[DOCUMENTS], member.id, enabled=True, greeting="")
    # A live stream of the root account's (state set directly: no publisher needed here).
    row, _ = await streams.create_stream(
        pool, title="Hostile", creator_handle=root.handle, creator_id=root.id
    )
    await pool.execute("UPDATE streams SET state = 'live' WHERE id = $1", row.id)
    ids["stream_id"] = ids["streamId"] = str(row.id)
    sid = str(row.id)
    ledger = server.app[LEDGER]
    ids["purchase_id"] = str(await fund(ledger, root.id, 100_000))
    ids["packageId"] = "test-100000"  # the package fund() bought
    await fund(ledger, member.id, 10_000)
    # Wallet objects of the root account's stream.
    item = await _ok(
        await root.call("POST", "/api/v1/tip-menu", json={"label": "Wave", "price": 5}),
        "menu item",
    )
    ids["item_id"] = ids["menuItemId"] = item["id"]
    await _ok(
        await root.call(
            "POST", f"/api/v1/streams/{sid}/goal", json={"title": "Goal", "target": 500}
        ),
        "goal",
    )
    tier = await _ok(
        await creator.call(
            "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": "Fan", "price": 10}
        ),
        "tier",
    )
    own_tier = await _ok(
        await root.call(
            "POST", f"/api/v1/creators/{root.id}/tiers", json={"name": "Own", "price": 9}
        ),
        "own tier",
    )
    ids["tier_id"] = own_tier["id"]
    ids["tierId"] = tier["id"]
    sub = await _ok(
        await root.call(
            "POST",
            f"/api/v1/creators/{creator.id}/subscribe",
            json={"tierId": tier["id"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        "subscription",
    )
    ids["subscription_id"] = sub["subscriptionId"]
    unlockable = await _ok(
        await root.call(
            "POST",
            "/api/v1/unlockables",
            json={
                "title": "Secret",
                "payload": "hi",
                "scope": "room",
                "threshold": 50,
                "streamId": sid,
            },
        ),
        "unlockable",
    )
    ids["unlockable_id"] = unlockable["id"]
    ticket = await _ok(
        await root.call(
            "POST", f"/api/v1/streams/{sid}/ticket-shows", json={"title": "Show", "price": 5}
        ),
        "ticket show",
    )
    w.by_path[("/api/v1/ticket-shows/", "show_id")] = ticket["id"]
    await _ok(
        await root.call("PUT", "/api/v1/private-shows/price", json={"pricePerMinute": 3}),
        "private-show price",
    )
    private = await _ok(
        await member.call(
            "POST",
            f"/api/v1/streams/{sid}/private-shows",
            json={"pricePerMinute": 3},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        "private show",
    )
    w.by_path[("/api/v1/private-shows/", "show_id")] = private["id"]
    # Safety objects: a banned word, a report and an appeal, a flag, an identity record.
    word = await _ok(
        await root.call("POST", "/api/v1/chat/banned-words", json={"word": "grumpy"}), "word"
    )
    ids["word_id"] = word["id"]
    report = await reports.create_report(
        pool, member.id, "user", str(creator.id), creator.id, "spam", "hostile"
    )
    ids["report_id"] = ids["reportId"] = str(report.id)
    ids["targetId"] = sid  # a report's target: the stream (the first target type)
    resolved = await reports.create_report(
        pool, member.id, "user", str(creator.id), creator.id, "spam", "resolved"
    )
    async with pool.acquire() as conn:
        await reports.resolve(conn, resolved.id, "warn")
    appeal = await reports.create_appeal(pool, resolved.id, creator.id, "appeal")
    assert appeal is not None
    ids["appeal_id"] = str(appeal.id)
    creators_stream, _ = await streams.create_stream(
        pool, title="Flagged", creator_handle=creator.handle, creator_id=creator.id
    )
    ids["flag_id"] = str(
        await moderation.add_flag(
            pool, creators_stream.id, kind="frame", reason="hostile", snapshot_key=None
        )
    )
    docs = [Document("id_front", "image/png", image()), Document("selfie", "image/png", image())]
    ids["record_id"] = str(
        await server.app[IDENTITY].submit(
            pool, creator.id, Submission("Hostile Person", date(1990, 1, 1), [], docs)
        )
    )
    # A post and a chat message of the root account's, an export, its session.
    post = aiohttp.FormData()
    post.add_field("file", image("PNG", (32, 32)), filename="p.png", content_type="image/png")
    made = await _ok(await root.call("POST", "/api/v1/posts", data=post), "post")
    ids["post_id"] = ids["postId"] = made["id"]
    # A comment on a published post of the root account's (published as the scanner would).
    await pool.execute("UPDATE posts SET status = 'published' WHERE id = $1", uuid.UUID(made["id"]))
    comment = await _ok(
        await member.call(
            "POST", f"/api/v1/posts/{made['id']}/comments", json={"text": "hostile comment"}
        ),
        "comment",
    )
    ids["comment_id"] = ids["parentId"] = comment["id"]
    story = aiohttp.FormData()
    story.add_field("file", image("PNG", (32, 32)), filename="s.png", content_type="image/png")
    made_story = await _ok(await root.call("POST", "/api/v1/stories", data=story), "story")
    await pool.execute(
        "UPDATE posts SET status = 'published' WHERE id = $1", uuid.UUID(made_story["id"])
    )
    w.by_path[("/api/v1/stories/", "post_id")] = made_story["id"]
    conversation = await _ok(
        await root.call("POST", "/api/v1/conversations", json={"handle": member.handle}),
        "conversation",
    )
    ids["conversation_id"] = conversation["id"]
    message = ChatMessage(
        uuid.uuid4(), row.id, member.id, member.handle, "held", datetime.now(UTC), held=True
    )
    await pool.execute(
        "INSERT INTO chat_messages (id, stream_id, user_id, handle, body, sent_at, held) "
        "VALUES ($1, $2, $3, $4, $5, $6, true)",
        message.id,
        message.stream_id,
        message.user_id,
        message.handle,
        message.text,
        message.sent_at,
    )
    ids["message_id"] = ids["messageId"] = str(message.id)
    export = await _ok(await root.call("POST", "/api/v1/me/export"), "export")
    ids["export_id"] = export["id"]
    # Not the current one: a hostile value never matches it, a valid one must not end the run.
    second = Account(server.base_url, id=root.id, handle=root.handle, email=root.email)
    assert (await second.login()).status == 200
    await second.close()
    sessions = await _ok(await root.call("GET", "/api/v1/auth/sessions"), "sessions")
    ids["session_id"] = next(x["id"] for x in sessions if not x["current"])
    # A pending payout of the other creator's (earned by a real tip, matured).
    payouts = server.app[PAYOUTS]
    saved = (payouts.clock, payouts.minimum)
    payouts.minimum = 100
    shift(payouts, 8)
    try:
        await make_old(server, creator.id, 200)
        await pool.execute("UPDATE streams SET state = 'live' WHERE id = $1", creators_stream.id)
        tipped = await ledger.tip(
            IdempotencyKey(member.id, uuid.uuid4().hex), TipRequest(creators_stream.id, 125)
        )
        assert tipped.ok, tipped
        requested = await payouts.request(IdempotencyKey(creator.id, uuid.uuid4().hex), 100)
        assert requested.ok, requested
        ids["payout_id"] = requested.data["payout"]["id"]
    finally:
        payouts.clock, payouts.minimum = saved
    return w


@dataclass
class Request:
    """One request: the operation, which field holds the hostile value, and the request."""

    operation: Operation
    where: str  # body, query, path, header
    name: str
    value: Any
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


def _valid_body(op: Operation, w: World) -> dict[str, Any] | None:
    doc, schema = op.doc, op.body_schema()
    if schema is None:
        return None
    body: dict[str, Any] = {}
    for name, prop, required in properties(doc, schema):
        real = w.value(op.path, name)
        if "password" in name.lower():
            body[name] = WRONG_PASSWORD  # never the right one: no request may erase the root
        elif real is not None and (required or name.endswith("Id")):
            body[name] = real
        elif required:
            body[name] = example(doc, prop, name=name)
    return body


def _fill_path(op: Operation, w: World, hostile: tuple[str, Any] | None = None) -> str:
    path = op.path
    for param in op.params("path"):
        name = param["name"]
        if hostile is not None and hostile[0] == name:
            value = str(hostile[1])
        else:
            value = w.value(op.path, name) or str(uuid.uuid4())
        path = path.replace("{" + name + "}", _quote(value))
    return path


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def requests_for(op: Operation, w: World, *, soak: bool) -> list[Request]:
    """Every hostile value in every field of ``op``, the other fields valid."""
    doc = op.doc
    out: list[Request] = []
    base_headers = {p["name"]: uuid.uuid4().hex for p in op.params("header") if p.get("required")}
    base_query = {
        p["name"]: str(w.value(op.path, p["name"]) or example(doc, p["schema"]))
        for p in op.params("query")
        if p.get("required")
    }
    rounds = 2 if soak else 1
    for _ in range(rounds):
        body = _valid_body(op, w)
        fields: list[tuple[str, str, dict[str, Any]]] = []
        if body is not None:
            schema = op.body_schema()
            assert schema is not None
            fields += [("body", n, p) for n, p, _ in properties(doc, schema)]
        fields += [("query", p["name"], p["schema"]) for p in op.params("query")]
        fields += [("path", p["name"], p["schema"]) for p in op.params("path")]
        fields += [("header", p["name"], p["schema"]) for p in op.params("header")]
        for where, name, schema in fields:
            k = kind(doc, schema)
            item_kind = None
            if k == "array":
                items = schema.get("items") or next(
                    (o.get("items") for o in schema.get("anyOf", []) if "items" in o), {}
                )
                item_kind = kind(doc, items) if items else "string"
            target_kind = item_kind or k
            if target_kind not in ("string", "enum", "integer", "number", "date", "date-time"):
                continue
            for value in hostile_values(target_kind, where, soak=soak):
                sent = [value] if item_kind else value
                query, headers = dict(base_query), dict(base_headers)
                req_body = json.loads(json.dumps(body)) if body is not None else None
                path = _fill_path(op, w, (name, value) if where == "path" else None)
                if where == "body":
                    assert req_body is not None
                    req_body[name] = sent
                elif where == "query":
                    query[name] = str(value)
                elif where == "header":
                    headers[name] = str(value)
                out.append(Request(op, where, name, value, path, query, headers, req_body))
    return out


def _raw_query(query: dict[str, str]) -> str:
    from urllib.parse import quote

    return "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in query.items()
    )


async def _send(session: aiohttp.ClientSession, base: str, req: Request) -> tuple[int, Any, Any]:
    url = base + req.path + ("?" + _raw_query(req.query) if req.query else "")
    data = None
    headers = {
        k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in req.headers.items()
    }
    if req.body is not None:
        # json.dumps escapes a lone surrogate as \ud800 (valid JSON), as a hostile client would.
        data = json.dumps(req.body).encode()
        headers["Content-Type"] = "application/json"
    async with session.request(
        req.operation.method, aiohttp.client.URL(url, encoded=True), data=data, headers=headers
    ) as res:
        raw = await res.read()
        body: Any = None
        if res.content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        return res.status, body, res.headers


def _stopped(status: int, body: Any, value: Any) -> bool:
    """Whether a request was stopped before its input was looked at: not signed in, not
    allowed, or an object of its path not found. (A 404 about the hostile value itself, e.g. a
    handle nobody has, means the value was read: it passed validation.)"""
    code = body.get("code") if isinstance(body, dict) else None
    if status == 401:
        return code == "UNAUTHENTICATED"
    if status == 403:
        return code == "FORBIDDEN"
    if status == 404:
        meta = json.dumps(body.get("meta", {}) if isinstance(body, dict) else {})
        return json.dumps(str(value))[1:-1] not in meta
    return False


# Never called: the event stream answers a valid id with a response that never ends.
NOT_CALLABLE = {"stream_events"}


async def run_class(server, world: World, *, soak: bool) -> None:
    doc = (await world.root.call("GET", "/api/v1/openapi.json")).body
    cookie = {"Cookie": f"session={world.root.cookie()}"}
    failures: list[str] = []
    share: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    refused_by_client: dict[str, int] = defaultdict(int)
    counted = generated = 0
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=cookie, timeout=timeout) as session:
        for op in operations(doc):
            if op.id in NOT_CALLABLE:
                continue
            for req in requests_for(op, world, soak=soak):
                generated += 1
                try:
                    status, body, headers = await _send(session, server.base_url, req)
                except ValueError as exc:  # the client library refuses to send it (a NUL header)
                    refused_by_client[str(exc)[:60]] += 1
                    continue
                counted += 1
                what = f"{op.method} {op.path} {req.where}.{req.name}={str(req.value)[:40]!r}"
                if status >= 500:
                    failures.append(f"{what}: {status} {str(body)[:200]}")
                    continue
                if 400 <= status < 500:
                    ok = (
                        isinstance(body, dict)
                        and body.get("status") == "error"
                        and isinstance(body.get("code"), str)
                        and body.get("requestId") == headers.get("X-Request-Id")
                        and isinstance(body.get("meta"), dict)
                    )
                    if not ok:
                        failures.append(f"{what}: {status} without the envelope: {str(body)[:200]}")
                if req.where != "path":
                    share[op.id][0] += 0 if _stopped(status, body, req.value) else 1
                    share[op.id][1] += 1
    print(f"\n{counted} hostile requests (not sendable: {dict(refused_by_client)}); share past")
    print("authentication and lookup per operation:")
    low = []
    for op_id, (past, total) in sorted(share.items()):
        print(f"  {op_id:40s} {past:4d}/{total:<4d} {100 * past / total:5.1f} %")
        if past < 0.9 * total:
            low.append(f"{op_id}: {past}/{total}")
    assert not failures, "\n".join(failures[:40])
    assert not low, f"operations stopped before validation: {low}"
    # Every operation with a field outside its path was exercised, every request answered.
    with_fields = {
        op.id
        for op in operations(doc)
        if op.id not in NOT_CALLABLE
        and any(r.where != "path" for r in requests_for(op, world, soak=False))
    }
    assert set(share) == with_fields
    assert counted + sum(refused_by_client.values()) == generated


async def test_hostile_values_in_every_field_of_every_route(server, world):
    await run_class(server, world, soak=False)


@pytest.mark.soak
async def test_hostile_values_soak(server, world):
    await run_class(server, world, soak=True)
