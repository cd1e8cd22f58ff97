"""WHIP offer checks and the bitrate hints added to answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import InvalidSdp, NoCommonCodec, SdpWithoutVideo
from ingest.sdp import add_bitrate_hints, check_offer

FIXTURES = Path(__file__).parent.parent / "fixtures"
CHROMIUM_OFFER = (FIXTURES / "chromium_whip_offer.sdp").read_text()


def test_chromium_offer_is_accepted():
    summary = check_offer(CHROMIUM_OFFER)
    assert summary.has_audio
    assert set(summary.video_codecs) >= {"VP8", "H264"}


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda s: "", InvalidSdp),
        (lambda s: "hello", InvalidSdp),
        (lambda s: s.replace("a=ice-ufrag", "a=x-ufrag"), InvalidSdp),
        (lambda s: s.replace("a=fingerprint", "a=x-fingerprint"), InvalidSdp),
        (lambda s: s.split("m=video")[0], SdpWithoutVideo),
        (
            lambda s: s.replace("VP8/90000", "VP9/90000").replace("H264/90000", "AV1/90000"),
            NoCommonCodec,
        ),
    ],
    ids=["empty", "not-sdp", "no-ice", "no-dtls", "no-video", "no-codec"],
)
def test_bad_offers(mutate, error):
    with pytest.raises(error):
        check_offer(mutate(CHROMIUM_OFFER))


def test_errors_are_value_errors_with_codes():
    with pytest.raises(ValueError):
        check_offer("hello")
    assert SdpWithoutVideo.code == "SDP_NO_VIDEO" and SdpWithoutVideo.status == 400


ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "m=video 9 UDP/TLS/RTP/SAVPF 102 96 97",
        "c=IN IP4 0.0.0.0",
        "a=rtpmap:102 H264/90000",
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "",
    ]
)


def test_bitrate_hints_touch_video_codecs_only():
    out = add_bitrate_hints(ANSWER, start_kbps=2000, min_kbps=600, max_kbps=4000)
    audio, video = out.split("m=video")
    assert "x-google" not in audio and "b=AS" not in audio
    assert (
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;"
        "x-google-start-bitrate=2000;x-google-min-bitrate=600;x-google-max-bitrate=4000"
    ) in video
    assert "a=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=2000" in video
    assert "a=fmtp:97 apt=96\r\n" in video  # RTX untouched
    assert video.count("b=AS:4000") == 1
    assert out.endswith("\r\n")


def test_bitrate_hints_are_idempotent():
    once = add_bitrate_hints(ANSWER, start_kbps=1, min_kbps=1, max_kbps=1)
    assert add_bitrate_hints(once, start_kbps=1, min_kbps=1, max_kbps=1) == once
