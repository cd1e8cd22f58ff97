"""The node's object store: a small async interface, the local-directory backend and a factory.

Everything a node keeps as objects lives here: HLS segments and playlists, posters, moderation
snapshots, avatars, post uploads, GDPR export zips. The app registers one backend under
:data:`STORAGE`. Keys are relative paths such as ``<stream_id>/index.m3u8``. Writes are atomic
(readers see the old or the new object, never half of one). Blocking I/O runs in threads, never
on the loop. The S3 backend lives in :mod:`teezu.s3` (imported only when configured: boto3 is
slow to import).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class Storage(Protocol):
    """Every method validates its key with :func:`check_key` (ValueError) before any I/O."""

    async def put(
        self, key: str, data: bytes, content_type: str, cache_control: str | None = None
    ) -> None:
        """Store ``data`` atomically; ``cache_control`` is kept where the backend can serve it."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every object under the folder ``prefix`` (``a`` removes ``a/...``, not ``ab``)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path the origin may stream from directly, if the backend has one."""
        ...

    def public_url(self, key: str) -> str | None:
        """A URL clients may fetch the object from directly (a CDN), if one is configured."""
        ...

    async def close(self) -> None:
        """Release threads and connections; the storage is unusable afterwards."""
        ...


# The node's one object store (every role's app; the origin reads HLS objects from it).
STORAGE: web.AppKey[Storage] = web.AppKey("storage")


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Objects as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def public_url(self, key: str) -> str | None:
        check_key(key)
        return None

    async def put(
        self, key: str, data: bytes, content_type: str, cache_control: str | None = None
    ) -> None:
        # Files carry no metadata: the origin derives Content-Type/Cache-Control from the name.
        await asyncio.to_thread(self._write, self.local_path(key), data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self.local_path(key))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.local_path(key).unlink, True)

    async def delete_prefix(self, prefix: str) -> None:
        path = self.local_path(prefix.rstrip("/"))
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def close(self) -> None:
        """Nothing to release: file I/O runs on the loop's default executor (asyncio.to_thread),
        which belongs to the loop, not to this object."""

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def create_storage(settings: Any) -> Storage:
    """The backend ``settings`` ask for (``storage_backend``: ``"local"`` or ``"s3"``).

    Fields are read with defaults so settings objects without the S3 fields still work.
    """
    backend = getattr(settings, "storage_backend", "local") or "local"
    if backend == "local":
        return LocalStorage(Path(settings.media_dir))
    if backend == "s3":
        from teezu.s3 import S3Storage

        return S3Storage(
            getattr(settings, "s3_bucket", ""),
            prefix=getattr(settings, "s3_prefix", ""),
            endpoint_url=getattr(settings, "s3_endpoint_url", "") or None,
            region=getattr(settings, "s3_region", "") or "us-east-1",
            access_key=getattr(settings, "s3_access_key", "") or None,
            secret_key=getattr(settings, "s3_secret_key", "") or None,
            public_base_url=getattr(settings, "cdn_base_url", "") or None,
        )
    raise ValueError(f"unknown storage_backend {backend!r} (expected 'local' or 's3')")
