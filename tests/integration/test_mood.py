"""The mood pipeline on a server of its own (mood on): chat messages over real Socket.IO are
analysed in the embedding worker, stored per message and per room per minute, pushed to the
room as ``mood:update``, and read back as the room's strip and the member's recent mood; a
burst is analysed in batches without losing a message."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest

from api.auth.rbac import Role
from api.keys import POOL
from api.mood.analyzer import ANALYZER
from api.streams import store as streams
from tests.accounts import Account, create_user
from tests.chatclient import ChatClient
from tests.conftest import free_port
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

FLIRTY = ["Je bent zo mooi, ik geniet van je 😘", "You look amazing tonight, love it 😘"]
ENERGETIC = ["Muziek harder, iedereen dansen!!", "Let's gooo, party time everybody!!"]


async def test_chat_moods_reach_the_strip_the_room_and_the_profile(pg_dsn, tmp_path_factory):
    port = free_port()
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("var-mood"),
        port,
        moderation_enabled=False,
        mood_enabled=True,
        mood_analysis_interval=0.05,
        chat_rate_limit=10_000,
        rate_limit_requests=1_000_000,
    ) as (base, app):
        made = SimpleNamespace(app=app, pool=app[POOL])
        people = []
        for roles in ({Role.CREATOR}, {Role.MEMBER}, {Role.MEMBER}):
            user = await create_user(made, frozenset(roles))
            acct = Account(base, id=user.id, handle=user.handle, email=user.email)
            assert (await acct.login()).status == 200
            people.append(acct)
        creator, talker, listener = people
        row, _ = await streams.create_stream(
            app[POOL], title="Mood room", creator_handle=creator.handle, creator_id=creator.id
        )
        sid = str(row.id)
        await app[POOL].execute("UPDATE streams SET state = 'live' WHERE id = $1", row.id)
        clients = []
        try:
            for acct in (talker, listener):
                c = await ChatClient().connect(base, headers={"Cookie": f"session={acct.cookie()}"})
                clients.append(c)
                assert (await c.join(sid))["ok"]
            chat, watcher = clients
            for text in FLIRTY * 3:
                assert (await chat.send(sid, text))["ok"]
            analyzer = app[ANALYZER]
            await asyncio.wait_for(analyzer.idle.wait(), 120)
            update = await watcher.wait_for(
                lambda: next(
                    (u for u in watcher.received["mood:update"] if u["messages"] >= 6), None
                ),
                timeout=30,
                what="the room's mood update",
            )
            assert update["streamId"] == sid and update["dominant"] == "flirty", update
            assert update["polarity"] > 0 and 0 <= update["intensity"] <= 1

            strip = (await talker.call("GET", f"/api/v1/streams/{sid}/mood?minutes=5")).data
            assert sum(m["messages"] for m in strip["minutes"]) == 6
            assert strip["minutes"][-1]["dominant"] == "flirty"
            me = (await listener.call("GET", f"/api/v1/users/{talker.handle}/mood")).data
            assert me == {"mood": "flirty", "messages": 6}
            quiet = (await listener.call("GET", f"/api/v1/users/{listener.handle}/mood")).data
            assert quiet == {"mood": None, "messages": 0}
            bad = await talker.call("GET", f"/api/v1/streams/{uuid.uuid4()}/mood")
            assert bad.status == 404 and bad.code == "STREAM_NOT_FOUND"

            # A burst: every message delivered and every one analysed, in batches.
            before = analyzer.analysed
            burst = [f"{ENERGETIC[i % 2]} #{i}" for i in range(150)]
            acks = await asyncio.gather(*(chat.send(sid, t) for t in burst))
            assert all(a["ok"] for a in acks)
            await watcher.wait_for(lambda: len(watcher.messages()) >= 156, 30, "the burst")
            await asyncio.wait_for(analyzer.idle.wait(), 180)
            assert analyzer.analysed - before == 150 and analyzer.skipped == 0
            n = await app[POOL].fetchval(
                "SELECT count(*) FROM chat_message_moods WHERE stream_id = $1", row.id
            )
            assert n == 156
            strip = (await talker.call("GET", f"/api/v1/streams/{sid}/mood")).data
            assert strip["minutes"][-1]["dominant"] == "energetic"
        finally:
            for c in clients:
                await c.close()
            for acct in people:
                await acct.close()
