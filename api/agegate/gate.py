"""`AgeGate`: the node's view of the age-gate rules, viewers' places and streams' access.

One per app (``app[AGE_GATE]``). The rules table is read at most every ``ttl`` seconds (one
query shared by everyone asking meanwhile) and at once on this node after an admin changes
it; other nodes follow within ``ttl``. The media servers' `PlaybackPolicy` calls
:meth:`access` through its own per-stream cache.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from api.agegate import store
from api.agegate.geoip import CidrRanges, LayeredGeoIp, RegistryCountries, ViewerLocator
from hls.gate import AgeRules, AgeVerificationRequired, StreamAccess, check_viewer
from hls.origin import VIEWER_PLACE_HEADER
from teezu.settings import Settings


class AgeGate:
    def __init__(self, settings: Settings, pool: Callable[[], Any], ttl: float = 5.0) -> None:
        self.enabled = settings.age_gate_enabled
        database = RegistryCountries() if settings.geoip_database == "iptocc" else None
        self.locator = ViewerLocator(
            LayeredGeoIp(CidrRanges(settings.geoip_ranges), database),
            settings.geoip_trusted_proxies,
        )
        self._pool = pool
        self._ttl = ttl
        self._rules: tuple[float, asyncio.Future[AgeRules]] | None = None

    def place(self, request: web.Request) -> str:
        """The requester's jurisdiction ("" unknown)."""
        return self.locator.locate(request.remote, request.headers.get(VIEWER_PLACE_HEADER))

    async def rules(self) -> AgeRules | None:
        """The current rules; None when the gate is off on this node."""
        if not self.enabled:
            return None
        now = time.monotonic()
        hit = self._rules
        if hit is None or hit[0] <= now or (hit[1].done() and hit[1].exception() is not None):
            fut = asyncio.ensure_future(store.load_rules(self._pool()))
            hit = self._rules = (now + self._ttl, fut)
        return await asyncio.shield(hit[1])

    def forget_rules(self) -> None:
        """Read the rules again on next use (after an admin changed them)."""
        self._rules = None

    async def access(self, stream_id: uuid.UUID) -> StreamAccess | None:
        return await store.stream_access(self._pool(), stream_id, rules=await self.rules())

    async def check(
        self, request: web.Request, access: StreamAccess, user_id: uuid.UUID | None
    ) -> tuple[str, str]:
        """``(level, place)`` of the requester if they may watch; raises ``GEO_BLOCKED`` (451)
        or ``AGE_VERIFICATION_REQUIRED`` (403, meta says what is needed) otherwise."""
        place = self.place(request)
        level = await store.age_level(self._pool(), user_id)
        try:
            check_viewer(access, level=level, place=place)
        except AgeVerificationRequired as exc:
            exc.meta["signInRequired"] = user_id is None
            raise
        return level, place


AGE_GATE: web.AppKey[AgeGate] = web.AppKey("age_gate", AgeGate)
