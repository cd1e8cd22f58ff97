"""Playback revocation on this node: the database's change notices reach the media servers.

Migration 0067's triggers bump a stream's access epoch whenever who may watch it changes
(its visibility, a ticket show starting or ending, a subscription ending or cut short, a ban
from the room, an unfollow, an account suspended) and NOTIFY ``playback_access`` with the
stream's id when that transaction commits; geo-block and rating changes notify too.

`RevocationListener` keeps one PostgreSQL connection LISTENing on that channel (PostgreSQL is
the one thing every node shares, and a notice is sent only if the change commits). For each
notice it drops the stream's cached access from the node's `PlaybackPolicy`, so the next
request is checked against the new epoch, and calls its ``on_change`` hooks (the WHEP guard
re-checks the stream's connected viewers). After a lost connection it reconnects and forgets
every cached access (notices may have been missed meanwhile); were notices to stop altogether,
the policy's cache time (5 s) still bounds how stale a node's view can be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from aiohttp import web

from hls.origin import PlaybackPolicy
from teezu.db import Connection

log = logging.getLogger(__name__)

CHANNEL = "playback_access"
PING_EVERY = 30.0  # seconds: a connection that died silently is noticed within this


class RevocationListener:
    """Applies the database's playback-access notices to this node (see the module doc)."""

    def __init__(self, dsn: str, policy: PlaybackPolicy, *, retry: float = 1.0) -> None:
        self.dsn = dsn
        self.policy = policy
        self.retry = retry
        self.on_change: list[Callable[[str], None]] = []  # called with the stream id
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self.notices = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="revocations")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def changed(self, stream_id: str) -> None:
        """One stream's access changed: forget it here and tell the hooks."""
        self.notices += 1
        self.policy.forget(stream_id)
        for hook in self.on_change:
            try:
                hook(stream_id)
            except Exception:
                log.exception("playback change hook failed", extra={"stream_id": stream_id})

    def _notice(self, conn: Connection, pid: int, channel: str, payload: object) -> None:
        self.changed(str(payload))

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notice)
                # Whatever changed while nobody here was listening.
                self.policy.forget_all()
                self.listening.set()
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), PING_EVERY)
                    except TimeoutError:
                        await conn.fetchval("SELECT 1")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("playback-access listener: %s; reconnecting", exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(self.retry)


REVOCATIONS: web.AppKey[RevocationListener] = web.AppKey("revocations", RevocationListener)
