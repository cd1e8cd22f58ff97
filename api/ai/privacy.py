"""Personal data of the AI companions and twins, kept in MongoDB: a creator's twin settings,
a member's companion memories, and the AI conversation logs they took part in (as the member,
or as the creator whose twin answered)."""

from __future__ import annotations

from typing import Any

from api.ai import store
from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    if ctx.documents is None:
        return {"ai.json": {"note": "no MongoDB on this node"}}
    found = await store.export_user(ctx.documents, ctx.subject.user_id)
    return {
        "ai.json": {
            "twin": found["twin"],
            "companionMemories": found["memories"],
            "conversations": found["conversations"],
        }
    }


async def erase(ctx: EraseContext) -> None:
    # MongoDB is outside the erasure's transaction: deleted after it commits (and retried
    # at the next start if that fails).
    ctx.cleanup.document_owners.append(str(ctx.subject.user_id))


REGISTRY.register(
    PersonalData(
        name="ai",
        tables=(),
        export=export,
        erase=erase,
        order=30,
    )
)
