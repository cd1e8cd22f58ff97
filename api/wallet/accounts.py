"""Finding ledger accounts, fee schedules, referrers and stream payees, with small caches.

An account's identity never changes and accounts are never deleted (the database refuses
both), so ids are cached for the life of the process; that keeps the tip path at one round
trip. Fee schedules are immutable per version. Only "which schedule is current" and referrals
are re-read after a short TTL.
"""

from __future__ import annotations

import time
import uuid

import asyncpg

from api.wallet.fees import FeeSchedule
from api.wallet.model import Account, AccountKind
from teezu.db import Db

_SCHEDULE_TTL = 30 * 10**9  # ns (time.monotonic_ns: this package has no floats)
_REFERRAL_TTL = 60 * 10**9
_MAX_CACHED = 100_000


class AccountBook:
    """Resolves (kind, owner) to accounts, creating user accounts on first use."""

    def __init__(self) -> None:
        self._accounts: dict[tuple[AccountKind, uuid.UUID | None], Account] = {}
        self._schedules: dict[str, FeeSchedule] = {}
        self._current: tuple[int, FeeSchedule] | None = None  # (valid until, schedule)
        self._referrers: dict[uuid.UUID, tuple[int, uuid.UUID | None]] = {}
        self._payees: dict[uuid.UUID, uuid.UUID] = {}

    async def system(self, db: Db, kind: AccountKind) -> Account:
        """One of the platform's own accounts (created by the migration)."""
        assert kind.system, kind
        found = self._accounts.get((kind, None))
        if found is None:
            row = await db.fetchrow(
                "SELECT id FROM ledger_accounts WHERE kind = $1 AND owner_id IS NULL", kind
            )
            if row is None:
                raise LookupError(f"system account {kind} is missing (migrations not applied?)")
            found = self._remember(Account(row["id"], kind, None))
        return found

    async def of(self, db: Db, kind: AccountKind, owner_id: uuid.UUID) -> Account:
        """The user's account of ``kind``, created (empty) if they have none yet."""
        assert not kind.system, kind
        found = self._accounts.get((kind, owner_id))
        if found is not None:
            return found
        row = await db.fetchrow(
            "SELECT id FROM ledger_accounts WHERE kind = $1 AND owner_id = $2", kind, owner_id
        )
        if row is None:
            # A concurrent creator may win; DO NOTHING then read theirs.
            row = await db.fetchrow(
                "INSERT INTO ledger_accounts (kind, owner_id, balance) "
                "VALUES ($1, $2, CASE WHEN $1 = 'wallet' THEN 0 END) "
                "ON CONFLICT DO NOTHING RETURNING id",
                kind,
                owner_id,
            ) or await db.fetchrow(
                "SELECT id FROM ledger_accounts WHERE kind = $1 AND owner_id = $2", kind, owner_id
            )
        assert row is not None  # the query always returns a row
        return self._remember(Account(row["id"], kind, owner_id))

    async def find(self, db: Db, kind: AccountKind, owner_id: uuid.UUID) -> Account | None:
        """The user's account of ``kind`` if it exists (never creates one)."""
        found = self._accounts.get((kind, owner_id))
        if found is None:
            row = await db.fetchrow(
                "SELECT id FROM ledger_accounts WHERE kind = $1 AND owner_id = $2", kind, owner_id
            )
            if row is None:
                return None
            found = self._remember(Account(row["id"], kind, owner_id))
        return found

    def _remember(self, account: Account) -> Account:
        if len(self._accounts) >= _MAX_CACHED:
            self._accounts.clear()  # ids are cheap to re-read; a bound matters more than hits
        self._accounts[(account.kind, account.owner_id)] = account
        return account

    async def current_schedule(self, db: Db) -> FeeSchedule:
        """The fee schedule in force now (re-read every few seconds, and at the moment the next
        scheduled version takes effect: new versions start at least a minute ahead, see
        `api.admin.money_routes`, so every node switches at that instant)."""
        now = time.monotonic_ns()
        if self._current is not None and now < self._current[0]:
            return self._current[1]
        row = await db.fetchrow(
            "SELECT version, creator_bps, platform_bps, referral_bps, platform_rounding, "
            "(SELECT (least(extract(epoch FROM min(n.effective_from) - now()), 3600) * 1e9)"
            "::bigint FROM ledger_fee_schedules n WHERE n.effective_from > now()) AS next_in_ns "
            "FROM ledger_fee_schedules "
            "WHERE effective_from <= now() ORDER BY effective_from DESC LIMIT 1"
        )
        if row is None:
            raise LookupError("no fee schedule is in force")
        values = dict(row)
        next_in = values.pop("next_in_ns")
        schedule = FeeSchedule(**values)
        self._schedules[schedule.version] = schedule
        ttl = _SCHEDULE_TTL if next_in is None else min(_SCHEDULE_TTL, max(next_in, 0))
        self._current = (now + ttl, schedule)  # valid until then
        return schedule

    async def schedule(self, db: Db, version: str) -> FeeSchedule:
        """A schedule by version (for recomputing and reversing old splits)."""
        found = self._schedules.get(version)
        if found is None:
            row = await db.fetchrow(
                "SELECT version, creator_bps, platform_bps, referral_bps, platform_rounding "
                "FROM ledger_fee_schedules WHERE version = $1",
                version,
            )
            if row is None:
                raise LookupError(f"unknown fee schedule {version!r}")
            found = self._schedules[version] = FeeSchedule(**dict(row))
        return found

    async def referrer_of(self, db: Db, user_id: uuid.UUID) -> uuid.UUID | None:
        now = time.monotonic_ns()
        cached = self._referrers.get(user_id)
        if cached is not None and now - cached[0] < _REFERRAL_TTL:
            return cached[1]
        referrer = await db.fetchval(
            "SELECT referrer_id FROM affiliate_referrals WHERE referred_id = $1", user_id
        )
        if len(self._referrers) >= _MAX_CACHED:
            self._referrers.clear()
        self._referrers[user_id] = (now, referrer)
        return referrer

    async def payee_of_stream(self, db: Db, stream_id: uuid.UUID) -> tuple[bool, uuid.UUID | None]:
        """(stream exists, its creator's user id). A stream's creator never changes once set."""
        payee = self._payees.get(stream_id)
        if payee is not None:
            return True, payee
        row: asyncpg.Record | None = await db.fetchrow(
            "SELECT creator_id FROM streams WHERE id = $1", stream_id
        )
        if row is None:
            return False, None
        if row["creator_id"] is not None:
            if len(self._payees) >= _MAX_CACHED:
                self._payees.clear()
            self._payees[stream_id] = row["creator_id"]
        return True, row["creator_id"]
