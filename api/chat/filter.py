"""The chat profanity classifier: the `ChatFilter` interface, its providers, and the scorer that
keeps their CPU work (and the banned-word matching) off the event loop.

The built-in provider is `alt-profanity-check` (a linear SVM over a bag of words, shipped as a
joblib model in the wheel; nothing is downloaded). One call costs about 7 ms for one message and
about 12 ms for a hundred on this machine, so scoring never runs on the event loop:
`FilterScorer` gathers the messages that arrive while a call is in flight and screens them all
in the next call, on its own thread. Busy rooms therefore cost one model call per batch, not
per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from api.chat.screening import SafetySettings, Verdict, screen, texts_to_score

log = logging.getLogger(__name__)


class ChatFilter(Protocol):
    """Scores texts from 0 (clean) to 1 (profane). Blocking CPU work: called on a thread."""

    name: str

    def scores(self, texts: Sequence[str]) -> list[float]: ...


class ProfanityCheckFilter:
    """`alt-profanity-check`'s model. Loaded on first use (importing scikit-learn and the model
    takes about a second: servers that never filter do not pay it)."""

    name = "profanity-check"

    def __init__(self) -> None:
        self._predict: Callable[[Sequence[str]], Sequence[float]] | None = None

    def scores(self, texts: Sequence[str]) -> list[float]:
        if self._predict is None:
            from profanity_check import predict_prob

            self._predict = predict_prob
        return [float(p) for p in self._predict(list(texts))]


class NoFilter:
    """Scores everything 0: banned words still apply."""

    name = "none"

    def scores(self, texts: Sequence[str]) -> list[float]:
        return [0.0] * len(texts)


PROVIDERS: dict[str, Callable[[], ChatFilter]] = {
    ProfanityCheckFilter.name: ProfanityCheckFilter,
    NoFilter.name: NoFilter,
}


def create_filter(name: str) -> ChatFilter:
    """The provider registered as ``name`` (``TEEZU_CHAT_FILTER``)."""
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ValueError(f"unknown chat filter {name!r}; known: {sorted(PROVIDERS)}") from None


class FilterScorer:
    """Screens messages (`api.chat.screening.screen`: banned words and the classifier) on its
    own thread, one call in flight; messages that arrive meanwhile go together in the next
    call, whose classifier texts are scored in one provider call.

    Banned-word matching is pure Python over each character (up to about 1 ms for a 500
    character message against 500 words on this machine), so it runs on the thread too; only a
    message with nothing to check (no banned words, classifier off) skips the hop.
    """

    def __init__(self, chat_filter: ChatFilter, *, max_batch: int = 512) -> None:
        self.filter = chat_filter
        self._max_batch = max_batch  # classifier texts per call (a message brings at most 252)
        self._queue: list[tuple[_Job, asyncio.Future[Verdict]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-filter")
        self.calls = 0  # thread calls so far (batches), for tests and benchmarks
        self._warm = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-filter")

    def warm(self) -> None:
        """Load the provider's model now, on its thread, without waiting (once): called when a
        room that uses the classifier is loaded, so its first message does not wait ~1-3 s."""
        if self._warm:
            return
        self._warm = True
        future = asyncio.get_running_loop().run_in_executor(
            self._pool, self.filter.scores, ["warm up"]
        )

        def report(f: asyncio.Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.error("loading the chat filter failed", exc_info=f.exception())

        future.add_done_callback(report)

    async def screen(self, text: str, settings: SafetySettings, banned: tuple[str, ...]) -> Verdict:
        """The verdict on ``text`` under a creator's settings and banned words."""
        if settings.profanity_action == "off" and not banned:
            return Verdict("allow", text)
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._queue.append((_Job(text, settings, banned, texts_to_score(text, settings)), future))
        self._wake.set()
        return await future

    def _screen_batch(self, jobs: list[_Job]) -> list[Verdict]:
        """On the thread: one provider call for every job's classifier texts, then each
        job's verdict."""
        flat = [t for job in jobs for t in job.to_score]
        scores = self.filter.scores(flat) if flat else []
        verdicts, at = [], 0
        for job in jobs:
            n = len(job.to_score)
            verdicts.append(screen(job.text, job.settings, job.banned, scores[at : at + n]))
            at += n
        return verdicts

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: list[tuple[_Job, asyncio.Future[Verdict]]] = []
                size = 0
                while self._queue and (
                    not batch or size + len(self._queue[0][0].to_score) <= self._max_batch
                ):
                    item = self._queue.pop(0)
                    batch.append(item)
                    size += len(item[0].to_score)
                jobs = [job for job, _ in batch]
                try:
                    verdicts = await loop.run_in_executor(self._pool, self._screen_batch, jobs)
                except Exception as exc:
                    log.exception("screening %d chat messages failed", len(jobs))
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                self.calls += 1
                for (_, f), verdict in zip(batch, verdicts, strict=True):
                    if not f.done():
                        f.set_result(verdict)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, f in self._queue:
            if not f.done():
                f.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Job:
    text: str
    settings: SafetySettings
    banned: tuple[str, ...]
    to_score: list[str]
