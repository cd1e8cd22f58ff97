"""Personal data of identity verification: records (legal name, date of birth, aliases), the
encrypted ID images and the review history.

All of it is a legal record (performer age and identity records must be kept): nothing is
deleted on erasure. The documents stay AES-GCM encrypted; the records are locked and hidden
because the account is ``erased``: `api.verification.store` reads only records of accounts
that are not erased, so neither the owner (who can no longer sign in) nor moderators see them.
The export carries the records' metadata, never the images.
"""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, ExportContext, PersonalData, Retained

_REASON = "legal record of performer identity and age"
_RECORDS = "SELECT id FROM identity_records WHERE user_id = $1"


async def export(ctx: ExportContext) -> dict[str, Any]:
    records = await ctx.conn.fetch(
        "SELECT id, provider, legal_name, date_of_birth, aliases, created_at "
        "FROM identity_records WHERE user_id = $1 ORDER BY created_at",
        ctx.subject.user_id,
    )
    out = []
    for r in records:
        docs = await ctx.conn.fetch(
            "SELECT kind, content_type, created_at, length(ciphertext) AS size "
            "FROM identity_documents WHERE record_id = $1 ORDER BY kind",
            r["id"],
        )
        reviews = await ctx.conn.fetch(
            "SELECT status, reason, at FROM identity_reviews WHERE record_id = $1 ORDER BY id",
            r["id"],
        )
        out.append(
            {
                "id": r["id"],
                "provider": r["provider"],
                "legalName": r["legal_name"],
                "dateOfBirth": r["date_of_birth"],
                "aliases": list(r["aliases"]),
                "createdAt": r["created_at"],
                "documents": [dict(d) for d in docs],
                "reviews": [dict(v) for v in reviews],
            }
        )
    return {"identity_records.json": out}


REGISTRY.register(
    PersonalData(
        name="verification",
        tables=("identity_records", "identity_documents", "identity_reviews"),
        export=export,
        erase=None,  # everything is retained (append-only by law); locked by the account status
        retained=(
            Retained("identity_records", "user_id = $1", _REASON),
            Retained("identity_documents", f"record_id IN ({_RECORDS})", _REASON),
            Retained("identity_reviews", f"record_id IN ({_RECORDS}) OR reviewer_id = $1", _REASON),
        ),
        order=70,
    )
)
