"""The moderators' API over HTTP on the shared server: the flag queue (oldest first, paginated,
scores, snapshot links), audited snapshots, resolving exactly once with actions, stream ratings,
and who may lift which freeze on a real live broadcast.

Flags here are filed the way automated moderation files them (``StreamMonitor``: a decision
row with its scores, the snapshot in storage, then the flag; ``SafetyControl.freeze``: the
freeze's own flag with the last live picture) — ``test_moderation.py`` proves that the real
model and policy produce them.
"""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from api.auth.rbac import Role
from api.keys import SAFETY
from api.moderation import store as safety_store
from live.broadcasts import BROADCASTS
from teezu.storage import STORAGE
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

JPEG = b"\xff\xd8\xff\xe0" + b"snapshot bytes" * 10


async def file_frame_flag(server, stream_id: str, score: float) -> uuid.UUID:
    """A ``frame`` flag as the live monitor files it: decision (scores), snapshot, flag."""
    sid = uuid.UUID(stream_id)
    decision_id = uuid.uuid4()
    key = f"moderation/{stream_id}/{decision_id}.jpg"
    await server.app[STORAGE].put(key, JPEG, "image/jpeg", "private, no-store")
    row = safety_store.DecisionRow(
        id=decision_id,
        stream_id=sid,
        run=None,
        sample_seq=7,
        stream_time=3.5,
        sample_reason="interval",
        rating="adult",
        audience="public",
        detector="nudenet-320n",
        policy_version="2026-11-default-1",
        action="flag_review",
        actions=["flag_review", "mark_explicit"],
        detections=[{"label": "BUTTOCKS_EXPOSED", "score": score, "box": [1, 2, 30, 40]}],
        matches=[{"rule": "adult-public-genitals", "label": "BUTTOCKS_EXPOSED", "score": score}],
        latency_ms=120.0,
        inference_ms=25.0,
        snapshot_key=key,
    )
    await safety_store.insert_decisions(server.pool, [row])
    return await safety_store.add_flag(
        server.pool,
        sid,
        kind="frame",
        reason=f"adult-public-genitals: BUTTOCKS_EXPOSED {score:.2f}",
        snapshot_key=key,
        decision_id=decision_id,
    )


async def creator_stream(account):
    creator = await account(Role.CREATOR)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Moderated"})
    assert made.status == 201, made.body
    return creator, made.data["id"], made.data["publishToken"]


async def all_open_flags(moderator) -> list[dict]:
    """Every open flag, page by page (2 a page, to exercise the cursor)."""
    out: list[dict] = []
    cursor = None
    while True:
        query = "?status=open&limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = await moderator.call("GET", f"/api/v1/moderation/flags{query}")
        assert r.status == 200, r.body
        out += r.data
        cursor = r.body["nextCursor"]
        if cursor is None:
            return out


