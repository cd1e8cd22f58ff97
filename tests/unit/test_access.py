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
    token = sign_playback_token(KEY, STREAM, "viewer_1", 2_000)
    grant = verify_playback_token(KEY, token, STREAM, now=1_000)
    assert (grant.viewer_id, grant.expires, grant.stream_id) == ("viewer_1", 2_000, STREAM)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: None, TokenRequired),
        (lambda: "", TokenRequired),
        (lambda: "garbage", TokenInvalid),
        (lambda: sign_playback_token(KEY, STREAM, "v", 999), TokenExpired),
        (lambda: sign_playback_token(b"other key", STREAM, "v", 2_000), TokenInvalid),
        (
            lambda: sign_playback_token(KEY, STREAM, "v", 2_000).replace(".2000.", ".9999."),
            TokenInvalid,
        ),
        (lambda: sign_playback_token(KEY, STREAM, "v", 2_000).replace(".v.", ".w."), TokenInvalid),
        (lambda: sign_playback_token(KEY, OTHER, "v", 2_000), TokenForOtherStream),
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
    ],
)
def test_refusals(make, error):
    with pytest.raises(error) as exc:
        verify_playback_token(KEY, make(), STREAM, now=1_000)
    assert exc.value.status == 403


def test_signing_rejects_bad_viewers_and_empty_keys():
    with pytest.raises(ValueError):
        sign_playback_token(KEY, STREAM, "has space", 1)
    with pytest.raises(ValueError):
        sign_playback_token(b"", STREAM, "v", 1)


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
