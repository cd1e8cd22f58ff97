"""Pure logic of posts and moderator review: what a scan's decision means for a post, who lifts
which freeze, upload sniffing and form checks, and the still-picture forensic mark."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from api.auth.principal import ANONYMOUS, Principal
from api.auth.rbac import Role
from api.moderation.freezes import who_lifts
from api.moderation.policy import decide, load_policy
from api.posts import media
from api.posts.access import ViewerGate
from api.posts.errors import (
    ExplicitContent,
    InvalidPost,
    MediaNotAvailable,
    MediaTooLarge,
    UnsupportedMedia,
)
from api.posts.scanner import post_outcome
from api.posts.store import PostRow
from engine.forensic import identify_image, mark_image
from hls.gate import AgeVerificationRequired
from workers.detectors import Detection

POLICY = load_policy()
BOX = (0, 0, 10, 10)


@pytest.mark.parametrize(
    ("rating", "audience", "label", "score", "expected"),
    [
        ("adult", "public", "FACE_FEMALE", 0.9, ("published", False, False)),
        ("adult", "public", "BUTTOCKS_EXPOSED", 0.5, ("published", True, False)),
        ("adult", "public", "FEMALE_GENITALIA_EXPOSED", 0.7, ("review", True, True)),
        ("adult", "members", "FEMALE_GENITALIA_EXPOSED", 0.7, ("published", True, False)),
        ("sfw", "public", "BUTTOCKS_EXPOSED", 0.4, ("review", True, True)),
        ("sfw", "public", "BUTTOCKS_EXPOSED", 0.8, ("rejected", True, True)),
        ("sfw", "members", "BUTTOCKS_COVERED", 0.9, ("published", False, False)),
    ],
)
def test_post_outcome_follows_the_policy(rating, audience, label, score, expected):
    decision = decide(POLICY, rating, [Detection(label, score, BOX)], audience)
    out = post_outcome(decision)
    assert (out.status, out.explicit, out.flag) == expected


@pytest.mark.parametrize(
    ("reason", "lifter"),
    [
        ("safe word", "creator"),
        ("consent revoked", "creator"),
        ("moderation: BUTTOCKS_EXPOSED 0.81", "moderator"),
        ("removed by moderation (violence)", "moderator"),
        ("something new", "moderator"),  # unknown reasons stay with moderation
        (None, "moderator"),
    ],
)
def test_who_lifts_a_freeze(reason, lifter):
    assert who_lifts(reason) == lifter


@pytest.mark.parametrize(
    ("head", "ctype"),
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x01\x00", "video/webm"),
        (b"GIF89a......", None),
        (b"<html>", None),
    ],
)
def test_sniff_reads_bytes(head, ctype):
    assert media.sniff(head + b"\x00" * 32) == ctype


def test_post_form_checks():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 10
    ok = media.post_form({"file": ("a.txt", png), "caption": (None, b" hi ")}, max_bytes=100)
    assert (ok.kind, ok.content_type, ok.caption, ok.audience, ok.rating) == (
        "image",
        "image/png",
        "hi",
        "public",
        "adult",
    )
    with pytest.raises(MediaTooLarge):
        media.post_form({"file": (None, png)}, max_bytes=5)
    with pytest.raises(UnsupportedMedia):
        media.post_form({"file": ("a.png", b"not a picture")}, max_bytes=100)
    for bad in (
        {},
        {"file": (None, png), "audience": (None, b"friends")},
        {"file": (None, png), "nope": (None, b"1")},
        {"file": (None, b"")},
    ):
        with pytest.raises(InvalidPost):
            media.post_form(bad, max_bytes=100)


def textured(w: int = 800, h: int = 450) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)


def luma_of_jpeg(bgr: np.ndarray, quality: int, scale: float = 1.0) -> np.ndarray:
    if scale != 1.0:
        size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def test_still_picture_mark_survives_jpeg_and_scaling():
    key, viewer = b"unit-key", 0x0123456789ABCDEF
    picture = textured()
    marked = mark_image(key, viewer, picture)
    assert np.abs(marked.astype(int) - picture).max() <= 4  # faint
    assert identify_image(key, luma_of_jpeg(marked, 90)).viewer == viewer
    assert identify_image(key, luma_of_jpeg(marked, 75, scale=0.5)).viewer == viewer
    assert identify_image(b"other-key", luma_of_jpeg(marked, 90)).viewer is None
    assert identify_image(key, luma_of_jpeg(picture, 90)).viewer is None


def _post(**kw: object) -> PostRow:
    base = dict(
        id=uuid.uuid4(),
        creator_id=uuid.uuid4(),
        kind="image",
        content_type="image/png",
        caption="",
        audience="public",
        rating="adult",
        status="published",
        explicit=False,
        size_bytes=1,
        width=1,
        height=1,
        duration=None,
        media_key="k",
        preview_key="p",
        blurred_key="b",
        scan=None,
        scan_attempts=1,
        created_at=datetime.now(UTC),
        scanned_at=None,
        published_at=None,
    )
    return PostRow(**{**base, **kw})


def test_sharp_media_rules():
    member = Principal(uuid.uuid4(), roles=frozenset({Role.MEMBER}))
    adult, sfw = _post(), _post(rating="sfw")
    explicit_sfw = _post(rating="sfw", explicit=True)
    pending = _post(status="pending")
    # Gate off: explicit posts need a signed-in account; nothing else is held back.
    off = ViewerGate(ANONYMOUS, None, "none", "")
    assert off.sharp(adult) and off.sharp(sfw) and not off.sharp(explicit_sfw)
    with pytest.raises(ExplicitContent):
        off.check_sharp(explicit_sfw)
    assert ViewerGate(member, None, "none", "").sharp(explicit_sfw)
    # Gate on: adult-rated or explicit posts need the level the place requires.
    on = ViewerGate(member, "self_declared", "none", "")
    assert on.sharp(sfw) and not on.sharp(adult) and not on.sharp(explicit_sfw)
    with pytest.raises(AgeVerificationRequired):
        on.check_sharp(adult)
    assert ViewerGate(member, "self_declared", "self_declared", "").sharp(explicit_sfw)
    assert not ViewerGate(member, "verified", "self_declared", "GB").sharp(adult)
    assert ViewerGate(ANONYMOUS, "none", "none", "XX").sharp(adult)
    # Never before publication, not even to its creator; the creator is exempt from the gate.
    owner = Principal(adult.creator_id, roles=frozenset({Role.CREATOR}))
    with pytest.raises(MediaNotAvailable):
        ViewerGate(owner, None, "none", "").check_sharp(_post(status="review"))
    assert not ViewerGate(owner, None, "none", "").sharp(pending)
    assert ViewerGate(owner, "verified", "none", "").sharp(adult)
