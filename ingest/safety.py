"""Freezing a live stream onto the slate: the one path the safe word and moderation both take.

:meth:`SafetyControl.freeze` is what a caller on the node that holds the broadcast uses (the
API, the Socket.IO layer, automated moderation). In order, because "within one second" is the
point: the encoder thread switches every rendition to the slate (the call returns once no live
frame can be encoded any more), the ``frozen`` event goes out on ``safety:{stream_id}``, then the
evidence snapshot is stored, the state recorded, a review flag filed and trust and safety alerted
on ``safety-alerts``; finally it waits until the first slate part is published in every HLS
rendition and reports how long that took.

Any node can ask with :func:`request_freeze` / :func:`request_unfreeze`: the command travels on
``safety-commands`` and the node holding the broadcast carries it out. Every new freeze awaits
the ``on_frozen`` hooks (the ledger's kill switch: per-minute billing stops, the stream's holds
are settled). Events, for chat (freeze the room) and pages::

    safety:{stream_id}  {"event": "frozen", "reason", "by", "at"}  ... {"event": "unfrozen", ...}
                        {"event": "explicit"}  {"event": "flagged", "flagId", "kind"}
    safety-alerts       {"event": "frozen" | "flagged", "streamId", ...}  (trust and safety)

Unfreezing needs the creator's explicit confirmation: that check belongs to the caller (the API
knows who confirms); this module records who did it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from api.moderation import store
from teezu.pubsub import PubSub
from teezu.storage import Storage

if TYPE_CHECKING:
    from live.broadcasts import LiveBroadcasts

log = logging.getLogger(__name__)

SAFETY_COMMANDS = "safety-commands"
SAFETY_ALERTS = "safety-alerts"
SLATE_WAIT = 5.0  # seconds to wait for the first slate part before reporting without it


def safety_channel(stream_id: str) -> str:
    """The pub/sub channel of a stream's safety events."""
    return f"safety:{stream_id}"


def snapshot_key(stream_id: str, name: str) -> str:
    """Storage key of a moderation snapshot. Outside ``{stream_id}/``: the origin never serves
    these (with a CDN, serve only stream folders from the bucket)."""
    return f"moderation/{stream_id}/{name}.jpg"


@dataclass(frozen=True)
class FreezeOutcome:
    stream_id: str
    reason: str
    already_frozen: bool
    applied_ms: float  # call -> the encoder thread switched to the slate
    slate_part_ms: float | None  # call -> first slate part published in every rendition
    evidence_key: str | None  # storage key of the last live picture (JPEG)
    flag_id: uuid.UUID | None


