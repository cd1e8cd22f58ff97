"""ingest/sdpfrag.py: trickle-ice-sdpfrag bodies (RFC 8840) as WHIP clients send them."""

from __future__ import annotations

import pytest

from ingest.errors import InvalidIceFragment
from ingest.sdpfrag import parse_candidate, parse_sdpfrag, render_sdpfrag

# RFC 9725 §4.3.2's trickle example, verbatim (tcp candidates included).
RFC_TRICKLE = (
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw"
    " network-id 1\r\n"
    "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0"
    " ufrag EsAw network-id 2\r\n"
    "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0"
    " ufrag EsAw network-id 1\r\n"
    "a=end-of-candidates\r\n"
)


def test_rfc_trickle_example():
    frag = parse_sdpfrag(RFC_TRICKLE)
    assert (frag.ufrag, frag.pwd) == ("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1")
    assert frag.end_of_candidates and frag.mids == ("0",)
    assert [(c.mid, c.candidate.host, c.candidate.port) for c in frag.candidates] == [
        ("0", "192.0.2.1", 61764),
        ("0", "198.51.100.2", 61765),
        ("0", "192.0.2.1", 9),
    ]
    assert frag.candidates[2].candidate.tcptype == "active"


def test_session_level_credentials_and_lf_line_ends():
    # GStreamer-style: credentials before the m= line, LF only, one candidate per request.
    frag = parse_sdpfrag(
        "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\nm=video 9 UDP/TLS/RTP/SAVPF 96\n"
        "a=mid:video0\na=candidate:1 1 UDP 2015363327 10.0.0.5 50000 typ host\n"
    )
    assert frag.ufrag == "abcd" and frag.candidates[0].mid == "video0"
    assert not frag.end_of_candidates


def test_end_of_candidates_alone_is_a_fragment():
    frag = parse_sdpfrag("a=end-of-candidates\r\n")
    assert frag.end_of_candidates and frag.ufrag is None and not frag.candidates


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\r\n\r\n",
        "hello world",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n",  # a whole SDP is not a fragment
        "a=ice-ufrag:abcd\r\n",  # ufrag without pwd
        "a=ice-ufrag:ab\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n",  # ufrag too short
        "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n",
        "a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:garbage\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 1.2.3.4 notaport typ host\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 not-an-ip 5000 typ host\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 1.2.3.4 5000 host\r\n",
        "m=audio\r\na=mid:0\r\n",
        "a=mid:0\r\n",  # mid outside an m= section
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n",  # nothing to act on
    ],
)
def test_malformed_fragments_are_refused(body):
    with pytest.raises(InvalidIceFragment):
        parse_sdpfrag(body)


def test_mdns_candidate_is_kept_for_aioice_to_resolve():
    c = parse_candidate("1 1 udp 2122260223 3f2a9c4e-1d2b.local 5000 typ host")
    assert c.host.endswith(".local")


def test_render_answer_fragment_round_trips():
    cands = [parse_candidate("1 1 udp 2130706431 198.51.100.1 39132 typ host")]
    text = render_sdpfrag(
        ufrag="abcdefgh",
        pwd="a" * 24,
        candidates=cands,
        mline="m=video 9 UDP/TLS/RTP/SAVPF 96",
        mid="0",
        bundle=["0", "1"],
    )
    assert text.endswith("a=end-of-candidates\r\n")
    back = parse_sdpfrag(text)
    assert (back.ufrag, back.pwd, back.mids) == ("abcdefgh", "a" * 24, ("0",))
    assert back.candidates[0].candidate.to_sdp() == cands[0].to_sdp()
