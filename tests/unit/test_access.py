"""Playback tokens: signing, every way of being refused, and carrying them into playlists."""

from __future__ import annotations

import m3u8
import pytest

from hls.access import (
    TokenExpired,
    TokenForOtherStream,
    TokenInvalid,
    TokenRequired,
    sign_playback_token,
    tokenize_playlist,
    verify_playback_token,
)

KEY = b"k" * 32
STREAM = "0c7b5a1e-1111-4222-8333-444455556666"
OTHER = "9f000000-1111-4222-8333-444455556666"


def test_valid_token_grants_the_viewer():
    token = sign_playback_token(KEY, STREAM, "viewer_1", 2_000, epoch=0)
    grant = verify_playback_token(KEY, token, STREAM, now=1_000)
    assert (grant.viewer_id, grant.expires, grant.stream_id) == ("viewer_1", 2_000, STREAM)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: None, TokenRequired),
        (lambda: "", TokenRequired),
        (lambda: "garbage", TokenInvalid),
        (lambda: sign_playback_token(KEY, STREAM, "v", 999, epoch=0), TokenExpired),
        (lambda: sign_playback_token(b"other key", STREAM, "v", 2_000, epoch=0), TokenInvalid),
        (
            lambda: sign_playback_token(KEY, STREAM, "v", 2_000, epoch=0).replace(
                ".2000.", ".9999."
            ),
            TokenInvalid,
        ),
        (
            lambda: sign_playback_token(KEY, STREAM, "v", 2_000, epoch=0).replace(".v.", ".w."),
            TokenInvalid,
        ),
        (lambda: sign_playback_token(KEY, OTHER, "v", 2_000, epoch=0), TokenForOtherStream),
        # a non-ASCII signature: compare_digest would raise TypeError (a 500), not mismatch
        (
            lambda: sign_playback_token(KEY, STREAM, "v", 2_000, epoch=0)[:-1] + "é",
            TokenInvalid,
        ),
    ],
    ids=[
        "none",
        "empty",
        "garbage",
        "expired",
        "wrong-key",
        "longer-expiry",
        "other-viewer",
        "other-stream",
        "non-ascii-mac",
    ],
)
def test_refusals(make, error):
    with pytest.raises(error) as exc:
        verify_playback_token(KEY, make(), STREAM, now=1_000)
    assert exc.value.status == 403


def test_signing_rejects_bad_viewers_and_empty_keys():
    with pytest.raises(ValueError):
        sign_playback_token(KEY, STREAM, "has space", 1, epoch=0)
    with pytest.raises(ValueError):
        sign_playback_token(b"", STREAM, "v", 1, epoch=0)


def test_every_uri_in_a_playlist_carries_the_token():
    text = "\n".join(
        [
            "#EXTM3U",
            '#EXT-X-MAP:URI="init.mp4"',
            '#EXT-X-PART:DURATION=0.33333,URI="part1.0.m4s",INDEPENDENT=YES',
            "#EXTINF:2.00000,",
            "seg1.m4s",
            '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part2.0.m4s"',
            '#EXT-X-RENDITION-REPORT:URI="../480p/index.m3u8",LAST-MSN=2,LAST-PART=0',
            "",
        ]
    )
    out = tokenize_playlist(text, "a.b.1.c+d")
    pl = m3u8.loads(out)
    assert pl.segment_map[0].uri == "init.mp4?token=a.b.1.c%2Bd"
    assert pl.segments[0].uri == "seg1.m4s?token=a.b.1.c%2Bd"
    assert pl.segments[0].parts[0].uri == "part1.0.m4s?token=a.b.1.c%2Bd"
    assert pl.preload_hint.uri == "part2.0.m4s?token=a.b.1.c%2Bd"
    assert pl.rendition_reports[0].uri == "../480p/index.m3u8?token=a.b.1.c%2Bd"
    assert out.count("token=") == 5


