"""Typed application state shared by the API's route modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from hls.edge import LlHlsEdge
from teezu.placement import Placement
from teezu.pubsub import PubSub
from teezu.settings import Settings

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
PUBSUB: web.AppKey[PubSub] = web.AppKey("pubsub", PubSub)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)

if TYPE_CHECKING:
    from api.moderation.monitor import LiveModeration
    from api.posts.downloads import ForensicRenderer
    from api.posts.scanner import PostScanner
    from ingest.safety import SafetyControl

# Freeze / unfreeze this node's broadcasts (the safe word's engine half).
SAFETY: web.AppKey[SafetyControl] = web.AppKey("safety")
# On-frame moderation; absent when TEEZU_MODERATION_ENABLED=false.
MODERATION: web.AppKey[LiveModeration] = web.AppKey("moderation")
EDGE: web.AppKey[LlHlsEdge] = web.AppKey("edge", LlHlsEdge)  # absent when the edge is off
# Scans pending posts and avatars in the moderation workers; absent when
# TEEZU_POST_SCAN_ENABLED=false (and on API-only nodes).
POST_SCANNER: web.AppKey[PostScanner] = web.AppKey("post_scanner")
# Marks downloads with their viewer's forensic mark (processes started on first use).
FORENSIC: web.AppKey[ForensicRenderer] = web.AppKey("forensic")
PLACEMENT: web.AppKey[Placement] = web.AppKey("placement", Placement)
