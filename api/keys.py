"""Typed application state shared by the API's route modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from hls.edge import LlHlsEdge
from hls.storage import Storage
from teezu.pubsub import PubSub
from teezu.settings import Settings

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
PUBSUB: web.AppKey[PubSub] = web.AppKey("pubsub", PubSub)  # type: ignore[type-abstract]
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
# The node's object storage (media, moderation snapshots, GDPR export zips).
STORAGE: web.AppKey[Storage] = web.AppKey("storage", Storage)  # type: ignore[type-abstract]

if TYPE_CHECKING:
    from api.moderation.monitor import LiveModeration
    from ingest.safety import SafetyControl

# Freeze / unfreeze this node's broadcasts (the safe word's engine half).
SAFETY: web.AppKey[SafetyControl] = web.AppKey("safety")
# On-frame moderation; absent when TEEZU_MODERATION_ENABLED=false.
MODERATION: web.AppKey[LiveModeration] = web.AppKey("moderation")
EDGE: web.AppKey[LlHlsEdge] = web.AppKey("edge", LlHlsEdge)  # absent when the edge is off
