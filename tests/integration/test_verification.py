"""Identity records over HTTP: submission checks, encryption at rest, access, review, history."""

from __future__ import annotations

import math
import uuid

import asyncpg
import pytest

from api.auth import audit
from api.auth.rbac import Role
from tests.identity import form, image, submit, verify

pytestmark = pytest.mark.asyncio(loop_scope="session")

RECORDS = "/api/v1/verification/records"


async def test_submit_review_and_read_back(server, account):
    performer = await account(Role.CREATOR)
    moderator = await account(Role.MODERATOR)
    front = image("PNG", colour="red")
    r = await submit(
        performer,
        files={"idFront": ("front.jpg", front), "selfie": ("s.webp", image("WEBP"))},
    )
    assert r.status == 201, r.body
    rec = r.data
    assert rec["status"] == "pending" and rec["legalName"] == "Jane Q. Performer"
    assert rec["aliases"] == ["JQ", "Janey"] and rec["dateOfBirth"] == "1990-04-01"
    # Sniffed from the bytes: a PNG named .jpg is a PNG.
    assert rec["documents"] == {"id_front": "image/png", "selfie": "image/webp"}

    # Encrypted at rest: the stored bytes are not the image.
    stored = await server.pool.fetchval(
        "SELECT ciphertext FROM identity_documents WHERE record_id = $1 AND kind = 'id_front'",
        uuid.UUID(rec["id"]),
    )
    assert front not in stored and b"PNG" not in stored

    status = await performer.call("GET", "/api/v1/verification/status")
    assert status.data["verified"] is False and status.data["latest"]["id"] == rec["id"]

    # The queue's age is the time since the stored submission: between the record's age just
    # before the request and just after it (whole seconds).
    age_sql = "SELECT extract(epoch FROM now() - created_at) FROM identity_records WHERE id = $1"
    before = await server.pool.fetchval(age_sql, uuid.UUID(rec["id"]))
    queue = await moderator.call("GET", "/api/v1/verification/queue?limit=200")
    after = await server.pool.fetchval(age_sql, uuid.UUID(rec["id"]))
    mine = [q for q in queue.data if q["id"] == rec["id"]]
    assert mine and math.floor(before) <= mine[0]["ageSeconds"] <= math.ceil(after), mine

    seen = await moderator.call("GET", f"{RECORDS}/{rec['id']}")
    assert seen.status == 200 and seen.data["legalName"] == "Jane Q. Performer"
    doc = await moderator.call("GET", f"{RECORDS}/{rec['id']}/documents/id_front")
    assert doc.status == 200 and doc.body == front
    assert doc.headers["X-Image-Type"] == "image/png"
    assert doc.headers["Content-Type"] == "application/octet-stream"
    logged = await audit.entries(server.pool, subject_id=performer.id)
    reads = [e for e in logged if e["action"] == "identity.document.read"]
    assert reads and reads[0]["actor_id"] == moderator.id
    assert reads[0]["target"] == f"identity:{rec['id']}/id_front"
    assert any(
        e["action"] == "identity.record.read" and e["actor_id"] == moderator.id for e in logged
    )

    ok = await moderator.call(
        "POST", f"{RECORDS}/{rec['id']}/reviews", json={"status": "approved", "reason": "ok"}
    )
    assert ok.status == 201 and ok.data["status"] == "approved"
    assert ok.data["reviewerId"] == str(moderator.id)
    again = await moderator.call(
        "POST", f"{RECORDS}/{rec['id']}/reviews", json={"status": "rejected"}
    )
    assert again.status == 409 and again.code == "ALREADY_REVIEWED"
    status = await performer.call("GET", "/api/v1/verification/status")
    assert status.data["verified"] is True
    # The history is kept: pending, then approved.
    history = await server.pool.fetch(
        "SELECT status FROM identity_reviews WHERE record_id = $1 ORDER BY id",
        uuid.UUID(rec["id"]),
    )
    assert [h["status"] for h in history] == ["pending", "approved"]
    # The owner reads their own document too (also logged).
    own = await performer.call("GET", f"{RECORDS}/{rec['id']}/documents/selfie")
    assert own.status == 200 and own.body.startswith(b"RIFF")
    logged = await audit.entries(server.pool, subject_id=performer.id)
    assert sum(e["action"] == "identity.document.read" for e in logged) == 2


