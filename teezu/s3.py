"""The S3 storage backend (AWS S3 or any S3-compatible service: MinIO, R2, Ceph, moto).

boto3 is synchronous. Every call runs in this backend's own thread pool, never on the event
loop; one client, created on first use inside that pool, is shared by all of its threads
(botocore clients are thread-safe, sessions are not, so the session is private to this object).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from teezu.storage import Storage, check_key

S3Client = Any  # botocore builds the client class at run time
T = TypeVar("T")

_MISSING = {"NoSuchKey", "404", "NotFound"}
DELETE_BATCH = 1000  # the DeleteObjects limit


class S3StorageError(OSError):
    """S3 accepted a request but reported that part of it failed (e.g. some keys not deleted)."""


def normalize_prefix(prefix: str) -> str:
    """``"live"``, ``"/live/"`` -> ``"live/"``; ``""`` -> ``""``. Raises ValueError if invalid."""
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    try:
        check_key(stripped)
    except ValueError:
        raise ValueError(f"invalid S3 key prefix {prefix!r}") from None
    return stripped + "/"


class S3Storage(Storage):
    """Objects in ``bucket`` under ``prefix``; object key = ``prefix + key``."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        max_workers: int = 16,
        public_base_url: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 storage needs a bucket name (set TEEZU_S3_BUCKET)")
        if bool(access_key) != bool(secret_key):
            raise ValueError("give both an S3 access key and a secret key, or neither")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self.endpoint_url = endpoint_url or None
        self.region = region
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._access_key = access_key or None
        self._secret_key = secret_key or None
        self._config = Config(
            region_name=region,
            # One pooled connection per worker thread, so no thread waits for (or discards) one.
            max_pool_connections=max_workers,
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 4, "mode": "standard"},
            # Custom endpoints (MinIO, moto, an IP address) rarely resolve bucket subdomains.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
        )
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="s3-storage")
        self._client_lock = threading.Lock()
        self._client_obj: S3Client | None = None
        self._closed = False

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3Storage(s3://{self.bucket}/{self.prefix}{where})"

    # --- the Storage interface -----------------------------------------------------------

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def public_url(self, key: str) -> str | None:
        object_key = self._key(key)
        if self.public_base_url is None:
            return None
        return f"{self.public_base_url}/{object_key}"

    async def put(
        self, key: str, data: bytes, content_type: str, cache_control: str | None = None
    ) -> None:
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "Body": bytes(data),
            "ContentType": content_type,
        }
        if cache_control:
            args["CacheControl"] = cache_control
        await self._run(lambda: self._client().put_object(**args))

    async def get(self, key: str) -> bytes | None:
        object_key = self._key(key)

        def get() -> bytes | None:
            try:
                res = self._client().get_object(Bucket=self.bucket, Key=object_key)
            except ClientError as e:
                if _error_code(e) in _MISSING:
                    return None
                raise
            with res["Body"] as body:
                return body.read()

        return await self._run(get)

    async def delete(self, key: str) -> None:
        object_key = self._key(key)

        def delete() -> None:
            try:
                self._client().delete_object(Bucket=self.bucket, Key=object_key)
            except ClientError as e:  # S3 itself answers 204; some look-alikes answer 404
                if _error_code(e) not in _MISSING:
                    raise

        await self._run(delete)

    async def delete_prefix(self, prefix: str) -> None:
        """Delete every object under the folder ``prefix`` (``a`` removes ``a/...``, not ``ab``)."""
        folder = self._key(prefix.rstrip("/")) + "/"
        await self._run(lambda: self._delete_folder(folder))

    async def close(self) -> None:
        """Wait for calls in flight, then stop the threads and the client's connections."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    # --- helpers -------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _client(self) -> S3Client:
        """The shared client, created by the first worker thread that needs it."""
        client = self._client_obj
        if client is None:
            with self._client_lock:
                client = self._client_obj
                if client is None:
                    session = boto3.session.Session(
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        region_name=self.region,
                    )
                    client = session.client(
                        "s3", endpoint_url=self.endpoint_url, config=self._config
                    )
                    self._client_obj = client
        return client

    def _delete_folder(self, folder: str) -> None:
        client = self._client()
        # List everything first, then delete: deleting while paging relies on continuation
        # tokens surviving deletions, which not every S3 look-alike guarantees.
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=folder
        ):
            keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            res = client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            errors = [e for e in res.get("Errors", ()) if e.get("Code") not in _MISSING]
            if errors:
                first = errors[0]
                raise S3StorageError(
                    f"{len(errors)} of {len(batch)} objects under {folder!r} not deleted; "
                    f"first: {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        if self._client_obj is not None:
            self._client_obj.close()


def _error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))
