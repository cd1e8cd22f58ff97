"""Personal data of the room's engagement: the polls a creator opened and a viewer's poll
votes, the duels a creator invited to, and a viewer's StripSync votes. Mood votes
(``mood_votes``), milestones, the avatar's state, trending moments and StripSync's queued
actions are per stream, without viewers (a stream's go with it): registered as the package's,
with nothing to export or erase.

A weighted vote's tip is a financial record kept by the ledger; the vote row itself is not,
so erasure deletes it (the poll's result, written at its close, stays as counted).
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    opened = await conn.fetch(
        "SELECT id, stream_id, kind, question, options, weighted, state, opened_at, deadline, "
        "closed_at, winner FROM room_polls WHERE opened_by = $1 ORDER BY opened_at",
        uid,
    )
    votes = await conn.fetch(
        "SELECT v.poll_id, p.question, v.option, v.weight, v.tip_id, v.voted_at "
        "FROM room_poll_votes v JOIN room_polls p ON p.id = v.poll_id "
        "WHERE v.voter_id = $1 ORDER BY v.voted_at",
        uid,
    )
    duels = await conn.fetch(
        "SELECT id, challenger_stream, opponent_stream, seconds, state, invited_at, started_at, "
        "ended_at, ended_by, challenger_score, opponent_score, winner FROM stream_duels "
        "WHERE invited_by = $1 ORDER BY invited_at",
        uid,
    )
    sync = await conn.fetch(
        "SELECT v.action_id, a.stream_id, a.label, v.weight, v.tip_id, v.voted_at "
        "FROM sync_votes v JOIN sync_actions a ON a.id = v.action_id "
        "WHERE v.voter_id = $1 ORDER BY v.voted_at",
        uid,
    )
    return {
        "polls.json": {"opened": [dict(r) for r in opened], "votes": [dict(r) for r in votes]},
        "games.json": {
            "duelsInvited": [dict(r) for r in duels],
            "stripSyncVotes": [dict(r) for r in sync],
        },
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute("DELETE FROM room_poll_votes WHERE voter_id = $1", uid)
    await conn.execute("UPDATE room_polls SET opened_by = NULL WHERE opened_by = $1", uid)
    # A tipped StripSync vote's tip stays in the ledger (a financial record); the vote goes.
    await conn.execute("DELETE FROM sync_votes WHERE voter_id = $1", uid)
    await conn.execute("UPDATE stream_duels SET invited_by = NULL WHERE invited_by = $1", uid)


REGISTRY.register(
    PersonalData(
        name="engagement",
        tables=(
            "room_polls",
            "room_poll_votes",
            "mood_votes",
            "stream_milestones",
            "stream_avatars",
            "stream_duels",
            "stream_moments",
            "sync_actions",
            "sync_votes",
        ),
        export=export,
        erase=erase,
        order=5,  # before streams (a stream's polls go with it anyway)
    )
)
