"""Typed application state shared by the API's route modules."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from teezu.pubsub import PubSub
from teezu.settings import Settings

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
PUBSUB: web.AppKey[PubSub] = web.AppKey("pubsub", PubSub)  # type: ignore[type-abstract]
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
