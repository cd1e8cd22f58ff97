"""SQL for ``mood_votes``: the strip's accepted votes per stream, minute and mood."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from api.engagement.moods import MOODS, Counts
from teezu.db import Db


async def add_minutes(db: Db, minutes: Mapping[tuple[uuid.UUID, int], Counts]) -> None:
    """Add counted votes, ``{(stream id, minute as a Unix second): counts}``, in one statement
    (a stream deleted meanwhile loses its rows, as its others go with it)."""
    streams, stamps, moods, votes = [], [], [], []
    for (stream_id, minute), counts in minutes.items():
        for mood, n in zip(MOODS, counts, strict=True):
            if n:
                streams.append(stream_id)
                stamps.append(datetime.fromtimestamp(minute, UTC))
                moods.append(mood)
                votes.append(n)
    if not votes:
        return
    await db.execute(
        "INSERT INTO mood_votes (stream_id, minute, mood, votes) "
        "SELECT v.stream_id, v.minute, v.mood, v.votes "
        "FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) "
        "AS v(stream_id, minute, mood, votes) JOIN streams s ON s.id = v.stream_id "
        "ON CONFLICT (stream_id, minute, mood) "
        "DO UPDATE SET votes = mood_votes.votes + EXCLUDED.votes",
        streams,
        stamps,
        moods,
        votes,
    )


async def stream_minutes(
    db: Db, stream_id: uuid.UUID, since: datetime, until: datetime
) -> list[tuple[datetime, Counts]]:
    """A stream's votes per minute in ``[since, until)``, oldest first."""
    rows = await db.fetch(
        "SELECT minute, mood, votes FROM mood_votes "
        "WHERE stream_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
        stream_id,
        since,
        until,
    )
    out: dict[datetime, list[int]] = {}
    for r in rows:
        out.setdefault(r["minute"], [0] * len(MOODS))[MOODS.index(r["mood"])] += r["votes"]
    return [(m, tuple(c)) for m, c in out.items()]


async def distribution(db: Db, since: datetime, until: datetime) -> tuple[Counts, int]:
    """Votes per mood over every stream in ``[since, until)``, and how many streams had any."""
    rows = await db.fetch(
        "SELECT mood, sum(votes)::bigint AS votes, count(DISTINCT stream_id) AS streams "
        "FROM mood_votes WHERE minute >= $1 AND minute < $2 GROUP BY ROLLUP (mood)",
        since,
        until,
    )
    counts = [0] * len(MOODS)
    streams = 0
    for r in rows:
        if r["mood"] is None:
            streams = r["streams"]
        else:
            counts[MOODS.index(r["mood"])] = r["votes"]
    return tuple(counts), streams
