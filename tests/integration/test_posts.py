"""Posts over HTTP: uploads sniffed and refused with the envelope, scanned by the real NudeNet
worker pool before publication, served per the policy (never pending, never sharp when explicit
to those who may not see it), reviewed by a moderator, and downloaded with the viewer's
forensic mark, which ``identify_file`` (what ``teezu watermark identify`` calls) reads back.

One scanning server for the module (its own port, same database as the shared server, where
accounts are made). The first test runs before it exists, against the shared server, which does
not scan: its post stays pending for as long as the test looks.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
import pytest_asyncio
from blockbuster import blockbuster_ctx

from api.auth.rbac import Role
from api.keys import POOL, POST_SCANNER, SETTINGS
from api.wallet.service import LEDGER
from engine.forensic import viewer_number
from tests.accounts import Account, unique_handle
from tests.conftest import create_user, free_port
from tests.integration.wallet.conftest import fund
from tests.pictures import EXPLICIT_LABEL, explicit_picture
from tests.servers import extra_server
from workers.forensic_render import identify_file

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_BYTES = 2 * 1024 * 1024
OUR_CODE = ["api", "engine", "hls", "ingest", "teezu", "workers"]


def safe_picture(w: int = 640, h: int = 360) -> np.ndarray:
    """Gradients, boxes and text: nothing the model reports (checked in the test)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (x * 255 // w).astype(np.uint8)
    img[..., 1] = (y * 255 // h).astype(np.uint8)
    img[..., 2] = 90
    for i in range(8):
        cv2.rectangle(
            img, (20 + i * 75, 40), (70 + i * 75, 120 + i * 20), (40 * i, 200, 255 - 30 * i), -1
        )
    cv2.putText(img, "TeezU post", (40, 320), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
    return img


def png(bgr: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bgr)
    assert ok
    return data.tobytes()


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)


def blurred(bgr: np.ndarray) -> np.ndarray:
    """Blurred beyond recognition (24 px wide and back, then smoothed)."""
    h, w = bgr.shape[:2]
    tiny = cv2.resize(bgr, (24, max(2, round(h * 24 / w))), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.resize(tiny, (w, h)), (0, 0), w / 64).astype(np.int16)


def is_blurred(preview: bytes, original: np.ndarray) -> bool:
    """Whether ``preview`` is much nearer a blurred copy of ``original`` than the sharp one."""
    got = decode(preview)
    sharp = original.astype(np.int16)
    assert got.shape == sharp.shape
    to_sharp = float(np.abs(got - sharp).mean())
    to_blurred = float(np.abs(got - blurred(original)).mean())
    return to_blurred < to_sharp / 2


def form(
    data: bytes,
    *,
    filename: str = "upload.bin",
    part_type: str = "application/octet-stream",
    **fields: str,
) -> aiohttp.FormData:
    f = aiohttp.FormData()
    f.add_field("file", data, filename=filename, content_type=part_type)
    for name, value in fields.items():
        f.add_field(name, value)
    return f


class Scanning:
    """The scanning server; ``member()`` makes an account signed in on it."""

    def __init__(self, base_url: str, app) -> None:  # type: ignore[no-untyped-def]
        self.base_url, self.app = base_url, app
        self.accounts: list[Account] = []

    async def member(self, server, *roles: Role, declared: bool = True) -> Account:  # type: ignore[no-untyped-def]
        """A signed-in account; ``declared``: it declared 18+ (what the age gate asks here)."""
        user = await create_user(server, frozenset(roles or {Role.MEMBER}), unique_handle("p"))
        acct = Account(self.base_url, id=user.id, handle=user.handle, email=user.email)
        reply = await acct.login()
        assert reply.status == 200, reply.body
        if declared:
            reply = await acct.call("POST", "/api/v1/me/age-declaration", json={"confirm": True})
            assert reply.status == 201, reply.body
        self.accounts.append(acct)
        return acct


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def scanning(pg_dsn, tmp_path_factory) -> AsyncIterator[Scanning]:
    port = free_port()
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("var-posts"),
        port,
        edge_port=0,
        moderation_enabled=False,  # no live moderation: the scanner starts its own worker
        age_gate_enabled=True,  # adult-rated and explicit posts are behind it, like streams
        post_scan_enabled=True,
        post_max_bytes=MAX_BYTES,
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
    ) as (base, app):
        s = Scanning(base, app)
        yield s
        for acct in s.accounts:
            await acct.close()


async def scanned(owner: Account, post_id: str, timeout: float = 60.0) -> dict:
    """The post once its scan is recorded (its owner sees every status)."""
    deadline = time.monotonic() + timeout
    while True:
        r = await owner.call("GET", f"/api/v1/posts/{post_id}")
        assert r.status == 200, r.body
        if r.data["status"] != "pending":
            return r.data
        assert time.monotonic() < deadline, "the post was never scanned"
        await asyncio.sleep(0.05)


async def test_pending_posts_are_never_served(server, account, client):
    """Against the shared server, which scans nothing: the post stays pending throughout."""
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    r = await creator.call("POST", "/api/v1/posts", data=form(png(safe_picture()), caption="hello"))
    assert r.status == 201, r.body
    post = r.data
    assert post["status"] == "pending" and post["kind"] == "image"
    assert post["contentType"] == "image/png"
    assert post["previewUrl"] is None and post["mediaUrl"] is None and post["downloadUrl"] is None
    pid = post["id"]
    # Not even its creator gets the media before the scan; others do not learn it exists.
    for path in ("media", "preview", "download"):
        r = await creator.call("GET", f"/api/v1/posts/{pid}/{path}")
        assert (r.status, r.code) == (404, "MEDIA_NOT_AVAILABLE"), (path, r.body)
        r = await member.call("GET", f"/api/v1/posts/{pid}/{path}")
        assert (r.status, r.code) == (404, "POST_NOT_FOUND"), (path, r.body)
    r = await client.call("GET", f"/api/v1/posts/{pid}")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await client.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert r.status == 200 and r.data == []


async def test_uploads_are_refused_with_the_envelope(server, scanning, account, client):
    creator = await scanning.member(server, Role.CREATOR)
    member = await scanning.member(server, Role.MEMBER)
    picture = png(safe_picture())
    r = await client.call("POST", "/api/v1/posts", data=form(picture))
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    r = await member.call("POST", "/api/v1/posts", data=form(picture))
    assert (r.status, r.code) == (403, "FORBIDDEN")  # members do not upload
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES)
    cases = [
        # Text named like a picture and declared as one is still text.
        (
            form(b"just some text" * 10, filename="cat.jpg", part_type="image/jpeg"),
            415,
            "UNSUPPORTED_MEDIA",
        ),
        (form(too_big), 413, "MEDIA_TOO_LARGE"),
        (form(picture, audience="everyone"), 422, "INVALID_POST"),
        (form(picture, rating="x"), 422, "INVALID_POST"),
        (form(picture, caption="x" * 2001), 422, "INVALID_POST"),
        (form(picture, extra="1"), 422, "INVALID_POST"),
        (form(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500), 422, "INVALID_MEDIA"),
        (form(b"\x89PNG\r\n\x1a\n" + b"broken" * 50), 422, "INVALID_MEDIA"),
    ]
    for data, status, code in cases:
        r = await creator.call("POST", "/api/v1/posts", data=data)
        assert (r.status, r.code) == (status, code), (code, r.body)
    r = await creator.call("POST", "/api/v1/posts", json={"file": "x"})
    assert (r.status, r.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    nothing = aiohttp.FormData(default_to_multipart=True)
    nothing.add_field("caption", "no file")
    r = await creator.call("POST", "/api/v1/posts", data=nothing)
    assert (r.status, r.code) == (422, "INVALID_POST")
    count = await server.pool.fetchval(
        "SELECT count(*) FROM posts WHERE creator_id = $1", creator.id
    )
    assert count == 0  # nothing refused was kept


async def test_safe_post_is_published_and_downloads_carry_the_viewer(server, scanning, account):
    creator = await scanning.member(server, Role.CREATOR)
    viewer = await scanning.member(server, Role.MEMBER)
    picture = png(safe_picture())
    # A PNG named .gif and declared as JPEG: the bytes decide.
    r = await creator.call(
        "POST",
        "/api/v1/posts",
        data=form(picture, filename="x.gif", part_type="image/jpeg", caption="sunset"),
    )
    assert r.status == 201, r.body
    assert r.data["contentType"] == "image/png"
    post = await scanned(creator, r.data["id"])
    assert post["status"] == "published" and not post["explicit"], post
    assert post["width"] == 640 and post["height"] == 360 and post["caption"] == "sunset"
    pid = post["id"]
    r = await viewer.call("GET", f"/api/v1/posts/{pid}/media")
    assert r.status == 200 and r.body == picture and r.headers["Content-Type"] == "image/png"
    r = await viewer.call("GET", f"/api/v1/posts/{pid}/preview")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert not is_blurred(r.body, safe_picture())  # the sharp preview
    r = await viewer.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert [p["id"] for p in r.data] == [pid]
    assert r.data[0]["downloadUrl"] == f"/api/v1/posts/{pid}/download"
    # The post is rated adult (the default): behind the age gate, like an adult stream. Here
    # (127.0.0.1: no GeoIP match, the default rule) that is a self-declaration.
    newcomer = await scanning.member(server, Role.MEMBER, declared=False)
    r = await newcomer.call("GET", f"/api/v1/posts/{pid}")
    assert r.data["mediaUrl"] is None and r.data["previewUrl"]
    r = await newcomer.call("GET", f"/api/v1/posts/{pid}/download")
    assert (r.status, r.code) == (403, "AGE_VERIFICATION_REQUIRED")
    assert r.body["meta"]["requirement"] == "self_declared"
    assert r.body["meta"]["current"] == "none"
    assert r.body["meta"]["next"] == "/api/v1/me/age-declaration"
    r = await newcomer.call("POST", "/api/v1/me/age-declaration", json={"confirm": True})
    assert r.status == 201
    r = await newcomer.call("GET", f"/api/v1/posts/{pid}/media")
    assert r.status == 200 and r.body == picture
    # An sfw post is open to anyone, signed in or not.
    r = await creator.call("POST", "/api/v1/posts", data=form(picture, rating="sfw"))
    sfw = await scanned(creator, r.data["id"])
    assert sfw["status"] == "published"
    anyone = Account(scanning.base_url)
    r = await anyone.call("GET", f"/api/v1/posts/{sfw['id']}/media")
    assert r.status == 200 and r.body == picture
    await anyone.close()

    # The download carries the viewer's account id, read back from the file alone.
    r = await viewer.call("GET", f"/api/v1/posts/{pid}/download")
    assert r.status == 200, r.body
    assert r.headers["Content-Type"] == "image/jpeg"
    assert "attachment" in r.headers["Content-Disposition"]
    key = await asyncio.to_thread(scanning.app[SETTINGS].forensic_key_bytes)  # a file read
    path = Path(scanning.app[SETTINGS].var_dir) / f"download-{viewer.handle}.jpg"
    path.write_bytes(r.body)
    found = await asyncio.to_thread(identify_file, path, key)
    assert found.viewer == viewer_number(str(viewer.id))
    assert found.viewer != viewer_number(str(creator.id))
    # And through the CLI a trust and safety person would use.
    cli = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "teezu.cli", "watermark", "identify", str(path)),
        *("--key", key.decode()),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await cli.communicate()
    assert cli.returncode == 0, out
    assert out.decode().startswith(f"viewer {viewer_number(str(viewer.id))} ")
    assert f"{viewer.id.int >> 64:016x}" in out.decode()  # the account id's first 64 bits
    logged = await server.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'post.download' AND actor_id = $1 "
        "AND target = $2",
        viewer.id,
        f"post:{pid}",
    )
    assert logged == 1
    anonymous = Account(scanning.base_url)
    r = await anonymous.call("GET", f"/api/v1/posts/{pid}/download")
    assert r.status == 401  # a download needs an account to mark
    await anonymous.close()


