"""Creator duels over real Socket.IO clients and real tips: the invitation, the start in both
rooms, one scoreboard fed by the ledger's tips (each once), the winner announced once in both
rooms, the duel on the timeline channel, and the refusals with their codes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.auth.rbac import Role
from api.engagement import events
from api.engagement.realtime import ROOM_DUELS
from api.realtime import CHAT
from api.wallet.service import LEDGER
from engine.room_timeline import Mark, timeline_channel
from tests.integration.engagement.test_reactions import tip
from tests.integration.wallet.conftest import fund

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def live(chat_server, room: str) -> None:
    await chat_server.pool.execute(
        "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1", uuid.UUID(room)
    )


async def two_rooms(user, connect, new_room, chat_server):
    """Two live creators, each in their studio, and a viewer in each room."""
    out = []
    for _ in range(2):
        creator = await user(Role.CREATOR)
        room = await new_room(creator)
        await live(chat_server, room)
        studio = await connect(creator)
        assert (await studio.join(room))["ok"]
        viewer = await connect(await user())
        assert (await viewer.join(room))["ok"]
        out.append((creator, room, studio, viewer))
    return out


async def expire(chat_server, duel_id: str) -> None:
    """Move a live duel's deadline to now (the sweep then ends it) instead of waiting."""
    await chat_server.pool.execute(
        "UPDATE stream_duels SET deadline = greatest(started_at + interval '1 ms', now()) "
        "WHERE id = $1",
        uuid.UUID(duel_id),
    )


async def test_a_duel_scores_tips_once_and_ends_once_in_both_rooms(
    user, connect, new_room, chat_server, http
) -> None:
    (ca, room_a, studio_a, viewer_a), (cb, room_b, studio_b, viewer_b) = await two_rooms(
        user, connect, new_room, chat_server
    )
    marks = await chat_server.app[CHAT].pubsub.subscribe(timeline_channel(room_b))
    invited = await studio_a.call(
        events.DUEL_INVITE, {"streamId": room_a, "opponentStreamId": room_b, "seconds": 120}
    )
    assert invited["ok"], invited
    duel = invited["duel"]
    assert (duel["state"], duel["rule"], duel["seconds"]) == ("invited", "tips", 120)
    for client in (studio_b, viewer_a):
        got = await client.wait_for(lambda c=client: c.received[events.DUEL_INVITED])
        assert got[0]["duel"]["id"] == duel["id"]
    accepted = await studio_b.call(events.DUEL_ACCEPT, {"streamId": room_b, "duelId": duel["id"]})
    assert accepted["ok"] and accepted["duel"]["state"] == "live", accepted
    for client in (studio_a, studio_b, viewer_a, viewer_b):
        await client.wait_for(lambda c=client: c.received[events.DUEL_STARTED], what="the start")

    fan = await user()
    await fund(chat_server.app[LEDGER], fan.user_id, 1000)
    base = chat_server.base_url
    key = uuid.uuid4().hex
    await tip(http, base, fan, room_a, 30, key)
    await tip(http, base, fan, room_a, 30, key)  # a retry: one tip, counted once
    await tip(http, base, fan, room_b, 20)
    await tip(http, base, fan, room_b, 5)
    for client in (viewer_a, viewer_b):  # one scoreboard in both rooms
        await client.wait_for(
            lambda c=client: (
                (s := c.received[events.DUEL_SCORE])
                and s[-1]["scores"] == {"challenger": 30, "opponent": 25}
            ),
            what="the scoreboard after the tips",
        )

    await expire(chat_server, duel["id"])
    for client in (studio_a, studio_b, viewer_a, viewer_b):
        ended = await client.wait_for(lambda c=client: c.received[events.DUEL_ENDED], what="end")
        result = ended[0]["duel"]
        assert (result["state"], result["winner"], result["tie"], result["endedBy"]) == (
            "ended",
            "challenger",
            False,
            "deadline",
        )
        assert result["scores"] == {"challenger": 30, "opponent": 25}
    for _ in range(3):  # more sweeps find nothing more to end or announce
        assert await chat_server.app[ROOM_DUELS].sweep() == 0
    await tip(http, base, fan, room_b, 50)  # after the end: a tip, not a point
    await asyncio.sleep(0.3)
    for client in (studio_a, studio_b, viewer_a, viewer_b):
        assert len(client.received[events.DUEL_ENDED]) == 1
    now = await viewer_b.call(events.DUEL_GET, {"streamId": room_b})
    assert now["duel"]["scores"] == {"challenger": 30, "opponent": 25}
    assert now["duel"]["winner"] == "challenger"

    # the duel on room B's timeline: its start, then completed by its end and result
    seen: list[Mark] = []
    async with asyncio.timeout(5):
        while len(seen) < 2:
            seen.append(Mark.from_message(await marks.get()))
    await marks.close()
    assert [m.id for m in seen] == [f"duel-{duel['id']}"] * 2 and seen[0].kind == "duel"
    assert seen[0].end is None and seen[1].end is not None and seen[1].end > seen[1].start
    assert seen[1].attrs["X-WINNER"] == "challenger" and seen[1].attrs["X-OPPONENT-SCORE"] == 25


