"""CSRF, CORS and security headers as a browser meets them."""

from __future__ import annotations

import aiohttp
import pytest

from api.auth.rbac import Role

pytestmark = pytest.mark.asyncio(loop_scope="session")

EVIL = "https://evil.example"


async def test_cross_site_post_is_refused_and_changes_nothing(server, account):
    creator = await account(Role.CREATOR)
    before = await server.pool.fetchval(
        "SELECT count(*) FROM streams WHERE creator_id = $1", creator.id
    )
    # What a form or fetch on another site would send along with the victim's cookie.
    for headers in (
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Origin": EVIL},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        r = await creator.call("POST", "/api/v1/streams", json={"title": "CSRF"}, headers=headers)
        assert (r.status, r.code) == (403, "CSRF_REJECTED"), headers
    r = await creator.call("POST", "/api/v1/auth/logout", headers={"Origin": EVIL})
    assert r.status == 403
    assert (await creator.call("GET", "/api/v1/auth/me")).status == 200  # still signed in
    after = await server.pool.fetchval(
        "SELECT count(*) FROM streams WHERE creator_id = $1", creator.id
    )
    assert after == before
    # The same request from the site itself goes through.
    own = server.settings.base_url
    ok = await creator.call(
        "POST",
        "/api/v1/streams",
        json={"title": "Mine"},
        headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
    )
    assert ok.status == 201, ok.body
    assert ok.headers["Access-Control-Allow-Origin"] == own


async def test_cors_allow_list(server, client):
    own = server.settings.base_url
    pre = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = await client.call("OPTIONS", "/api/v1/streams", headers={"Origin": own, **pre})
    assert ok.status == 204
    assert ok.headers["Access-Control-Allow-Origin"] == own
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    bad = await client.call("OPTIONS", "/api/v1/streams", headers={"Origin": EVIL, **pre})
    assert (bad.status, bad.code) == (403, "CORS_ORIGIN_NOT_ALLOWED")
    read = await client.call("GET", "/api/v1/streams?limit=1", headers={"Origin": EVIL})
    assert read.status == 200 and "Access-Control-Allow-Origin" not in read.headers


async def test_whip_and_whep_stay_open_cross_origin(server, client, new_stream):
    sid, _ = await new_stream()
    for path in (f"/whip/{sid}", f"/whep/{sid}"):
        pre = await client.call(
            "OPTIONS",
            path,
            headers={
                "Origin": EVIL,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert pre.status == 204 and pre.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
        # A browser client's trickle/restart PATCH sends If-Match and reads the ETag.
        assert "If-Match" in pre.headers["Access-Control-Allow-Headers"]
        assert "PATCH" in pre.headers["Access-Control-Allow-Methods"]
        # Bearer tokens, not cookies: no CSRF check here (a wrong token is a 401, not a 403).
        r = await client.call(
            "POST",
            path,
            data="v=0\r\n",
            headers={
                "Origin": EVIL,
                "Content-Type": "application/sdp",
                "Authorization": "Bearer x",
            },
        )
        assert r.status != 403 or r.code != "CSRF_REJECTED"
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Location" in r.headers["Access-Control-Expose-Headers"]
        assert "ETag" in r.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "path", ["/", "/watch/x", "/api/v1/streams?limit=1", "/api/v1/nope", "/sw.js"]
)
async def test_security_headers_everywhere(client, path):
    r = await client.call("GET", path)
    h = r.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert h["X-Frame-Options"] == "DENY"
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "worker-src 'self' blob:" in csp and "media-src 'self' blob:" in csp
    assert "Strict-Transport-Security" not in h  # plain http here


async def test_hsts_over_tls_base_url():
    from api.security import _security_headers
    from teezu.settings import Settings

    class Fake:
        secure = False

    class Resp:
        headers: dict[str, str] = {}

    resp = Resp()
    _security_headers(resp, Fake(), Settings(public_url="https://live.example"), "x")  # type: ignore[arg-type]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),  # allowed (the base URL's twin): kept for LAN-style access
        ("localhost", "localhost"),
        ("evil.example", "localhost"),  # anyone else's name: the configured host instead
        ("evil.example:8443", "localhost"),
        ("127.0.0.1@evil.example", "localhost"),
    ],
)
async def test_absolute_urls_never_echo_a_foreign_host(server, new_stream, host, expected):
    """The CSP and the API's hlsUrl name the edge by an allowed host only (Settings.hosts)."""
    stream_id, _ = await new_stream()
    edge = f"http://{expected}:{server.settings.edge_listen_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{server.base_url}/api/v1/streams/{stream_id}", headers={"Host": host}
        ) as res:
            assert res.status == 200
            assert (await res.json())["data"]["hlsUrl"].startswith(edge + "/hls/")
            csp = res.headers["Content-Security-Policy"]
        async with http.get(f"{server.base_url}/watch/{stream_id}", headers={"Host": host}) as res:
            page_csp = res.headers["Content-Security-Policy"]
    for policy in (csp, page_csp):
        assert "evil" not in policy
        assert f"connect-src 'self' {edge}" in policy
