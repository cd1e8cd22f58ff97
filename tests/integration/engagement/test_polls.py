"""Polls and challenges over real Socket.IO clients: opened by the creator, free or
tip-weighted votes (through the ledger, idempotent), tallies aggregated, the winner announced
once at the deadline, refusals with their codes and nothing counted twice."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from api.auth.rbac import Role
from api.engagement import events, poll_store
from api.engagement.realtime import ROOM_POLLS
from api.wallet.service import LEDGER
from tests.integration.wallet.conftest import fund

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def open_poll(client, room: str, **fields) -> dict:
    body = {"streamId": room, "question": "Next song?", "options": ["Slow", "Fast"], "seconds": 60}
    ack = await client.call(events.POLL_OPEN, {**body, **fields})
    assert ack["ok"], ack
    return ack["poll"]


async def expire(chat_server, poll_id: str) -> None:
    """Move a poll's deadline to now, instead of waiting a minute."""
    await chat_server.pool.execute(_EXPIRE, uuid.UUID(poll_id))


async def expire_and_sweep(chat_server, poll_id: str) -> None:
    """Move a poll's deadline to now and sweep on this node in the same transaction: the
    session's other servers share the database but not this node's rooms (no Redis between
    them), so a sweep of theirs would close the poll where no client hears it."""
    polls = chat_server.app[ROOM_POLLS]
    async with chat_server.pool.acquire() as conn, conn.transaction():
        await conn.execute(_EXPIRE, uuid.UUID(poll_id))
        closed = await poll_store.close(conn)
    await polls.announce(closed)


_EXPIRE = (
    "UPDATE room_polls SET deadline = greatest(opened_at + interval '1 ms', now()) WHERE id = $1"
)


async def room_with(user, connect, new_room, voters: int):
    creator = await user(Role.CREATOR)
    room = await new_room(creator)
    studio = await connect(creator)
    assert (await studio.join(room))["ok"]
    people = [await user() for _ in range(voters)]
    clients = [await connect(p) for p in people]
    for c in clients:
        assert (await c.join(room))["ok"]
    for c, p in zip(clients, people, strict=True):
        c.user = p
    return creator, room, studio, clients


async def test_a_free_poll_counts_each_voter_once_and_closes_once(
    user, connect, new_room, chat_server, http, request
):
    creator, room, studio, voters = await room_with(user, connect, new_room, 4)
    poll = await open_poll(studio, room, kind="challenge", options=["Dance", "Sing", "Joke"])
    for client in voters:
        opened = await client.wait_for(lambda c=client: c.received[events.POLL_OPENED])
        assert opened[-1]["poll"]["id"] == poll["id"] and opened[-1]["poll"]["kind"] == "challenge"
    choices = [1, 1, 0, 2]
    # One tally window wide enough that four concurrent votes share it on a loaded machine
    # (the aggregation is the point here, not the default window's length).
    polls = chat_server.app[ROOM_POLLS]
    default_interval, polls.tally_interval = polls.tally_interval, 2.0
    request.addfinalizer(lambda: setattr(polls, "tally_interval", default_interval))
    acks = await asyncio.gather(
        *(
            v.call(events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": o})
            for v, o in zip(voters, choices, strict=True)
        )
    )
    assert all(a["ok"] and a["weight"] == 1 for a in acks), acks
    again = await voters[0].call(
        events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 0}
    )
    assert again["ok"] is False and again["code"] == "ALREADY_VOTED"
    # the tally reaches the room aggregated (a few events, not one per vote)
    tally = await studio.wait_for(
        lambda: (t := studio.received[events.POLL_TALLY]) and t[-1]["voters"] == 4 and t[-1],
        what="the tally of four votes",
    )
    assert [t["votes"] for t in tally["tally"]] == [1, 2, 1]
    assert len(studio.received[events.POLL_TALLY]) <= 2

    await expire_and_sweep(chat_server, poll["id"])
    closed = await studio.wait_for(lambda: studio.received[events.POLL_CLOSED], what="the close")
    result = closed[0]["poll"]
    assert (result["state"], result["winner"], result["tie"], result["closedBy"]) == (
        "closed",
        1,
        False,
        "deadline",
    )
    # a vote after the close is refused and changes nothing
    late = await voters[3].call(
        events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 2}
    )
    assert late["ok"] is False and late["code"] == "POLL_CLOSED"
    for _ in range(3):  # more sweeps find nothing more to close or announce
        assert await chat_server.app[ROOM_POLLS].sweep() == 0
    await asyncio.sleep(0.3)
    for client in (studio, *voters):
        assert len(client.received[events.POLL_CLOSED]) == 1
    stored = await chat_server.pool.fetchrow(
        "SELECT state, winner, tally FROM room_polls WHERE id = $1", uuid.UUID(poll["id"])
    )
    assert stored["winner"] == 1 and [t["votes"] for t in json.loads(stored["tally"])] == [1, 2, 1]
    assert (
        await chat_server.pool.fetchval(
            "SELECT count(*) FROM room_poll_votes WHERE poll_id = $1", uuid.UUID(poll["id"])
        )
        == 4
    )
    # the room's last result, for whoever joins now
    now = await voters[0].call(events.POLL_GET, {"streamId": room})
    assert now["poll"]["id"] == poll["id"] and now["poll"]["winner"] == 1
    # and the studio's history over REST (the creator's only)
    url = f"{chat_server.base_url}/api/v1/streams/{room}/polls"
    async with http.get(url, headers=creator.headers) as res:
        body = await res.json()
    assert res.status == 200, body
    assert body["data"][0]["id"] == poll["id"] and body["data"][0]["winner"] == 1
    async with http.get(url, headers=voters[0].user.headers) as res:
        assert (await res.json())["code"] == "NOT_STREAM_OWNER"


