"""Chat fixtures: an API-role server, signed-in accounts, rooms and Socket.IO clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

from api.auth.rbac import Role
from api.realtime import CHAT
from api.streams import store
from tests.chatauth import ChatUser, sign_in
from tests.chatclient import ChatClient
from tests.conftest import Server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chat_server(server: Server) -> Server:
    """The session's server. (The chat tests once had an API-role node of their own on the same
    database; without Redis between the two they shared no rooms, and the room sweeps of the
    other node — polls, duels past their deadline — closed what these clients waited to hear.
    Two nodes together are tests/integration/chat/test_chat_multinode.py's subject, with Redis.)
    """
    return server


MakeUser = Callable[..., Awaitable[ChatUser]]


@pytest_asyncio.fixture(loop_scope="session")
async def user(chat_server) -> MakeUser:
    """``await user(Role.CREATOR)``: a new signed-in account (default: a member)."""

    async def make(*roles: Role, prefix: str = "chat") -> ChatUser:
        return await sign_in(chat_server, *roles, prefix=prefix)

    return make


Connect = Callable[..., Awaitable[ChatClient]]


@pytest_asyncio.fixture(loop_scope="session")
async def connect(chat_server) -> AsyncIterator[Connect]:
    """``await connect(user=None, base_url=None, transports=("websocket",))``: a connected
    client, closed after (``transports=("polling",)``: one on Engine.IO long-polling)."""
    made: list[ChatClient] = []

    async def make(
        as_user: ChatUser | None = None,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        transports: tuple[str, ...] = ("websocket",),
    ) -> ChatClient:
        client = ChatClient(transports)
        h = dict(headers or {})
        if as_user is not None:
            h.update(as_user.headers)
        made.append(client)
        return await client.connect(base_url or chat_server.base_url, h)

    yield make
    for client in made:
        await client.close()


NewRoom = Callable[..., Awaitable[str]]


@pytest_asyncio.fixture(loop_scope="session")
async def new_room(chat_server) -> NewRoom:
    """``await new_room(creator=None, visibility="public")``: a stream id."""

    async def create(creator: ChatUser | None = None, visibility: str = "public") -> str:
        row, _ = await store.create_stream(
            chat_server.pool,
            title="Chat test",
            creator_handle=creator.handle if creator else "nobody",
            creator_id=creator.user_id if creator else None,
            visibility=visibility,
        )
        return str(row.id)

    return create


@pytest_asyncio.fixture(loop_scope="session")
async def chat(chat_server):
    return chat_server.app[CHAT]
