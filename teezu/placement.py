"""Stream placement across ingest nodes, kept in Redis (docs/cluster.md).

Each ingest node (``teezu ingest``) announces itself every ``cluster_heartbeat_interval``
seconds with :class:`NodeBeat`: its load (live streams, CPU of its process since the last beat)
under ``teezu:ingest:{node}``, and ``teezu:stream:{id} -> node`` for each stream it holds. Both
keys expire after ``cluster_heartbeat_ttl``: a node that dies (``kill -9``) drops out of
placement, and its streams' mapping with it, within that lifetime.

The API nodes answer the front door's question "which node holds this stream?"
(:meth:`Placement.locate`); a WHIP ``POST`` for a stream no live node holds is placed on the
least-loaded healthy node (:meth:`Placement.place`) and the mapping is reserved for one
heartbeat lifetime, which the chosen node's beats then keep alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

NODES = "teezu:ingest-nodes"  # a set of every ingest node ever seen (health: its beat key)


def node_key(node: str) -> str:
    return f"teezu:ingest:{node}"


def stream_key(stream_id: str) -> str:
    return f"teezu:stream:{stream_id}"


@dataclass(frozen=True)
class NodeLoad:
    node: str
    streams: int
    cpu: float  # cores used by the node's process over the last beat (1.0 = one core)

    def rank(self) -> tuple[int, float, str]:
        """Least loaded first: fewest streams, then least CPU, then the name (stable)."""
        return (self.streams, self.cpu, self.node)


def _redis(url: str) -> Any:
    import redis.asyncio as redis

    return redis.from_url(url, decode_responses=True)


class NodeBeat:
    """An ingest node's heartbeat into Redis: its load and the streams it holds."""

    def __init__(
        self,
        redis_url: str,
        node: str,
        streams: Callable[[], Iterable[str]],
        *,
        interval: float,
        ttl: float,
    ) -> None:
        self._redis = _redis(redis_url)
        self.node = node
        self._streams = streams
        self.interval = interval
        self.ttl = ttl
        self._task: asyncio.Task[None] | None = None
        self._cpu = (time.monotonic(), time.process_time())

    def _cpu_since_last(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        before_wall, before_cpu = self._cpu
        self._cpu = (wall, cpu)
        return max(0.0, (cpu - before_cpu) / max(wall - before_wall, 1e-3))

    async def beat(self) -> None:
        """One beat: the node's load and its streams' mapping, each with the beat's lifetime."""
        streams = list(self._streams())
        load = {
            "streams": len(streams),
            "cpu": round(self._cpu_since_last(), 3),
            "pid": os.getpid(),
        }
        ttl_ms = int(self.ttl * 1000)
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(NODES, self.node)
        pipe.set(node_key(self.node), json.dumps(load), px=ttl_ms)
        for stream_id in streams:
            pipe.set(stream_key(stream_id), self.node, px=ttl_ms)
        await pipe.execute()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="placement-beat")

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception:  # Redis restarting: the next beat re-registers everything
                log.warning("placement heartbeat failed", exc_info=True)
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        """Leave placement at once (a clean stop): the node and its streams' mapping."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            streams = list(self._streams())
            pipe = self._redis.pipeline(transaction=False)
            pipe.delete(node_key(self.node))
            for stream_id in streams:
                pipe.delete(stream_key(stream_id))
            await pipe.execute()
        await self._redis.aclose()


class Placement:
    """What the API nodes read: healthy ingest nodes, where a stream is, where a new one goes."""

    def __init__(self, redis_url: str, *, ttl: float) -> None:
        self._redis = _redis(redis_url)
        self.ttl = ttl

    async def nodes(self) -> list[NodeLoad]:
        """The healthy ingest nodes (their beat has not expired), least loaded first."""
        names = sorted(await self._redis.smembers(NODES))
        if not names:
            return []
        beats = await self._redis.mget([node_key(n) for n in names])
        out = []
        for name, beat in zip(names, beats, strict=True):
            if beat is None:
                continue
            load = json.loads(beat)
            out.append(NodeLoad(name, int(load["streams"]), float(load["cpu"])))
        return sorted(out, key=NodeLoad.rank)

    async def known(self, node: str) -> bool:
        """Whether ``node`` ever took part in placement (an ingest role, healthy or not)."""
        return bool(await self._redis.sismember(NODES, node))

    async def locate(self, stream_id: str) -> str | None:
        """The healthy node holding (or reserved for) ``stream_id``, else None."""
        node = await self._redis.get(stream_key(stream_id))
        if node is None or not await self._redis.exists(node_key(node)):
            return None
        return str(node)

    async def place(self, stream_id: str) -> str | None:
        """Where a publisher of ``stream_id`` goes: the node holding it if that one is healthy
        (a republish or a second POST), else the least-loaded healthy node, reserved for one
        heartbeat lifetime. None when no ingest node is healthy."""
        held = await self.locate(stream_id)
        if held is not None:
            return held
        nodes = await self.nodes()
        if not nodes:
            return None
        chosen = nodes[0].node
        # Two POSTs racing for one stream: the first reservation wins, both go there.
        if await self._redis.set(stream_key(stream_id), chosen, px=int(self.ttl * 1000), nx=True):
            return chosen
        return await self.locate(stream_id) or chosen

    async def close(self) -> None:
        await self._redis.aclose()
