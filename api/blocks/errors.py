"""The caller-visible errors of blocks."""

from __future__ import annotations

from teezu.errors import Forbidden, Invalid


class CannotBlockSelf(Invalid):
    code = "CANNOT_BLOCK_SELF"


class Blocked(Forbidden):
    """One of the two accounts blocked the other: no comments, likes or messages between them."""

    code = "BLOCKED"