async def test_video_post_is_scanned_and_its_download_is_marked(
    server, scanning, account, tmp_path
):
    creator = await scanning.member(server, Role.CREATOR)
    viewer = await scanning.member(server, Role.MEMBER)
    clip = tmp_path / "clip.mp4"
    made = await asyncio.create_subprocess_exec(
        *("ffmpeg", "-loglevel", "error", "-f", "lavfi"),
        *("-i", "testsrc2=size=640x360:rate=30:duration=3", "-c:v", "libx264"),
        *("-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)),
    )
    assert await made.wait() == 0
    data = clip.read_bytes()
    # Upload, probe, scan and the marked download, with blocking calls from our code on the
    # loop refused: the CPU work happens in threads and processes.
    with blockbuster_ctx(OUR_CODE):
        r = await creator.call("POST", "/api/v1/posts", data=form(data, filename="clip.txt"))
        assert r.status == 201, r.body
        assert r.data["kind"] == "video" and r.data["contentType"] == "video/mp4"
        assert abs(r.data["duration"] - 3.0) < 0.2
        post = await scanned(creator, r.data["id"])
        assert post["status"] == "published" and not post["explicit"], post
        r = await viewer.call("GET", f"/api/v1/posts/{post['id']}/download")
        assert r.status == 200 and r.headers["Content-Type"] == "video/mp4", r.body
    scan = await server.pool.fetchval(
        "SELECT scan->>'frames' FROM posts WHERE id = $1::uuid", post["id"]
    )
    assert int(scan) == scanning.app[SETTINGS].post_scan_frames  # pictures spread over it
    marked = tmp_path / "download.mp4"
    marked.write_bytes(r.body)
    key = await asyncio.to_thread(scanning.app[SETTINGS].forensic_key_bytes)  # a file read
    found = await asyncio.to_thread(identify_file, marked, key)
    assert found.viewer == viewer_number(str(viewer.id))
    assert (await asyncio.to_thread(identify_file, clip, key)).viewer is None  # the upload


async def test_explicit_posts_per_policy_and_review(server, scanning, account):
    """Default policy: an adult post the model labels explicit is published, marked explicit
    (blurred preview; sharp media behind the age gate); an sfw post is rejected and
    flagged, and a moderator's dismissal publishes it."""
    creator = await scanning.member(server, Role.CREATOR)
    member = await scanning.member(server, Role.MEMBER)
    moderator = await scanning.member(server, Role.MODERATOR)
    anonymous = Account(scanning.base_url)
    original = explicit_picture(640, 360)
    picture = png(original)

    r = await creator.call("POST", "/api/v1/posts", data=form(picture, rating="adult"))
    assert r.status == 201, r.body
    adult = await scanned(creator, r.data["id"])
    assert adult["status"] == "published" and adult["explicit"], adult
    pid = adult["id"]
    scan = (await moderator.call("GET", f"/api/v1/posts/{pid}")).data
    assert scan["status"] == "published"
    r = await anonymous.call("GET", f"/api/v1/posts/{pid}")
    assert r.status == 200 and r.data["mediaUrl"] is None and r.data["previewUrl"]
    r = await anonymous.call("GET", f"/api/v1/posts/{pid}/media")
    assert (r.status, r.code) == (403, "AGE_VERIFICATION_REQUIRED")
    assert r.body["meta"]["signInRequired"] is True
    r = await anonymous.call("GET", f"/api/v1/posts/{pid}/preview")
    assert r.status == 200
    assert is_blurred(r.body, original), "an explicit post's preview must be blurred"
    r = await member.call("GET", f"/api/v1/posts/{pid}/media")
    assert r.status == 200 and r.body == picture  # an account that meets the gate sees it
    await anonymous.close()

    r = await creator.call("POST", "/api/v1/posts", data=form(picture, rating="sfw"))
    assert r.status == 201, r.body
    sfw = await scanned(creator, r.data["id"])
    assert sfw["status"] == "rejected", sfw
    sid = sfw["id"]
    r = await creator.call("GET", f"/api/v1/posts/{sid}/media")
    assert (r.status, r.code) == (404, "MEDIA_NOT_AVAILABLE")
    r = await member.call("GET", f"/api/v1/posts/{sid}")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    # The flag waits for a moderator, with the scan's scores and the frame judged.
    flag = None
    cursor = None
    while flag is None:
        q = "?limit=50" + (f"&cursor={cursor}" if cursor else "")
        page = await moderator.call("GET", f"/api/v1/moderation/flags{q}")
        flag = next((f for f in page.data if f["postId"] == sid), None)
        cursor = page.body["nextCursor"]
        assert flag is not None or cursor is not None, "no flag for the rejected post"
    assert flag["kind"] == "post" and flag["subjectId"] == str(creator.id)
    assert flag["decision"]["action"] == "freeze"
    best = max(flag["decision"]["detections"], key=lambda d: d["score"])
    assert best["label"] == EXPLICIT_LABEL and best["score"] >= 0.6
    r = await moderator.call("GET", flag["snapshotUrl"])
    assert r.status == 200 and r.body[:2] == b"\xff\xd8"
    r = await moderator.call(
        "POST", f"/api/v1/moderation/flags/{flag['id']}/resolve", json={"decision": "dismiss"}
    )
    assert r.status == 200 and r.data["resolution"] == "dismissed", r.body
    r = await member.call("GET", f"/api/v1/posts/{sid}")
    assert r.status == 200 and r.data["status"] == "published" and r.data["explicit"]
    r = await member.call("GET", f"/api/v1/posts/{sid}/media")
    assert r.status == 200 and r.body == picture
    r = await moderator.call(
        "POST", f"/api/v1/moderation/flags/{flag['id']}/resolve", json={"decision": "confirm"}
    )
    assert (r.status, r.code) == (409, "ALREADY_RESOLVED")


async def test_followers_posts_and_avatars(server, scanning, account):
    creator = await scanning.member(server, Role.CREATOR)
    fan = await scanning.member(server, Role.MEMBER)
    stranger = await scanning.member(server, Role.MEMBER)
    r = await creator.call(
        "POST", "/api/v1/posts", data=form(png(safe_picture()), audience="followers")
    )
    assert r.status == 201, r.body
    post = await scanned(creator, r.data["id"])
    assert post["status"] == "published"
    r = await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")
    assert r.status == 204
    r = await fan.call("GET", f"/api/v1/posts/{post['id']}/media")
    assert r.status == 200
    r = await stranger.call("GET", f"/api/v1/posts/{post['id']}/media")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await stranger.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert r.data == []
    r = await fan.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert [p["id"] for p in r.data] == [post["id"]]

    # A report of the post, and a moderator's removal, take it down.
    report = {"targetType": "post", "reason": "harassment"}
    r = await fan.call("POST", "/api/v1/reports", json={**report, "targetId": str(uuid.uuid4())})
    assert (r.status, r.code) == (404, "REPORT_TARGET_NOT_FOUND")
    r = await fan.call("POST", "/api/v1/reports", json={**report, "targetId": post["id"]})
    assert r.status == 201 and r.data["subjectId"] == str(creator.id), r.body
    moderator = await scanning.member(server, Role.MODERATOR)
    r = await moderator.call(
        "POST", f"/api/v1/moderation/reports/{r.data['id']}/actions", json={"action": "remove"}
    )
    assert r.status == 200, r.body
    r = await fan.call("GET", f"/api/v1/posts/{post['id']}/media")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await creator.call("GET", f"/api/v1/posts/{post['id']}")
    assert r.data["status"] == "rejected" and r.data["mediaUrl"] is None

    # Avatars are judged before anyone sees them (a public, sfw picture).
    path = f"/api/v1/users/{fan.handle}/avatar"
    headers = {"Content-Type": "image/png"}
    r = await fan.call("PUT", path, data=png(explicit_picture(640, 360)), headers=headers)
    assert (r.status, r.code) == (422, "AVATAR_REJECTED"), r.body
    assert EXPLICIT_LABEL in r.body["meta"]["labels"]
    r = await fan.call("GET", path)
    assert r.status == 404  # nothing was stored
    r = await fan.call("PUT", path, data=png(safe_picture(512, 512)), headers=headers)
    assert r.status == 200 and r.data["avatarUrl"], r.body
    assert scanning.app[POST_SCANNER].scanned >= 1


async def test_subscriber_posts_are_for_live_subscribers_only(server, scanning):
    """A ``subscribers`` post: hidden (the same 404 as a forged id, and left out of lists) from
    a follower who does not subscribe; shown once they subscribe through the real API; hidden
    again when the subscription no longer grants access."""
    creator = await scanning.member(server, Role.CREATOR)
    fan = await scanning.member(server, Role.MEMBER)
    r = await creator.call(
        "POST", "/api/v1/posts", data=form(png(safe_picture()), audience="subscribers")
    )
    assert r.status == 201 and r.data["audience"] == "subscribers", r.body
    post = await scanned(creator, r.data["id"])
    assert post["status"] == "published"
    r = await creator.call("POST", "/api/v1/posts", data=form(png(safe_picture()), audience="x"))
    assert (r.status, r.code) == (422, "INVALID_POST"), r.body

    assert (await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    r = await fan.call("GET", f"/api/v1/posts/{post['id']}")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await fan.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert r.data == []  # following is not subscribing

    tier = await creator.call(
        "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": "Club", "price": 10}
    )
    assert tier.status == 201, tier.body
    await fund(scanning.app[LEDGER], fan.id, 10)
    sub = await fan.call(
        "POST",
        f"/api/v1/creators/{creator.id}/subscribe",
        json={"tierId": tier.data["id"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert sub.status == 201, sub.body
    r = await fan.call("GET", f"/api/v1/posts/{post['id']}/media")
    assert r.status == 200
    r = await fan.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert [p["id"] for p in r.data] == [post["id"]]

    # Access ends with the subscription's paid time (what the renewal job would record).
    await scanning.app[POOL].execute(
        "UPDATE subscriptions SET access_until = now() WHERE subscriber_id = $1", fan.id
    )
    r = await fan.call("GET", f"/api/v1/posts/{post['id']}/media")
    assert (r.status, r.code) == (404, "POST_NOT_FOUND")
    r = await fan.call("GET", f"/api/v1/posts?creator={creator.handle}")
    assert r.data == []


async def test_a_burst_of_uploads_is_scanned_once_each(server, scanning):
    creator = await scanning.member(server, Role.CREATOR)
    pictures = [png(safe_picture(320 + 16 * i, 180 + 9 * i)) for i in range(6)]
    replies = await asyncio.gather(
        *(creator.call("POST", "/api/v1/posts", data=form(p)) for p in pictures)
    )
    assert [r.status for r in replies] == [201] * 6
    done = await asyncio.gather(*(scanned(creator, r.data["id"]) for r in replies))
    assert {p["status"] for p in done} == {"published"}
    assert sorted(p["width"] for p in done) == [320 + 16 * i for i in range(6)]
    attempts = await server.pool.fetch(
        "SELECT scan_attempts, claimed_by FROM posts WHERE creator_id = $1", creator.id
    )
    assert [(a["scan_attempts"], a["claimed_by"]) for a in attempts] == [(1, None)] * 6