async def test_bad_poll_requests_get_their_codes(user, connect, new_room):
    creator, room, studio, (viewer,) = await room_with(user, connect, new_room, 1)
    base = {"streamId": room, "question": "Q", "options": ["a", "b"], "seconds": 60}
    for bad in (
        {"options": ["only one"]},
        {"options": [str(i) for i in range(7)]},
        {"seconds": 2},
        {"seconds": 60.5},
        {"question": "x" * 201},
        {"options": ["a", ""]},
    ):
        ack = await studio.call(events.POLL_OPEN, {**base, **bad})
        assert ack["ok"] is False and ack["code"] == "VALIDATION_ERROR", (bad, ack)
    ack = await viewer.call(events.POLL_OPEN, base)
    assert ack["ok"] is False and ack["code"] == "NOT_STREAM_OWNER"
    poll = await open_poll(studio, room)
    ack = await studio.call(events.POLL_OPEN, base)
    assert ack["ok"] is False and ack["code"] == "POLL_ALREADY_OPEN"

    def vote(**fields):
        return viewer.call(events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], **fields})

    assert (await vote(option=5))["code"] == "UNKNOWN_OPTION"
    assert (await vote(option=6))["code"] == "VALIDATION_ERROR"
    assert (await vote(option=-1))["code"] == "VALIDATION_ERROR"
    assert (await vote(option=0, weight=100))["code"] == "VALIDATION_ERROR"
    mismatch = await vote(option=0, amount=10, idempotencyKey="k1")
    assert mismatch["code"] in ("VOTE_WEIGHT_MISMATCH", "STREAM_NOT_LIVE"), mismatch
    unknown = await viewer.call(
        events.POLL_VOTE, {"streamId": room, "pollId": str(uuid.uuid4()), "option": 0}
    )
    assert unknown["code"] == "POLL_NOT_FOUND"
    assert (await viewer.call(events.POLL_CLOSE, {"streamId": room, "pollId": poll["id"]}))[
        "code"
    ] == "NOT_STREAM_OWNER"
    closed = await studio.call(events.POLL_CLOSE, {"streamId": room, "pollId": poll["id"]})
    assert closed["ok"] and closed["poll"]["closedBy"] == "creator"
    assert closed["poll"]["winner"] is None and closed["poll"]["tie"] is False  # no votes
    again = await studio.call(events.POLL_CLOSE, {"streamId": room, "pollId": poll["id"]})
    assert again["ok"] is False and again["code"] == "POLL_CLOSED"
    assert (await vote(option=0))["code"] == "POLL_CLOSED"


