"""The demo data of ``teezu serve --demo`` (what ``make run`` starts): made on that flag only.

Everything here is marked as demo data so that nobody mistakes it for a real check:

* ``demo_reviewer``, the built-in demo reviewer: an account without a password (it cannot sign
  in) and without moderator rights, which exists only to be named as the reviewer below;
* ``demo``, the demo creator (``demo@teezu.example``), with a random password printed once;
* the creator's identity record, from the provider ``"demo"`` (no document was looked at),
  approved by the demo reviewer with `DEMO_REVIEW_REASON`: rows of the append-only identity
  tables like any other, plus an audit entry;
* a public, ``sfw``-rated stream (anyone may watch it without the adult age gate);
* on every start, the demo creator's consent check-in for the stream's next broadcast when it
  has none (a check-in counts for one broadcast; the next one needs a new one, as for anyone).

``var/demo-stream.json`` (mode 0600) remembers the ids and the stream's publish token; it is the
only thing that makes an account the demo's, so handles someone else signed up with are never
taken over.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg

from api.auth import audit
from api.auth.passwords import PasswordHasher
from api.auth.rbac import Role
from api.consent import store as consent
from api.moderation.store import set_rating
from api.streams import store as streams
from api.users import store as users
from api.verification import store as identity
from api.verification.upload import Submission
from teezu.settings import Settings

CREATOR_HANDLE = "demo"
CREATOR_EMAIL = "demo@teezu.example"  # .example: reserved, never anyone's real address
REVIEWER_HANDLE = "demo_reviewer"
REVIEWER_EMAIL = "demo-reviewer@teezu.example"
DEMO_PROVIDER = "demo"
DEMO_REVIEW_REASON = (
    "demo data: approved by the built-in demo reviewer of `teezu serve --demo`; "
    "no identity document was checked"
)
NO_PASSWORD = "!"  # not a bcrypt hash: no password matches it (api/auth/passwords.py)
STREAM_TITLE = "Demo stream"


class DemoError(RuntimeError):
    """The demo data cannot be made (e.g. its handles belong to accounts it did not make)."""


@dataclass(frozen=True)
class Demo:
    stream_id: str
    token: str  # the stream's publish token
    email: str  # the demo creator's sign-in
    password: str | None  # only on the start that made the account: it is never stored


def _state_file(settings: Settings) -> Path:
    return settings.var_dir / "demo-stream.json"


def _load(path: Path) -> dict[str, str] | None:
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    # A file from before the demo had accounts names only a stream: start afresh.
    keys = ("id", "token", "creatorId", "reviewerId")
    return saved if isinstance(saved, dict) and all(k in saved for k in keys) else None


def _save(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)


async def _still_there(pool: asyncpg.Pool, state: dict[str, str]) -> bool:
    row = await streams.get_stream(pool, uuid.UUID(state["id"]))
    return row is not None and row.creator_id == uuid.UUID(state["creatorId"])


async def _make(pool: asyncpg.Pool, settings: Settings) -> tuple[dict[str, str], str]:
    """The accounts, the approved identity record and the stream; returns (state, password)."""
    for handle in (CREATOR_HANDLE, REVIEWER_HANDLE):
        if await users.get_by_handle(pool, handle) is not None:
            raise DemoError(
                f"an account with the handle {handle!r} exists that this var/ directory's demo "
                f"data ({_state_file(settings)}) does not name, and --demo approves no account "
                "it did not make: start the demo with a fresh TEEZU_VAR_DIR"
            )
    reviewer = await users.create_user(
        pool,
        email=REVIEWER_EMAIL,
        handle=REVIEWER_HANDLE,
        password_hash=NO_PASSWORD,
        date_of_birth=date(1970, 1, 1),
        roles=frozenset({Role.MEMBER}),  # reviews nothing through the API: it cannot sign in
    )
    password = secrets.token_urlsafe(12)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    try:
        password_hash = await hasher.hash(password)
    finally:
        hasher.close()
    creator = await users.create_user(
        pool,
        email=CREATOR_EMAIL,
        handle=CREATOR_HANDLE,
        password_hash=password_hash,
        date_of_birth=date(1990, 1, 1),
        roles=frozenset({Role.CREATOR}),
    )
    record_id = uuid.uuid4()
    await identity.insert_record(
        pool,
        record_id,
        creator.id,
        DEMO_PROVIDER,
        Submission(legal_name="Demo Performer (demo data)", date_of_birth=date(1990, 1, 1)),
        [],
    )
    await identity.add_review(pool, record_id, "approved", reviewer.id, DEMO_REVIEW_REASON)
    await audit.record(
        pool,
        "identity.review.approved",
        actor_id=reviewer.id,
        subject_id=creator.id,
        target=f"identity:{record_id}",
        meta={"reason": DEMO_REVIEW_REASON, "demo": True},
    )
    row, token = await streams.create_stream(
        pool, title=STREAM_TITLE, creator_handle=CREATOR_HANDLE, creator_id=creator.id
    )
    # sfw: anyone may watch it without the adult age gate (moderation freezes it on explicit
    # content instead), so the demo plays on a fresh install.
    await set_rating(pool, row.id, "sfw")
    state = {
        "id": str(row.id),
        "token": token,
        "creatorId": str(creator.id),
        "reviewerId": str(reviewer.id),
    }
    return state, password


async def seed(pool: asyncpg.Pool, settings: Settings) -> Demo:
    """Make the demo data on the first start (kept across restarts) and check the creator in."""
    path = _state_file(settings)
    state = await asyncio.to_thread(_load, path)  # file work: off the loop
    password = None
    if state is None or not await _still_there(pool, state):
        state, password = await _make(pool, settings)
        await asyncio.to_thread(_save, path, state)
    stream_id, creator_id = uuid.UUID(state["id"]), uuid.UUID(state["creatorId"])
    if creator_id not in await consent.checked_in(pool, stream_id):
        await consent.record(pool, stream_id, creator_id, "confirm", None)
        await audit.record(
            pool,
            "consent.demo_checkin",  # by the demo seed, on the demo creator's behalf
            subject_id=creator_id,
            target=f"stream:{stream_id}",
            meta={"demo": True},
        )
    return Demo(state["id"], state["token"], CREATOR_EMAIL, password)