async def test_flag_queue_snapshot_and_resolving_once(server, account, client):
    creator, sid, _ = await creator_stream(account)
    moderator = await account(Role.MODERATOR)
    member = await account(Role.MEMBER)
    older = await file_frame_flag(server, sid, 0.71)
    newer = await file_frame_flag(server, sid, 0.66)

    assert (await client.call("GET", "/api/v1/moderation/flags")).status == 401
    r = await member.call("GET", "/api/v1/moderation/flags")
    assert (r.status, r.code) == (403, "FORBIDDEN")
    r = await moderator.call("GET", "/api/v1/moderation/flags?cursor=nonsense")
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")

    flags = await all_open_flags(moderator)
    ids = [f["id"] for f in flags]
    assert len(ids) == len(set(ids))  # pages neither repeat nor skip
    assert ids.index(str(older)) < ids.index(str(newer))  # oldest first
    created = [f["createdAt"] for f in flags]
    assert created == sorted(created)
    mine = next(f for f in flags if f["id"] == str(older))
    assert mine["kind"] == "frame" and mine["streamId"] == sid and mine["status"] == "open"
    assert mine["subjectId"] == str(creator.id) and mine["ageSeconds"] >= 0
    assert mine["decision"]["detector"] == "nudenet-320n"
    assert mine["decision"]["matches"][0] == {
        "rule": "adult-public-genitals",
        "label": "BUTTOCKS_EXPOSED",
        "score": 0.71,
    }
    assert mine["decision"]["detections"][0]["box"] == [1, 2, 30, 40]
    assert mine["snapshotUrl"] == f"/api/v1/moderation/flags/{older}/snapshot"

    # The snapshot: moderators only, every read audited.
    r = await member.call("GET", mine["snapshotUrl"])
    assert r.status == 403
    r = await moderator.call("GET", mine["snapshotUrl"])
    assert r.status == 200 and r.body == JPEG and r.headers["Content-Type"] == "image/jpeg"
    reads = await server.pool.fetch(
        "SELECT actor_id, subject_id FROM audit_log WHERE action = 'moderation.snapshot.read' "
        "AND target = $1",
        f"flag:{older}",
    )
    assert [(r["actor_id"], r["subject_id"]) for r in reads] == [(moderator.id, creator.id)]
    r = await moderator.call("GET", f"/api/v1/moderation/flags/{uuid.uuid4()}/snapshot")
    assert (r.status, r.code) == (404, "FLAG_NOT_FOUND")

    # Resolving: refusals first, nothing changes.
    path = f"/api/v1/moderation/flags/{older}/resolve"
    for body, code in [
        ({"decision": "dismiss", "actions": ["set_rating"]}, "ACTION_NOT_APPLICABLE"),
        ({"decision": "confirm", "actions": ["set_rating"]}, "ACTION_NOT_APPLICABLE"),
        ({"decision": "confirm", "actions": ["reject_post"]}, "ACTION_NOT_APPLICABLE"),
        ({"decision": "confirm", "actions": ["freeze"]}, "ACTION_NOT_APPLICABLE"),  # not live
        ({"decision": "maybe"}, "VALIDATION_ERROR"),
    ]:
        r = await moderator.call("POST", path, json=body)
        assert (r.status, r.code) == (422, code), (body, r.body)
    r = await member.call("POST", path, json={"decision": "dismiss"})
    assert r.status == 403
    assert (await safety_store.get_safety(server.pool, uuid.UUID(sid))).rating == "adult"

    r = await moderator.call(
        "POST",
        path,
        json={
            "decision": "confirm",
            "actions": ["set_rating", "mark_explicit"],
            "rating": "sfw",
            "note": "explicit on a public stream",
        },
    )
    assert r.status == 200, r.body
    assert r.data["status"] == "resolved" and r.data["resolution"] == "confirmed"
    assert r.data["resolvedBy"] == str(moderator.id) and r.data["resolvedAt"]
    state = await safety_store.get_safety(server.pool, uuid.UUID(sid))
    assert state.rating == "sfw" and state.explicit
    r = await moderator.call("POST", path, json={"decision": "dismiss"})
    assert (r.status, r.code) == (409, "ALREADY_RESOLVED")

    # Exactly once under a race: five moderators' clicks, one resolution.
    other = f"/api/v1/moderation/flags/{newer}/resolve"
    replies = await asyncio.gather(
        *(moderator.call("POST", other, json={"decision": "dismiss"}) for _ in range(5))
    )
    assert sorted(r.status for r in replies) == [200, 409, 409, 409, 409]
    log = await server.pool.fetch(
        "SELECT meta->>'flagId' AS flag_id, action, actor_id, target_type, target_id, "
        "subject_id, meta->'actions' AS actions FROM moderation_log "
        "WHERE meta->>'flagId' = ANY($1::text[]) ORDER BY id",
        [str(older), str(newer)],
    )
    assert [(r["flag_id"], r["action"]) for r in log] == [
        (str(older), "flag.confirmed"),
        (str(newer), "flag.dismissed"),
    ]
    assert log[0]["target_type"] == "stream" and log[0]["target_id"] == sid
    assert log[0]["subject_id"] == creator.id and log[0]["actor_id"] == moderator.id
    assert log[0]["actions"] == '["mark_explicit", "set_rating"]'
    # Resolved flags leave the open queue and are listed as resolved.
    open_ids = {f["id"] for f in await all_open_flags(moderator)}
    assert str(older) not in open_ids and str(newer) not in open_ids
    r = await moderator.call("GET", f"/api/v1/moderation/flags/{newer}")
    assert r.data["resolution"] == "dismissed"


