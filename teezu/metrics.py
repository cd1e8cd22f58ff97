"""A node's Prometheus metrics: one registry per application, so two apps in one process (the
test suite) never share counters.

Instruments that count events as they happen (HTTP statuses, part delivery, loop lag,
moderation decisions) live here; figures the running objects already keep (a pipeline's frame
counts, the edge's held requests, the chat's connections, the ledger's batches) are read at
scrape time by collectors that `api.metrics` registers, so the hot paths pay nothing extra.
Names follow the conventions of MediaMTX and LiveKit: ``teezu_<subsystem>_<what>_<unit>``,
counters ending in ``_total``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Part publish -> delivery: a part is ~200-333 ms; a good edge answers within a few ms of it.
DELIVERY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DECISION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
LAG_INTERVAL = 0.25  # seconds between the loop-lag probe's wake-ups


class _Scraped(Collector):
    """Calls ``collect`` at every scrape (figures read from live objects)."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


class Metrics:
    """The node's registry and the instruments its code updates directly."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        # The app's responses by status (the middleware counts; `api.metrics` exports them
        # with the edge's as one family, teezu_http_responses_total).
        self.app_statuses: dict[int, int] = {}
        self.part_delivery = Histogram(
            "teezu_hls_part_delivery_seconds",
            "Seconds from a part's publish to its delivery to a viewer (origin and edge)",
            ["server"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "teezu_event_loop_lag_seconds",
            "How late the event loop woke a sleeping task (a blocked loop shows here)",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag_last = Gauge(
            "teezu_event_loop_lag_last_seconds", "The loop-lag probe's last reading", registry=r
        )
        self.moderation_decision = Histogram(
            "teezu_moderation_decision_seconds",
            "Seconds from a sampled frame to the moderation decision on it",
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.chat_fanout = Histogram(
            "teezu_chat_fanout_seconds",
            "Seconds from a chat message's acceptance to the end of its room's send (the oldest "
            "message of each packet: hold-back in a busy room plus the emit)",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.scrapes = Counter("teezu_metrics_scrapes", "Scrapes of GET /metrics", registry=r)

    def add_collector(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Read ``collect()``'s metrics at every scrape."""
        self.registry.register(_Scraped(collect))

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        self.scrapes.inc()
        return generate_latest(self.registry)

    async def probe_loop_lag(self, interval: float = LAG_INTERVAL) -> None:
        """Sleep ``interval`` again and again and record how late each wake-up came."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - started - interval)
            self.loop_lag.observe(lag)
            self.loop_lag_last.set(lag)


METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


def may_scrape(token: str, peer: str | None, authorization: str | None) -> bool:
    """Whether a caller may read the metrics: the bearer token when one is set, else loopback."""
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())
    try:
        return peer is not None and ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False
