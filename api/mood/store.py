"""SQL of mood analysis: per message rows, per room per minute sums, a member's recent mood."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from teezu.db import Connection, Db

MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")


@dataclass(frozen=True, slots=True)
class Analysed:
    message_id: uuid.UUID
    stream_id: uuid.UUID
    user_id: uuid.UUID | None
    at: datetime
    mood: str
    polarity: float
    intensity: float


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def save(conn: Connection, rows: Sequence[Analysed]) -> None:
    """The messages' moods, and their sums into each room's minute (one transaction)."""
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO chat_message_moods (message_id, stream_id, user_id, mood, polarity, "
            "intensity, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [
                (r.message_id, r.stream_id, r.user_id, r.mood, r.polarity, r.intensity, r.at)
                for r in rows
            ],
        )
        sums: dict[tuple[uuid.UUID, datetime, str], list[float]] = {}
        for r in rows:
            s = sums.setdefault((r.stream_id, minute_of(r.at), r.mood), [0, 0.0, 0.0])
            s[0] += 1
            s[1] += r.polarity
            s[2] += r.intensity
        await conn.executemany(
            "INSERT INTO room_moods (stream_id, minute, mood, messages, polarity_sum, "
            "intensity_sum) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id, minute, mood) "
            "DO UPDATE SET messages = room_moods.messages + EXCLUDED.messages, "
            "polarity_sum = room_moods.polarity_sum + EXCLUDED.polarity_sum, "
            "intensity_sum = room_moods.intensity_sum + EXCLUDED.intensity_sum",
            [(k[0], k[1], k[2], int(v[0]), v[1], v[2]) for k, v in sorted(sums.items())],
        )


@dataclass(frozen=True)
class Minute:
    minute: datetime
    moods: dict[str, int]
    messages: int
    polarity: float  # mean
    intensity: float  # mean

    @property
    def dominant(self) -> str | None:
        return (
            max(self.moods, key=lambda m: (self.moods[m], -MOODS.index(m))) if self.moods else None
        )


async def strip(db: Db, stream_id: uuid.UUID, *, since: datetime) -> list[Minute]:
    """The room's minutes from ``since`` on, oldest first (minutes without messages left out)."""
    rows = await db.fetch(
        "SELECT minute, mood, messages, polarity_sum, intensity_sum FROM room_moods "
        "WHERE stream_id = $1 AND minute >= $2 ORDER BY minute, mood",
        stream_id,
        since,
    )
    moods: dict[datetime, dict[str, int]] = {}
    sums: dict[datetime, tuple[float, float]] = {}
    for r in rows:
        moods.setdefault(r["minute"], {})[r["mood"]] = int(r["messages"])
        p, i = sums.get(r["minute"], (0.0, 0.0))
        sums[r["minute"]] = (p + r["polarity_sum"], i + r["intensity_sum"])
    out = []
    for minute, counts in moods.items():
        n = sum(counts.values())
        p, i = sums[minute]
        out.append(Minute(minute, counts, n, round(p / n, 4), round(i / n, 4)))
    return out


async def recent_mood(db: Db, user_id: uuid.UUID, *, since: datetime) -> tuple[str | None, int]:
    """A member's most frequent mood in their messages since ``since``, and how many."""
    rows = await db.fetch(
        "SELECT mood, count(*) AS n FROM chat_message_moods WHERE user_id = $1 AND at >= $2 "
        "GROUP BY mood",
        user_id,
        since,
    )
    counts = {r["mood"]: int(r["n"]) for r in rows}
    if not counts:
        return None, 0
    best = max(counts, key=lambda m: (counts[m], -MOODS.index(m)))
    return best, sum(counts.values())
