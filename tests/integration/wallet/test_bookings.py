"""Provider services and bookings over HTTP with real accounts and the real ledger.

Slots are moved in time by the tests (an UPDATE of the slot's instants) where a flow needs a
session that has begun: the API itself refuses slots in the past.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api.auth.rbac import Role
from api.wallet.check import check_books
from tests.accounts import Account
from tests.integration.wallet.conftest import fund
from tests.integration.wallet.test_wallet_api import assert_envelope, balance, key

ZONE = "Europe/Amsterdam"


async def publish(provider: Account, **kw: Any) -> dict[str, Any]:
    body = {
        "title": kw.get("title", "Tarot reading"),
        "timeZone": kw.get("zone", ZONE),
        "cancellation": {"freeCancelHours": 24, "lateCancelPercent": 50},
        "prices": [{"name": "Short", "price": 40}, {"name": "Long", "price": 100}],
    }
    reply = await provider.call("POST", "/api/v1/services", json=body)
    assert reply.status == 201, reply.body
    return reply.data


def local(days: int, hour: int = 15) -> str:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00:00"


async def open_slot(provider: Account, service: dict[str, Any], days: int = 3) -> dict[str, Any]:
    reply = await provider.call(
        "POST",
        f"/api/v1/services/{service['id']}/slots",
        json={"slots": [{"start": local(days), "durationMinutes": 60}]},
    )
    assert reply.status == 201, reply.body
    return reply.data[0]


async def book(acct: Account, service: dict[str, Any], slot: dict[str, Any], **kw: Any) -> Any:
    return await acct.call(
        "POST",
        f"/api/v1/services/{kw.get('service_id', service['id'])}/bookings",
        json={
            "slotId": kw.get("slot_id", slot["id"]),
            "priceId": kw.get("price_id", service["prices"][0]["id"]),
        },
        headers=kw.get("headers") or key(),
    )


async def move_slot(server, slot_id: str, starts_in: timedelta) -> None:
    await server.pool.execute(
        "UPDATE service_slots SET starts_at = now() + $2, ends_at = now() + $2 + interval '1h' "
        "WHERE id = $1",
        uuid.UUID(slot_id),
        starts_in,
    )


async def hold_state(server, hold_id: str) -> tuple[str, int | None]:
    row = await server.pool.fetchrow(
        "SELECT state, captured FROM ledger_holds WHERE id = $1", uuid.UUID(hold_id)
    )
    return row["state"], row["captured"]


async def test_a_provider_publishes_services_and_slots_in_their_zone(wallet_server, member):
    provider, fan = await member(Role.PROVIDER), await member()
    denied = await fan.call(
        "POST",
        "/api/v1/services",
        json={
            "title": "x",
            "timeZone": ZONE,
            "cancellation": {"freeCancelHours": 1, "lateCancelPercent": 0},
            "prices": [{"name": "a", "price": 1}],
        },
    )
    assert_envelope(denied, 403, "FORBIDDEN")
    bad_zone = await provider.call(
        "POST",
        "/api/v1/services",
        json={
            "title": "x",
            "timeZone": "Mars/Olympus",
            "cancellation": {"freeCancelHours": 1, "lateCancelPercent": 0},
            "prices": [{"name": "a", "price": 1}],
        },
    )
    assert_envelope(bad_zone, 422, "INVALID_TIME_ZONE")
    service = await publish(provider)
    assert [p["price"] for p in service["prices"]] == [40, 100]
    slot = await open_slot(provider, service)
    # 15:00 in Amsterdam: an instant whose local rendering is 15:00 with the zone's offset
    starts = datetime.fromisoformat(slot["startsAt"])
    assert slot["startsLocal"].startswith(local(3)[:16])
    assert starts.astimezone(UTC).hour in (13, 14)  # CEST or CET
    path = f"/api/v1/services/{service['id']}/slots"
    count = "SELECT count(*) FROM service_slots WHERE service_id = $1"
    before = await wallet_server.pool.fetchval(count, uuid.UUID(service["id"]))
    # the hour Amsterdam skips (last Sunday of March, 02:00 -> 03:00), all-or-none
    gap = await provider.call(
        "POST",
        path,
        json={
            "slots": [
                {"start": local(10), "durationMinutes": 30},
                {"start": "2030-03-31T02:30:00", "durationMinutes": 30},
            ]
        },
    )
    assert_envelope(gap, 422, "INVALID_SLOT_TIME")
    far = await provider.call(
        "POST", path, json={"slots": [{"start": local(400), "durationMinutes": 30}]}
    )
    assert_envelope(far, 422, "INVALID_SLOT_TIME")
    past = await provider.call(
        "POST", path, json={"slots": [{"start": local(-2), "durationMinutes": 30}]}
    )
    assert_envelope(past, 409, "SLOT_IN_PAST")
    again = await provider.call(
        "POST", path, json={"slots": [{"start": local(3), "durationMinutes": 30}]}
    )
    assert_envelope(again, 409, "SLOT_EXISTS")
    assert await wallet_server.pool.fetchval(count, uuid.UUID(service["id"])) == before
    other = await member(Role.PROVIDER)
    assert_envelope(
        await other.call(
            "POST", path, json={"slots": [{"start": local(5), "durationMinutes": 30}]}
        ),
        403,
        "NOT_SERVICE_OWNER",
    )
    listed = await fan.call("GET", path)
    assert [s["id"] for s in listed.data] == [slot["id"]] and listed.data[0]["booked"] is False
    public = await fan.call("GET", f"/api/v1/services?providerId={provider.id}")
    assert [s["id"] for s in public.data] == [service["id"]]


async def test_booking_holds_the_price_and_refuses_bad_input(wallet_server, member):
    provider, fan, rival = await member(Role.PROVIDER), await member(), await member()
    service = await publish(provider)
    slot = await open_slot(provider, service)
    await fund(wallet_server.ledger, fan.id, 100)
    await fund(wallet_server.ledger, rival.id, 100)
    same = key()
    first = await book(fan, service, slot, headers=same)
    assert first.status == 201, first.body
    assert (first.data["state"], first.data["price"]) == ("requested", 40)
    assert first.data["cancellation"] == {"freeCancelHours": 24, "lateCancelPercent": 50}
    retry = await book(fan, service, slot, headers=same)
    assert retry.status == 201 and retry.data["id"] == first.data["id"]
    assert (await balance(fan))["balance"] == 60  # held once
    assert await hold_state(wallet_server, first.data["holdId"]) == ("held", None)

    count = "SELECT count(*) FROM service_bookings"
    holds = "SELECT count(*) FROM ledger_holds WHERE owner_id = $1 AND state = 'held'"
    n = await wallet_server.pool.fetchval(count)
    assert_envelope(await book(rival, service, slot), 409, "SLOT_TAKEN")
    assert_envelope(
        await book(rival, service, slot, service_id=str(uuid.uuid4())), 404, "SERVICE_NOT_FOUND"
    )
    assert_envelope(
        await book(rival, service, slot, slot_id=str(uuid.uuid4())), 404, "SLOT_NOT_FOUND"
    )
    assert_envelope(
        await book(rival, service, slot, price_id=str(uuid.uuid4())), 404, "PRICE_NOT_FOUND"
    )
    assert_envelope(
        await rival.call(
            "POST",
            f"/api/v1/services/{service['id']}/bookings",
            json={"slotId": slot["id"]},
            headers=key(),
        ),
        422,
        "VALIDATION_ERROR",
    )
    past = await open_slot(provider, service, days=4)
    await move_slot(wallet_server, past["id"], timedelta(minutes=-5))
    assert_envelope(await book(rival, service, past), 409, "SLOT_IN_PAST")
    own = await open_slot(provider, service, days=5)
    await fund(wallet_server.ledger, provider.id, 100)
    assert_envelope(await book(provider, service, own), 422, "CANNOT_BOOK_SELF")
    poor = await member()
    assert_envelope(await book(poor, service, own), 402, "INSUFFICIENT_FUNDS")
    # nothing half-written: no booking rows, no holds, the rival's tokens untouched
    assert await wallet_server.pool.fetchval(count) == n
    assert await wallet_server.pool.fetchval(holds, rival.id) == 0
    assert (await balance(rival))["balance"] == 100
    stranger = await member()
    assert_envelope(
        await stranger.call("GET", f"/api/v1/bookings/{first.data['id']}"), 404, "BOOKING_NOT_FOUND"
    )


async def test_twenty_concurrent_bookings_of_one_slot_book_it_once(wallet_server, member):
    provider = await member(Role.PROVIDER)
    service = await publish(provider)
    slot = await open_slot(provider, service)
    fans = await asyncio.gather(*(member() for _ in range(20)))
    for fan in fans:
        await fund(wallet_server.ledger, fan.id, 40)
    replies = await asyncio.gather(*(book(fan, service, slot) for fan in fans))
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] + [409] * 19, [r.body for r in replies]
    assert all(r.body["code"] == "SLOT_TAKEN" for r in replies if r.status == 409)
    winner = next(r for r in replies if r.status == 201)
    states = await wallet_server.pool.fetch(
        "SELECT h.state, count(*) AS n FROM ledger_holds h WHERE h.owner_id = ANY($1) "
        "GROUP BY h.state",
        [f.id for f in fans],
    )
    # The winner's hold is held; every loser's hold (those that got one before the slot was
    # seen taken) is released, so no loser holds a token.
    by_state = {r["state"]: r["n"] for r in states}
    assert by_state.pop("held") == 1 and set(by_state) <= {"released"}, states
    for fan, reply in zip(fans, replies, strict=True):
        assert (await balance(fan))["balance"] == (0 if reply is winner else 40)
    assert (
        await wallet_server.pool.fetchval(
            "SELECT count(*) FROM service_bookings WHERE slot_id = $1", uuid.UUID(slot["id"])
        )
        == 1
    )
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems


async def test_accept_then_complete_captures_for_the_provider(wallet_server, member):
    provider, fan = await member(Role.PROVIDER), await member()
    service = await publish(provider)
    slot = await open_slot(provider, service)
    await fund(wallet_server.ledger, fan.id, 100)
    booked = (await book(fan, service, slot, price_id=service["prices"][1]["id"])).data
    path = f"/api/v1/bookings/{booked['id']}"
    assert_envelope(await fan.call("POST", f"{path}/accept"), 403, "NOT_BOOKING_PARTY")
    accepted = await provider.call("POST", f"{path}/accept")
    assert accepted.status == 200 and accepted.data["state"] == "accepted"
    assert (await provider.call("POST", f"{path}/accept")).status == 200  # a retry
    assert_envelope(await provider.call("POST", f"{path}/decline"), 409, "BOOKING_STATE_CONFLICT")
    assert_envelope(await provider.call("POST", f"{path}/complete"), 409, "BOOKING_NOT_STARTED")
    await move_slot(wallet_server, slot["id"], timedelta(minutes=-1))
    done = await provider.call("POST", f"{path}/complete")
    assert done.status == 200 and (done.data["state"], done.data["charged"]) == ("completed", 100)
    assert await hold_state(wallet_server, booked["holdId"]) == ("captured", 100)
    assert (await balance(provider))["earnings"] == 80  # the fee schedule's 20 % to the platform
    assert (await balance(fan))["balance"] == 0
    mine = await provider.call("GET", "/api/v1/bookings?as=provider")
    assert booked["id"] in [b["id"] for b in mine.data]


async def test_decline_releases_and_frees_the_slot(wallet_server, member):
    provider, fan, next_fan = await member(Role.PROVIDER), await member(), await member()
    service = await publish(provider)
    slot = await open_slot(provider, service)
    await fund(wallet_server.ledger, fan.id, 40)
    await fund(wallet_server.ledger, next_fan.id, 40)
    booked = (await book(fan, service, slot)).data
    declined = await provider.call("POST", f"/api/v1/bookings/{booked['id']}/decline")
    assert declined.data["state"] == "declined"
    assert await hold_state(wallet_server, booked["holdId"]) == ("released", None)
    assert (await balance(fan))["balance"] == 40
    assert (await book(next_fan, service, slot)).status == 201


async def test_cancellation_follows_the_policy_shown_at_booking(wallet_server, member):
    provider = await member(Role.PROVIDER)
    service = await publish(provider)  # free until 24 h before, then 50 %
    cases = [
        # (who cancels, accepted, starts in, charged)
        ("member", True, timedelta(hours=2), 20),
        ("member", True, timedelta(days=3), 0),
        ("member", False, timedelta(hours=2), 0),
        ("provider", True, timedelta(hours=2), 0),
    ]
    for who, accept, starts_in, charged in cases:
        fan = await member()
        await fund(wallet_server.ledger, fan.id, 40)
        slot = await open_slot(provider, service, days=6)
        booked = (await book(fan, service, slot)).data
        path = f"/api/v1/bookings/{booked['id']}"
        if accept:
            assert (await provider.call("POST", f"{path}/accept")).status == 200
        await move_slot(wallet_server, slot["id"], starts_in)
        # the policy at booking applies, whatever the service says later
        await wallet_server.pool.execute(
            "UPDATE provider_services SET late_cancel_percent = 100 WHERE id = $1",
            uuid.UUID(service["id"]),
        )
        canceller = fan if who == "member" else provider
        reply = await canceller.call("POST", f"{path}/cancel")
        assert reply.status == 200 and reply.data["charged"] == charged, (who, reply.body)
        state = await hold_state(wallet_server, booked["holdId"])
        assert state == (("captured", charged) if charged else ("released", None))
        assert (await balance(fan))["balance"] == 40 - charged
        assert_envelope(
            await provider.call("POST", f"{path}/accept"), 409, "BOOKING_STATE_CONFLICT"
        )
        await wallet_server.pool.execute(
            "UPDATE provider_services SET late_cancel_percent = 50 WHERE id = $1",
            uuid.UUID(service["id"]),
        )
        await wallet_server.pool.execute(
            "DELETE FROM service_slots WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM "
            "service_bookings WHERE slot_id = $1)",
            uuid.UUID(slot["id"]),
        )


async def test_a_provider_goes_live_only_for_an_accepted_booking_in_its_slot(wallet_server, member):
    provider, fan = await member(Role.PROVIDER), await member()
    service = await publish(provider)
    slot = await open_slot(provider, service)
    await fund(wallet_server.ledger, fan.id, 40)
    booked = (await book(fan, service, slot)).data
    path = f"/api/v1/bookings/{booked['id']}/go-live"
    assert_envelope(await provider.call("POST", path), 409, "OUTSIDE_BOOKED_SLOT")  # requested
    await provider.call("POST", f"/api/v1/bookings/{booked['id']}/accept")
    assert_envelope(await provider.call("POST", path), 409, "OUTSIDE_BOOKED_SLOT")  # days ahead
    await move_slot(wallet_server, slot["id"], timedelta(minutes=5))  # within the early start
    live = await provider.call("POST", path)
    assert live.status == 200 and live.data["admitted"] == [str(fan.id)]
    assert_envelope(await fan.call("POST", path), 403, "FORBIDDEN")  # members cannot stream
    await move_slot(wallet_server, slot["id"], timedelta(hours=-2))  # over
    assert_envelope(await provider.call("POST", path), 409, "OUTSIDE_BOOKED_SLOT")


async def test_the_books_balance_after_booking_flows(wallet_server, member):
    provider, fan = await member(Role.PROVIDER), await member()
    service = await publish(provider)
    slot = await open_slot(provider, service)
    await fund(wallet_server.ledger, fan.id, 40)
    assert (await book(fan, service, slot)).status == 201
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems
