"""Live moderation: sampled frames → worker pool → policy → actions, for every live broadcast.

:class:`LiveModeration` belongs to the node (one worker pool, the policy, the decision writer);
:meth:`LiveModeration.watch` gives each broadcast a :class:`StreamMonitor`, whose ``sampler`` is
the per-frame hook the pipeline runs. The path of one frame:

1. the encoder thread samples it (``engine.sampler``) and posts it to the event loop;
2. the pool queues it (oldest dropped per stream when workers lag) and a worker process runs
   the detector on it;
3. back on the loop, the stream's monitor takes results one at a time, in order: ``decide()``
   (pure) gives the actions, which are carried out (mark explicit, store the snapshot and flag
   it, freeze through ``ingest.safety``) and the decision is recorded with its scores.

Latencies are kept per node (``stats``): frame entered the pipeline → decision, and decision →
effect for viewers (poster blurred; first slate part published for a freeze).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.moderation import store
from api.moderation.policy import Action, Decision, Policy, decide
from engine.pipeline import StreamPipeline
from engine.sampler import FrameSampler, Sample
from teezu.pubsub import PubSub
from teezu.storage import Storage
from workers.moderation import ModerationPool, Result

log = logging.getLogger(__name__)

Freeze = Callable[..., Awaitable[Any]]  # ingest.safety.SafetyControl.freeze


@dataclass
class ModerationStats:
    """Per node, the most recent figures (bounded)."""

    decisions: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    decision_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    inference_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    # (action, ms from the decision until it took effect for viewers)
    effect_ms: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=1_000))


class DecisionWriter:
    """Writes ``allow`` decisions in batches (most of them); others are written at once."""

    def __init__(self, pool: asyncpg.Pool, *, every: float = 1.0, batch: int = 200) -> None:
        self.pool = pool
        self.every = every
        self.batch = batch
        self._rows: list[store.DecisionRow] = []
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="decision-writer")

    def add(self, row: store.DecisionRow) -> None:
        self._rows.append(row)

    async def write_now(self, row: store.DecisionRow) -> None:
        await store.insert_decisions(self.pool, [row])
        self.written += 1

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            await store.insert_decisions(self.pool, rows)
            self.written += len(rows)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.flush()
            except Exception:
                log.exception("writing moderation decisions failed")


class LiveModeration:
    """The node's moderation: ``await start()``, ``watch()`` each broadcast, ``close()``."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        pubsub: PubSub,
        policy: Policy,
        workers: ModerationPool,
        freeze: Freeze,
        sampler_options: dict[str, Any] | None = None,
        flag_cooldown: float = 30.0,
    ) -> None:
        self.pool = pool
        self.storage = storage
        self.pubsub = pubsub
        self.policy = policy
        self.workers = workers
        self.freeze = freeze
        self.sampler_options = sampler_options or {}
        self.flag_cooldown = flag_cooldown
        self.writer = DecisionWriter(pool)
        self.stats = ModerationStats()
        self.monitors: dict[str, StreamMonitor] = {}

    async def start(self) -> None:
        self.writer.start()
        await self.workers.start()

    async def close(self) -> None:
        for monitor in list(self.monitors.values()):
            await monitor.stop()
        await self.workers.close()
        await self.writer.close()

    def watch(
        self,
        stream_id: str,
        *,
        run: str | None,
        rating: str,
        audience: str,
        pipeline: Callable[[], StreamPipeline | None],
    ) -> StreamMonitor:
        """A monitor for one broadcast; put ``monitor.sampler`` among the pipeline's hooks.

        ``pipeline`` returns the broadcast's pipeline (it is built after its hooks).
        """
        monitor = StreamMonitor(self, stream_id, run, rating, audience, pipeline)
        self.monitors[stream_id] = monitor
        return monitor

    async def stop_stream(self, stream_id: str) -> None:
        monitor = self.monitors.pop(stream_id, None)
        if monitor is not None:
            await monitor.stop()


