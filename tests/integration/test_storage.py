"""One conformance suite for every storage backend: a local directory, and S3 over real HTTP.

S3 is moto's server in a child process (tests/s3server.py); the suite drives it through
S3Storage exactly as production would drive AWS, and inspects it with a plain boto3 client.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import botocore.client
import pytest
from blockbuster import blockbuster_ctx

from teezu.s3 import S3Storage, normalize_prefix
from teezu.settings import Settings
from teezu.storage import LocalStorage, Storage, create_storage
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BUCKET = "teezu-test-media"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/iso.segment"
INVALID_KEYS = ["../x", "a/../b", "a//b", "", "/abs", "a/", "a b", "a\\b", "..", "x/.."]


# --- the S3 server ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        print(f"\nmoto server ready in {server.startup_seconds:.2f}s at {server.endpoint_url}")
        server.client().create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture(scope="session")
def s3_client(moto: MotoServer) -> Any:
    """For inspecting the bucket from the side; call it via asyncio.to_thread in tests."""
    return moto.client()


def make_s3(moto: MotoServer, **kwargs: Any) -> S3Storage:
    kwargs.setdefault("prefix", f"t-{uuid.uuid4().hex[:12]}")  # each test its own folder
    return S3Storage(
        BUCKET,
        endpoint_url=moto.endpoint_url,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        **kwargs,
    )


async def list_keys(s3_client: Any, prefix: str) -> list[str]:
    def run() -> list[str]:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", ())]

    return await asyncio.to_thread(run)


@dataclass
class ApiCall:
    operation: str
    thread: str
    on_loop_thread: bool
    params: dict[str, Any] = field(repr=False)


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[ApiCall]:
    """Every botocore API call made during the test, with the thread it ran on."""
    calls: list[ApiCall] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append(
            ApiCall(
                operation_name,
                threading.current_thread().name,
                asyncio._get_running_loop() is not None,  # set only on a loop's own thread
                api_params,
            )
        )
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


def storage_calls(calls: list[ApiCall]) -> list[str]:
    return [c.operation for c in calls if c.thread.startswith("s3-storage")]


# --- the backends under test --------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        # Made off the loop, as at start-up (it creates its root directory).
        backend: Storage = await asyncio.to_thread(LocalStorage, tmp_path / "media")
    else:
        backend = make_s3(request.getfixturevalue("moto"))
    yield backend
    await backend.close()


@pytest.fixture
async def s3(moto: MotoServer) -> AsyncIterator[S3Storage]:
    backend = make_s3(moto)
    yield backend
    await backend.close()


def sid() -> str:
    return str(uuid.uuid4())


# --- conformance: both backends -----------------------------------------------------------


async def test_put_get_round_trip(storage: Storage) -> None:
    key = f"{sid()}/index.m3u8"
    await storage.put(key, b"#EXTM3U\n", PLAYLIST_TYPE)  # three arguments, as callers pass
    assert await storage.get(key) == b"#EXTM3U\n"
    nested = f"{sid()}/0badc0de/seg12.m4s"
    await storage.put(nested, b"segment", SEGMENT_TYPE, "public, max-age=31536000, immutable")
    assert await storage.get(nested) == b"segment"


async def test_binary_and_empty_objects(storage: Storage) -> None:
    s = sid()
    blob = bytes(range(256)) * 257 + b"\x00\r\n\xff"  # every byte value, odd length, ~64 KiB
    await storage.put(f"{s}/run/init.mp4", blob, "video/mp4")
    await storage.put(f"{s}/run/empty.m4s", b"", SEGMENT_TYPE)
    assert await storage.get(f"{s}/run/init.mp4") == blob
    assert await storage.get(f"{s}/run/empty.m4s") == b""


async def test_overwrite_replaces_whole_object(storage: Storage) -> None:
    key = f"{sid()}/index.m3u8"
    await storage.put(key, b"a much longer first version of the playlist", PLAYLIST_TYPE)
    await storage.put(key, b"short", PLAYLIST_TYPE)
    assert await storage.get(key) == b"short"


async def test_get_missing_is_none(storage: Storage) -> None:
    s = sid()
    assert await storage.get(f"{s}/index.m3u8") is None
    await storage.put(f"{s}/run/seg1.m4s", b"x", SEGMENT_TYPE)
    assert await storage.get(f"{s}/run/seg2.m4s") is None
    assert await storage.get(f"{s}/run") is None  # a "folder" is not an object


async def test_delete_is_idempotent(storage: Storage) -> None:
    key = f"{sid()}/run/seg1.m4s"
    await storage.put(key, b"x", SEGMENT_TYPE)
    await storage.delete(key)
    assert await storage.get(key) is None
    await storage.delete(key)
    await storage.delete(f"{sid()}/never/existed.m4s")


async def test_delete_prefix_removes_exactly_that_folder(
    storage: Storage, api_calls: list[ApiCall], request: pytest.FixtureRequest
) -> None:
    s = sid()
    is_s3 = isinstance(storage, S3Storage)
    # 1001 objects for S3: one past a listing page and a DeleteObjects batch (1000 each).
    n = 1000 if is_s3 else 30
    inside = [f"{s}/index.m3u8"] + [f"{s}/run{i % 3}/seg{i}.m4s" for i in range(n)]
    siblings = [f"{s}x/index.m3u8", f"{s}x/run0/seg1.m4s", f"{s}.old/seg1.m4s"]
    if is_s3:
        siblings.append(s)  # an object named like the folder: S3 can hold both, a disk cannot
    for batch in range(0, len(inside), 200):
        await asyncio.gather(*(storage.put(k, b"x", SEGMENT_TYPE) for k in inside[batch:][:200]))
    await asyncio.gather(*(storage.put(k, b"keep", SEGMENT_TYPE) for k in siblings))
    api_calls.clear()

    await storage.delete_prefix(s)

    for k in (inside[0], inside[1], inside[-1]):
        assert await storage.get(k) is None
    for k in siblings:
        assert await storage.get(k) == b"keep", k
    if is_s3:
        assert isinstance(storage, S3Storage)
        ops = storage_calls(api_calls)
        assert ops[:4] == ["ListObjectsV2", "ListObjectsV2", "DeleteObjects", "DeleteObjects"]
        batches = [len(c.params["Delete"]["Objects"]) for c in api_calls if c.params.get("Delete")]
        assert batches == [1000, n + 1 - 1000]
        s3_client = request.getfixturevalue("s3_client")
        assert await list_keys(s3_client, f"{storage.prefix}{s}/") == []
        left = await list_keys(s3_client, f"{storage.prefix}{s}")
        assert sorted(left) == sorted(storage.prefix + k for k in siblings)
    else:
        assert isinstance(storage, LocalStorage)
        assert not storage.local_path(s).exists()
    await storage.delete_prefix(s)  # nothing left: not an error
    await storage.delete_prefix(f"{sid()}/missing")


async def test_delete_prefix_trailing_slash_and_nested(storage: Storage) -> None:
    s = sid()
    await storage.put(f"{s}/a/seg1.m4s", b"1", SEGMENT_TYPE)
    await storage.put(f"{s}/ab/seg1.m4s", b"2", SEGMENT_TYPE)
    await storage.put(f"{s}/index.m3u8", b"3", PLAYLIST_TYPE)
    await storage.delete_prefix(f"{s}/a/")
    assert await storage.get(f"{s}/a/seg1.m4s") is None
    assert await storage.get(f"{s}/ab/seg1.m4s") == b"2"
    assert await storage.get(f"{s}/index.m3u8") == b"3"


@pytest.mark.parametrize("bad", INVALID_KEYS)
async def test_invalid_keys_rejected_before_any_io(
    storage: Storage, bad: str, monkeypatch: pytest.MonkeyPatch, api_calls: list[ApiCall]
) -> None:
    def no_io(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("I/O attempted for an invalid key")

    if isinstance(storage, S3Storage):
        monkeypatch.setattr(storage._executor, "submit", no_io)
    else:
        monkeypatch.setattr(asyncio, "to_thread", no_io)
    with pytest.raises(ValueError):
        await storage.put(bad, b"x", SEGMENT_TYPE)
    with pytest.raises(ValueError):
        await storage.put(bad, b"x", SEGMENT_TYPE, "no-cache")
    with pytest.raises(ValueError):
        await storage.get(bad)
    with pytest.raises(ValueError):
        await storage.delete(bad)
    if bad.rstrip("/") != "a":  # "a/" names the folder "a" for delete_prefix: valid there
        with pytest.raises(ValueError):
            await storage.delete_prefix(bad)
    with pytest.raises(ValueError):
        storage.public_url(bad)
    with pytest.raises(ValueError):
        storage.local_path(bad)
    assert api_calls == []


async def test_concurrent_puts_all_land(storage: Storage) -> None:
    s = sid()
    keys = [f"{s}/run/seg{i}.m4s" for i in range(50)]
    await asyncio.gather(*(storage.put(k, k.encode(), SEGMENT_TYPE) for k in keys))
    got = await asyncio.gather(*(storage.get(k) for k in keys))
    assert got == [k.encode() for k in keys]


async def test_concurrent_overwrites_leave_one_whole_version(storage: Storage) -> None:
    key = f"{sid()}/index.m3u8"
    versions = [bytes([i]) * (1000 + i) for i in range(20)]
    await asyncio.gather(*(storage.put(key, v, PLAYLIST_TYPE) for v in versions))
    assert await storage.get(key) in versions


async def test_no_blocking_call_on_the_loop(storage: Storage, api_calls: list[ApiCall]) -> None:
    s = sid()
    with blockbuster_ctx(["hls"]):
        await storage.put(f"{s}/index.m3u8", b"#EXTM3U\n", PLAYLIST_TYPE, "no-cache")
        await asyncio.gather(
            *(storage.put(f"{s}/r/seg{i}.m4s", b"x", SEGMENT_TYPE) for i in range(5))
        )
        assert await storage.get(f"{s}/index.m3u8") == b"#EXTM3U\n"
        assert await storage.get(f"{s}/missing.m4s") is None
        await storage.delete(f"{s}/r/seg0.m4s")
        await storage.delete_prefix(s)
        storage.public_url(f"{s}/index.m3u8")
        storage.local_path(f"{s}/index.m3u8")
    if isinstance(storage, S3Storage):
        assert len(api_calls) >= 10
        assert not [c for c in api_calls if c.on_loop_thread]
        assert {c.thread.split("_")[0] for c in api_calls} == {"s3-storage"}


async def test_closed_storage_can_be_closed_again(storage: Storage) -> None:
    await storage.put(f"{sid()}/index.m3u8", b"x", PLAYLIST_TYPE)
    await storage.close()
    await storage.close()


# --- S3 specifics -------------------------------------------------------------------------


async def test_s3_stores_content_type_and_cache_control(s3: S3Storage, s3_client: Any) -> None:
    s = sid()
    await s3.put(f"{s}/index.m3u8", b"#EXTM3U\n", PLAYLIST_TYPE, "no-cache, no-store")
    await s3.put(f"{s}/run/seg1.m4s", b"seg", SEGMENT_TYPE)
    assert s3.prefix.endswith("/")

    head = await asyncio.to_thread(
        s3_client.head_object, Bucket=BUCKET, Key=f"{s3.prefix}{s}/index.m3u8"
    )
    assert head["ContentType"] == PLAYLIST_TYPE
    assert head["CacheControl"] == "no-cache, no-store"
    assert head["ContentLength"] == len(b"#EXTM3U\n")
    head = await asyncio.to_thread(
        s3_client.head_object, Bucket=BUCKET, Key=f"{s3.prefix}{s}/run/seg1.m4s"
    )
    assert head["ContentType"] == SEGMENT_TYPE
    assert "CacheControl" not in head
    assert sorted(await list_keys(s3_client, s3.prefix)) == [
        f"{s3.prefix}{s}/index.m3u8",
        f"{s3.prefix}{s}/run/seg1.m4s",
    ]


async def test_s3_without_prefix_uses_bare_keys(moto: MotoServer, s3_client: Any) -> None:
    store = make_s3(moto, prefix="")
    key = f"{sid()}/index.m3u8"
    try:
        await store.put(key, b"x", PLAYLIST_TYPE)
        assert await list_keys(s3_client, key) == [key]
        await store.delete_prefix(key.split("/")[0])
        assert await list_keys(s3_client, key) == []
    finally:
        await store.close()


async def test_s3_reuses_one_client(s3: S3Storage) -> None:
    s = sid()
    await asyncio.gather(*(s3.put(f"{s}/seg{i}.m4s", b"x", SEGMENT_TYPE) for i in range(32)))
    client = s3._client_obj
    assert client is not None
    await asyncio.gather(*(s3.get(f"{s}/seg{i}.m4s") for i in range(32)))
    assert s3._client_obj is client


async def test_s3_errors_other_than_missing_propagate(moto: MotoServer) -> None:
    store = S3Storage(
        "no-such-bucket-here",
        endpoint_url=moto.endpoint_url,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    try:
        with pytest.raises(Exception, match="NoSuchBucket"):
            await store.get(f"{sid()}/index.m3u8")
        with pytest.raises(Exception, match="NoSuchBucket"):
            await store.put(f"{sid()}/index.m3u8", b"x", PLAYLIST_TYPE)
    finally:
        await store.close()


async def test_s3_closed_storage_refuses_calls(moto: MotoServer) -> None:
    store = make_s3(moto)
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get(f"{sid()}/index.m3u8")


async def test_public_url(tmp_path: Path) -> None:
    cdn = S3Storage(BUCKET, prefix="/live/", public_base_url="https://cdn.example.com/media/")
    assert cdn.public_url("abc/index.m3u8") == "https://cdn.example.com/media/live/abc/index.m3u8"
    bare = S3Storage(BUCKET, public_base_url="https://cdn.example.com")
    assert bare.public_url("abc/r/seg1.m4s") == "https://cdn.example.com/abc/r/seg1.m4s"
    assert S3Storage(BUCKET, prefix="live").public_url("abc/index.m3u8") is None
    local = await asyncio.to_thread(LocalStorage, tmp_path)  # it creates its root directory
    assert local.public_url("abc/index.m3u8") is None
    for s in (cdn, bare):
        s._executor.shutdown()


async def test_prefix_normalization() -> None:
    assert normalize_prefix("") == ""
    assert normalize_prefix("/") == ""
    assert normalize_prefix("live") == "live/"
    assert normalize_prefix("/live/hls/") == "live/hls/"
    for bad in ("a//b", "../x", "a b"):
        with pytest.raises(ValueError, match="prefix"):
            normalize_prefix(bad)


async def test_s3_constructor_validation() -> None:
    with pytest.raises(ValueError, match="bucket"):
        S3Storage("")
    with pytest.raises(ValueError, match="secret"):
        S3Storage(BUCKET, access_key="only-one")
    with pytest.raises(ValueError, match="max_workers"):
        S3Storage(BUCKET, max_workers=0)


# --- the factory --------------------------------------------------------------------------


async def test_create_storage_local_from_real_settings(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)  # no storage_backend field yet: defaults to local
    backend = await asyncio.to_thread(create_storage, settings)  # at start-up, off the loop
    assert isinstance(backend, LocalStorage)
    assert backend.root == settings.media_dir
    assert backend.public_url("abc/index.m3u8") is None


async def test_create_storage_s3(tmp_path: Path) -> None:
    settings = SimpleNamespace(
        storage_backend="s3",
        media_dir=tmp_path,
        s3_bucket="media",
        s3_prefix="live",
        s3_endpoint_url="http://127.0.0.1:9000",
        s3_region="eu-west-1",
        s3_access_key="ak",
        s3_secret_key="sk",
        cdn_base_url="https://cdn.example.com/",
    )
    backend = create_storage(settings)
    assert isinstance(backend, S3Storage)
    assert (backend.bucket, backend.prefix, backend.region) == ("media", "live/", "eu-west-1")
    assert backend.endpoint_url == "http://127.0.0.1:9000"
    assert backend.local_path("abc/index.m3u8") is None
    assert backend.public_url("abc/index.m3u8") == "https://cdn.example.com/live/abc/index.m3u8"
    backend._executor.shutdown()

    defaults = create_storage(
        SimpleNamespace(storage_backend="s3", media_dir=tmp_path, s3_bucket="b")
    )
    assert isinstance(defaults, S3Storage)
    assert (defaults.prefix, defaults.endpoint_url, defaults.region) == ("", None, "us-east-1")
    assert defaults.public_url("abc/index.m3u8") is None
    defaults._executor.shutdown()


async def test_create_storage_rejects_bad_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bucket"):
        create_storage(SimpleNamespace(storage_backend="s3", media_dir=tmp_path))
    with pytest.raises(ValueError, match="storage_backend"):
        create_storage(SimpleNamespace(storage_backend="gcs", media_dir=tmp_path))
