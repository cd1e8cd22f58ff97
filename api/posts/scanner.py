"""Scanning posts before they are published: pending posts → moderation workers → policy.

:class:`PostScanner` runs on nodes with ``TEEZU_POST_SCAN_ENABLED`` (the default). It claims the
oldest pending post (``FOR UPDATE SKIP LOCKED``: several nodes share the queue; a claim whose
node went quiet is taken over after ``post_scan_claim_timeout``), has a worker process decode it
and run the detector on it (``ModerationPool.scan``: the image, or a few pictures spread over a
video), and applies the same policy as live frames (:func:`post_outcome`). It wakes on the
``posts-pending`` channel (an upload on any node) and looks again every ``post_scan_poll``
seconds anyway. Avatars are judged inline by :meth:`PostScanner.judge_avatar`.

Events: ``post:{post_id}`` ``{"event": "scanned", "status", "explicit"}``; flagged posts also go
to ``safety-alerts`` ``{"event": "flagged", "postId", "flagId", "kind": "post"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from api.moderation.policy import Action, Decision, Policy, decide
from api.posts import store
from api.verification.upload import sniff_image
from teezu.pubsub import PubSub
from teezu.storage import Storage
from workers.moderation import MediaScan, ModerationPool, UnreadableMedia

log = logging.getLogger(__name__)

POSTS_PENDING = "posts-pending"
MAX_ATTEMPTS = 3  # a post whose scan keeps failing (not unreadable: the workers) is rejected


def post_channel(post_id: uuid.UUID | str) -> str:
    return f"post:{post_id}"


@dataclass(frozen=True)
class Outcome:
    status: str  # published | review | rejected
    explicit: bool
    flag: bool  # a person must look


def post_outcome(decision: Decision) -> Outcome:
    """What the policy's decision means for a post (pure).

    ``allow``: published. ``mark_explicit``: published, explicit (blurred preview, sharp media
    for signed-in adults only). ``flag_review``: held (``review``) until a moderator decides.
    ``freeze`` (what would stop a live stream): ``rejected``, and flagged so a moderator can
    still publish it if the model was wrong.
    """
    explicit = decision.takes(Action.MARK_EXPLICIT)
    if decision.action is Action.FREEZE:
        return Outcome("rejected", explicit, True)
    if decision.action is Action.FLAG_REVIEW:
        return Outcome("review", explicit, True)
    return Outcome("published", explicit, False)


def scan_record(decision: Decision, scan: MediaScan) -> dict[str, Any]:
    """The scan as stored with the post (the flag queue shows it like a live decision)."""
    return {
        "action": decision.action.value,
        "actions": sorted(a.value for a in decision.actions),
        "policy_version": decision.policy_version,
        "detector": scan.detector,
        "matches": [{"rule": m.rule, "label": m.label, "score": m.score} for m in decision.matches],
        "detections": [d.as_json() for d in scan.detections],
        "frames": scan.frames,
        "inference_ms": round(scan.inference_ms, 1),
    }


class PostScanner:
    """One node's post scanning; ``await start()``, ``close()``."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        pubsub: PubSub,
        policy: Policy,
        workers: ModerationPool,
        own_workers: bool,
        node: str,
        frames: int = 5,
        poll: float = 5.0,
        claim_timeout: float = 120.0,
    ) -> None:
        self.pool = pool
        self.storage = storage
        self.pubsub = pubsub
        self.policy = policy
        self.workers = workers
        self.own_workers = own_workers  # False: the live moderation's pool, closed by it
        self.node = node
        self.frames = frames
        self.poll = poll
        self.claim_timeout = claim_timeout
        self.scanned = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.own_workers:
            await self.workers.start()
        sub = await self.pubsub.subscribe(POSTS_PENDING)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(sub), name="posts-pending"),
            loop.create_task(self._run(), name="post-scanner"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.own_workers:
            await self.workers.close()

    def wake(self) -> None:
        self._wake.set()

    async def judge_avatar(self, upload: bytes, crop: bytes) -> Decision:
        """The policy's decision on an avatar, judged before anyone sees it as a public ``sfw``
        picture: the whole ``upload`` (the model sees more of it than in the 256 px ``crop``),
        or the ``crop`` (our own WebP, which always decodes) when the workers cannot read the
        upload (a GIF: OpenCV cannot)."""
        try:
            if sniff_image(upload) is None:
                raise UnreadableMedia("not JPEG, PNG or WebP")
            scan = await self.workers.scan("image", upload, frames=1)
        except UnreadableMedia:
            scan = await self.workers.scan("image", crop, frames=1)
        return decide(self.policy, "sfw", scan.detections, "public")

    async def _listen(self, sub: Any) -> None:
        try:
            while True:
                await sub.get()
                self._wake.set()
        finally:
            await sub.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before claiming: a wake-up during the scans is not lost
            try:
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("post scanning failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _drain(self) -> None:
        """Scan pending posts until none is left, one per worker at a time (claimed one by one,
        so other nodes get their share of a burst)."""
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                while len(running) < self.workers.workers:
                    post = await store.claim_pending(
                        self.pool, node=self.node, stale_after=self.claim_timeout
                    )
                    if post is None:
                        break
                    running.add(asyncio.create_task(self.scan(post), name=f"scan-{post.id}"))
                if not running:
                    return
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is not None:
                        log.error("post scan failed: %r", task.exception())
        finally:
            for task in running:
                task.cancel()

    async def scan(self, post: store.PostRow) -> None:
        """Scan one claimed post and record the outcome."""
        data = await self.storage.get(post.media_key)
        if data is None:
            # Not in this node's storage (local storage is per node; S3 is shared): another
            # node may have it. The claim goes stale; after MAX_ATTEMPTS it is given up.
            log.warning("post media not found here", extra={"post_id": str(post.id)})
            if post.scan_attempts >= MAX_ATTEMPTS:
                await self._finish(
                    post, Outcome("rejected", False, False), {"error": "media missing"}
                )
            return
        try:
            scan = await self.workers.scan(post.kind, data, frames=self.frames)
        except UnreadableMedia as exc:
            await self._finish(post, Outcome("rejected", False, False), {"error": str(exc)})
            return
        except Exception:
            log.exception("post scan failed", extra={"post_id": str(post.id)})
            if post.scan_attempts >= MAX_ATTEMPTS:
                await self._finish(
                    post, Outcome("rejected", False, False), {"error": "scan kept failing"}
                )
            return  # else the claim goes stale and the post is tried again
        audience = "public" if post.audience == "public" else "members"
        decision = decide(self.policy, post.rating, scan.detections, audience)
        await self._finish(post, post_outcome(decision), scan_record(decision, scan), scan)

    async def _finish(
        self,
        post: store.PostRow,
        outcome: Outcome,
        record: dict[str, Any],
        scan: MediaScan | None = None,
    ) -> None:
        preview_key = blurred_key = snapshot_key = None
        if scan is not None:
            preview_key = f"posts/{post.id}/preview.jpg"
            blurred_key = f"posts/{post.id}/blurred.jpg"
            await self.storage.put(preview_key, scan.preview, "image/jpeg", "private, no-store")
            await self.storage.put(blurred_key, scan.blurred, "image/jpeg", "private, no-store")
            if outcome.flag:
                snapshot_key = f"moderation/posts/{post.id}/{uuid.uuid4()}.jpg"
                await self.storage.put(
                    snapshot_key, scan.snapshot, "image/jpeg", "private, no-store"
                )
        flag_id = None
        async with self.pool.acquire() as conn, conn.transaction():
            done = await store.finish_scan(
                conn,
                post.id,
                status=outcome.status,
                explicit=outcome.explicit,
                scan=record,
                preview_key=preview_key,
                blurred_key=blurred_key,
            )
            if done and outcome.flag:
                flag_id = uuid.uuid4()
                matched = ", ".join(f"{m['label']} {m['score']:.2f}" for m in record["matches"])
                await conn.execute(
                    "INSERT INTO moderation_flags (id, post_id, kind, reason, snapshot_key) "
                    "VALUES ($1, $2, 'post', $3, $4)",
                    flag_id,
                    post.id,
                    f"{record['action']}: {matched}",
                    snapshot_key,
                )
        if not done:
            return
        self.scanned += 1
        log.info(
            "post scanned",
            extra={"post_id": str(post.id), "status": outcome.status, "explicit": outcome.explicit},
        )
        await self.pubsub.publish(
            post_channel(post.id),
            {"event": "scanned", "status": outcome.status, "explicit": outcome.explicit},
        )
        if flag_id is not None:
            await self.pubsub.publish(
                "safety-alerts",
                {
                    "event": "flagged",
                    "kind": "post",
                    "postId": str(post.id),
                    "flagId": str(flag_id),
                    "snapshotKey": snapshot_key,
                },
            )
