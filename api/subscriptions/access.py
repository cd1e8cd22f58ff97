"""Whether a viewer subscribes to a creator: the one question others ask (streams' playback
and chat policy, unlockables, posts later)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from teezu.db import Db


async def is_subscriber(
    pool: Db, viewer_id: uuid.UUID | None, creator_id: uuid.UUID | None
) -> bool:
    """True while ``viewer_id`` has a live subscription to ``creator_id`` that still grants
    access: active (paid, or cancelled with paid time left) or in grace after a failed renewal.

    One indexed read of the subscription's stored ``access_until`` (see
    `api.subscriptions.model`), so access ends on time even if the renewal job runs late.
    """
    if viewer_id is None or creator_id is None:
        return False
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = $1 "
            "AND creator_id = $2 AND state IN ('active', 'grace') AND access_until > now())",
            viewer_id,
            creator_id,
        )
    )


async def subscriber_until(
    pool: asyncpg.Pool, viewer_id: uuid.UUID | None, creator_id: uuid.UUID | None
) -> datetime | None:
    """Until when ``viewer_id``'s subscription to ``creator_id`` grants access, if it does
    now (the `is_subscriber` condition); None otherwise. Playback tokens of a subscriber-only
    stream expire then at the latest."""
    if viewer_id is None or creator_id is None:
        return None
    return await pool.fetchval(
        "SELECT max(access_until) FROM subscriptions WHERE subscriber_id = $1 "
        "AND creator_id = $2 AND state IN ('active', 'grace') AND access_until > now()",
        viewer_id,
        creator_id,
    )
