"""Reading a verification submission (multipart form) and checking it: no I/O, but CPU work
(MIME parsing, image headers): call it in a thread.

The form carries ``legalName``, ``dateOfBirth`` (YYYY-MM-DD), optional ``aliases``
(comma-separated) and the files ``idFront``, ``selfie`` and optionally ``idBack``. A file's
type is sniffed from its bytes: the file name and the declared part type are ignored. Each
image's picture size is read from its header and held to the pixel limit every decoded image
obeys (`teezu.images`), so a decompression bomb never reaches a reviewer's screen.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field
from datetime import date

from api.auth.signup import age_on
from api.verification.errors import (
    DocumentTooLarge,
    InvalidDocument,
    InvalidSubmission,
    Underage,
)
from teezu.images import UnreadableImage, image_size

ADULT_AGE = 18
# Form field name -> stored document kind.
FILES = {"idFront": "id_front", "idBack": "id_back", "selfie": "selfie"}
REQUIRED_FILES = ("idFront", "selfie")
TEXT_FIELDS = ("legalName", "dateOfBirth", "aliases")
MAX_ALIASES = 10


@dataclass(frozen=True)
class Document:
    kind: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Submission:
    legal_name: str
    date_of_birth: date
    aliases: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


def sniff_image(data: bytes) -> str | None:
    """The image type ``data`` really is (JPEG, PNG or WebP), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_form(body: bytes, content_type_header: str) -> dict[str, tuple[str | None, bytes]]:
    """``{field name: (file name or None, bytes)}`` of a multipart/form-data body."""
    if "boundary=" not in content_type_header:
        raise InvalidSubmission("send multipart/form-data with a boundary")
    # The stdlib MIME parser reads form-data (RFC 7578 is MIME); bytes in, bytes out.
    head = f"Content-Type: {content_type_header}\r\n\r\n".encode("latin-1", "replace")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise InvalidSubmission("the body is not a multipart form")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in fields:
            raise InvalidSubmission("every form part needs a distinct name")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise InvalidSubmission("nested multipart parts are not accepted")
        fields[name] = (part.get_filename(), payload)
    return fields


def submission(
    fields: dict[str, tuple[str | None, bytes]], *, max_image: int, today: date
) -> Submission:
    """Check the form's fields and files; raises the matching envelope error."""
    unknown = sorted(set(fields) - set(FILES) - set(TEXT_FIELDS))
    if unknown:
        raise InvalidSubmission("unknown form fields", meta={"fields": unknown})
    missing = [f for f in ("legalName", "dateOfBirth", *REQUIRED_FILES) if f not in fields]
    if missing:
        raise InvalidSubmission("missing form fields", meta={"fields": missing})
    try:
        name = fields["legalName"][1].decode().strip()
        born = date.fromisoformat(fields["dateOfBirth"][1].decode().strip())
        aliases_raw = fields["aliases"][1].decode() if "aliases" in fields else ""
    except (UnicodeDecodeError, ValueError):
        raise InvalidSubmission(
            "legalName and aliases are UTF-8 text; dateOfBirth is YYYY-MM-DD"
        ) from None
    if not 1 <= len(name) <= 200 or not name.isprintable():
        raise InvalidSubmission("legalName must be 1-200 printable characters")
    aliases = [a.strip() for a in aliases_raw.split(",") if a.strip()]
    if len(aliases) > MAX_ALIASES or any(len(a) > 100 or not a.isprintable() for a in aliases):
        raise InvalidSubmission(f"at most {MAX_ALIASES} aliases of up to 100 characters")
    if born > today or age_on(born, today) < ADULT_AGE:
        raise Underage(f"performers must be at least {ADULT_AGE}", meta={"minimumAge": ADULT_AGE})
    documents = []
    for form_name, kind in FILES.items():
        if form_name not in fields:
            continue
        data = fields[form_name][1]
        if len(data) > max_image:
            raise DocumentTooLarge(
                f"{form_name} is over {max_image} bytes",
                meta={"field": form_name, "limit": max_image},
            )
        ctype = sniff_image(data)
        if ctype is None:
            raise InvalidDocument(
                f"{form_name} is not a JPEG, PNG or WebP image",
                meta={"field": form_name, "accepted": ["image/jpeg", "image/png", "image/webp"]},
            )
        try:
            image_size(data, field=form_name)  # the one pixel limit (teezu.images)
        except UnreadableImage:
            raise InvalidDocument(
                f"{form_name} cannot be read as an image", meta={"field": form_name}
            ) from None
        documents.append(Document(kind, ctype, data))
    return Submission(name, born, aliases, documents)
