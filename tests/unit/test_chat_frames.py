"""`api.websocket_transport.text_frame`: the frame a room broadcast writes to every member."""

from __future__ import annotations

import struct

import pytest

from api.websocket_transport import text_frame


def _parse(frame: bytes) -> tuple[int, bool, str]:
    """(first byte, masked, payload) of one frame, read as RFC 6455 §5.2 says."""
    first, second = frame[0], frame[1]
    length, at = second & 0x7F, 2
    if length == 126:
        (length,) = struct.unpack("!H", frame[2:4])
        at = 4
    elif length == 127:
        (length,) = struct.unpack("!Q", frame[2:10])
        at = 10
    payload = frame[at:]
    assert len(payload) == length
    return first, bool(second & 0x80), payload.decode()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_text_frame_of_any_length_reads_back(size):
    text = "42" + "é" * (size // 2) + "x" * (size % 2)
    first, masked, payload = _parse(text_frame(text))
    assert first == 0x81  # FIN, text
    assert not masked  # a server's frames are never masked
    assert payload == text