async def test_moderator_sets_the_rating(server, account):
    creator, sid, _ = await creator_stream(account)
    moderator = await account(Role.MODERATOR)
    path = f"/api/v1/streams/{sid}/rating"
    r = await creator.call("PUT", path, json={"rating": "sfw"})
    assert (r.status, r.code) == (403, "FORBIDDEN")  # not the creator's to set
    r = await moderator.call("PUT", path, json={"rating": "family"})
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")
    r = await moderator.call(
        "PUT", f"/api/v1/streams/{uuid.uuid4()}/rating", json={"rating": "sfw"}
    )
    assert (r.status, r.code) == (404, "STREAM_NOT_FOUND")
    r = await moderator.call("PUT", path, json={"rating": "sfw", "note": "kids' channel"})
    assert r.status == 200 and r.data["rating"] == "sfw" and not r.data["frozen"], r.body
    r = await moderator.call("GET", f"/api/v1/streams/{sid}/safety")
    assert r.data["rating"] == "sfw" and r.data["liftedBy"] is None
    logged = await server.pool.fetchrow(
        "SELECT actor_id, meta->>'from' AS before, meta->>'to' AS after, note FROM moderation_log "
        "WHERE action = 'stream.rating' AND target_id = $1",
        sid,
    )
    assert (logged["actor_id"], logged["before"], logged["after"]) == (moderator.id, "adult", "sfw")
    assert logged["note"] == "kids' channel"


async def test_who_lifts_which_freeze_on_a_live_stream(server, account, ready):
    creator, sid, token = await creator_stream(account)
    await ready(sid, creator)
    moderator = await account(Role.MODERATOR)
    base = f"/api/v1/streams/{sid}"
    r = await moderator.call("POST", f"{base}/unfreeze", json={})
    assert (r.status, r.code) == (409, "NOT_FROZEN")
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, server.base_url, sid, token)
        try:
            pipeline = server.app[BROADCASTS][sid].pipeline
            # What automated moderation calls on a clear sfw violation.
            outcome = await server.app[SAFETY].freeze(sid, "moderation: BUTTOCKS_EXPOSED 0.81")
            assert outcome is not None and pipeline.frozen_reason is not None
            r = await moderator.call("GET", f"{base}/safety")
            assert r.data["frozen"] and r.data["liftedBy"] == "moderator"
            # The creator cannot talk their way out of a moderation freeze...
            r = await creator.call("POST", f"{base}/resume", json={"confirm": True})
            assert (r.status, r.code) == (409, "MODERATOR_UNFREEZE_REQUIRED")
            assert pipeline.frozen_reason is not None
            r = await creator.call("POST", f"{base}/unfreeze", json={})
            assert r.status == 403
            # ...a moderator lifts it: the encoder is back on the live picture.
            r = await moderator.call("POST", f"{base}/unfreeze", json={"note": "false positive"})
            assert r.status == 200 and not r.data["frozen"], r.body
            assert pipeline.frozen_reason is None
            r = await moderator.call("POST", f"{base}/unfreeze", json={})
            assert (r.status, r.code) == (409, "NOT_FROZEN")

            # A safe word protects the performers: no moderator override, the creator resumes.
            r = await creator.call("POST", f"{base}/safe-word")
            assert r.status == 200 and pipeline.frozen_reason == "safe word"
            r = await moderator.call("POST", f"{base}/unfreeze", json={})
            assert (r.status, r.code) == (409, "CREATOR_CONFIRMATION_REQUIRED")
            assert pipeline.frozen_reason == "safe word"
            r = await creator.call("POST", f"{base}/resume", json={"confirm": True})
            assert r.status == 200 and pipeline.frozen_reason is None

            # Confirming a live stream's flag with "freeze" freezes it (a moderation freeze).
            flag = await file_frame_flag(server, sid, 0.9)
            r = await moderator.call(
                "POST",
                f"/api/v1/moderation/flags/{flag}/resolve",
                json={"decision": "confirm", "actions": ["freeze"]},
            )
            assert r.status == 200, r.body
            assert pipeline.frozen_reason == "moderation: confirmed by a moderator"
            r = await moderator.call("POST", f"{base}/unfreeze", json={})
            assert r.status == 200 and pipeline.frozen_reason is None
        finally:
            await pub.delete(http, server.base_url)
    actions = await server.pool.fetch(
        "SELECT action, actor_id FROM moderation_log WHERE target_id = $1 ORDER BY id", sid
    )
    assert [a["action"] for a in actions] == [
        "stream.unfreeze",
        "flag.confirmed",
        "stream.unfreeze",
    ]
    assert {a["actor_id"] for a in actions} == {moderator.id}
