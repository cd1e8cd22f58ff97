"""The engagement tests share chat's fixtures: an API-role server, accounts, rooms, clients."""

from tests.integration.chat.conftest import (  # noqa: F401 - fixtures, found by name
    chat,
    chat_server,
    connect,
    new_room,
    user,
)
