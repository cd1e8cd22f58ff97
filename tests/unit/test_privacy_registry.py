"""The personal-data registry's contract and the export zip (pure parts of api/privacy)."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile

import pytest

from api.privacy import archive
from api.privacy.packages import REGISTRY
from api.privacy.registry import NO_PERSONAL_DATA, Cleanup, PersonalData, Registry


def test_a_name_registers_once() -> None:
    reg = Registry()
    reg.register(PersonalData(name="a", tables=("t1",), order=2))
    reg.register(PersonalData(name="b", tables=("t2",), order=1))
    with pytest.raises(ValueError, match="twice"):
        reg.register(PersonalData(name="a", tables=("t3",)))
    assert [i.name for i in reg.all()] == ["b", "a"]  # erase order
    assert reg.tables() == {"t1", "t2"}


def test_the_app_registry_is_consistent() -> None:
    items = REGISTRY.all()
    # Accounts are erased last (the other packages still read the old handle and email).
    assert items[-1].name == "accounts"
    tables = [t for i in items for t in i.tables]
    assert len(tables) == len(set(tables)), "a table is registered by two packages"
    assert not set(tables) & NO_PERSONAL_DATA
    for r in REGISTRY.retained():
        owner = next(i for i in items if r in i.retained)
        assert r.table in owner.tables, f"{owner.name} retains a table it does not register"
        assert "$1" in r.rows and r.reason
    # Whatever is retained carries a reason; the legal records are among them.
    assert {r.table for r in REGISTRY.retained()} >= {
        "users",
        "ledger_transactions",
        "identity_records",
        "identity_documents",
        "consent_checkins",
        "moderation_log",
    }


def test_cleanup_round_trips_without_duplicates() -> None:
    c = Cleanup(["a", "b", "a"], ["k"], ["id", "id"])
    again = Cleanup.from_json(json.loads(json.dumps(c.to_json())))
    assert (again.storage_prefixes, again.storage_keys, again.redis_needles) == (
        ["a", "b"],
        ["k"],
        ["id"],
    )
    assert Cleanup.from_json({}) == Cleanup()


def test_the_zip_holds_json_documents_binary_files_and_a_manifest() -> None:
    uid = uuid.uuid4()
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    blob = archive.build_zip(
        {"account.json": {"id": uid, "at": when, "born": dt.date(1990, 1, 1), "raw": b"\x00"}},
        {"avatar.webp": b"RIFF....WEBP"},
        {"userId": uid},
    )
    z = zipfile.ZipFile(io.BytesIO(blob))
    assert sorted(z.namelist()) == ["account.json", "avatar.webp", "manifest.json"]
    assert json.loads(z.read("account.json")) == {
        "id": str(uid),
        "at": "2026-01-02T03:04:05+00:00",
        "born": "1990-01-01",
        "raw": None,  # binary never goes inline
    }
    assert z.read("avatar.webp") == b"RIFF....WEBP"
    assert json.loads(z.read("manifest.json")) == {"userId": str(uid)}
    with pytest.raises(TypeError):
        archive.to_json({"x": object()})
