"""``GET /metrics``: the node's Prometheus metrics, and the collectors that read them from the
running objects at scrape time (see `teezu.metrics` for the registry and the instruments).

Protected: with ``TEEZU_METRICS_TOKEN`` set a scrape needs ``Authorization: Bearer <token>``;
without it only loopback callers get an answer (403 ``METRICS_FORBIDDEN`` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

import asyncpg
from aiohttp import web
from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from api.envelope import Handler
from api.keys import EDGE, MODERATION, POOL, SETTINGS
from api.realtime import CHAT
from api.wallet.service import LEDGER
from hls.origin import LIVE_KEY
from live import whep
from live.broadcasts import BROADCASTS
from teezu.errors import Forbidden
from teezu.metrics import CONTENT_TYPE, METRICS, Metrics, may_scrape

log = logging.getLogger(__name__)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
DB_GAUGE_INTERVAL = 15.0  # seconds between the queue-depth queries
LEDGER_CHECK_INTERVAL = 600.0  # seconds between `teezu ledger check`s run for the alert


class MetricsForbidden(Forbidden):
    code = "METRICS_FORBIDDEN"


async def metrics_endpoint(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not may_scrape(settings.metrics_token, request.remote, request.headers.get("Authorization")):
        raise MetricsForbidden(
            "metrics need the bearer token (TEEZU_METRICS_TOKEN) or a loopback caller"
        )
    body = await asyncio.to_thread(request.app[METRICS].render)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every response of the app by status (errors the envelope did not turn into one)."""
    statuses = request.app[METRICS].app_statuses
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away (nginx's code for it)
        raise
    finally:
        statuses[status] = statuses.get(status, 0) + 1


def _histogram(
    name: str, doc: str, sizes: dict[int, int], buckets: Iterable[int]
) -> HistogramMetricFamily:
    """A histogram from a {value: count} tally (values are whole numbers)."""
    out, total, weighted = [], 0, 0
    for le in buckets:
        out.append((str(float(le)), sum(n for v, n in sizes.items() if v <= le)))
    for v, n in sizes.items():
        total += n
        weighted += v * n
    out.append(("+Inf", total))
    return HistogramMetricFamily(name, doc, buckets=out, sum_value=weighted)


class Collectors:
    """What the app's objects already count, read at every scrape."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._decisions_seen = 0

    def streams(self) -> Iterable[Metric]:
        frames_in = CounterMetricFamily(
            "teezu_stream_video_frames_in",
            "Video frames received from the publisher",
            labels=["stream"],
        )
        dropped = CounterMetricFamily(
            "teezu_stream_video_frames_dropped",
            "Video frames dropped (encoder backlog or two in one slot)",
            labels=["stream"],
        )
        filled = CounterMetricFamily(
            "teezu_stream_video_slots_filled",
            "Output slots encoded from a repeated frame (the publisher fell behind)",
            labels=["stream"],
        )
        audio_in = CounterMetricFamily(
            "teezu_stream_audio_frames_in",
            "Audio frames received from the publisher",
            labels=["stream"],
        )
        encoded = CounterMetricFamily(
            "teezu_rendition_frames_encoded",
            "Frames encoded per rendition",
            labels=["stream", "rendition"],
        )
        seconds = CounterMetricFamily(
            "teezu_rendition_encode_seconds",
            "Encoder seconds per rendition (divide by frames encoded: seconds per frame)",
            labels=["stream", "rendition"],
        )
        # Where a broadcast's time goes (engine.latency): each stage's delay over its last
        # samples, the frames each stage dropped, and the load-shedding step in force.
        stage_delay = GaugeMetricFamily(
            "teezu_stream_stage_delay_seconds",
            "A stage's delay over a broadcast's recent frames (decode, deliver, backlog, "
            "encode:<rung>, part:<rung>, whep), by quantile",
            labels=["stream", "stage", "quantile"],
        )
        stage_dropped = CounterMetricFamily(
            "teezu_stream_stage_frames_dropped",
            "Frames dropped by a stage (receive, deliver, backlog, shed)",
            labels=["stream", "stage"],
        )
        shed_step = GaugeMetricFamily(
            "teezu_stream_shed_step",
            "The load-shedding step in force (0: none; engine.shedding.STEPS)",
            labels=["stream"],
        )
        shed_changes = CounterMetricFamily(
            "teezu_stream_shed_changes",
            "Load-shedding steps taken, up or down",
            labels=["stream"],
        )
        broadcasts = self.app.get(BROADCASTS)
        live = list(broadcasts.values()) if broadcasts is not None else []
        for broadcast in live:
            sid, stats = broadcast.stream_id, broadcast.pipeline.stats
            frames_in.add_metric([sid], stats.video_frames_in)
            dropped.add_metric([sid], stats.video_frames_dropped)
            filled.add_metric([sid], stats.video_slots_filled)
            audio_in.add_metric([sid], stats.audio_frames_in)
            for name, count in list(stats.frames_encoded.items()):
                encoded.add_metric([sid, name], count)
                seconds.add_metric([sid, name], stats.encode_seconds.get(name, 0.0))
            latency = broadcast.pipeline.latency
            for stage, figures in latency.summary().items():
                for quantile, key in (("0.5", "p50_ms"), ("0.99", "p99_ms")):
                    stage_delay.add_metric([sid, stage, quantile], figures[key] / 1000)
            for stage, count in list(latency.dropped.items()):
                stage_dropped.add_metric([sid, stage], count)
            shed_step.add_metric([sid], stats.shed_step)
            shed_changes.add_metric([sid], len(latency.events))
        yield from (frames_in, dropped, filled, audio_in, encoded, seconds)
        yield from (stage_delay, stage_dropped, shed_step, shed_changes)
        yield GaugeMetricFamily(
            "teezu_whip_sessions", "Publishers (WHIP sessions) on this node", value=len(live)
        )
        viewers = self.app.get(whep.VIEWERS)
        yield GaugeMetricFamily(
            "teezu_whep_sessions",
            "WebRTC viewers (WHEP sessions) on this node",
            value=viewers.count() if viewers is not None else 0,
        )

    def hls(self) -> Iterable[Metric]:
        held = GaugeMetricFamily(
            "teezu_hls_held_requests",
            "LL-HLS blocking requests waiting for a part or playlist update",
            labels=["server"],
        )
        outputs = self.app.get(LIVE_KEY) or {}
        held.add_metric(
            ["app"], sum(o.live.held for o in list(outputs.values()) if o.live is not None)
        )
        responses = CounterMetricFamily(
            "teezu_http_responses",
            "HTTP responses sent, by server (app, edge) and status code",
            labels=["server", "status"],
        )
        for code, count in sorted(self.app[METRICS].app_statuses.items()):
            responses.add_metric(["app", str(code)], count)
        edge = self.app.get(EDGE)
        if edge is not None:
            held.add_metric(["edge"], edge.held_count())
            for status, count in sorted(edge.stats.statuses.items()):
                responses.add_metric(["edge", status.decode("latin-1")], count)
            yield CounterMetricFamily(
                "teezu_edge_held_timeouts",
                "Held edge requests answered 503",
                value=edge.stats.timeouts,
            )
        yield responses
        yield held
        yield GaugeMetricFamily(
            "teezu_hls_live_broadcasts", "Broadcasts live on this node", value=len(outputs)
        )

    def chat(self) -> Iterable[Metric]:
        chat = self.app.get(CHAT)
        yield GaugeMetricFamily(
            "teezu_chat_connections",
            "Socket.IO connections on this node",
            value=len(chat.connections) if chat is not None else 0,
        )
        yield CounterMetricFamily(
            "teezu_chat_messages",
            "Chat messages accepted on this node",
            value=chat.messages if chat is not None else 0,
        )

    def ledger(self) -> Iterable[Metric]:
        ledger = self.app.get(LEDGER)
        if ledger is None:
            return
        yield CounterMetricFamily(
            "teezu_ledger_tips_committed",
            "Tips committed by this node",
            value=ledger.tips_committed,
        )
        yield CounterMetricFamily(
            "teezu_ledger_tip_tokens_committed",
            "Tokens tipped in committed tips",
            value=ledger.tip_tokens_committed,
        )
        failures = CounterMetricFamily(
            "teezu_ledger_failures", "Ledger operations that failed, by kind", labels=["kind"]
        )
        failures.add_metric(["tip"], ledger.tip_failures)
        if ledger.batcher is not None:
            failures.add_metric(["group_commit_fallback"], ledger.batcher.fallbacks)
            yield _histogram(
                "teezu_ledger_group_commit_batch_size",
                "Tips per group commit",
                dict(ledger.batcher.batch_sizes),
                BATCH_BUCKETS,
            )
        yield failures

    def moderation(self) -> Iterable[Metric]:
        metrics = self.app[METRICS]
        moderation = self.app.get(MODERATION)
        if moderation is None:
            return
        pool = moderation.workers.stats
        queued = pool.submitted - pool.dropped - pool.analysed - pool.failed
        yield GaugeMetricFamily(
            "teezu_moderation_samples_queued",
            "Sampled frames waiting for (or in) a moderation worker",
            value=max(0, queued),
        )
        yield CounterMetricFamily(
            "teezu_moderation_samples_dropped",
            "Sampled frames dropped (queue full or superseded)",
            value=pool.dropped,
        )
        stats = moderation.stats
        # The newest decisions since the last scrape, from the monitor's bounded window.
        new = stats.decisions - self._decisions_seen
        self._decisions_seen = stats.decisions
        if new > 0:
            recent = list(stats.decision_ms)[-new:]
            for ms in recent:
                metrics.moderation_decision.observe(ms / 1000)
        yield CounterMetricFamily(
            "teezu_moderation_decisions", "Moderation decisions made", value=stats.decisions
        )

    def database(self) -> Iterable[Metric]:
        pool: asyncpg.Pool | None = self.app.get(POOL)
        if pool is None:
            return
        size, idle = pool.get_size(), pool.get_idle_size()
        yield GaugeMetricFamily("teezu_db_pool_size", "Database connections open", value=size)
        yield GaugeMetricFamily(
            "teezu_db_pool_in_use", "Database connections in use", value=size - idle
        )
        yield GaugeMetricFamily(
            "teezu_db_pool_max", "Largest the database pool may grow", value=pool.get_max_size()
        )


class QueueGauges:
    """Figures that need the database (the review queue, overdue complaints, the books' check),
    refreshed by a task in the background so a scrape never waits for a query."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.review = Gauge(
            "teezu_moderation_review_queue",
            "Items waiting for a moderator, by kind",
            ["kind"],
            registry=r,
        )
        self.oldest = Gauge(
            "teezu_reports_open_oldest_age_seconds", "Age of the oldest open report", registry=r
        )
        self.overdue = Gauge(
            "teezu_reports_overdue",
            "Open reports older than 7 days (card-network rule)",
            registry=r,
        )
        self.check_ok = Gauge(
            "teezu_ledger_check_ok", "1 when the last ledger check balanced, 0 when not", registry=r
        )
        self.check_failures = Counter(
            "teezu_ledger_check_failures", "Ledger checks that found a difference", registry=r
        )

    async def refresh(self, pool: asyncpg.Pool) -> None:
        row = await pool.fetchrow(
            "SELECT (SELECT count(*) FROM moderation_flags WHERE status = 'pending') AS flags, "
            "(SELECT count(*) FROM reports WHERE status = 'open') AS reports, "
            "(SELECT count(*) FROM appeals WHERE status = 'open') AS appeals, "
            "(SELECT count(*) FROM reports WHERE status = 'open' "
            "  AND created_at < now() - interval '7 days') AS overdue, "
            "(SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM reports "
            "  WHERE status = 'open') AS oldest"
        )
        assert row is not None
        for kind in ("flags", "reports", "appeals"):
            self.review.labels(kind).set(row[kind])
        self.overdue.set(row["overdue"])
        self.oldest.set(float(row["oldest"]))

    async def check_ledger(self, app: web.Application) -> None:
        ledger = app.get(LEDGER)
        if ledger is None:
            return
        report = await ledger.check()
        self.check_ok.set(1 if report.ok else 0)
        if not report.ok:
            self.check_failures.inc()

    async def run(self, app: web.Application) -> None:
        last_check = -LEDGER_CHECK_INTERVAL
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.refresh(app[POOL])
                if loop.time() - last_check >= LEDGER_CHECK_INTERVAL:
                    last_check = loop.time()
                    await self.check_ledger(app)
            except Exception:
                log.exception("metrics: queue figures failed")
            await asyncio.sleep(DB_GAUGE_INTERVAL)


def setup(app: web.Application, metrics: Metrics) -> None:
    """Add ``GET /metrics``, the scrape-time collectors and the background probes."""
    app[METRICS] = metrics
    collectors = Collectors(app)
    for collect in (
        collectors.streams,
        collectors.hls,
        collectors.chat,
        collectors.ledger,
        collectors.moderation,
        collectors.database,
    ):
        metrics.add_collector(collect)
    gauges = QueueGauges(metrics)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(metrics.probe_loop_lag(), name="metrics-loop-lag"),
            loop.create_task(gauges.run(app), name="metrics-queues"),
        ]
        edge = app.get(EDGE)
        if edge is not None:
            edge.on_part_delivered = metrics.part_delivery.labels("edge").observe
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/metrics", metrics_endpoint)
