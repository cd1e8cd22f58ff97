"""Unlockables over HTTP with real tips: per viewer (their own tips) and per room (the stream's
tips since it was made), the payload only once unlocked, the remaining amount until then,
``unlockable.unlocked`` on the room's money channel exactly once, and every refusal as an
envelope."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from api.auth.rbac import Role
from api.keys import PUBSUB
from api.unlockables.events import UnlockWatcher
from api.wallet.check import check_books
from api.wallet.events import money_channel
from teezu.pubsub import LocalPubSub
from tests.accounts import Account, Client
from tests.integration.wallet.conftest import fund, live_stream
from tests.integration.wallet.test_menus_goals import collect
from tests.integration.wallet.test_wallet_api import assert_envelope, key


async def make(creator: Account, **body: Any) -> dict[str, Any]:
    body = {"title": "Secret", "payload": "https://example.org/secret", **body}
    reply = await creator.call("POST", "/api/v1/unlockables", json=body)
    assert reply.status == 201, reply.body
    return reply.data


async def tip(viewer: Account, stream: uuid.UUID, amount: int) -> None:
    reply = await viewer.call(
        "POST", f"/api/v1/streams/{stream}/tip", json={"amount": amount}, headers=key()
    )
    assert reply.status == 201, reply.body


class Merged:
    """Several subscriptions read as one."""

    def __init__(self, subs: list[Any]) -> None:
        self.subs = subs

    async def get(self) -> Any:
        tasks = [asyncio.ensure_future(s.get()) for s in self.subs]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for t in tasks:
                t.cancel()


def unlocked(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "unlockable.unlocked"]


async def test_making_unlockables_and_their_refusals(wallet_server, member):
    creator, other, viewer = await member(Role.CREATOR), await member(Role.CREATOR), await member()
    stream = await live_stream(wallet_server.pool, creator.id)
    theirs = await live_stream(wallet_server.pool, other.id)
    made = await make(creator, scope="viewer", threshold=50)
    assert (made["scope"], made["streamId"], made["unlocked"], made["remaining"]) == (
        "viewer",
        None,
        False,
        50,
    )
    room = await make(creator, scope="room", threshold=10, streamId=str(stream))
    assert room["streamId"] == str(stream)
    path = "/api/v1/unlockables"
    cases = [
        ({"scope": "room", "threshold": 5}, 422, "STREAM_REQUIRED"),
        ({"scope": "room", "threshold": 5, "streamId": str(theirs)}, 403, "NOT_STREAM_OWNER"),
        (
            {"scope": "viewer", "threshold": 5, "streamId": str(uuid.uuid4())},
            404,
            "STREAM_NOT_FOUND",
        ),
        ({"scope": "viewer", "threshold": 1.5}, 422, "VALIDATION_ERROR"),
        ({"scope": "everyone", "threshold": 5}, 422, "VALIDATION_ERROR"),
        ({"scope": "viewer", "threshold": 0}, 422, "VALIDATION_ERROR"),
    ]
    for extra, status, code in cases:
        body = {"title": "x", "payload": "y", **extra}
        assert_envelope(await creator.call("POST", path, json=body), status, code)
    assert_envelope(
        await viewer.call(
            "POST", path, json={"title": "x", "payload": "y", "scope": "viewer", "threshold": 1}
        ),
        403,
        "FORBIDDEN",
    )
    item = f"{path}/{made['id']}"
    assert_envelope(
        await other.call("PATCH", item, json={"title": "mine"}), 403, "NOT_UNLOCKABLE_OWNER"
    )
    assert_envelope(
        await creator.call("PATCH", f"{path}/{uuid.uuid4()}", json={"title": "x"}),
        404,
        "UNLOCKABLE_NOT_FOUND",
    )
    assert_envelope(await viewer.call("GET", f"{path}/{uuid.uuid4()}"), 404, "UNLOCKABLE_NOT_FOUND")
    # Its creator always reads it; retiring hides it from everyone else.
    assert (await creator.call("GET", item)).data["payload"] == "https://example.org/secret"
    retired = await creator.call("PATCH", item, json={"active": False})
    assert retired.status == 200 and retired.data["active"] is False
    assert_envelope(await viewer.call("GET", item), 404, "UNLOCKABLE_NOT_FOUND")
    listed = await viewer.call("GET", f"/api/v1/creators/{creator.id}/unlockables")
    assert [u["id"] for u in listed.data] == [room["id"]]
    own = await creator.call("GET", f"/api/v1/creators/{creator.id}/unlockables?limit=1")
    assert len(own.data) == 1 and own.body["nextCursor"]
    rest = await creator.call(
        "GET", f"/api/v1/creators/{creator.id}/unlockables?limit=1&cursor={own.body['nextCursor']}"
    )
    assert [u["id"] for u in own.data + rest.data] == [room["id"], made["id"]]


async def test_a_viewers_own_tips_unlock_it_for_them(wallet_server, member):
    creator, fan, other = await member(Role.CREATOR), await member(), await member()
    await fund(wallet_server.ledger, fan.id, 500)
    await fund(wallet_server.ledger, other.id, 500)
    stream = await live_stream(wallet_server.pool, creator.id)
    second = await live_stream(wallet_server.pool, creator.id)
    item = await make(creator, scope="viewer", threshold=100, payload="the secret word")
    path = f"/api/v1/unlockables/{item['id']}"
    # The announcement goes to the room of whichever of the fan's tips was being checked.
    pubsub = wallet_server.app[PUBSUB]
    subs = [await pubsub.subscribe(money_channel(s)) for s in (stream, second)]
    sub = Merged(subs)
    try:
        await tip(fan, stream, 60)
        locked = await fan.call("GET", path)
        assert_envelope(locked, 402, "UNLOCKABLE_LOCKED")
        assert locked.body["meta"] == {
            "scope": "viewer",
            "threshold": 100,
            "progress": 60,
            "remaining": 40,
        }
        await tip(other, stream, 30)  # someone else's tips do not count for the fan
        assert (await fan.call("GET", path)).body["meta"]["remaining"] == 40
        await tip(fan, second, 40)  # any of the creator's streams counts
        events = unlocked(await collect(sub, lambda got: unlocked(got)))
        open_ = await fan.call("GET", path)
        assert open_.status == 200, open_.body
        assert (open_.data["payload"], open_.data["unlocked"], open_.data["remaining"]) == (
            "the secret word",
            True,
            0,
        )
        await tip(fan, second, 5)  # already unlocked: no second announcement
        more = unlocked(await collect(sub, lambda got: False, timeout=0.6))
    finally:
        for s in subs:
            await s.close()
    assert events[0]["streamId"] in (str(stream), str(second))
    assert events == [
        {
            "type": "unlockable.unlocked",
            "unlockableId": item["id"],
            "title": "Secret",
            "scope": "viewer",
            "streamId": events[0]["streamId"],
            "threshold": 100,
            "progress": 100,
            "viewerId": str(fan.id),
            "viewer": fan.handle,
        }
    ]
    assert more == []
    still = await other.call("GET", path)
    assert_envelope(still, 402, "UNLOCKABLE_LOCKED")
    assert still.body["meta"]["remaining"] == 70
    anonymous = Client(wallet_server.base_url)
    try:
        assert_envelope(await anonymous.call("GET", path), 401, "UNAUTHENTICATED")
        listed = await anonymous.call("GET", f"/api/v1/creators/{creator.id}/unlockables")
        assert listed.data[0]["progress"] == 0 and listed.data[0]["unlocked"] is False
    finally:
        await anonymous.close()
    mine = await fan.call("GET", f"/api/v1/creators/{creator.id}/unlockables")
    assert (mine.data[0]["progress"], mine.data[0]["unlocked"]) == (105, True)
    assert "payload" not in mine.data[0]


async def test_the_rooms_tips_unlock_it_for_everyone_once(wallet_server, member):
    creator = await member(Role.CREATOR)
    tippers = [await member() for _ in range(4)]
    for t in tippers:
        await fund(wallet_server.ledger, t.id, 200)
    stream = await live_stream(wallet_server.pool, creator.id)
    await tip(tippers[0], stream, 90)  # before the unlockable: not counted
    item = await make(creator, scope="room", threshold=100, streamId=str(stream))
    path = f"/api/v1/unlockables/{item['id']}"
    anonymous = Client(wallet_server.base_url)
    sub = await wallet_server.app[PUBSUB].subscribe(money_channel(stream))
    try:
        locked = await anonymous.call("GET", path)
        assert_envelope(locked, 402, "UNLOCKABLE_LOCKED")
        assert locked.body["meta"]["progress"] == 0
        await asyncio.gather(*(tip(t, stream, 30) for t in tippers))
        events = unlocked(await collect(sub, lambda got: unlocked(got)))
        more = unlocked(await collect(sub, lambda got: False, timeout=0.6))
        # Another node's watcher checking the same room announces nothing again.
        again = await UnlockWatcher(wallet_server.pool, LocalPubSub()).check(stream, {})
        opened = await anonymous.call("GET", path)
    finally:
        await sub.close()
        await anonymous.close()
    assert len(events) == 1 and more == [] and again == []
    [event] = events
    assert (event["scope"], event["unlockableId"], event["threshold"]) == ("room", item["id"], 100)
    assert event["progress"] >= 100 and "viewerId" not in event
    assert opened.status == 200 and opened.data["payload"] == "https://example.org/secret"
    assert opened.data["progress"] == 120
    # A room on a subscriber-only stream is for those who may watch it.
    changed = await creator.call(
        "PATCH", f"/api/v1/streams/{stream}", json={"visibility": "subscribers"}
    )
    assert changed.status == 200, changed.body
    assert_envelope(await tippers[1].call("GET", path), 403, "UNLOCKABLE_FORBIDDEN")
    assert (await creator.call("GET", path)).status == 200
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems
