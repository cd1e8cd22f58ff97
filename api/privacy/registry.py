"""Where personal data lives: every package declares its own, with an export and an erase step.

A package that stores data about a user registers a `PersonalData`:

- ``tables``: every table of the package that holds personal data (erased or retained);
- ``export(ctx)``: returns ``{file name: JSON-able data}`` for the user's export zip (binary
  files go into ``ctx.files``); only the user's own data, never another person's, no secrets;
- ``erase(ctx)``: runs inside the erasure's database transaction; deletes or pseudonymises
  what is not under a retention duty, and adds work outside PostgreSQL (storage objects,
  Redis) to ``ctx.cleanup``, which runs after the commit (and is retried after a crash);
- ``retained``: the rows it keeps on purpose, each with the SQL that selects them and why.
  An erased user's retained rows are locked and hidden: the account is ``erased`` and every
  reader of those tables skips erased accounts (see README, GDPR).

Tables that hold no personal data are listed in `NO_PERSONAL_DATA`. The privacy test fails when
a table is in neither (so a table added later must be registered here before it ships).
Registrations are imported in `api.privacy.packages`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from teezu.db import Connection
from teezu.documents import Documents
from teezu.storage import Storage


@dataclass(frozen=True)
class Subject:
    """The user an export or erasure is about, as they were before it."""

    user_id: uuid.UUID
    email: str
    handle: str


@dataclass
class Cleanup:
    """Work outside PostgreSQL, done after the erasure commits (stored, so it survives a crash).

    ``redis_needles``: every Redis key whose name contains one is deleted, and members of sets,
    sorted sets, hashes and lists that contain one are removed. ``document_owners``: user ids
    whose MongoDB documents (``api.ai.store``) are deleted.
    """

    storage_prefixes: list[str] = field(default_factory=list)
    storage_keys: list[str] = field(default_factory=list)
    redis_needles: list[str] = field(default_factory=list)
    document_owners: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "storagePrefixes": sorted(set(self.storage_prefixes)),
            "storageKeys": sorted(set(self.storage_keys)),
            "redisNeedles": sorted(set(self.redis_needles)),
            "documentOwners": sorted(set(self.document_owners)),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cleanup:
        return cls(
            list(data.get("storagePrefixes", [])),
            list(data.get("storageKeys", [])),
            list(data.get("redisNeedles", [])),
            list(data.get("documentOwners", [])),
        )


@dataclass
class ExportContext:
    conn: Connection
    subject: Subject
    storage: Storage
    files: dict[str, bytes] = field(default_factory=dict)  # binary files (the avatar)
    documents: Documents | None = None  # the node's MongoDB (AI documents)


@dataclass
class EraseContext:
    conn: Connection  # in the erasure's transaction; the users row is locked
    subject: Subject
    pseudonym: Subject  # the handle and email the account gets
    cleanup: Cleanup = field(default_factory=Cleanup)


ExportFn = Callable[[ExportContext], Awaitable[dict[str, Any]]]
EraseFn = Callable[[EraseContext], Awaitable[None]]


@dataclass(frozen=True)
class Retained:
    """Rows kept after erasure: ``rows`` is an SQL condition over ``table``; ``$1`` is the user id
    (as uuid). Anything identifying the user in the table outside these rows is a bug."""

    table: str
    rows: str
    reason: str


@dataclass(frozen=True)
class PersonalData:
    name: str
    tables: tuple[str, ...]
    export: ExportFn | None = None
    erase: EraseFn | None = None
    retained: tuple[Retained, ...] = ()
    order: int = 50  # erase order, lowest first (accounts last: others read the old handle)


class Registry:
    def __init__(self) -> None:
        self._items: dict[str, PersonalData] = {}

    def register(self, item: PersonalData) -> PersonalData:
        if item.name in self._items:
            raise ValueError(f"personal data {item.name!r} registered twice")
        self._items[item.name] = item
        return item

    def all(self) -> list[PersonalData]:
        return sorted(self._items.values(), key=lambda i: (i.order, i.name))

    def tables(self) -> set[str]:
        return {t for i in self._items.values() for t in i.tables}

    def retained(self) -> list[Retained]:
        return [r for i in self.all() for r in i.retained]


REGISTRY = Registry()

# Tables without personal data (reference data, system state). Keep in step with migrations.
NO_PERSONAL_DATA: frozenset[str] = frozenset(
    {
        "schema_migrations",
        "roles",
        "permissions",
        "role_permissions",
        "token_packages",
        "ledger_fee_schedules",
        "ledger_rollups",  # per account balance; accounts are registered by the wallet
        "ledger_xid_clock",  # time -> xid checkpoints
        "ledger_entries",  # amounts per account id; the accounts are retained by the wallet
        "stream_events",  # what happened to a stream (the stream is registered by streams)
        "stream_qoe_minutes",  # players' quality figures summed per stream and minute
        "hub_refreshes",  # when each admin-hub view was last refreshed
        "room_moods",  # per room and minute: counts and sums of moods, nobody's identity
        "post_counter_slots",  # like and comment counts per post
        "ai_requests",  # per AI request: operation, status, latency; nobody's identity
        "error_groups",  # unhandled errors by code location, with request ids; no identity
    }
)
