"""The MongoDB store: every operation the project uses (docs/ai.md, "MongoDB"), run against the
server ``TEEZU_MONGODB_URL`` names, else the embedded MongoDB-protocol server (nx-27017)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError

from api.ai import store
from teezu.documents import Documents
from teezu.embedded_mongo import EmbeddedMongo


@pytest.fixture
async def docs(mongo_url: str, tmp_path: Path):
    d = Documents(mongo_url, var_dir=tmp_path, database=f"compat_{uuid.uuid4().hex[:12]}")
    d.on_ready(store.ensure_indexes)
    yield d
    db = await d.db()
    await db.client.drop_database(db.name)
    await d.close()


async def test_configs_memories_and_logs(docs: Documents) -> None:
    db = await docs.db()
    assert (await db.command("ping"))["ok"] == 1

    # configs: replace_one upsert, find sorted, find_one with a projection
    for key in ("velvet", "aurora"):
        await store.put_persona(docs, {"key": key, "name": key.title(), "boundaries": ["minors"]})
    await store.put_persona(docs, {"key": "aurora", "name": "Aurora 2", "boundaries": []})
    assert [p["key"] for p in await store.personas(docs)] == ["aurora", "velvet"]
    assert (await store.persona(docs, "aurora"))["name"] == "Aurora 2"
    assert await store.persona(docs, "nobody") is None

    # twin: update_one with $set/$setOnInsert and upsert, read back
    creator = uuid.uuid4()
    first = await store.put_twin(docs, creator, enabled=True, greeting="hi")
    again = await store.put_twin(docs, creator, enabled=False, greeting="bye")
    assert first["created_at"] == again["created_at"] and again["enabled"] is False
    assert again["created_at"].tzinfo is not None  # aware datetimes come back

    # memories: $push with $each/$slice, $inc, unique compound index
    member = uuid.uuid4()
    for n in range(store.MEMORY_FACTS + 5):
        await store.remember(docs, member, "velvet", facts=[f"fact {n}"], summary=f"s{n}")
    mem = await store.memory(docs, member, "velvet")
    assert mem is not None and mem["turns"] == store.MEMORY_FACTS + 5
    assert mem["facts"][0] == "fact 5"
    assert len(mem["facts"]) == store.MEMORY_FACTS and mem["summary"] == f"s{n}"
    with pytest.raises(DuplicateKeyError):
        await db[store.MEMORIES].insert_one({"user_id": str(member), "persona": "velvet"})

    # logs: insert_one, find sorted (on two keys) and limited, count_documents with $gte
    before = datetime.now(UTC) - timedelta(seconds=5)
    for n in range(4):
        await store.log_exchange(
            docs,
            {"user_id": str(member), "kind": "companion", "persona": "velvet", "prompt": f"p{n}"},
        )
    await store.log_exchange(
        docs, {"user_id": str(member), "kind": "twin", "creator_id": str(creator), "prompt": "t"}
    )
    last = await store.history(docs, member, kind="companion", with_="velvet", limit=3)
    assert [r["prompt"] for r in last] == ["p1", "p2", "p3"]
    assert await store.count_since(docs, member, before) == 5
    assert await store.count_since(docs, member, datetime.now(UTC) + timedelta(hours=1)) == 0

    # GDPR: the export finds them ($or), the erasure deletes them (delete_many)
    exported = await store.export_user(docs, member)
    assert len(exported["conversations"]) == 5 and len(exported["memories"]) == 1
    assert (await store.export_user(docs, creator))["twin"]["greeting"] == "bye"
    assert await store.erase_user(docs, member) == 6
    assert await store.erase_user(docs, creator) == 1
    assert await store.export_user(docs, member) == {
        "twin": None,
        "memories": [],
        "conversations": [],
    }
    assert await store.forget(docs, member, "velvet") == 0


def test_embedded_server_is_reused_and_stopped_by_its_owner(tmp_path: Path) -> None:
    owner = EmbeddedMongo(tmp_path / "mongo")
    url = owner.start()
    try:
        other = EmbeddedMongo(tmp_path / "mongo")
        assert other.start() == url  # a second teezu process on the same var/ reuses it
        other.stop()  # and leaves it running
        assert EmbeddedMongo(tmp_path / "mongo")._running() is not None
    finally:
        owner.stop()
    assert EmbeddedMongo(tmp_path / "mongo")._running() is None