async def test_a_weighted_poll_counts_tipped_tokens_once_per_tip(
    user, connect, new_room, chat_server
):
    _, room, studio, (big, small, broke) = await room_with(user, connect, new_room, 3)
    await chat_server.pool.execute(
        "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1", uuid.UUID(room)
    )
    ledger = chat_server.app[LEDGER]
    for client in (big, small):
        await fund(ledger, client.user.user_id, 100)
    poll = await open_poll(studio, room, weighted=True, question="Outfit?")

    def vote(client, option, amount, key):
        return client.call(
            events.POLL_VOTE,
            {
                "streamId": room,
                "pollId": poll["id"],
                "option": option,
                "amount": amount,
                "idempotencyKey": key,
            },
        )

    free = await big.call(events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 0})
    assert free["ok"] is False and free["code"] == "VOTE_WEIGHT_MISMATCH"
    poor = await vote(broke, 1, 50, "broke-1")
    assert poor["ok"] is False and poor["code"] == "INSUFFICIENT_FUNDS"
    first = await vote(big, 0, 40, "big-1")
    assert first["ok"] and first["weight"] == 40 and first["balance"] == 60, first
    replay = await vote(big, 0, 40, "big-1")  # a retry of the same tip: counted once
    assert replay["ok"] and replay["tipId"] == first["tipId"] and replay["replayed"] is True
    reused = await vote(big, 1, 40, "big-1")  # the same key for another vote
    assert reused["ok"] is False and reused["code"] == "IDEMPOTENCY_KEY_REUSED"
    for key in ("small-1", "small-2"):
        assert (await vote(small, 1, 15, key))["ok"]
    # the tips went through the ledger as tips, marked as the poll's
    memo = await chat_server.pool.fetchrow(
        "SELECT memo, stream_id FROM ledger_transactions WHERE id = $1", first["tipId"]
    )
    assert json.loads(memo["memo"])["tipSource"] == "poll"
    assert json.loads(memo["memo"])["triggerAction"] == f"poll:{poll['id']}:0"
    assert str(memo["stream_id"]) == room
    source = await chat_server.pool.fetchrow(
        "SELECT tip_source, trigger_action FROM stream_tips WHERE tip_id = $1", first["tipId"]
    )
    assert (source["tip_source"], source["trigger_action"]) == ("poll", f"poll:{poll['id']}:0")
    closed = await studio.call(events.POLL_CLOSE, {"streamId": room, "pollId": poll["id"]})
    result = closed["poll"]
    # 40 tokens from one voter beat 30 from two tips
    assert [(t["votes"], t["weight"]) for t in result["tally"]] == [(1, 40), (2, 30)]
    assert result["winner"] == 0
    await studio.wait_for(lambda: len(studio.received["money:tip"]) >= 3, what="three tips")
    assert (
        await chat_server.pool.fetchval(
            "SELECT sum(weight) FROM room_poll_votes WHERE poll_id = $1", uuid.UUID(poll["id"])
        )
        == 70
    )


async def test_closing_races_close_each_poll_once(user, connect, new_room, chat_server):
    """Many concurrent sweeps (as several nodes would run) close a due poll once."""
    _, room, studio, (voter,) = await room_with(user, connect, new_room, 1)
    poll = await open_poll(studio, room)
    assert (
        await voter.call(events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 1})
    )["ok"]
    await expire(chat_server, poll["id"])
    results = await asyncio.gather(*(poll_store.close(chat_server.pool) for _ in range(8)))
    mine = [p for batch in results for p in batch if str(p.id) == poll["id"]]
    await asyncio.sleep(0.05)  # the node's own sweep, had it won, announced it by now
    by_node = chat_server.app[ROOM_POLLS].announced.count(uuid.UUID(poll["id"]))
    # One close among the eight sweeps and the node's own; the session's other servers sweep
    # this database too, and one of them may have won (then none of these closed it).
    assert len(mine) + by_node <= 1
    stored = await poll_store.get(chat_server.pool, uuid.UUID(poll["id"]))
    assert stored is not None and stored.state == "closed" and stored.winner == 1