async def test_others_cannot_read_or_review(account, client):
    performer = await account(Role.CREATOR)
    other = await account(Role.CREATOR)
    rec = (await submit(performer)).data
    for who in (other, client):
        for path in (f"{RECORDS}/{rec['id']}", f"{RECORDS}/{rec['id']}/documents/id_front"):
            r = await who.call("GET", path)
            expected = 404 if who is other else 401
            assert r.status == expected, (path, r.body)
    r = await other.call("GET", f"{RECORDS}/{rec['id']}")
    assert r.code == "VERIFICATION_NOT_FOUND"
    # A non-moderator cannot review, even their own record; a moderator cannot review theirs.
    denied = await performer.call(
        "POST", f"{RECORDS}/{rec['id']}/reviews", json={"status": "approved"}
    )
    assert denied.status == 403 and denied.code == "FORBIDDEN"
    queue = await other.call("GET", "/api/v1/verification/queue")
    assert queue.status == 403
    moderator = await account(Role.MODERATOR)
    own = (await submit(moderator)).data
    self_review = await moderator.call(
        "POST", f"{RECORDS}/{own['id']}/reviews", json={"status": "approved"}
    )
    assert self_review.status == 403 and self_review.code == "RANK_FORBIDDEN"


@pytest.mark.parametrize(
    "path",
    [
        f"{RECORDS}/{uuid.UUID(int=0x5EED1)}",
        f"{RECORDS}/not-a-uuid",
        f"{RECORDS}/{uuid.UUID(int=0x5EED2)}/documents/id_front",
    ],
)
async def test_forged_ids_are_not_found(account, path):
    moderator = await account(Role.MODERATOR)
    r = await moderator.call("GET", path)
    assert r.status == 404 and r.code == "VERIFICATION_NOT_FOUND"


async def test_unknown_document_kind(account):
    performer = await account(Role.CREATOR)
    rec = (await submit(performer)).data
    r = await performer.call("GET", f"{RECORDS}/{rec['id']}/documents/id_back")
    assert r.status == 404 and r.code == "DOCUMENT_NOT_FOUND"


@pytest.mark.parametrize(
    ("kw", "status", "code"),
    [
        (
            {"files": {"idFront": ("id.jpg", b"just some text"), "selfie": ("s.png", image())}},
            422,
            "INVALID_DOCUMENT",
        ),
        ({"files": {"idFront": ("id.png", image())}}, 422, "INVALID_SUBMISSION"),
        ({"date_of_birth": "2020-01-01"}, 422, "UNDERAGE"),
        ({"date_of_birth": "01/02/1990"}, 422, "INVALID_SUBMISSION"),
        ({"legal_name": " "}, 422, "INVALID_SUBMISSION"),
        ({"extra": {"isAdmin": "true"}}, 422, "INVALID_SUBMISSION"),
    ],
)
async def test_bad_submissions_are_refused(account, kw, status, code):
    performer = await account(Role.CREATOR)
    r = await submit(performer, **kw)
    assert (r.status, r.code) == (status, code), r.body


async def test_oversized_image_and_wrong_body_type(server, account):
    performer = await account(Role.CREATOR)
    limit = server.settings.identity_max_image_bytes
    big = image() + b"\0" * limit  # PNG bytes first: refused for its size, not its type
    r = await submit(performer, files={"idFront": ("a.png", big), "selfie": ("s.png", image())})
    assert r.status == 413 and r.code == "DOCUMENT_TOO_LARGE"
    r = await performer.call("POST", RECORDS, json={"legalName": "x"})
    assert r.status == 415 and r.code == "UNSUPPORTED_MEDIA_TYPE"
    r = await performer.call(
        "POST", RECORDS, data=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert r.status == 422 and r.code == "INVALID_SUBMISSION"
    assert (await performer.call("POST", RECORDS, data=form())).status == 201


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE identity_records SET legal_name = 'x' WHERE user_id = $1",
        "DELETE FROM identity_records WHERE user_id = $1",
        "UPDATE identity_reviews SET status = 'approved' "
        "WHERE record_id IN (SELECT id FROM identity_records WHERE user_id = $1)",
        "DELETE FROM identity_reviews "
        "WHERE record_id IN (SELECT id FROM identity_records WHERE user_id = $1)",
        "DELETE FROM identity_documents "
        "WHERE record_id IN (SELECT id FROM identity_records WHERE user_id = $1)",
        "DELETE FROM users WHERE id = $1",
    ],
)
async def test_records_are_append_only(server, account, sql):
    performer = await account(Role.CREATOR)
    assert (await submit(performer)).status == 201
    with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.RestrictViolationError)):
        await server.pool.execute(sql, performer.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await server.pool.execute("TRUNCATE identity_reviews CASCADE")
    rows = await server.pool.fetch(
        "SELECT r.legal_name, v.status FROM identity_records r "
        "JOIN identity_reviews v ON v.record_id = r.id WHERE r.user_id = $1",
        performer.id,
    )
    assert [(r["legal_name"], r["status"]) for r in rows] == [("Jane Q. Performer", "pending")]


async def test_verify_helper_approves(account):
    performer = await account(Role.MEMBER)  # a co-performer need not be a creator
    moderator = await account(Role.ADMIN)
    await verify(performer, moderator)
    status = await performer.call("GET", "/api/v1/verification/status")
    assert status.data["verified"] is True
