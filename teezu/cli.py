"""The ``teezu`` command.

teezu serve [--demo]               every role in one process (embedded PostgreSQL by default)
teezu streams create --title T     a stream, its publish token (shown once) and studio URL
teezu streams list
teezu migrate                      apply SQL migrations and exit
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator

from aiohttp import web

from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
from teezu.logging import configure_logging
from teezu.settings import Settings

log = logging.getLogger("teezu")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield a DSN: ``TEEZU_DATABASE_URL`` if set, else the embedded server under var/."""
    if settings.database_url:
        yield settings.database_url
        return
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(default_data_dir(settings.var_dir.resolve()))
    was_running = pg.is_running()
    dsn = pg.start()
    try:
        yield dsn
    finally:
        # Leave a server another teezu process started alone (e.g. `streams create` during serve).
        if not was_running:
            pg.stop()


def studio_url(settings: Settings, stream_id: str, token: str) -> str:
    # The token rides in the fragment: browsers never send it to a server or write it to logs.
    return f"{settings.base_url}/studio/{stream_id}#token={token}"


def watch_url(settings: Settings, stream_id: str) -> str:
    return f"{settings.base_url}/watch/{stream_id}"


async def _with_pool(dsn: str):  # type: ignore[no-untyped-def]
    from teezu.db import apply_migrations, create_pool

    pool = await create_pool(dsn, min_size=1, max_size=2)
    await apply_migrations(pool)
    return pool


async def _create_stream(
    dsn: str, title: str, creator: str, visibility: str = "public", recording: bool = False
) -> tuple[str, str]:
    from api.streams import store

    pool = await _with_pool(dsn)
    try:
        row, token = await store.create_stream(
            pool,
            title=title,
            creator_handle=creator,
            visibility=visibility,
            recording=recording,
        )
        return str(row.id), token
    finally:
        await pool.close()


async def _demo_stream(settings: Settings, dsn: str) -> tuple[str, str]:
    """The demo stream created on first start (kept in var/demo-stream.json, mode 0600)."""
    from api.streams import store

    path = settings.var_dir / "demo-stream.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        pool = await _with_pool(dsn)
        try:
            if await store.get_stream(pool, uuid.UUID(saved["id"])) is not None:
                return saved["id"], saved["token"]
        finally:
            await pool.close()
    stream_id, token = await _create_stream(dsn, "Demo stream", "demo")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"id": stream_id, "token": token}, f)
    return stream_id, token


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from api.app import create_app

    with database(settings) as dsn:
        if args.demo:
            stream_id, token = asyncio.run(_demo_stream(settings, dsn))
            print(
                "\nTeezU Live is starting. Demo stream:\n"
                f"  studio (go live): {studio_url(settings, stream_id, token)}\n"
                f"  watch:            {watch_url(settings, stream_id)}\n",
                flush=True,
            )
        app = create_app(settings, dsn=dsn)
        web.run_app(app, host=settings.host, port=settings.port, access_log=None, print=None)
    return 0


def cmd_streams_create(settings: Settings, args: argparse.Namespace) -> int:
    if not args.title.strip() or len(args.title) > 200:
        print("error: --title must be 1 to 200 characters", file=sys.stderr)
        return 2
    with database(settings) as dsn:
        stream_id, token = asyncio.run(
            _create_stream(dsn, args.title, args.creator, args.visibility, args.recording)
        )
    print(f"stream id:     {stream_id}")
    print(f"publish token: {token}   (shown once; stored hashed)")
    print(f"studio:        {studio_url(settings, stream_id, token)}")
    print(f"watch:         {watch_url(settings, stream_id)}")
    print(f"WHIP endpoint: {settings.base_url}/whip/{stream_id}")
    return 0


def cmd_streams_token(settings: Settings, args: argparse.Namespace) -> int:
    """Mint a playback token (for non-public streams, until accounts decide who may watch)."""
    import time

    from hls.access import sign_playback_token, with_token

    try:
        uuid.UUID(args.stream_id)
        expires = int(time.time()) + args.ttl
        token = sign_playback_token(
            settings.playback_key_bytes(), args.stream_id, args.viewer, expires
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"token:   {token}")
    print(f"expires: {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(expires))}")
    print(f"play:    {settings.base_url}{with_token(f'/hls/{args.stream_id}/index.m3u8', token)}")
    return 0


def cmd_streams_list(settings: Settings, args: argparse.Namespace) -> int:
    from api.streams import store

    async def run(dsn: str) -> None:
        pool = await _with_pool(dsn)
        try:
            for row in await store.list_streams(pool, state=None, limit=100, before=None):
                print(f"{row.id}  {row.state:<6}  {row.creator_handle:<16}  {row.title}")
        finally:
            await pool.close()

    with database(settings) as dsn:
        asyncio.run(run(dsn))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def run(dsn: str) -> None:
        pool = await _with_pool(dsn)
        await pool.close()

    with database(settings) as dsn:
        asyncio.run(run(dsn))
    print("migrations applied")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="teezu", description="TeezU Live engine and API")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run every role in one process")
    serve.add_argument("--demo", action="store_true", help="create/print a demo stream")
    serve.set_defaults(func=cmd_serve)
    streams = sub.add_parser("streams", help="manage streams").add_subparsers(
        dest="streams_command", required=True
    )
    create = streams.add_parser("create", help="create a stream and print its publish token")
    create.add_argument("--title", required=True)
    create.add_argument("--creator", default="creator", help="creator handle")
    create.add_argument(
        "--visibility",
        choices=["public", "followers", "subscribers", "ticketed"],
        default="public",
        help="non-public streams need a signed playback token to watch",
    )
    create.add_argument(
        "--recording", action="store_true", help="keep each broadcast as a VOD when it ends"
    )
    create.set_defaults(func=cmd_streams_create)
    token = streams.add_parser("token", help="mint a playback token for a stream")
    token.add_argument("stream_id")
    token.add_argument("--viewer", default="viewer", help="viewer id bound into the token")
    token.add_argument("--ttl", type=int, default=6 * 3600, help="seconds until it expires")
    token.set_defaults(func=cmd_streams_token)
    streams.add_parser("list", help="list streams").set_defaults(func=cmd_streams_list)
    sub.add_parser("migrate", help="apply SQL migrations").set_defaults(func=cmd_migrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
