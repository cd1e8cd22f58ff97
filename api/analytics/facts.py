"""WHEP viewing sessions as facts: a row when a viewer's answer is sent, its watch time (the
server's own count, first packet to stop) when it ends."""

from __future__ import annotations

import time
import uuid

import asyncpg

from api.analytics import viewing
from hls.access import PlaybackGrant
from hls.gate import split_place
from live.viewer import WhepViewer


def _viewer_of(grant: PlaybackGrant | None) -> tuple[uuid.UUID | None, str | None]:
    """(account id, anonymous id) from a playback grant's viewer claim."""
    if grant is None:
        return None, None
    try:
        return uuid.UUID(hex=grant.viewer_id), None
    except ValueError:
        return None, grant.viewer_id[:64]


def watched_seconds(viewer: WhepViewer, now: float) -> float:
    """Seconds the server sent media to ``viewer``: from its first packet to ``now``."""
    firsts = [t.first_packet_at for t in viewer.tracks if t.first_packet_at is not None]
    return max(0.0, now - min(firsts)) if firsts else 0.0


class WhepFacts:
    """The `live.whep.Viewers` hooks that keep ``stream_viewers`` for WebRTC viewers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.sessions: dict[str, uuid.UUID] = {}  # WHEP session id -> stream_viewers id

    async def started(self, viewer: WhepViewer, grant: PlaybackGrant | None, place: str) -> None:
        account, anonymous = _viewer_of(grant)
        self.sessions[viewer.id] = await viewing.open_session(
            self.pool,
            uuid.UUID(viewer.stream_id),
            kind="whep",
            viewer_id=account,
            anonymous_id=anonymous,
            country=split_place(place)[0],
        )

    async def stopped(self, viewer: WhepViewer) -> None:
        session = self.sessions.pop(viewer.id, None)
        if session is not None:
            await viewing.whep_ended(self.pool, session, watched_seconds(viewer, time.monotonic()))
