"""The room's events as timeline marks (`engine.room_timeline.Mark`), published on the
stream's timeline channel for the node packaging the broadcast to write into its playlists
(``EXT-X-DATERANGE``, docs/engagement.md). A lost mark loses a tag, never a result: the
results themselves are in PostgreSQL."""

from __future__ import annotations

import logging
import uuid

from api.engagement.duels import Duel
from api.engagement.polls import Poll
from engine.room_timeline import Mark, Value, timeline_channel
from teezu.pubsub import PubSub

log = logging.getLogger(__name__)


async def publish_mark(pubsub: PubSub, stream_id: uuid.UUID, mark: Mark) -> None:
    try:
        await pubsub.publish(timeline_channel(stream_id), mark.message())
    except Exception:
        log.exception("timeline mark %s of %s not published", mark.id, stream_id)


def poll_mark(poll: Poll) -> Mark:
    """A poll (or challenge): its opening, and once closed its end and winner."""
    attrs: dict[str, Value] = {
        "X-POLL-ID": str(poll.id),
        "X-KIND": poll.kind,
        "X-QUESTION": poll.question,
        "X-OPTIONS": len(poll.options),
    }
    if poll.state == "closed":
        attrs |= {
            "X-WINNER": poll.winner if poll.winner is not None else -1,
            "X-VOTERS": sum(t.votes for t in poll.counted),
            "X-WEIGHTS": " ".join(str(t.weight) for t in poll.counted),
        }
    return Mark(f"poll-{poll.id}", "poll", poll.opened_at, poll.closed_at, attrs)


def duel_mark(duel: Duel) -> Mark:
    """A duel: its start, and once ended its end and result."""
    assert duel.started_at is not None
    attrs: dict[str, Value] = {
        "X-DUEL-ID": str(duel.id),
        "X-CHALLENGER": str(duel.challenger_stream),
        "X-OPPONENT": str(duel.opponent_stream),
        "X-RULE": duel.rule,
        "X-SECONDS": duel.seconds,
    }
    if duel.state == "ended":
        attrs |= {
            "X-CHALLENGER-SCORE": duel.challenger_score,
            "X-OPPONENT-SCORE": duel.opponent_score,
            "X-WINNER": duel.winner or "tie",
            "X-ENDED-BY": duel.ended_by or "deadline",
        }
    return Mark(f"duel-{duel.id}", "duel", duel.started_at, duel.ended_at, attrs)
