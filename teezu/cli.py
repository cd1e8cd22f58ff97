"""The ``teezu`` command.

teezu serve [--demo]               every role in one process (embedded PostgreSQL by default)
teezu api                          the API role: REST, Socket.IO chat, pages (no ingest); run
                                   several behind a load balancer with TEEZU_REDIS_URL set
teezu ingest                       the ingest role: WHIP, the engine, WHEP, LL-HLS origin
teezu worker                       the worker role: the background loops and jobs
teezu cluster up|down              nginx, Redis, PostgreSQL, 2 API, 2 ingest, 1 worker here
teezu streams create --title T     a stream, its publish token (shown once) and studio URL
teezu streams list
teezu users create --email E --handle H --born YYYY-MM-DD [--role admin ...]
                                   an account (password from a prompt or --password-stdin)
teezu users unban HANDLE --reason R
                                   lift a ban or suspension (the recovery for a wrongly
                                   banned staff account; audited as done from the console)
teezu migrate                      apply SQL migrations and exit
teezu ledger check                 reconcile the token ledger; non-zero exit on any difference
teezu ledger rollup                fold finished entries into the derived balances' roll-ups
teezu ledger expire-keys           delete idempotency keys older than TEEZU_IDEMPOTENCY_TTL_HOURS
teezu subscriptions renew          one renewal pass: charge, grace or end every due subscription
teezu watermark apply IN OUT --viewer ID   a copy of IN carrying viewer ID's forensic mark
teezu watermark identify FILE      the viewer id marked in FILE (exit 1 if none is found)
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
from pathlib import Path

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


def edge_url(settings: Settings) -> str:
    """The LL-HLS edge's base URL as printed for people (players get it from the API)."""
    if settings.edge_public_url:
        return settings.edge_public_url.rstrip("/")
    host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1", "::") else settings.host
    return f"http://{host}:{settings.edge_listen_port}"


async def _with_pool(dsn: str):
    from teezu.db import apply_migrations, create_pool

    pool = await create_pool(dsn, min_size=1, max_size=2)
    await apply_migrations(pool)
    return pool


async def _create_stream(
    dsn: str,
    title: str,
    creator: str,
    visibility: str = "public",
    recording: bool = False,
    rating: str | None = None,
) -> tuple[str, str]:
    from api.moderation.store import set_rating
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
        if rating is not None:
            await set_rating(pool, row.id, rating)
        return str(row.id), token
    finally:
        await pool.close()


async def _demo(settings: Settings, dsn: str):
    from teezu.demo import seed

    pool = await _with_pool(dsn)
    try:
        return await seed(pool, settings)
    finally:
        await pool.close()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from api.app import create_app

    with database(settings) as dsn:
        if args.demo:
            from teezu.demo import CREATOR_HANDLE, DemoError

            try:
                demo = asyncio.run(_demo(settings, dsn))
            except DemoError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            password = (
                f"password: {demo.password}  (shown this once)"
                if demo.password
                else "(its password was shown at the first start)"
            )
            edge = (
                f"  LL-HLS (edge):    {edge_url(settings)}/hls/{demo.stream_id}/index.m3u8\n"
                if settings.edge_listen_port
                else ""
            )
            print(
                "\nTeezU Live is starting with demo data (made by --demo only). Demo stream:\n"
                f"  studio (go live): {studio_url(settings, demo.stream_id, demo.token)}\n"
                f"  watch:            {watch_url(settings, demo.stream_id)}\n"
                f"{edge}"
                f"  demo creator:     @{CREATOR_HANDLE}, {demo.email}  {password}\n"
                "The demo creator is verified by the built-in demo reviewer and checked in for "
                "the next broadcast;\nafter it, sign in to the studio as the demo creator to "
                "check in again (or restart).\n",
                flush=True,
            )
        _run_app(create_app(settings, dsn=dsn), settings)
    return 0


def _run_app(app: web.Application, settings: Settings) -> None:
    """Serve ``app`` on the configured event loop (`Settings.event_loop`) until a signal."""
    loop = None
    if settings.event_loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    web.run_app(app, host=settings.host, port=settings.port, access_log=None, print=None, loop=loop)


def cmd_role(settings: Settings, args: argparse.Namespace) -> int:
    """``teezu api|ingest|worker``: one cluster role (teezu/node.py, docs/cluster.md)."""
    from api.app import create_app

    if not settings.database_url:
        # Several role processes must share one database; the embedded one is per var/ dir.
        log.warning("TEEZU_DATABASE_URL is not set: using the embedded PostgreSQL of this host")
    if not settings.redis_url:
        log.warning(
            "TEEZU_REDIS_URL is not set: chat rooms and stream placement are not shared with "
            "other processes"
        )
    with database(settings) as dsn:
        _run_app(create_app(settings, dsn=dsn, role=args.role), settings)
    return 0


