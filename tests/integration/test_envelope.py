"""Every kind of error answers with the envelope, and its request id is also a header."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from api.auth.rbac import Role
from tests.accounts import Client
from tests.conftest import free_port
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


def assert_envelope(r, status: int, code: str) -> None:
    assert r.status == status, r.body
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.body
    assert body["status"] == "error" and body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["meta"], dict)
    assert body["requestId"] and body["requestId"] == r.headers["X-Request-Id"]


@contextlib.asynccontextmanager
async def broken_server(pg_dsn, var_dir, **settings) -> AsyncIterator[Client]:
    """A server with test-only routes that fail (a 500 cannot be provoked on a shipped one)."""
    apps: list[web.Application] = []

    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError(f"boom {request.query.get('n', '')}")

    async def divide(request: web.Request) -> web.Response:
        return web.json_response(1 // int(request.query.get("by", "0")))

    def add(app: web.Application) -> None:
        app.router.add_get("/api/v1/test-only/explode", explode)
        app.router.add_get("/api/v1/test-only/divide", divide)
        apps.append(app)

    async with extra_server(pg_dsn, var_dir, free_port(), customize=add, **settings) as (base, _):
        c = Client(base)
        c.app = apps[0]  # type: ignore[attr-defined]  # for the error groups' test
        yield c
        await c.close()


@pytest_asyncio.fixture(loop_scope="session")
async def broken(pg_dsn, tmp_path_factory):
    async with broken_server(pg_dsn, tmp_path_factory.mktemp("broken"), rate_limit_requests=3) as c:
        yield c


async def test_500_and_429(broken):
    r = await broken.call("GET", "/api/v1/test-only/explode")
    assert_envelope(r, 500, "INTERNAL_ERROR")
    assert "boom" not in r.body["message"]  # no internals leak
    for _ in range(2):
        await broken.call("GET", "/api/v1/streams")
    assert_envelope(await broken.call("GET", "/api/v1/streams"), 429, "RATE_LIMITED")


async def test_unhandled_errors_are_grouped_with_their_request_ids(
    pg_dsn, tmp_path_factory, server, account
):
    """Error tracking: the same failure (whatever its message) is one group with its count and
    last request ids; another failure is another group; the hub lists them (admins only)."""
    from api.error_groups import ERROR_GROUPS

    async with broken_server(pg_dsn, tmp_path_factory.mktemp("errors")) as broken:
        await _grouped(broken, server, account, ERROR_GROUPS)


async def _grouped(broken, server, account, ERROR_GROUPS) -> None:  # noqa: N803
    admin = await account(Role.ADMIN)
    # Other tests' servers (same database) may have counted this failure already.
    before = (await admin.call("GET", "/api/v1/admin/hub/errors?limit=500")).data["groups"]
    base = sum(g["count"] for g in before if g["location"].endswith(":explode"))
    ids = []
    for n in range(3):
        r = await broken.call("GET", f"/api/v1/test-only/explode?n={n}")
        assert_envelope(r, 500, "INTERNAL_ERROR")
        ids.append(r.body["requestId"])
    r = await broken.call("GET", "/api/v1/test-only/divide")
    assert_envelope(r, 500, "INTERNAL_ERROR")
    assert (await broken.app[ERROR_GROUPS].flush(server.pool)) == 2
    groups = (await admin.call("GET", "/api/v1/admin/hub/errors?limit=500")).data["groups"]
    boom = [g for g in groups if ids[0] in g["lastRequestIds"]]
    assert len(boom) == 1, groups
    assert boom[0]["count"] == base + 3 and boom[0]["lastRequestIds"][:3] == ids[::-1]
    assert boom[0]["errorType"] == "builtins.RuntimeError" and boom[0]["message"] == "boom 2"
    assert boom[0]["location"].endswith(":explode")
    zero = [g for g in groups if g["location"].endswith(":divide")]
    assert zero and zero[0]["errorType"] == "builtins.ZeroDivisionError"
    # Again: the counts add up in the database (a second flush of the same signature).
    await broken.call("GET", "/api/v1/test-only/explode?n=9")
    assert (await broken.app[ERROR_GROUPS].flush(server.pool)) == 1
    groups = (await admin.call("GET", "/api/v1/admin/hub/errors")).data["groups"]
    again = next(g for g in groups if g["signature"] == boom[0]["signature"])
    assert again["count"] == base + 4 and again["lastRequestIds"][1:4] == ids[::-1]
    bad = await admin.call("GET", "/api/v1/admin/hub/errors?limit=0")
    assert (bad.status, bad.code) == (422, "VALIDATION_ERROR")


async def test_every_error_kind(server, client, account):
    member = await account(Role.MEMBER)
    cases = [
        (client.call("GET", "/api/v1/no-such-thing"), 404, "NOT_FOUND"),
        (
            client.call("GET", "/api/v1/streams/00000000-0000-0000-0000-000000000000"),
            404,
            "STREAM_NOT_FOUND",
        ),
        (client.call("PUT", "/api/v1/streams"), 405, "METHOD_NOT_ALLOWED"),
        (
            member.call(
                "POST",
                "/api/v1/auth/signup",
                data=b"x" * (70 * 1024),
                headers={"Content-Type": "application/json"},
            ),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            client.call(
                "POST",
                "/api/v1/auth/login",
                data=b"<xml/>",
                headers={"Content-Type": "application/xml"},
            ),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (client.call("POST", "/api/v1/auth/login", json={"email": 5}), 422, "VALIDATION_ERROR"),
        (client.call("GET", "/api/v1/streams?limit=0"), 422, "VALIDATION_ERROR"),
        (client.call("GET", "/api/v1/streams?state=bogus&extra=1"), 422, "VALIDATION_ERROR"),
        (client.call("GET", "/api/v1/auth/me"), 401, "UNAUTHENTICATED"),
        (member.call("POST", "/api/v1/streams", json={"title": "x"}), 403, "FORBIDDEN"),
        (
            client.call("POST", "/api/v1/auth/logout", headers={"Origin": "https://evil.example"}),
            403,
            "CSRF_REJECTED",
        ),
    ]
    for call, status, code in cases:
        assert_envelope(await call, status, code)
    # Field details for validation errors.
    r = await client.call("GET", "/api/v1/streams?limit=0")
    assert r.body["meta"]["errors"][0]["field"] == "query.limit"


async def test_request_id_is_kept_when_given(client):
    r = await client.call("GET", "/api/v1/nope", headers={"X-Request-Id": "trace-42"})
    assert r.body["requestId"] == r.headers["X-Request-Id"] == "trace-42"
    ok = await client.call("GET", "/api/v1/streams?limit=1", headers={"X-Request-Id": "trace-43"})
    assert ok.headers["X-Request-Id"] == "trace-43"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("trace-42", True),
        ("0c7b5a1e-1111-4222-8333-444455556666", True),
        ("a" * 64, True),
        ("a" * 65, False),  # too long: replaced, not cut down and echoed
        ("a" * 6000, False),
        ("two words", False),
        ("<script>", False),
        ("-leading-dash", False),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v1/streams?limit=1",
        "/watch/x",
        "/hls/00000000-0000-4000-8000-000000000000/index.m3u8",  # the origin
        "/whip/00000000-0000-4000-8000-000000000000",  # GET: 405 from the WHIP route
        "/socket.io/?EIO=4&transport=polling",  # engine.io's own handler
    ],
)
async def test_only_a_short_token_like_request_id_is_echoed(client, path, given, kept):
    r = await client.call("GET", path, headers={"X-Request-Id": given})
    rid = r.headers["X-Request-Id"]
    assert (rid == given) is kept and 0 < len(rid) <= 64
    if not kept:  # a new id, not the caller's text cut short (what both servers did before)
        assert not given.startswith(rid)
    if r.status >= 400:
        assert r.body["requestId"] == rid