class StreamMonitor:
    """One broadcast's moderation: its sampler hook and the in-order handling of results."""

    def __init__(
        self,
        owner: LiveModeration,
        stream_id: str,
        run: str | None,
        rating: str,
        audience: str,
        pipeline: Callable[[], StreamPipeline | None],
    ) -> None:
        self.owner = owner
        self.stream_id = stream_id
        self.run = run
        self.rating = rating
        self.audience = audience
        self._pipeline = pipeline
        self._loop = asyncio.get_running_loop()
        self.sampler = FrameSampler(self._from_encoder, **owner.sampler_options)
        self._results: asyncio.Queue[Result] = asyncio.Queue()
        self._task = self._loop.create_task(self._handle_results(), name=f"mod-{stream_id[:8]}")
        self.explicit = False
        self.frozen = False
        self._flagged_at: dict[str, float] = {}  # rule -> monotonic time of its last flag
        self.decisions: list[Decision] = []  # this broadcast's, in order (for tests and logs)

    def _from_encoder(self, sample: Sample) -> None:
        # Encoder thread: hand over and return at once.
        self._loop.call_soon_threadsafe(self.owner.workers.submit, sample, self._results.put_nowait)

    async def stop(self) -> None:
        self.owner.workers.forget(self.stream_id)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def idle(self) -> None:
        """Wait until every result that arrived so far has been handled."""
        await self._results.join()

    async def _handle_results(self) -> None:
        while True:
            result = await self._results.get()
            try:
                await self._handle(result)
            except Exception:
                log.exception("moderation result failed", extra={"stream_id": self.stream_id})
            finally:
                self._results.task_done()

    async def _handle(self, result: Result) -> None:
        stats = self.owner.stats
        if result.analysis is None:
            stats.failures += 1
            return
        sample, analysis = result.sample, result.analysis
        decision = decide(self.owner.policy, self.rating, analysis.detections, self.audience)
        decided_at = time.monotonic()
        latency_ms = (decided_at - sample.received_at) * 1000
        self.decisions.append(decision)
        stats.decisions += 1
        stats.by_action[decision.action] = stats.by_action.get(decision.action, 0) + 1
        stats.decision_ms.append(latency_ms)
        stats.inference_ms.append(analysis.inference_ms)
        decision_id = uuid.uuid4()
        sid = uuid.UUID(self.stream_id)
        flag_rules = self._rules_to_flag(decision, decided_at)
        freeze = decision.takes(Action.FREEZE) and not self.frozen
        snapshot = None
        if flag_rules or freeze:
            snapshot = f"moderation/{self.stream_id}/{decision_id}.jpg"
        row = store.DecisionRow(
            id=decision_id,
            stream_id=sid,
            run=self.run,
            sample_seq=sample.seq,
            stream_time=sample.time,
            sample_reason=sample.reason,
            rating=self.rating,
            audience=self.audience,
            detector=analysis.detector,
            policy_version=decision.policy_version,
            action=decision.action.value,
            actions=sorted(a.value for a in decision.actions),
            detections=[d.as_json() for d in analysis.detections],
            matches=[
                {"rule": m.rule, "label": m.label, "score": m.score} for m in decision.matches
            ],
            latency_ms=latency_ms,
            inference_ms=analysis.inference_ms,
            snapshot_key=snapshot,
        )
        if decision.action is Action.ALLOW:
            self.owner.writer.add(row)
            return

        async def keep_records() -> None:
            if snapshot is not None:
                await self.owner.storage.put(
                    snapshot, analysis.snapshot, "image/jpeg", "private, no-store"
                )
            await self.owner.writer.write_now(row)  # flags cite it

        if freeze:
            # The slate first: records are written after the switch (inside freeze()).
            self.frozen = True
            called = time.monotonic()
            outcome = await self.owner.freeze(
                self.stream_id,
                "moderation: " + _matched(decision),
                decision_id=decision_id,
                before_records=keep_records,
            )
            if outcome is None or outcome.already_frozen:
                await keep_records()
            elif outcome.slate_part_ms is not None:
                effect = (called - decided_at) * 1000 + outcome.slate_part_ms
                stats.effect_ms.append(("freeze", effect))
        else:
            await keep_records()
        if decision.takes(Action.MARK_EXPLICIT) and not self.explicit:
            self.explicit = True
            pipeline = self._pipeline()
            if pipeline is not None:
                await pipeline.set_explicit(True)
                stats.effect_ms.append(("mark_explicit", (time.monotonic() - decided_at) * 1000))
            await store.mark_explicit(self.owner.pool, sid)
            await self.owner.pubsub.publish(f"safety:{self.stream_id}", {"event": "explicit"})
        if flag_rules and not freeze:  # a freeze filed its own flag, with the live evidence
            flag_id = await store.add_flag(
                self.owner.pool,
                sid,
                kind="frame",
                reason=f"{flag_rules[0]}: {_matched(decision)}",
                snapshot_key=snapshot,
                decision_id=decision_id,
            )
            event = {"event": "flagged", "flagId": str(flag_id), "kind": "frame"}
            await self.owner.pubsub.publish(f"safety:{self.stream_id}", event)
            await self.owner.pubsub.publish(
                "safety-alerts", {**event, "streamId": self.stream_id, "snapshotKey": snapshot}
            )

    def _rules_to_flag(self, decision: Decision, now: float) -> list[str]:
        """The flagging rules not flagged for this stream within the cooldown."""
        if not decision.takes(Action.FLAG_REVIEW):
            return []
        due = []
        for m in decision.matches:
            last = self._flagged_at.get(m.rule)
            if last is None or now - last >= self.owner.flag_cooldown:
                self._flagged_at[m.rule] = now
                due.append(m.rule)
        return due[:1]  # one flag per decision is enough for a person to look


def _matched(decision: Decision) -> str:
    """``"LABEL 0.73, OTHER 0.41"``: each matched label once, with its best score."""
    best: dict[str, float] = {}
    for m in decision.matches:
        best[m.label] = max(m.score, best.get(m.label, 0.0))
    return ", ".join(f"{label} {score:.2f}" for label, score in best.items())
