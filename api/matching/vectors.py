"""pgvector's text form for vectors (asyncpg has no codec for the type; text is cast in SQL)."""

from __future__ import annotations

from collections.abc import Iterable


def to_pgvector(v: Iterable[float]) -> str:
    """A vector as pgvector's text input (``[0.1,0.2,...]``)."""
    return "[" + ",".join(f"{float(x):.6g}" for x in v) + "]"


def from_pgvector(text: str) -> list[float]:
    return [float(x) for x in text.strip("[]").split(",")] if text.strip("[]") else []
