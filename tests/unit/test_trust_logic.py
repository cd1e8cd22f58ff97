"""Pure trust-and-safety logic: image sniffing, age, the go-live gate, moderation effects."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag

from api.auth.signup import age_on
from api.consent.errors import ConsentRequired, PerformerNotVerified
from api.consent.gate import PerformerState, check_ready
from api.reports.actions import check_standing, effect
from api.reports.errors import AccountBanned, AccountSuspended, ActionNotApplicable
from api.verification.cipher import DocumentCipher
from api.verification.upload import sniff_image

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"GIF89a", None),
        (b"hello, I am a .jpg", None),
        (b"", None),
    ],
)
def test_sniff_image(data, kind):
    assert sniff_image(data) == kind


def test_age_on_birthdays():
    assert age_on(date(2008, 11, 22), date(2026, 11, 22)) == 18
    assert age_on(date(2008, 11, 23), date(2026, 11, 22)) == 17


def test_cipher_binds_record_and_kind():
    c = DocumentCipher(b"secret")
    rid = uuid.uuid4()
    nonce, ct = c.encrypt(rid, "selfie", b"pixels")
    assert c.decrypt(rid, "selfie", nonce, ct) == b"pixels"
    with pytest.raises(InvalidTag):
        c.decrypt(rid, "id_front", nonce, ct)
    with pytest.raises(InvalidTag):
        c.decrypt(uuid.uuid4(), "selfie", nonce, ct)
    with pytest.raises(InvalidTag):
        DocumentCipher(b"other").decrypt(rid, "selfie", nonce, ct)


def _p(handle: str, verified: bool, checked_in: bool) -> PerformerState:
    return PerformerState(uuid.uuid4(), handle, "co_performer", verified, checked_in)


def test_gate_reports_verification_before_consent():
    with pytest.raises(PerformerNotVerified) as exc:
        check_ready([_p("a", False, False), _p("b", True, False)])
    assert exc.value.meta == {"performers": ["a"]}
    with pytest.raises(ConsentRequired) as exc2:
        check_ready([_p("a", True, True), _p("b", True, False)])
    assert exc2.value.meta == {"performers": ["b"]}
    check_ready([_p("a", True, True)])


def test_effects():
    who = uuid.uuid4()
    assert effect("suspend", "user", who, days=3, now=NOW).suspended_until == NOW + timedelta(3)
    assert effect("ban", "stream", who, days=1, now=NOW).user_status == "banned"
    assert effect("remove", "stream", who, days=1, now=NOW).freeze_stream
    assert effect("remove", "message", None, days=1, now=NOW).user_status is None
    with pytest.raises(ActionNotApplicable):
        effect("warn", "post", None, days=1, now=NOW)
    with pytest.raises(ActionNotApplicable):
        effect("remove", "user", who, days=1, now=NOW)


def test_standing():
    check_standing("active", None, NOW)
    check_standing("suspended", NOW - timedelta(seconds=1), NOW)  # lapsed
    with pytest.raises(AccountSuspended):
        check_standing("suspended", NOW + timedelta(days=1), NOW)
    with pytest.raises(AccountBanned):
        check_standing("banned", None, NOW)
