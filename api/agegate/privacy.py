"""Personal data of the age gate: viewers' 18+ declarations, creators' geo-blocks, and the
admin who last changed a jurisdiction's rule.

Declarations are a legal record of age assurance (append-only): kept, and hidden with the
erased account (it can no longer sign in, so they gate nothing). Geo-blocks go with the
user's streams (the streams package deletes those; the rows cascade).
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    declarations = await ctx.conn.fetch(
        "SELECT declared_at, ip, country, region, statement FROM age_declarations "
        "WHERE user_id = $1 ORDER BY id",
        uid,
    )
    blocks = await ctx.conn.fetch(
        "SELECT b.stream_id, b.place, b.created_at FROM stream_geo_blocks b "
        "JOIN streams s ON s.id = b.stream_id WHERE s.creator_id = $1 ORDER BY b.created_at",
        uid,
    )
    return {
        "age_declarations.json": [
            {
                "declaredAt": d["declared_at"],
                "ip": d["ip"],
                "country": d["country"],
                "region": d["region"],
                "statement": d["statement"],
            }
            for d in declarations
        ],
        "geo_blocks.json": [
            {"streamId": b["stream_id"], "place": b["place"], "createdAt": b["created_at"]}
            for b in blocks
        ],
    }


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute(
        "UPDATE age_gate_rules SET updated_by = NULL WHERE updated_by = $1", ctx.subject.user_id
    )


REGISTRY.register(
    PersonalData(
        name="agegate",
        tables=("age_gate_rules", "age_declarations", "stream_geo_blocks"),
        export=export,
        erase=erase,
        retained=(Retained("age_declarations", "user_id = $1", "legal record of age assurance"),),
        order=65,
    )
)
