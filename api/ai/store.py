"""The AI documents in MongoDB: configs (personas, twins), companion memories, conversation logs.

Every call here uses one of the operations listed in docs/ai.md ("MongoDB"); nothing else is
asked of the server, so the embedded one and a real MongoDB answer alike.

| collection | one document per | key |
|---|---|---|
| ``ai_configs`` | persona (``persona:<key>``), creator twin (``twin:<user id>``) | ``_id`` |
| ``ai_memories`` | member and persona | ``_id`` = ``<user id>:<persona>`` |
| ``ai_conversations`` | exchange (prompt, reply, its sources, or the refusal) | ObjectId |
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from teezu.documents import Document, Documents

CONFIGS = "ai_configs"
MEMORIES = "ai_memories"
CONVERSATIONS = "ai_conversations"
COLLECTIONS = (CONFIGS, MEMORIES, CONVERSATIONS)

MEMORY_FACTS = 20  # facts kept per member and persona (the newest)


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[CONFIGS].create_index([("kind", ASCENDING), ("owner_id", ASCENDING)])
    await db[MEMORIES].create_index([("user_id", ASCENDING), ("persona", ASCENDING)], unique=True)
    await db[CONVERSATIONS].create_index([("user_id", ASCENDING), ("at", DESCENDING)])
    await db[CONVERSATIONS].create_index([("creator_id", ASCENDING), ("at", DESCENDING)])


def _now() -> datetime:
    return datetime.now(UTC)


# --- configs --------------------------------------------------------------------------------


async def put_persona(docs: Documents, config: dict[str, Any]) -> None:
    """Store a persona's config as shipped (replaces the stored one)."""
    await put_persona_in(await docs.db(), config)


async def put_persona_in(db: AsyncDatabase[Document], config: dict[str, Any]) -> None:
    doc = {"_id": f"persona:{config['key']}", "kind": "persona", **config, "updated_at": _now()}
    await db[CONFIGS].replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def personas(docs: Documents) -> list[Document]:
    col = await docs.collection(CONFIGS)
    return await col.find({"kind": "persona"}, {"_id": 0}).sort("key", ASCENDING).to_list()


async def persona(docs: Documents, key: str) -> Document | None:
    col = await docs.collection(CONFIGS)
    return await col.find_one({"_id": f"persona:{key}"}, {"_id": 0})


async def twin(docs: Documents, creator_id: uuid.UUID) -> Document | None:
    col = await docs.collection(CONFIGS)
    found = await col.find_one({"_id": f"twin:{creator_id}"}, {"_id": 0})
    if found is not None:
        # The embedded server keeps booleans in SQLite and returns them as 0/1.
        found["enabled"] = bool(found.get("enabled"))
    return found


async def put_twin(
    docs: Documents, creator_id: uuid.UUID, *, enabled: bool, greeting: str
) -> Document:
    col = await docs.collection(CONFIGS)
    now = _now()
    await col.update_one(
        {"_id": f"twin:{creator_id}"},
        {
            "$set": {"enabled": enabled, "greeting": greeting, "updated_at": now},
            "$setOnInsert": {"kind": "twin", "owner_id": str(creator_id), "created_at": now},
        },
        upsert=True,
    )
    found = await twin(docs, creator_id)
    assert found is not None
    return found


# --- memories -------------------------------------------------------------------------------


async def memory(docs: Documents, user_id: uuid.UUID, persona_key: str) -> Document | None:
    col = await docs.collection(MEMORIES)
    return await col.find_one({"_id": f"{user_id}:{persona_key}"}, {"_id": 0})


async def remember(
    docs: Documents, user_id: uuid.UUID, persona_key: str, *, facts: list[str], summary: str
) -> None:
    """Add facts (the newest `MEMORY_FACTS` are kept), replace the summary, count the turn."""
    col = await docs.collection(MEMORIES)
    now = _now()
    update: dict[str, Any] = {
        "$set": {"summary": summary, "updated_at": now},
        "$inc": {"turns": 1},
        "$setOnInsert": {"user_id": str(user_id), "persona": persona_key, "created_at": now},
    }
    if facts:
        # Plain strings: the embedded server stores pushed sub-documents as JSON text.
        update["$push"] = {"facts": {"$each": facts, "$slice": -MEMORY_FACTS}}
    await col.update_one({"_id": f"{user_id}:{persona_key}"}, update, upsert=True)


async def forget(docs: Documents, user_id: uuid.UUID, persona_key: str) -> int:
    col = await docs.collection(MEMORIES)
    result = await col.delete_many({"_id": f"{user_id}:{persona_key}"})
    return result.deleted_count


# --- conversation logs ----------------------------------------------------------------------


async def log_exchange(docs: Documents, entry: dict[str, Any]) -> None:
    """One exchange: ``user_id``, ``kind`` (companion, twin), ``persona`` or ``creator_id``,
    ``prompt``, ``reply``, ``sources``, ``refused`` (the rule, or None), ``provider``."""
    col = await docs.collection(CONVERSATIONS)
    await col.insert_one({**entry, "at": _now()})


async def history(
    docs: Documents, user_id: uuid.UUID, *, kind: str, with_: str, limit: int
) -> list[Document]:
    """The member's latest exchanges with a persona or a creator's twin, oldest first."""
    col = await docs.collection(CONVERSATIONS)
    key = "persona" if kind == "companion" else "creator_id"
    rows = (
        await col.find({"user_id": str(user_id), "kind": kind, key: with_}, {"_id": 0})
        # _id breaks ties: datetimes keep milliseconds; ObjectIds made here grow in order
        .sort([("at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
        .to_list()
    )
    return rows[::-1]


async def count_since(docs: Documents, user_id: uuid.UUID, since: datetime) -> int:
    """Exchanges the member started since ``since`` (the daily quota)."""
    col = await docs.collection(CONVERSATIONS)
    return await col.count_documents({"user_id": str(user_id), "at": {"$gte": since}})


# --- personal data (GDPR) -------------------------------------------------------------------


async def export_user(docs: Documents, user_id: uuid.UUID) -> dict[str, Any]:
    uid = str(user_id)
    db = await docs.db()
    return {
        "twin": await db[CONFIGS].find_one({"kind": "twin", "owner_id": uid}, {"_id": 0}),
        "memories": await db[MEMORIES].find({"user_id": uid}, {"_id": 0}).to_list(),
        "conversations": await db[CONVERSATIONS]
        .find({"$or": [{"user_id": uid}, {"creator_id": uid}]}, {"_id": 0})
        .sort([("at", ASCENDING), ("_id", ASCENDING)])
        .to_list(),
    }


async def erase_user(docs: Documents, user_id: uuid.UUID) -> int:
    """Delete every document of the user (their twin, memories, and the exchanges they had or
    their twin had); returns how many."""
    uid = str(user_id)
    db = await docs.db()
    n = (await db[CONFIGS].delete_many({"kind": "twin", "owner_id": uid})).deleted_count
    n += (await db[MEMORIES].delete_many({"user_id": uid})).deleted_count
    n += (
        await db[CONVERSATIONS].delete_many({"$or": [{"user_id": uid}, {"creator_id": uid}]})
    ).deleted_count
    return n