class SafetyControl:
    """Freeze and unfreeze this node's live broadcasts; carries out commands from any node."""

    def __init__(
        self,
        broadcasts: LiveBroadcasts,
        *,
        storage: Storage,
        pool: asyncpg.Pool,
        pubsub: PubSub,
        on_frozen: Sequence[Callable[[str, str], Awaitable[object]]] = (),
    ) -> None:
        self.broadcasts = broadcasts
        self.storage = storage
        self.pool = pool
        self.pubsub = pubsub
        self.outcomes: list[FreezeOutcome] = []  # this node's freezes, for benchmarks and tests
        # Awaited with (stream id, reason) once a freeze is recorded: the ledger's kill switch
        # (stop per-minute billing, settle the stream's holds), given by the node
        # (`teezu.node`).
        self.on_frozen = list(on_frozen)
        self._commands: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._commands = asyncio.get_running_loop().create_task(
            self._serve_commands(), name="safety-commands"
        )

    async def close(self) -> None:
        if self._commands is not None:
            self._commands.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._commands

    async def freeze(
        self,
        stream_id: str,
        reason: str,
        *,
        by: uuid.UUID | None = None,
        decision_id: uuid.UUID | None = None,
        before_records: Callable[[], Awaitable[None]] | None = None,
        wait_for_viewers: bool = True,
    ) -> FreezeOutcome | None:
        """Put the stream on the slate now. None if it is not live on this node.

        ``by`` is the account that asked (None: automated moderation). ``before_records`` runs
        after the switch and the event, before the state and the flag are written (automated
        moderation writes the decision the flag cites there). With ``wait_for_viewers`` the call
        returns once the slate is published to HLS viewers.
        """
        broadcast = self.broadcasts.get(stream_id)
        if broadcast is None:
            return None
        result = await broadcast.pipeline.freeze(reason)
        applied_ms = (result.applied_at - result.requested_at) * 1000
        if result.already_frozen:
            return FreezeOutcome(stream_id, reason, True, applied_ms, None, None, None)
        output = broadcast.hls if broadcast.serving else None
        slate_part = (
            output.part_published(result.time)
            if output is not None and result.time is not None
            else None
        )
        at = datetime.now(UTC).isoformat()
        await self.pubsub.publish(
            safety_channel(stream_id),
            {"event": "frozen", "reason": reason, "by": by and str(by), "at": at},
        )
        if before_records is not None:
            await before_records()
        sid = uuid.UUID(stream_id)
        evidence = None
        if result.snapshot is not None:
            evidence = snapshot_key(stream_id, f"freeze-{int(time.time() * 1000)}")
            await self.storage.put(evidence, result.snapshot, "image/jpeg", "private, no-store")
        await store.set_frozen(self.pool, sid, reason=reason, by=by)
        # Right after the state (a show accepted from now on sees the stream frozen), before
        # the flag and the alert: billing stops at once.
        for hook in self.on_frozen:
            try:
                await hook(stream_id, reason)
            except Exception:
                log.exception("freeze hook failed", extra={"stream_id": stream_id})
        flag_id = await store.add_flag(
            self.pool,
            sid,
            kind="freeze",
            reason=reason,
            snapshot_key=evidence,
            decision_id=decision_id,
        )
        await self.pubsub.publish(
            SAFETY_ALERTS,
            {
                "event": "frozen",
                "streamId": stream_id,
                "reason": reason,
                "by": by and str(by),
                "flagId": str(flag_id),
                "evidenceKey": evidence,
            },
        )
        slate_ms = None
        if slate_part is not None and wait_for_viewers:
            with contextlib.suppress(TimeoutError):
                published = await asyncio.wait_for(asyncio.shield(slate_part), SLATE_WAIT)
                if not math.isnan(published):
                    slate_ms = (published - result.requested_at) * 1000
        outcome = FreezeOutcome(stream_id, reason, False, applied_ms, slate_ms, evidence, flag_id)
        self.outcomes.append(outcome)
        log.warning(
            "stream frozen",
            extra={
                "stream_id": stream_id,
                "reason": reason,
                "applied_ms": round(applied_ms, 1),
                "slate_part_ms": slate_ms and round(slate_ms),
            },
        )
        return outcome

    async def unfreeze(self, stream_id: str, *, by: uuid.UUID | None) -> bool:
        """Back to the live picture. False if the stream is not live here or not frozen."""
        broadcast = self.broadcasts.get(stream_id)
        if broadcast is None or broadcast.pipeline.frozen_reason is None:
            return False
        await broadcast.pipeline.unfreeze()
        await store.set_frozen(self.pool, uuid.UUID(stream_id), reason=None, by=by)
        await self.pubsub.publish(
            safety_channel(stream_id),
            {"event": "unfrozen", "by": by and str(by), "at": datetime.now(UTC).isoformat()},
        )
        log.warning("stream unfrozen", extra={"stream_id": stream_id, "by": by and str(by)})
        return True

    async def _serve_commands(self) -> None:
        sub = await self.pubsub.subscribe(SAFETY_COMMANDS)
        try:
            while True:
                msg = await sub.get()
                try:
                    await self._command(msg)
                except Exception:
                    log.exception("safety command failed", extra={"command": msg})
        finally:
            await sub.close()

    async def _command(self, msg: dict[str, Any]) -> None:
        stream_id = str(msg.get("streamId", ""))
        if stream_id not in self.broadcasts:
            return  # another node holds it (or nobody does)
        by = uuid.UUID(msg["by"]) if msg.get("by") else None
        if msg.get("op") == "freeze":
            await self.freeze(stream_id, str(msg.get("reason") or "safe word"), by=by)
        elif msg.get("op") == "unfreeze":
            await self.unfreeze(stream_id, by=by)


async def request_freeze(
    pubsub: PubSub, stream_id: str, reason: str, *, by: uuid.UUID | None = None
) -> None:
    """Ask whichever node holds the broadcast to freeze it (from any node)."""
    await pubsub.publish(
        SAFETY_COMMANDS,
        {"op": "freeze", "streamId": stream_id, "reason": reason, "by": by and str(by)},
    )


async def request_unfreeze(pubsub: PubSub, stream_id: str, *, by: uuid.UUID | None) -> None:
    """Ask whichever node holds the broadcast to unfreeze it (the caller checked consent)."""
    await pubsub.publish(
        SAFETY_COMMANDS, {"op": "unfreeze", "streamId": stream_id, "by": by and str(by)}
    )