async def test_policy_lookups_are_single_flight_and_cached():
    import asyncio

    from hls.origin import PlaybackPolicy

    calls = []

    async def visibility_of(stream_id: str) -> str | None:
        calls.append(stream_id)
        await asyncio.sleep(0.01)
        if stream_id == "broken":
            raise ConnectionError("database down")
        return "public"

    policy = PlaybackPolicy(b"k" * 32, visibility_of)
    # 500 held requests waking on one part miss the cache together: one query.
    got = await asyncio.gather(*(policy.visibility("s1") for _ in range(500)))
    assert got == ["public"] * 500 and calls == ["s1"]
    assert await policy.visibility("s1") == "public" and calls == ["s1"]  # cached
    # A failed lookup is not cached: the next request asks again.
    for _ in range(2):
        try:
            await policy.visibility("broken")
        except ConnectionError:
            pass
    assert calls.count("broken") == 2


def test_the_epoch_is_signed_and_old_formats_are_refused():
    token = sign_playback_token(KEY, STREAM, "v", 2_000, epoch=7, age="verified", place="NL")
    tag, viewer, expires, claims, epoch, _mac = token.split(".")
    assert (viewer, expires, claims, epoch) == ("v", "2000", "vNL", "7")
    assert verify_playback_token(KEY, token, STREAM, now=1_000).epoch == 7
    with pytest.raises(TokenInvalid, match="signature"):
        verify_playback_token(KEY, token.replace(".vNL.7.", ".vNL.8."), STREAM, now=1_000)
    # The formats before epochs (no claims, or claims without an epoch): refused as malformed.
    parts = token.split(".")
    for old in (".".join(parts[:3] + parts[5:]), ".".join(parts[:4] + parts[5:])):
        with pytest.raises(TokenInvalid, match="malformed"):
            verify_playback_token(KEY, old, STREAM, now=1_000)
    with pytest.raises(ValueError):
        sign_playback_token(KEY, STREAM, "v", 2_000, epoch=-1)


def test_no_token_lives_longer_than_the_maximum_whoever_signed_it():
    from hls.access import MAX_LIFETIME

    ok = sign_playback_token(KEY, STREAM, "v", 1_000 + MAX_LIFETIME, epoch=0)
    assert verify_playback_token(KEY, ok, STREAM, now=1_000).expires == 1_000 + MAX_LIFETIME
    week = sign_playback_token(KEY, STREAM, "v", 1_000 + 7 * 24 * 3600, epoch=0)
    with pytest.raises(TokenInvalid) as exc:
        verify_playback_token(KEY, week, STREAM, now=1_000)
    assert exc.value.meta == {"maxLifetimeSeconds": MAX_LIFETIME}


def test_a_change_voids_older_tokens_for_everyone_or_one_viewer():
    from types import MappingProxyType

    from hls.access import TokenRevoked
    from hls.gate import StreamAccess
    from hls.origin import PlaybackPolicy

    policy = PlaybackPolicy(KEY, None)  # type: ignore[arg-type]
    now = int(__import__("time").time())

    def token(viewer: str, epoch: int) -> str:
        return sign_playback_token(KEY, STREAM, viewer, now + 60, epoch=epoch)

    # Floor 3 (say, the visibility changed at epoch 3); viewer "b" revoked at epoch 5.
    access = StreamAccess("subscribers", floor=3, revoked=MappingProxyType({"b": 5}))
    assert policy.decide(STREAM, access, token("a", 3)) is not None
    assert policy.decide(STREAM, access, token("b", 5)) is not None  # signed after the ban
    for viewer, epoch in (("a", 2), ("b", 4), ("b", 2)):
        with pytest.raises(TokenRevoked) as exc:
            policy.decide(STREAM, access, token(viewer, epoch))
        assert exc.value.code == "PLAYBACK_TOKEN_REVOKED" and exc.value.status == 403
        assert exc.value.meta["tokenFrom"] == f"/api/v1/streams/{STREAM}/playback-tokens"
    # What a session that does not ask again (WHEP) is held to.
    grant = verify_playback_token(KEY, token("a", 3), STREAM, now)
    policy.readmit(STREAM, access, grant, "")
    with pytest.raises(TokenRevoked):
        policy.readmit(STREAM, StreamAccess("subscribers", floor=4), grant, "")
    policy.readmit(STREAM, StreamAccess("public"), None, "")  # open: anyone
    with pytest.raises(TokenRequired):  # it stopped being open: admitted without a token
        policy.readmit(STREAM, StreamAccess("followers"), None, "")
