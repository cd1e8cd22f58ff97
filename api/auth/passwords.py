"""bcrypt password hashing, always off the event loop.

A bcrypt check at cost 12 takes a quarter of a second of CPU: it runs in this hasher's own small
thread pool, so a burst of logins queues there instead of starving the default executor (used
by storage and other short blocking calls) or the loop.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import web

from api.auth.errors import PasswordTooLong

MAX_BYTES = 72  # bcrypt ignores (or, in bcrypt >= 5, refuses) anything past this


def check_length(password: str) -> None:
    if len(password.encode()) > MAX_BYTES:
        raise PasswordTooLong(
            f"passwords are limited to {MAX_BYTES} bytes (UTF-8)", meta={"maxBytes": MAX_BYTES}
        )


class PasswordHasher:
    """Hashes and checks passwords at a fixed bcrypt cost in a dedicated thread pool."""

    def __init__(self, rounds: int, *, threads: int = 2) -> None:
        self.rounds = rounds
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="bcrypt")
        self._dummy: str | None = None

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(fn, *args)
        )

    async def hash(self, password: str) -> str:
        check_length(password)
        salt = bcrypt.gensalt(self.rounds)
        hashed: bytes = await self._run(bcrypt.hashpw, password.encode(), salt)
        return hashed.decode()

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check ``password``; with ``hashed`` None (no such account) it still costs one check.

        Unknown accounts and wrong passwords take the same time, so response times do not tell
        which emails have accounts.
        """
        if len(password.encode()) > MAX_BYTES:
            password = password.encode()[:MAX_BYTES].decode(errors="ignore")
            hashed = None  # never matches, still costs a check
        if hashed is not None and not hashed.startswith("$2"):
            hashed = None  # no password at all (an erased account): nothing matches
        if hashed is None:
            if self._dummy is None:
                self._dummy = await self.hash("not a password of anyone")
            await self._run(bcrypt.checkpw, password.encode(), self._dummy.encode())
            return False
        return bool(await self._run(bcrypt.checkpw, password.encode(), hashed.encode()))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


HASHER: web.AppKey[PasswordHasher] = web.AppKey("password_hasher", PasswordHasher)
