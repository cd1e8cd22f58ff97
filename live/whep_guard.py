"""Connected WHEP viewers stay held to the playback policy, not only at their POST.

A WHEP viewer is admitted once (``POST /whep/{id}``, the same check as every HLS request) and
then receives media without asking again, so revoked access would otherwise play on for as
long as the connection lasts. `WhepGuard` remembers each viewer with the grant of the token
it was admitted with (None on an open stream) and the place it connected from, and stops it:

* when its token expires: the token's lifetime bounds the session (the watch page opens a new
  session with a fresh token before then, and swaps pictures once it plays);
* when the policy no longer admits its grant: a change notice for the stream
  (`api.streams.revocations`) re-checks that stream's viewers at once, and every ``interval``
  seconds every stream with viewers is re-checked through the policy's cached access (so a
  missed notice costs at most the policy's cache time). A viewer admitted on an open stream
  without a token is stopped once the stream needs one (it became non-public, age-gated or
  geo-blocked): the player asks again, and the API decides.

Stopping a viewer closes its peer connection (the browser sees the connection close) and takes
it out of the node's registry, as a ``DELETE`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from hls.access import PlaybackGrant
from hls.gate import StreamAccess
from hls.origin import PlaybackPolicy
from live.viewer import WhepViewer
from teezu.errors import TeezuError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Admitted:
    viewer: WhepViewer
    grant: PlaybackGrant | None  # None: admitted without a token (the stream was open)
    place: str  # where it connected from ("" unknown)


class WhepGuard:
    """Stops WHEP viewers whose access ended (see the module doc). One per node."""

    def __init__(self, policy: PlaybackPolicy, *, interval: float = 1.0) -> None:
        self.policy = policy
        self.interval = interval
        self.stopped: Counter[str] = Counter()  # refusal codes of the viewers it stopped
        self._by_stream: dict[str, dict[str, _Admitted]] = {}
        self._task: asyncio.Task[None] | None = None
        self._rechecks: set[asyncio.Task[None]] = set()

    def watch(self, viewer: WhepViewer, grant: PlaybackGrant | None, place: str) -> None:
        """Hold ``viewer`` (just admitted with ``grant`` from ``place``) to the policy."""
        self._by_stream.setdefault(viewer.stream_id, {})[viewer.id] = _Admitted(
            viewer, grant, place
        )

    def changed(self, stream_id: str) -> None:
        """The stream's access changed: re-check its viewers now (a change-notice hook)."""
        if stream_id not in self._by_stream:
            return
        task = asyncio.get_running_loop().create_task(self._recheck_logged(stream_id))
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)

    async def recheck(self, stream_id: str) -> int:
        """Stop the stream's viewers the policy no longer admits; returns how many."""
        admitted = self._by_stream.get(stream_id)
        if not admitted:
            return 0
        access = await self.policy.access(stream_id)
        now = time.time()
        refused: list[tuple[_Admitted, str, str]] = []
        for key, entry in list(admitted.items()):
            if entry.viewer.stop_reason is not None:  # stopping or stopped already
                del admitted[key]
                continue
            why = self._refusal(stream_id, access, entry, now)
            if why is not None:
                del admitted[key]
                refused.append((entry, *why))
        if not admitted:
            self._by_stream.pop(stream_id, None)
        for entry, code, _ in refused:
            self.stopped[code] += 1
            log.info(
                "WHEP viewer's access ended",
                extra={"stream_id": stream_id, "viewer": entry.viewer.id, "code": code},
            )
        await asyncio.gather(
            *(e.viewer.stop(f"playback access ended: {m}") for e, _, m in refused),
            return_exceptions=True,
        )
        return len(refused)

    async def _recheck_logged(self, stream_id: str) -> None:
        try:
            await self.recheck(stream_id)
        except Exception:  # the sweep tries again within a second
            log.exception("WHEP access re-check failed", extra={"stream_id": stream_id})

    def _refusal(
        self, stream_id: str, access: StreamAccess | None, entry: _Admitted, now: float
    ) -> tuple[str, str] | None:
        """(code, message) if ``entry`` may not watch any more; None if it still may."""
        if entry.grant is not None and entry.grant.expires <= now:
            return "PLAYBACK_TOKEN_EXPIRED", "playback token expired"
        try:
            self.policy.readmit(stream_id, access, entry.grant, entry.place)
        except TeezuError as exc:
            return exc.code, exc.message
        return None

    def count(self, stream_id: str) -> int:
        return len(self._by_stream.get(stream_id, {}))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sweep(), name="whep-guard")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._rechecks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for stream_id in list(self._by_stream):
                await self._recheck_logged(stream_id)


WHEP_GUARD: web.AppKey[WhepGuard] = web.AppKey("whep_guard", WhepGuard)