async def test_an_early_end_forfeits_and_a_tie_has_no_winner(user, connect, new_room, chat_server):
    (ca, room_a, studio_a, _), (cb, room_b, studio_b, viewer_b) = await two_rooms(
        user, connect, new_room, chat_server
    )
    for ender, ender_room, winner in ((studio_a, room_a, "opponent"), (None, None, None)):
        invited = await studio_a.call(
            events.DUEL_INVITE, {"streamId": room_a, "opponentStreamId": room_b, "seconds": 60}
        )
        duel_id = invited["duel"]["id"]
        assert (await studio_b.call(events.DUEL_ACCEPT, {"streamId": room_b, "duelId": duel_id}))[
            "ok"
        ]
        if ender is not None:
            ack = await ender.call(events.DUEL_END, {"streamId": ender_room, "duelId": duel_id})
            assert (
                ack["ok"]
                and ack["duel"]["winner"] == winner
                and ack["duel"]["endedBy"] == ("challenger")
            )
            again = await ender.call(events.DUEL_END, {"streamId": ender_room, "duelId": duel_id})
            assert again["code"] == "DUEL_NOT_LIVE"
        else:  # no tips on either side: a tie at the deadline
            await expire(chat_server, duel_id)
            ended = await viewer_b.wait_for(
                lambda d=duel_id: [
                    e for e in viewer_b.received[events.DUEL_ENDED] if e["duel"]["id"] == d
                ],
                what="the tie",
            )
            assert ended[0]["duel"]["tie"] is True and ended[0]["duel"]["winner"] is None


async def test_a_side_going_offline_forfeits(user, connect, new_room, chat_server):
    (_, room_a, studio_a, viewer_a), (_, room_b, studio_b, _) = await two_rooms(
        user, connect, new_room, chat_server
    )
    invited = await studio_a.call(
        events.DUEL_INVITE, {"streamId": room_a, "opponentStreamId": room_b, "seconds": 60}
    )
    duel_id = invited["duel"]["id"]
    assert (await studio_b.call(events.DUEL_ACCEPT, {"streamId": room_b, "duelId": duel_id}))["ok"]
    await chat_server.pool.execute(
        "UPDATE streams SET state = 'ended' WHERE id = $1", uuid.UUID(room_b)
    )
    ended = await viewer_a.wait_for(lambda: viewer_a.received[events.DUEL_ENDED], what="the end")
    assert ended[0]["duel"]["endedBy"] == "offline"
    assert ended[0]["duel"]["winner"] == "challenger"


async def test_bad_duel_requests_get_their_codes(user, connect, new_room, chat_server):
    (_, room_a, studio_a, viewer_a), (_, room_b, studio_b, _) = await two_rooms(
        user, connect, new_room, chat_server
    )
    offline_creator = await user(Role.CREATOR)
    offline_room = await new_room(offline_creator)  # never live
    frozen_creator = await user(Role.CREATOR)
    frozen_room = await new_room(frozen_creator)
    await live(chat_server, frozen_room)
    await chat_server.pool.execute(
        "INSERT INTO stream_safety (stream_id, frozen, frozen_reason, frozen_at) "
        "VALUES ($1, true, 'safe word', now())",
        uuid.UUID(frozen_room),
    )

    def invite(opponent, **extra):
        body = {"streamId": room_a, "opponentStreamId": opponent, "seconds": 60, **extra}
        return studio_a.call(events.DUEL_INVITE, body)

    for body, code in (
        ({"seconds": 10}, "VALIDATION_ERROR"),
        ({"seconds": 5000}, "VALIDATION_ERROR"),
        ({"rule": "votes"}, "VALIDATION_ERROR"),
        ({"extra": 1}, "VALIDATION_ERROR"),
    ):
        ack = await invite(room_b, **body)
        assert ack["ok"] is False and ack["code"] == code, (body, ack)
    assert (await invite(room_a))["code"] == "DUEL_WITH_SELF"
    assert (await invite(offline_room))["code"] == "DUEL_OPPONENT_UNAVAILABLE"
    assert (await invite(frozen_room))["code"] == "DUEL_OPPONENT_UNAVAILABLE"
    assert (await invite(str(uuid.uuid4())))["code"] == "DUEL_NOT_FOUND"
    viewer_invite = await viewer_a.call(
        events.DUEL_INVITE, {"streamId": room_a, "opponentStreamId": room_b, "seconds": 60}
    )
    assert viewer_invite["code"] == "NOT_STREAM_OWNER"

    first = await invite(room_b)
    assert first["ok"], first
    duel_id = first["duel"]["id"]
    assert (await invite(room_b))["code"] == "DUEL_BUSY"  # one open invitation at a time
    # only the invited room answers
    ack = await studio_a.call(events.DUEL_ACCEPT, {"streamId": room_a, "duelId": duel_id})
    assert ack["code"] == "DUEL_NOT_FOUND"
    declined = await studio_b.call(events.DUEL_DECLINE, {"streamId": room_b, "duelId": duel_id})
    assert declined["ok"] and declined["duel"]["state"] == "declined"
    await studio_a.wait_for(lambda: studio_a.received[events.DUEL_DECLINED], what="the decline")
    ack = await studio_b.call(events.DUEL_ACCEPT, {"streamId": room_b, "duelId": duel_id})
    assert ack["code"] == "DUEL_NOT_PENDING"
    # an invitation whose answer time passed expires (announced), and cannot be accepted
    second = await invite(room_b)
    await chat_server.pool.execute(
        "UPDATE stream_duels SET respond_by = now() WHERE id = $1",
        uuid.UUID(second["duel"]["id"]),
    )
    ack = await studio_b.call(
        events.DUEL_ACCEPT, {"streamId": room_b, "duelId": second["duel"]["id"]}
    )
    assert ack["code"] == "DUEL_NOT_PENDING"
    await studio_b.wait_for(
        lambda: any(
            e["duel"]["state"] == "expired" for e in studio_b.received[events.DUEL_DECLINED]
        ),
        what="the expiry",
    )
    # nothing was started: no duel rows live, none ended
    assert not await chat_server.pool.fetchval(
        "SELECT count(*) FROM stream_duels WHERE challenger_stream = $1 AND state IN "
        "('live', 'ended')",
        uuid.UUID(room_a),
    )
