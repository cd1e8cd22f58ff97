"""Personal data of matching: quiz answers and mood profile, swipes, matches, and the
embeddings made from a creator's own texts (vibe search)."""

from __future__ import annotations

import json
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    d = await ctx.conn.fetchrow(
        "SELECT answers, profile::text AS profile, languages, country, discoverable, updated_at "
        "FROM erotic_dna WHERE user_id = $1",
        uid,
    )
    swipes = await ctx.conn.fetch(
        "SELECT u.handle, s.action, s.created_at FROM match_swipes s JOIN users u "
        "ON u.id = s.target_id WHERE s.swiper_id = $1 AND u.status <> 'erased' "
        "ORDER BY s.created_at",
        uid,
    )
    matches = await ctx.conn.fetch(
        "SELECT u.handle, m.match_score, m.matched_at, m.status FROM matches m JOIN users u "
        "ON u.id = CASE WHEN m.user_a = $1 THEN m.user_b ELSE m.user_a END "
        "WHERE (m.user_a = $1 OR m.user_b = $1) AND u.status <> 'erased' ORDER BY m.matched_at",
        uid,
    )
    embedded = await ctx.conn.fetch(
        "SELECT kind, ref_id, model, updated_at FROM ai_embeddings WHERE owner_id = $1 "
        "ORDER BY kind, ref_id",
        uid,
    )
    return {
        "erotic-dna.json": {
            "answers": json.loads(d["answers"]) if d else None,
            "profile": d["profile"] if d else None,
            "languages": list(d["languages"]) if d else [],
            "country": d["country"] if d else None,
            "discoverable": d["discoverable"] if d else None,
            "updatedAt": d["updated_at"] if d else None,
        },
        "matching.json": {
            "swipes": [
                {"handle": r["handle"], "action": r["action"], "at": r["created_at"]}
                for r in swipes
            ],
            "matches": [
                {
                    "handle": r["handle"],
                    "matchScore": r["match_score"],
                    "matchedAt": r["matched_at"],
                    "status": r["status"],
                }
                for r in matches
            ],
            # Who swiped on the user is other people's data: not exported.
            "vibeSearchEmbeddings": [
                {"kind": r["kind"], "id": r["ref_id"], "model": r["model"], "at": r["updated_at"]}
                for r in embedded
            ],
        },
    }


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    await ctx.conn.execute("DELETE FROM erotic_dna WHERE user_id = $1", uid)
    await ctx.conn.execute("DELETE FROM match_swipes WHERE swiper_id = $1 OR target_id = $1", uid)
    await ctx.conn.execute("DELETE FROM matches WHERE user_a = $1 OR user_b = $1", uid)
    await ctx.conn.execute("DELETE FROM ai_embeddings WHERE owner_id = $1", uid)


REGISTRY.register(
    PersonalData(
        name="matching",
        tables=("erotic_dna", "match_swipes", "matches", "ai_embeddings"),
        export=export,
        erase=erase,
        order=30,
    )
)
