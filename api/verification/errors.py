"""The caller-visible errors of identity verification (mapped by `api.envelope`)."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Invalid, NotFound, PayloadTooLarge


class RecordNotFound(NotFound):
    """No such record, or not the caller's: the two look the same so ids can't be probed."""

    code = "VERIFICATION_NOT_FOUND"


# ``{record_id}`` in a path: a malformed one is an unknown record.
RECORD_ID = IdParam(RecordNotFound, "no such verification record", "recordId")


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"


class InvalidSubmission(Invalid):
    code = "INVALID_SUBMISSION"


class InvalidDocument(Invalid):
    """An uploaded file whose bytes are not an image we accept (whatever its name says)."""

    code = "INVALID_DOCUMENT"


class DocumentTooLarge(PayloadTooLarge):
    code = "DOCUMENT_TOO_LARGE"


class Underage(Invalid):
    code = "UNDERAGE"


class AlreadyReviewed(Conflict):
    code = "ALREADY_REVIEWED"