def cmd_cluster(settings: Settings, args: argparse.Namespace) -> int:
    """``teezu cluster up|down|config``: the whole topology on this machine (teezu/cluster.py)."""
    from teezu import cluster

    return cluster.main(args.cluster_command, Path(args.dir))


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
    """Mint a playback token (an operator's, e.g. to check a non-public stream plays)."""
    import time

    from hls.access import MAX_LIFETIME, sign_playback_token, with_token

    if not 60 <= args.ttl <= MAX_LIFETIME:
        print(f"error: --ttl must be 60 to {MAX_LIFETIME} seconds", file=sys.stderr)
        return 2
    try:
        stream_id = uuid.UUID(args.stream_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with database(settings) as dsn:
        epoch = asyncio.run(_access_epoch(dsn, stream_id))
    if epoch is None:
        print(f"error: no stream {stream_id}", file=sys.stderr)
        return 1
    try:
        expires = int(time.time()) + args.ttl
        token = sign_playback_token(
            settings.playback_key_bytes(),
            str(stream_id),
            args.viewer,
            expires,
            # The stream's access epoch now: any later change of who may watch voids it.
            epoch=epoch,
            # An operator's token: past the viewer age gate and geo-blocks (staff are exempt).
            age="exempt" if args.exempt else "none",
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"token:   {token}")
    print(f"expires: {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(expires))}")
    print(f"play:    {settings.base_url}{with_token(f'/hls/{stream_id}/index.m3u8', token)}")
    return 0


async def _access_epoch(dsn: str, stream_id: uuid.UUID) -> int | None:
    pool = await _with_pool(dsn)
    try:
        return await pool.fetchval("SELECT access_epoch FROM streams WHERE id = $1", stream_id)
    finally:
        await pool.close()


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


def cmd_users_create(settings: Settings, args: argparse.Namespace) -> int:
    """Create an account (the first admin, or creators before sign-up is open to them)."""
    import getpass
    from datetime import date

    from api.auth.passwords import PasswordHasher, check_length
    from api.auth.rbac import Role
    from api.auth.signup import MIN_AGE, SignupBody, age_on
    from api.users import store

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again:    ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        body = SignupBody(
            email=args.email, handle=args.handle, password=password, date_of_birth=args.born
        )
        check_length(password)
        roles = frozenset(Role(r) for r in (args.role or ["member"]))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if age_on(body.date_of_birth, date.today()) < MIN_AGE:
        print(f"error: account holders must be {MIN_AGE} or older", file=sys.stderr)
        return 2

    async def run(dsn: str) -> str:
        hasher = PasswordHasher(settings.bcrypt_rounds)
        pool = await _with_pool(dsn)
        try:
            user = await store.create_user(
                pool,
                email=body.email,
                handle=body.handle,
                password_hash=await hasher.hash(password),
                date_of_birth=body.date_of_birth,
                roles=roles,
            )
            # Streams made earlier for this handle become this account's.
            await pool.execute(
                "UPDATE streams SET creator_id = $1 WHERE creator_handle = $2 "
                "AND creator_id IS NULL",
                user.id,
                user.handle,
            )
            return str(user.id)
        finally:
            hasher.close()
            await pool.close()

    try:
        with database(settings) as dsn:
            user_id = asyncio.run(run(dsn))
    except (store.EmailTaken, store.HandleTaken) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"user id: {user_id}")
    print(f"handle:  {body.handle.lower()}")
    print(f"roles:   {', '.join(sorted(roles))}")
    return 0


