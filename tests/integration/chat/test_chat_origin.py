"""Cross-site Socket.IO handshakes are refused; the node's own origins are accepted."""

from __future__ import annotations

import pytest
import socketio

from tests.chatclient import ChatClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_foreign_origin_is_refused(chat_server, http):
    client = ChatClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(chat_server.base_url, {"Origin": "https://evil.example"})
    assert not client.sio.connected
    if client.sio.eio.http is not None:  # the failed client keeps its HTTP session open
        await client.sio.eio.http.close()
    # the same refusal, seen at the HTTP level (the polling handshake)
    url = f"{chat_server.base_url}/socket.io/?EIO=4&transport=polling"
    async with http.get(url, headers={"Origin": "https://evil.example"}) as res:
        assert res.status == 400
        assert "Access-Control-Allow-Origin" not in res.headers
    async with http.get(url, headers={"Origin": chat_server.settings.base_url}) as res:
        assert res.status == 200
        assert res.headers["Access-Control-Allow-Origin"] == chat_server.settings.base_url


@pytest.mark.parametrize("twin", ["localhost", "127.0.0.1"])
async def test_own_origin_connects(chat_server, twin):
    origin = f"http://{twin}:{chat_server.settings.port}"
    assert origin in chat_server.settings.origins
    client = await ChatClient().connect(chat_server.base_url, {"Origin": origin})
    try:
        assert client.sio.connected
    finally:
        await client.close()
