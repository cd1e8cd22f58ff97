"""Which referral, if any, a sign-up is attributed to (pure; `api.affiliates.store` does I/O).

Rules:

* **First touch**: the first referral link a visitor followed wins; later links do not replace
  it (the click endpoint keeps the first click's cookie). A link beats a code typed at sign-up.
* **Window**: a click counts for `WINDOW` after it was made; an older one is ignored.
* **No self-referral**: the code's owner cannot be the one signing up — the request carries
  the owner's own session, or the new e-mail is the owner's under an alias (case, a ``+tag``,
  dots in a Gmail address). A typed code that is a self-referral refuses the sign-up
  (``SELF_REFERRAL``); a link's is dropped silently (the visitor did not ask for it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(days=30)
REF_COOKIE = "teezu_ref"  # the first followed link's click id, kept for `WINDOW`
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: lower case, no ``+tag``, Gmail's dots ignored."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True)
class Touch:
    """A referral source: whose code, and the click it came from (None: a typed code)."""

    owner_id: uuid.UUID
    owner_email: str
    click_id: uuid.UUID | None = None
    clicked_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    referrer: uuid.UUID | None
    click_id: uuid.UUID | None = None
    via: str | None = None  # 'link' | 'code'
    self_referral: bool = False  # the typed code was the caller's own: refuse the sign-up


def attribute(
    *,
    email: str,
    caller: uuid.UUID | None,
    click: Touch | None,
    typed: Touch | None,
    now: datetime,
) -> Decision:
    """The referral for a sign-up with ``email`` by a request signed in as ``caller`` (if any)."""

    def own(t: Touch) -> bool:
        return t.owner_id == caller or mailbox(t.owner_email) == mailbox(email)

    if typed is not None and own(typed):
        return Decision(None, self_referral=True)
    if (
        click is not None
        and click.clicked_at is not None
        and now - WINDOW <= click.clicked_at <= now
        and not own(click)
    ):
        return Decision(click.owner_id, click.click_id, "link")
    if typed is not None:
        return Decision(typed.owner_id, None, "code")
    return Decision(None)