def cmd_openapi(settings: Settings, args: argparse.Namespace) -> int:
    """Print the OpenAPI document (the web app's typed client is generated from it)."""
    from api.app import create_app
    from api.openapi import document
    from api.routing import ROUTES

    # Building the app registers every route and opens nothing: no database is reached.
    app = create_app(settings, dsn="postgresql://unused/unused")
    text = json.dumps(document(app[ROUTES]), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_users_unban(settings: Settings, args: argparse.Namespace) -> int:
    """Restore a banned or suspended account: the recovery when the rank rule was not yet
    there to stop it (or a super admin was wrongly banned). Written to the audit log and the
    moderation log with the reason, as done from the console (no actor account)."""
    from api.auth import audit
    from api.reports import store as reports
    from api.users import store

    reason = args.reason.strip()
    if not reason:
        print("error: --reason must say why", file=sys.stderr)
        return 2

    async def run(dsn: str) -> str | None:
        pool = await _with_pool(dsn)
        try:
            user = await store.get_by_handle(pool, args.handle)
            if user is None:
                return None
            async with pool.acquire() as conn, conn.transaction():
                before = await conn.fetchrow(
                    "SELECT status, suspended_until FROM users WHERE id = $1 FOR UPDATE", user.id
                )
                if before["status"] not in ("banned", "suspended"):
                    return str(before["status"])
                await reports.set_standing(conn, user.id, "active", None)
                meta = {
                    "via": "cli",
                    "from": before["status"],
                    "host": os.uname().nodename,
                    "osUser": os.environ.get("USER") or os.environ.get("LOGNAME") or "?",
                }
                await audit.record(
                    conn, "admin.user.unbanned", subject_id=user.id, meta={**meta, "reason": reason}
                )
                await reports.log(conn, None, "unban", subject_id=user.id, note=reason, meta=meta)
            return "lifted"
        finally:
            await pool.close()

    with database(settings) as dsn:
        outcome = asyncio.run(run(dsn))
    if outcome is None:
        print(f"error: no account with the handle {args.handle!r}", file=sys.stderr)
        return 1
    if outcome != "lifted":
        print(f"nothing to do: the account is {outcome}")
        return 0
    print(f"{args.handle.lower()}: ban or suspension lifted (audited)")
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def run(dsn: str) -> None:
        pool = await _with_pool(dsn)
        await pool.close()

    with database(settings) as dsn:
        asyncio.run(run(dsn))
    print("migrations applied")
    return 0


def cmd_ledger_check(settings: Settings, args: argparse.Namespace) -> int:
    """Reconcile the books (api.wallet.check); exit 1 on any difference."""
    from api.wallet.check import check_books

    async def run(dsn: str) -> bool:
        pool = await _with_pool(dsn)
        try:
            report = await check_books(pool)
        finally:
            await pool.close()
        print("\n".join(report.lines()))
        return report.ok

    with database(settings) as dsn:
        ok = asyncio.run(run(dsn))
    return 0 if ok else 1


def cmd_ledger_rollup(settings: Settings, args: argparse.Namespace) -> int:
    from api.wallet.rollup import roll_up

    async def run(dsn: str) -> int:
        pool = await _with_pool(dsn)
        try:
            return await roll_up(pool)
        finally:
            await pool.close()

    with database(settings) as dsn:
        n = asyncio.run(run(dsn))
    print(f"rolled up {n} account(s)")
    return 0


def cmd_subscriptions_renew(settings: Settings, args: argparse.Namespace) -> int:
    """One renewal pass of creator subscriptions and then of platform memberships (the node
    runs the same every TEEZU_SUBSCRIPTION_JOB_INTERVAL)."""
    from api.memberships.billing import renew_due as renew_memberships
    from api.subscriptions.billing import billing_from
    from api.wallet.accounts import AccountBook
    from workers.subscriptions import renewal_pass

    async def run(dsn: str) -> str:
        pool = await _with_pool(dsn)
        try:
            book = AccountBook()
            report = await renewal_pass(pool, book, billing_from(settings))
            members = await renew_memberships(pool, book, billing_from(settings))
        finally:
            await pool.close()
        return (
            f"renewed {report.renewed}, ended {report.ended}, in grace {report.in_grace}, "
            f"expired {report.expired}; memberships: renewed {members.renewed}, ended "
            f"{members.ended}, in grace {members.in_grace}, expired {members.expired}"
        )

    with database(settings) as dsn:
        print(asyncio.run(run(dsn)))
    return 0


def cmd_ledger_expire_keys(settings: Settings, args: argparse.Namespace) -> int:
    """Delete idempotency keys older than the TTL (the ledger worker does this too)."""
    from api.wallet.idempotency import expire

    async def run(dsn: str) -> int:
        pool = await _with_pool(dsn)
        try:
            return await expire(pool, ttl_hours=settings.idempotency_ttl_hours)
        finally:
            await pool.close()

    with database(settings) as dsn:
        n = asyncio.run(run(dsn))
    print(f"deleted {n} idempotency key(s) older than {settings.idempotency_ttl_hours} h")
    return 0


def _forensic_key(settings: Settings, args: argparse.Namespace) -> bytes:
    return args.key.encode() if args.key else settings.forensic_key_bytes()


def cmd_watermark_apply(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.forensic import viewer_number
    from workers.forensic_render import apply_mark

    try:
        viewer = viewer_number(args.viewer)
        frames = apply_mark(
            Path(args.source),
            Path(args.target),
            _forensic_key(settings, args),
            viewer,
            strength=args.strength,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"marked {frames} frames for viewer {viewer} ({viewer:#018x}) -> {args.target}")
    return 0


def cmd_watermark_identify(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from workers.forensic_render import identify_file

    try:
        found = identify_file(Path(args.file), _forensic_key(settings, args))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if found.viewer is None:
        print(f"no forensic mark found ({found.frames} frames read)")
        return 1
    print(
        f"viewer {found.viewer} ({found.viewer:#018x}; as an account id prefix "
        f"{found.viewer:016x}) confidence {found.confidence:.1f}, {found.frames} frames"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    from api.auth.rbac import Role

    p = argparse.ArgumentParser(prog="teezu", description="TeezU Live engine and API")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run every role in one process")
    serve.add_argument("--demo", action="store_true", help="create/print a demo stream")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser(
        "api", help="run the API role only (REST, Socket.IO chat, pages; no WHIP/WHEP)"
    ).set_defaults(func=cmd_role, role="api")
    sub.add_parser(
        "ingest", help="run the ingest role (WHIP, the engine, WHEP, LL-HLS of its streams)"
    ).set_defaults(func=cmd_role, role="ingest")
    sub.add_parser(
        "worker", help="run the worker role (retention, analytics refresh, post scanning, jobs)"
    ).set_defaults(func=cmd_role, role="worker")
    clus = sub.add_parser("cluster", help="run the cluster topology on this machine")
    clus.add_argument(
        "cluster_command",
        choices=["up", "down", "config", "compose"],
        help="up: start nginx, Redis, PostgreSQL and the roles; down: stop what up started; "
        "config: print the generated nginx configuration; compose: write "
        "docker-compose.cluster.yml and deploy/nginx/cluster.conf from the same topology",
    )
    clus.add_argument("--dir", default="var/cluster", help="state directory (default var/cluster)")
    clus.set_defaults(func=cmd_cluster)
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
    token.add_argument(
        "--ttl", type=int, default=3600, help="seconds until it expires (60 to 3600)"
    )
    token.add_argument(
        "--exempt",
        action="store_true",
        help="a staff token: passes the viewer age gate and geo-blocks (without it, an "
        "age-gated stream refuses the token)",
    )
    token.set_defaults(func=cmd_streams_token)
    streams.add_parser("list", help="list streams").set_defaults(func=cmd_streams_list)
    users = sub.add_parser("users", help="manage accounts").add_subparsers(
        dest="users_command", required=True
    )
    ucreate = users.add_parser("create", help="create an account (e.g. the first admin)")
    ucreate.add_argument("--email", required=True)
    ucreate.add_argument("--handle", required=True)
    ucreate.add_argument("--born", required=True, help="date of birth, YYYY-MM-DD (18+)")
    ucreate.add_argument(
        "--role",
        action="append",
        choices=[str(r) for r in Role],
        help="repeat for several roles; default: member",
    )
    ucreate.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    ucreate.set_defaults(func=cmd_users_create)
    unban = users.add_parser(
        "unban", help="lift a ban or suspension (e.g. a wrongly banned staff account; audited)"
    )
    unban.add_argument("handle")
    unban.add_argument("--reason", required=True, help="why (kept in the audit log)")
    unban.set_defaults(func=cmd_users_unban)
    sub.add_parser("migrate", help="apply SQL migrations").set_defaults(func=cmd_migrate)
    openapi = sub.add_parser("openapi", help="print the API's OpenAPI document")
    openapi.add_argument("-o", "--output", help="write to this file instead of standard output")
    openapi.set_defaults(func=cmd_openapi)
    ledger = sub.add_parser("ledger", help="the token ledger").add_subparsers(
        dest="ledger_command", required=True
    )
    ledger.add_parser(
        "check", help="verify the books sum to zero and outstanding = bought - spent - refunded"
    ).set_defaults(func=cmd_ledger_check)
    ledger.add_parser("rollup", help="roll up derived balances").set_defaults(
        func=cmd_ledger_rollup
    )
    subs = sub.add_parser("subscriptions", help="creator subscriptions").add_subparsers(
        dest="subscriptions_command", required=True
    )
    subs.add_parser("renew", help="charge, grace or end every due subscription once").set_defaults(
        func=cmd_subscriptions_renew
    )
    ledger.add_parser(
        "expire-keys", help="delete idempotency keys older than TEEZU_IDEMPOTENCY_TTL_HOURS"
    ).set_defaults(func=cmd_ledger_expire_keys)
    marks = sub.add_parser("watermark", help="forensic per-viewer marks").add_subparsers(
        dest="watermark_command", required=True
    )
    apply = marks.add_parser("apply", help="write a copy of a video marked for one viewer")
    apply.add_argument("source")
    apply.add_argument("target", help="output file (MP4)")
    apply.add_argument(
        "--viewer", required=True, help="64-bit number (123, 0x7b) or account UUID (first 64 bits)"
    )
    apply.add_argument("--strength", type=float, default=3.0, help="peak luma levels (default 3)")
    identify = marks.add_parser("identify", help="print the viewer id marked in a video")
    identify.add_argument("file")
    for cmd in (apply, identify):
        cmd.add_argument("--key", help="mark key (default: TEEZU_FORENSIC_KEY or var/forensic.key)")
    apply.set_defaults(func=cmd_watermark_apply)
    identify.set_defaults(func=cmd_watermark_identify)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
