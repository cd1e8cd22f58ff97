"""The viewer age gate per jurisdiction and creators' geo-blocks, end to end.

One node with the production default (age gate on), its LL-HLS edge, a GeoIP range
(127.0.0.7 is in GB) and 127.0.0.1 as a trusted proxy, so a test picks the viewer's
jurisdiction with ``X-Viewer-Country`` as a CDN in front would. One real broadcast (an
adult-rated stream, the default rating) serves every test: the API issues or refuses playback
tokens, and the origin and the edge serve or refuse real segments by the token's claims.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import aiohttp
import asyncpg
import m3u8
import pytest
import pytest_asyncio
from PIL import Image

from api.auth.rbac import Role
from api.keys import POOL
from hls.access import sign_playback_token
from hls.origin import POLICY_KEY
from tests.accounts import Account, Client, create_user
from tests.conftest import free_port
from tests.identity import verify
from tests.performers import make_ready
from tests.publisher import Published, publish
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLACE = "X-Viewer-Country"


@dataclass
class Gated:
    base: str
    edge: str
    app: Any
    pool: asyncpg.Pool
    key: bytes
    sid: str  # a live, adult-rated, public stream
    creator: Account
    admin: Account
    verified: Account  # an approved identity record
    declared: Account  # declared 18+
    member: Account  # neither
    anon: Client

    def hls(self, which: str) -> str:
        return self.edge if which == "edge" else self.base


async def _account(server, base: str, *roles: Role) -> Account:
    user = await create_user(server, frozenset(roles or {Role.MEMBER}))
    acct = Account(base, id=user.id, handle=user.handle, email=user.email)
    r = await acct.login()
    assert r.status == 200, r.body
    return acct


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def gated(server, pg_dsn, tmp_path_factory) -> AsyncIterator[Gated]:
    port, edge_port = free_port(), free_port()
    async with (
        extra_server(
            pg_dsn,
            tmp_path_factory.mktemp("agegate"),
            port,
            age_gate_enabled=True,
            edge_port=edge_port,
            moderation_enabled=False,
            rate_limit_requests=1_000_000,
            publisher_media_timeout=4.0,
            geoip_ranges={"127.0.0.7/32": "GB", "127.0.0.0/8": "NL"},
            geoip_trusted_proxies=["127.0.0.1/32"],
        ) as (base, app),
        aiohttp.ClientSession() as http,
    ):
        # The rules these tests expect, whatever ran before on this database (schemathesis
        # sets random rules through the admin route): the seeded default, GB and US-TX.
        await app[POOL].execute(
            "DELETE FROM age_gate_rules; INSERT INTO age_gate_rules (country, region, "
            "requirement) VALUES ('*', '', 'self_declared'), ('GB', '', 'verified'), "
            "('US', 'TX', 'verified')"
        )
        accounts = [
            await _account(server, base, *roles)
            for roles in (
                (Role.CREATOR,),
                (Role.ADMIN,),
                (Role.MEMBER,),
                (Role.MEMBER,),
                (Role.MEMBER,),
                (Role.MODERATOR,),
            )
        ]
        creator, admin, verified_, declared, member, moderator = accounts
        await verify(verified_, moderator)
        r = await declared.call("POST", "/api/v1/me/age-declaration", json={"confirm": True})
        assert r.status == 201 and r.data["level"] == "self_declared", r.body
        made = await creator.call("POST", "/api/v1/streams", json={"title": "Adult show"})
        assert made.status == 201, made.body
        sid = made.data["id"]
        await make_ready(sid, creator, reviewer=moderator)  # go-live is gated here too
        # 640x360: only the 240p rung is encoded (rungs taller than the source are skipped).
        pub: Published = await publish(http, base, sid, made.data["publishToken"], size=(640, 360))
        anon = Client(base)
        g = Gated(
            base,
            f"http://127.0.0.1:{edge_port}",
            app,
            app[POOL],
            app[POLICY_KEY].key,
            sid,
            creator,
            admin,
            verified_,
            declared,
            member,
            anon,
        )
        try:
            yield g
        finally:
            await pub.delete(http, base)
            for acct in (*accounts, anon):
                await acct.close()


async def token_for(g: Gated, who: Client, place: str | None) -> tuple[int, dict]:
    headers = {PLACE: place} if place else {}
    r = await who.call("POST", f"/api/v1/streams/{g.sid}/playback-tokens", json={}, headers=headers)
    return r.status, r.body


async def get(url: str, place: str | None = None, **kw: Any) -> tuple[int, bytes, Any]:
    headers = {PLACE: place} if place else {}
    async with (
        aiohttp.ClientSession(**kw) as http,
        http.get(url, headers=headers, allow_redirects=False) as res,
    ):
        return res.status, await res.read(), res.headers


async def master_with(g: Gated, which: str, token: str, place: str | None = None) -> bytes:
    """The master playlist with ``token`` (waits for the broadcast's first objects)."""
    url = f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={token}"
    deadline = time.monotonic() + 30
    while True:
        status, body, _ = await get(url, place)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, body
            return body
        if status != 404:
            raise AssertionError((status, body))
        await asyncio.sleep(0.2)


async def media_objects(g: Gated, which: str, token: str) -> list[str]:
    """URLs (with the token) of the live playlist, its init segment and a part."""
    body = await master_with(g, which, token)
    base = f"{g.hls(which)}/hls/{g.sid}/index.m3u8"
    variant = m3u8.loads(body.decode(), uri=base).playlists[0].absolute_uri
    deadline = time.monotonic() + 30
    while True:
        status, raw, _ = await get(variant)
        pl = m3u8.loads(raw.decode(), uri=variant) if status == 200 else None
        if pl is not None and pl.segments and pl.segments[0].parts:
            break
        assert time.monotonic() < deadline, (status, raw)
        await asyncio.sleep(0.2)
    return [
        variant,
        urljoin(variant, pl.segment_map[0].uri),
        urljoin(variant, pl.segments[-1].parts[0].uri),
    ]


# --- rules per jurisdiction drive the API and the media servers --------------------------


# (viewer, place) -> what the seeded rules give: default self_declared; GB, US-TX verified;
# US-NY has no row of its own nor its country's: the default.
CASES = [
    ("anon", "NL", "self_declared"),
    ("member", "NL", "self_declared"),
    ("declared", "NL", None),
    ("verified", "NL", None),
    ("declared", "GB", "verified"),
    ("verified", "GB", None),
    ("declared", "US-TX", "verified"),
    ("declared", "US-NY", None),
    ("member", "US-NY", "self_declared"),
]


@pytest.mark.parametrize(("who", "place", "refused_for"), CASES)
async def test_rules_decide_who_gets_a_token(gated, who, place, refused_for):
    status, body = await token_for(gated, getattr(gated, who), place)
    if refused_for is None:
        assert status == 201, body
        assert f".{'s' if who == 'declared' else 'v'}{place}." in body["data"]["token"]
    else:
        assert status == 403, body
        assert body["code"] == "AGE_VERIFICATION_REQUIRED"
        meta = body["meta"]
        assert meta["requirement"] == refused_for
        assert meta["country"] == place.split("-")[0]
        assert meta["signInRequired"] is (who == "anon")
        assert meta["next"] == (
            ["POST /api/v1/me/age-declaration"]
            if refused_for == "self_declared"
            else ["POST /api/v1/verification/records"]
        )


@pytest.mark.parametrize("which", ["app", "edge"])
async def test_media_needs_a_token_whose_claims_meet_the_rule(gated, which):
    g = gated
    status, body = await token_for(g, g.declared, "NL")
    assert status == 201, body
    token = body["data"]["token"]
    urls = await media_objects(g, which, token)
    for url in urls:
        status, _, _ = await get(url)
        assert status == 200, url
        # The same object without the token: refused, and the envelope says why.
        status, raw, _ = await get(url.split("?")[0])
        assert status == 403, url
        assert b"PLAYBACK_TOKEN_REQUIRED" in raw and b"ageGate" in raw
    # A token of level none is refused: the gate needs a declaration.
    bare = sign_playback_token(g.key, g.sid, "legacy", int(time.time()) + 600, epoch=0)
    status, raw, _ = await get(f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={bare}")
    assert status == 403 and b"AGE_VERIFICATION_REQUIRED" in raw
    # A self-declared token issued in GB (say, by a forged API) is not enough there...
    gb = sign_playback_token(
        g.key, g.sid, "x", int(time.time()) + 600, epoch=0, age="self_declared", place="GB"
    )
    status, raw, _ = await get(f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={gb}")
    assert status == 403 and b'"requirement":"verified"' in raw.replace(b" ", b"")
    # ... and claims cannot be edited: the signature covers them.
    forged = token.replace(".sNL.", ".vGB.")
    status, raw, _ = await get(f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={forged}")
    assert status == 403 and b"PLAYBACK_TOKEN_INVALID" in raw


async def test_an_admin_rule_change_applies_to_issued_tokens(gated):
    g = gated
    status, body = await token_for(g, g.declared, "SE")
    assert status == 201, body
    token = body["data"]["token"]
    await master_with(g, "edge", token)
    r = await g.admin.call(
        "PUT",
        "/api/v1/admin/age-gate/rules",
        json={"country": "se", "requirement": "verified"},
    )
    assert r.status == 200, r.body
    assert (r.data["country"], r.data["region"], r.data["requirement"]) == ("SE", None, "verified")
    # The API applies it at once on this node...
    status, body = await token_for(g, g.declared, "SE")
    assert status == 403 and body["meta"]["requirement"] == "verified"
    # ... the media servers within their cache time (5 s), to tokens already out there.
    deadline = time.monotonic() + 15
    for which in ("app", "edge"):
        while True:
            status, raw, _ = await get(f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={token}")
            if status == 403:
                assert b"AGE_VERIFICATION_REQUIRED" in raw
                break
            assert status == 200 and time.monotonic() < deadline
            await asyncio.sleep(0.25)
    # 'none' lets anyone there watch, without an account.
    r = await g.admin.call(
        "PUT", "/api/v1/admin/age-gate/rules", json={"country": "SE", "requirement": "none"}
    )
    assert r.status == 200
    status, body = await token_for(g, g.anon, "SE")
    assert status == 201, body
    assert ".nSE." in body["data"]["token"]


async def test_creator_and_staff_are_exempt(gated):
    g = gated
    for who in (g.creator, g.admin):
        status, body = await token_for(g, who, "GB")
        assert status == 201, body
        assert ".xGB." in body["data"]["token"]
        # Where it was issued (GB asks for verification, which neither has).
        await master_with(g, "app", body["data"]["token"], "GB")


async def test_stream_detail_says_what_is_needed(gated):
    g = gated
    r = await g.member.call("GET", f"/api/v1/streams/{g.sid}", headers={PLACE: "GB"})
    assert r.status == 200, r.body
    access = r.data["viewerAccess"]
    assert access["allowed"] is False and access["tokenRequired"] is True
    assert access["code"] == "AGE_VERIFICATION_REQUIRED"
    assert access["meta"]["requirement"] == "verified"
    r = await g.verified.call("GET", f"/api/v1/streams/{g.sid}", headers={PLACE: "GB"})
    assert r.data["viewerAccess"]["allowed"] is True
    assert r.data["posterUrl"] == f"/api/v1/streams/{g.sid}/poster"


# --- the viewer's jurisdiction -----------------------------------------------------------


async def test_jurisdiction_from_geoip_ranges_and_trusted_proxies_only(gated):
    g = gated
    url = f"{g.base}/api/v1/me/age-gate"
    # 127.0.0.1 is a trusted proxy: its header is believed.
    status, raw, _ = await get(url, "US-TX")
    assert status == 200, raw
    data = json.loads(raw)["data"]
    assert (data["country"], data["region"], data["requirement"]) == ("US", "TX", "verified")
    assert data["level"] == "none" and data["allowed"] is False and data["enabled"] is True
    # From 127.0.0.7 (not trusted): the header is ignored, the CIDR table says GB.
    local = {"connector": aiohttp.TCPConnector(local_addr=("127.0.0.7", 0))}
    status, raw, _ = await get(url, "SE", **local)
    assert status == 200, raw
    data = json.loads(raw)["data"]
    assert (data["country"], data["region"], data["requirement"]) == ("GB", None, "verified")
    # A header that names no place counts as unknown (the default rule), never an error.
    status, raw, _ = await get(url, "ZZ-!!")
    data = json.loads(raw)["data"]
    assert status == 200 and data["country"] is None and data["requirement"] == "self_declared"


# --- geo-blocks ---------------------------------------------------------------------------


async def test_geo_blocks_refused_at_api_origin_and_edge(gated):
    g = gated
    path = f"/api/v1/streams/{g.sid}/geo-blocks"
    # A verified viewer's token issued in DE before the creator blocks DE.
    status, body = await token_for(g, g.verified, "DE")
    assert status == 201, body
    de_token = body["data"]["token"]
    status, body = await token_for(g, g.verified, "NL")
    nl_token = body["data"]["token"]
    await master_with(g, "app", de_token)

    r = await g.creator.call("PUT", path, json={"places": ["de", "US-TX", "DE"]})
    assert r.status == 200, r.body
    assert r.data["places"] == ["DE", "US-TX"]
    r = await g.creator.call("GET", path)
    assert r.status == 200 and r.data["places"] == ["DE", "US-TX"]
    try:
        for place in ("DE", "US-TX"):
            r = await g.verified.call("GET", f"/api/v1/streams/{g.sid}", headers={PLACE: place})
            assert r.status == 451 and r.code == "GEO_BLOCKED", r.body
            assert r.body["meta"]["country"] == place.split("-")[0]
            status, body = await token_for(g, g.verified, place)
            assert status == 451 and body["code"] == "GEO_BLOCKED"
            r = await g.verified.call("GET", "/api/v1/streams?limit=100", headers={PLACE: place})
            assert g.sid not in [s["id"] for s in r.data]
            r = await g.anon.call("GET", f"/api/v1/streams/{g.sid}/poster", headers={PLACE: place})
            assert r.status == 451
        # Elsewhere in the US it plays, and it is listed.
        status, body = await token_for(g, g.verified, "US-CA")
        assert status == 201, body
        r = await g.verified.call("GET", "/api/v1/streams?limit=100", headers={PLACE: "US-CA"})
        assert g.sid in [s["id"] for s in r.data]

        for which in ("app", "edge"):
            master = f"{g.hls(which)}/hls/{g.sid}/index.m3u8"
            # A token issued in DE before the block stops working (within the cache time).
            deadline = time.monotonic() + 15
            while True:
                status, raw, _ = await get(f"{master}?token={de_token}", "NL")
                if status == 451:
                    assert b"GEO_BLOCKED" in raw
                    break
                assert status == 200 and time.monotonic() < deadline, (status, raw)
                await asyncio.sleep(0.25)
            # A token from NL does not open the stream to a viewer in DE either.
            status, raw, _ = await get(f"{master}?token={nl_token}", "DE")
            assert status == 451 and b"GEO_BLOCKED" in raw
            status, _, _ = await get(f"{master}?token={nl_token}", "NL")
            assert status == 200
        # The creator still reaches their own stream from a blocked place.
        status, body = await token_for(g, g.creator, "DE")
        assert status == 201, body
        await master_with(g, "edge", body["data"]["token"], "DE")
    finally:
        r = await g.creator.call("PUT", path, json={"places": []})
        assert r.status == 200 and r.data["places"] == []


@pytest.mark.parametrize(
    ("places", "code", "field"),
    [
        (["XX"], "UNKNOWN_COUNTRY", "country"),
        (["Netherlands"], "UNKNOWN_COUNTRY", "country"),
        (["US-TEXAS"], "INVALID_REGION", "region"),
        (["US-T_"], "INVALID_REGION", "region"),
        (["NL-ZZ"], "UNKNOWN_REGION", "region"),
    ],
)
async def test_geo_block_bad_places_refused(gated, places, code, field):
    g = gated
    r = await g.creator.call(
        "PUT", f"/api/v1/streams/{g.sid}/geo-blocks", json={"places": ["NL", *places]}
    )
    assert r.status == 422 and r.code == code, r.body
    assert field in r.body["meta"]
    r = await g.creator.call("GET", f"/api/v1/streams/{g.sid}/geo-blocks")
    assert r.data["places"] == []  # nothing half-saved


async def test_geo_blocks_of_another_creators_stream_refused(gated, server):
    g = gated
    other = await _account(server, g.base, Role.CREATOR)
    try:
        for method, kw in (("PUT", {"json": {"places": ["NL"]}}), ("GET", {})):
            r = await other.call(method, f"/api/v1/streams/{g.sid}/geo-blocks", **kw)
            assert r.status == 403 and r.code == "NOT_STREAM_OWNER", r.body
        r = await g.member.call("GET", f"/api/v1/streams/{g.sid}/geo-blocks")
        assert r.status == 403 and r.code == "FORBIDDEN"
        r = await g.anon.call("GET", f"/api/v1/streams/{uuid.uuid4()}/geo-blocks")
        assert r.status == 401
        r = await g.creator.call(
            "PUT", f"/api/v1/streams/{uuid.uuid4()}/geo-blocks", json={"places": []}
        )
        assert r.status == 404 and r.code == "STREAM_NOT_FOUND"
        r = await g.creator.call(
            "PUT", f"/api/v1/streams/{g.sid}/geo-blocks", json={"places": ["NL"] * 301}
        )
        assert r.status == 422 and r.code == "VALIDATION_ERROR"
    finally:
        await other.close()


# --- admin rules, declarations ------------------------------------------------------------


async def test_admin_rules_list_set_and_refusals(gated):
    g = gated
    r = await g.admin.call("GET", "/api/v1/admin/age-gate/rules?limit=3")
    assert r.status == 200, r.body
    first = r.data
    assert len(first) == 3 and first[0]["country"] == "*"
    assert first[0]["requirement"] == "self_declared"
    assert r.body["nextCursor"] == "3"
    r = await g.admin.call("GET", "/api/v1/admin/age-gate/rules?limit=500&offset=3")
    everything = first + r.data
    assert ("US", "TX", "verified") in [
        (x["country"], x["region"], x["requirement"]) for x in everything
    ]
    r = await g.admin.call(
        "PUT",
        "/api/v1/admin/age-gate/rules",
        json={"country": "US", "region": "ny", "requirement": "verified"},
    )
    assert r.status == 200 and (r.data["region"], r.data["requirement"]) == ("NY", "verified")
    try:
        status, body = await token_for(g, g.declared, "US-NY")
        assert status == 403 and body["meta"]["region"] == "NY"
    finally:
        await g.admin.call(
            "PUT",
            "/api/v1/admin/age-gate/rules",
            json={"country": "US", "region": "NY", "requirement": "self_declared"},
        )
    audited = await g.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'admin.age_gate.rule_set' AND actor_id = $1",
        g.admin.id,
    )
    assert audited >= 2
    bad = [
        ({"country": "QQ", "requirement": "none"}, 422, "UNKNOWN_COUNTRY"),
        ({"country": "US", "region": "T-X", "requirement": "none"}, 422, "INVALID_REGION"),
        ({"country": "US", "region": "ZZ", "requirement": "none"}, 422, "UNKNOWN_REGION"),
        ({"country": "*", "region": "TX", "requirement": "none"}, 422, "INVALID_REGION"),
        ({"country": "NL", "requirement": "maybe"}, 422, "VALIDATION_ERROR"),
        ({"country": "NLD", "requirement": "none"}, 422, "VALIDATION_ERROR"),
    ]
    for body, status, code in bad:
        r = await g.admin.call("PUT", "/api/v1/admin/age-gate/rules", json=body)
        assert (r.status, r.code) == (status, code), (body, r.body)
    r = await g.member.call("GET", "/api/v1/admin/age-gate/rules")
    assert r.status == 403
    r = await g.creator.call(
        "PUT", "/api/v1/admin/age-gate/rules", json={"country": "NL", "requirement": "none"}
    )
    assert r.status == 403
    r = await g.anon.call("GET", "/api/v1/admin/age-gate/rules")
    assert r.status == 401


async def test_age_declaration_is_recorded_and_append_only(gated, server):
    g = gated
    r = await g.anon.call("POST", "/api/v1/me/age-declaration", json={"confirm": True})
    assert r.status == 401
    fresh = await _account(server, g.base)
    try:
        r = await fresh.call("POST", "/api/v1/me/age-declaration", json={"confirm": False})
        assert r.status == 422 and r.code == "VALIDATION_ERROR"
        assert (await token_for(g, fresh, "NL"))[0] == 403
        r = await fresh.call(
            "POST", "/api/v1/me/age-declaration", json={"confirm": True}, headers={PLACE: "US-NY"}
        )
        assert r.status == 201 and r.data["level"] == "self_declared", r.body
        row = await g.pool.fetchrow(
            "SELECT country, region, ip, statement FROM age_declarations WHERE user_id = $1",
            fresh.id,
        )
        assert (row["country"], row["region"], row["ip"]) == ("US", "NY", "127.0.0.1")
        assert "18" in row["statement"]
        assert (await token_for(g, fresh, "NL"))[0] == 201
        for sql in (
            "UPDATE age_declarations SET country = 'GB' WHERE user_id = $1",
            "DELETE FROM age_declarations WHERE user_id = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await g.pool.execute(sql, fresh.id)
    finally:
        await fresh.close()


# --- previews -----------------------------------------------------------------------------


def _detail(jpeg: bytes) -> float:
    """Mean absolute difference between neighbouring pixels: low for a blurred picture."""
    img = Image.open(io.BytesIO(jpeg)).convert("L")
    px = img.load()
    w, h = img.size
    total = sum(abs(px[x, y] - px[x + 1, y]) for y in range(0, h, 4) for x in range(w - 1))
    return total / ((w - 1) * len(range(0, h, 4)))


async def test_posters_are_blurred_unless_the_viewer_passes_the_gate(gated):
    g = gated
    url = f"/api/v1/streams/{g.sid}/poster"
    deadline = time.monotonic() + 30
    while (r := await g.verified.call("GET", url, headers={PLACE: "GB"})).status == 404:
        assert r.code == "POSTER_NOT_FOUND" and time.monotonic() < deadline
        await asyncio.sleep(0.3)
    assert r.status == 200 and r.headers["X-Poster"] == "sharp"
    assert r.headers["Content-Type"] == "image/jpeg"
    sharp = r.body
    for who, place in ((g.anon, "NL"), (g.member, "NL"), (g.declared, "GB")):
        r = await who.call("GET", url, headers={PLACE: place})
        assert r.status == 200 and r.headers["X-Poster"] == "blurred", r.headers
        assert Image.open(io.BytesIO(r.body)).size == Image.open(io.BytesIO(sharp)).size
        assert _detail(r.body) < _detail(sharp) / 3, (_detail(r.body), _detail(sharp))
    r = await g.declared.call("GET", url, headers={PLACE: "NL"})
    assert r.headers["X-Poster"] == "sharp"
    # The origin's own poster of a gated stream is not handed out without a token.
    status, raw, _ = await get(f"{g.base}/hls/{g.sid}/poster.jpg")
    assert status == 403 and b"PLAYBACK_TOKEN_REQUIRED" in raw
    r = await g.anon.call("GET", "/api/v1/streams?limit=100")
    card = next(s for s in r.data if s["id"] == g.sid)
    assert card["posterUrl"] == url


async def test_whep_applies_the_gate(gated):
    g = gated
    status, raw, _ = await _post_whep(g, "")
    assert status == 403 and b"PLAYBACK_TOKEN_REQUIRED" in raw
    bare = sign_playback_token(g.key, g.sid, "legacy", int(time.time()) + 600, epoch=0)
    status, raw, _ = await _post_whep(g, bare)
    assert status == 403 and b"AGE_VERIFICATION_REQUIRED" in raw


async def _post_whep(g: Gated, token: str) -> tuple[int, bytes, Any]:
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{g.base}/whep/{g.sid}", data="v=0\r\n", headers=headers) as res,
    ):
        return res.status, await res.read(), res.headers


async def test_a_creators_token_is_no_pass_for_anyone_else(gated):
    """Finding: a creator could mint an exempt token for "anyone". Tokens are for the caller
    only, and the creator's own exempt token holds only where it was issued: an anonymous
    viewer using it from a blocked place, or from a place whose rule they do not meet, is
    refused like any viewer."""
    g = gated
    tokens = f"/api/v1/streams/{g.sid}/playback-tokens"
    r = await g.creator.call(
        "POST", tokens, json={"viewerId": "anyone", "ttlSeconds": 604800}, headers={PLACE: "NL"}
    )
    assert r.status == 422 and r.code == "VALIDATION_ERROR", r.body
    status, body = await token_for(g, g.creator, "NL")
    assert status == 201 and ".xNL." in body["data"]["token"], body
    assert body["data"]["viewerId"] == g.creator.id.hex
    token = body["data"]["token"]
    path = f"/api/v1/streams/{g.sid}/geo-blocks"
    r = await g.creator.call("PUT", path, json={"places": ["DE"]})
    assert r.status == 200, r.body
    try:
        for which in ("app", "edge"):
            url = f"{g.hls(which)}/hls/{g.sid}/index.m3u8?token={token}"
            await master_with(g, which, token, "NL")  # the creator, where it was issued
            deadline = time.monotonic() + 15
            while True:  # refused from DE, by the age gate, then by the block once it is seen
                status, raw, _ = await get(url, "DE")
                if status == 451:
                    assert b"GEO_BLOCKED" in raw
                    break
                assert status == 403 and b"AGE_VERIFICATION_REQUIRED" in raw, (which, raw)
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            # Elsewhere, not blocked: the token counts as level none there, and FR (the
            # default row here) wants a self-declaration.
            status, raw, _ = await get(url, "FR")
            assert status == 403 and b"AGE_VERIFICATION_REQUIRED" in raw, (which, status, raw)
            assert b'"current":"none"' in raw.replace(b" ", b"")
    finally:
        r = await g.creator.call("PUT", path, json={"places": []})
        assert r.status == 200
