"""Integration tests: embedded PostgreSQL (teezu.embedded_pg) + migration runner (teezu.db)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import pwd
import stat
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from teezu.db import MigrationError, apply_migrations, create_pool
from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

MIGRATIONS = Path(__file__).parents[2] / "teezu" / "migrations"
ALL_VERSIONS = sorted(p.stem for p in MIGRATIONS.glob("*.sql"))
asyncio_module = pytest.mark.asyncio(loop_scope="module")


def _bundle_paths() -> list[Path]:
    pkg = Path(next(iter(importlib.util.find_spec("pgserver").submodule_search_locations)))
    tops = [pkg / "pginstall", *pkg.parent.glob("pgserver*.libs")]
    out: list[Path] = []
    for top in tops:
        out += [*top.parents, top, *top.rglob("*")]
    return out


def _modes(paths) -> dict[Path, int]:
    res = {}
    for p in paths:
        try:
            res[p] = os.lstat(p).st_mode
        except FileNotFoundError:
            pass
    return res


@pytest.fixture(scope="module")
def mode_snapshot(tmp_path_factory):
    """Modes of everything outside our data dirs that the embedded server could touch."""
    base = tmp_path_factory.getbasetemp()
    paths = {*base.parents, base, *_bundle_paths(), Path(sys.prefix)}
    return paths, _modes(paths)


@pytest.fixture(scope="module")
def pg(tmp_path_factory, mode_snapshot):
    data_dir = default_data_dir(tmp_path_factory.mktemp("var"))
    server = EmbeddedPostgres(data_dir)
    t0 = time.monotonic()
    server.start()
    print(f"\nfirst start (initdb + start): {time.monotonic() - t0:.2f}s")
    yield server
    server.stop()


def _dsn_for(dsn: str, dbname: str) -> str:
    return dsn.replace("@/postgres?", f"@/{dbname}?")


async def _fresh_db(dsn: str, name: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _dsn_for(dsn, name)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool(pg):
    p = await create_pool(pg.dsn, min_size=1, max_size=4)
    yield p
    await p.close()


@asyncio_module
async def test_apply_migrations_creates_streams(pool):
    assert await apply_migrations(pool) == ALL_VERSIONS
    assert "0001_streams" in ALL_VERSIONS
    assert await pool.fetchval("SELECT to_regclass('public.streams') IS NOT NULL")
    assert await pool.fetchval("SELECT to_regclass('public.streams_state_idx') IS NOT NULL")
    assert await apply_migrations(pool) == []
    rows = await pool.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == ALL_VERSIONS
    assert all(len(r["checksum"]) == 64 for r in rows)


@asyncio_module
async def test_concurrent_apply_from_five_pools(pg):
    dsn = await _fresh_db(pg.dsn, "concurrent_pools")
    pools = [await create_pool(dsn, min_size=1, max_size=2) for _ in range(5)]
    try:
        results = await asyncio.gather(*(apply_migrations(p) for p in pools))
        assert sorted(results) == [[]] * 4 + [ALL_VERSIONS]
        rows = await pools[0].fetch(
            "SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY 1"
        )
        assert [(r["version"], r["n"]) for r in rows] == [(v, 1) for v in ALL_VERSIONS]
        assert await pools[0].fetchval("SELECT to_regclass('public.streams') IS NOT NULL")
    finally:
        await asyncio.gather(*(p.close() for p in pools))


_CHILD = """
import asyncio, json, sys
from pathlib import Path
from teezu.db import apply_migrations, create_pool
async def main():
    pool = await create_pool(sys.argv[1], min_size=1, max_size=1)
    try:
        print(json.dumps(await apply_migrations(pool, Path(sys.argv[2]))))
    finally:
        await pool.close()
asyncio.run(main())
"""


@asyncio_module
async def test_concurrent_apply_from_processes(pg, tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    for i in range(1, 4):  # non-idempotent, slowish migrations: a double apply would fail
        (mig / f"000{i}_t{i}.sql").write_text(f"CREATE TABLE t{i} (id int); SELECT pg_sleep(0.2);")
    dsn = await _fresh_db(pg.dsn, "concurrent_procs")
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            dsn,
            str(mig),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(Path(__file__).parents[2]),
        )
        for _ in range(4)
    ]
    outs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode() for o in outs]
    results = sorted((json.loads(o[0]) for o in outs), key=len)
    assert results == [[]] * 3 + [["0001_t1", "0002_t2", "0003_t3"]]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 3
    finally:
        await conn.close()


@asyncio_module
async def test_changed_migration_raises(pg, tmp_path):
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "0001_a.sql").write_text("CREATE TABLE a (id int);")
    p = await create_pool(await _fresh_db(pg.dsn, "checksum"), min_size=1, max_size=2)
    try:
        assert await apply_migrations(p, mig) == ["0001_a"]
        (mig / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")
        (mig / "0002_b.sql").write_text("CREATE TABLE b (id int);")
        with pytest.raises(MigrationError, match="0001_a was changed"):
            await apply_migrations(p, mig)
        # nothing was applied, and the advisory lock was released
        assert await p.fetchval("SELECT to_regclass('public.b')") is None
        assert await p.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
        (mig / "0002_b.sql").unlink()
        (mig / "0001_a.sql").write_text("CREATE TABLE a (id int);")
        assert await apply_migrations(p, mig) == []
    finally:
        await p.close()


@asyncio_module
async def test_start_idempotent_and_restart_keeps_data(pg):
    dsn = pg.dsn
    pid_before = (pg.data_dir / "postmaster.pid").read_text().split()[0]
    t0 = time.monotonic()
    assert await asyncio.to_thread(pg.start) == dsn
    print(f"\nstart() on a running server: {time.monotonic() - t0:.3f}s")
    # a second instance (as another process would) reuses the running server
    assert await asyncio.to_thread(lambda: EmbeddedPostgres(pg.data_dir).start()) == dsn
    assert (pg.data_dir / "postmaster.pid").read_text().split()[0] == pid_before

    p = await create_pool(dsn, min_size=1, max_size=1)
    await apply_migrations(p)  # no-op when the earlier test already ran
    await p.close()
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "INSERT INTO streams (id, creator_handle, title, publish_token_hash) "
        "VALUES (gen_random_uuid(), 'alice', 'hello', '\\x00')"
    )
    await conn.close()

    await asyncio.to_thread(pg.stop)
    await asyncio.to_thread(pg.stop)  # idempotent
    pidfile = pg.data_dir / "postmaster.pid"
    assert not pidfile.exists()
    # a stale lock file whose PID now belongs to an unrelated live process (here: pytest)
    pidfile.write_text(f"{os.getpid()}\n{pg.data_dir}\n0\n5432\n{pg.socket_dir}\n")
    t0 = time.monotonic()
    assert await asyncio.to_thread(pg.start) == dsn
    print(f"restart (existing cluster): {time.monotonic() - t0:.2f}s")
    conn = await asyncpg.connect(pg.dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM streams WHERE creator_handle='alice'") == 1
        assert await conn.fetchval("SHOW listen_addresses") == ""
    finally:
        await conn.close()


def test_socket_dir_short_and_long(tmp_path):
    short = EmbeddedPostgres(tmp_path / "pg")
    assert short.socket_dir == tmp_path / "pg-run"
    deep = tmp_path.joinpath(*["d" * 20] * 6) / "pg"
    long_ = EmbeddedPostgres(deep).socket_dir
    assert long_.parent == Path("/tmp") and long_.name.startswith("teezu-pg-")
    assert long_ == EmbeddedPostgres(deep).socket_dir  # stable per data dir
    assert len(os.fsencode(long_ / ".s.PGSQL.5432")) <= 100


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to the unprivileged user")
def test_runs_as_plain_user(pg, tmp_path_factory):
    """The non-root code path: run as the (already created) teezu-pg user."""
    pw = pwd.getpwnam(pg.os_user)
    root = str(Path(__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, sysconfig.get_paths()["purelib"]])}
    as_user = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd=root, env=env)
    # the venv's interpreter may live under /root (mode 0700): fall back to a system python
    ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{ver}", f"/usr/local/bin/{ver}"):
        try:
            probe = subprocess.run(
                [python, "-c", "import asyncpg, psutil"], capture_output=True, timeout=60, **as_user
            )
        except OSError:
            continue
        if probe.returncode == 0:
            break
    else:
        pytest.skip(f"no Python interpreter usable by {pg.os_user}")
    var = tmp_path_factory.mktemp("uservar")
    env["HOME"] = str(var)
    os.chown(var, pw.pw_uid, pw.pw_gid)
    code = (
        "import asyncio, asyncpg, sys\n"
        "from pathlib import Path\n"
        "from teezu.embedded_pg import EmbeddedPostgres\n"
        "pg = EmbeddedPostgres(Path(sys.argv[1]) / 'pg')\n"
        "dsn = pg.start()\n"
        "async def q():\n"
        "    c = await asyncpg.connect(dsn)\n"
        "    print(await c.fetchval('select current_user'))\n"
        "    await c.close()\n"
        "try:\n    asyncio.run(q())\nfinally:\n    pg.stop()\n"
    )
    r = subprocess.run(
        [python, "-c", code, str(var)], capture_output=True, text=True, timeout=120, **as_user
    )
    print(f"\nran as {pg.os_user} with {python}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "postgres"


def test_zz_no_foreign_mode_changes(pg, mode_snapshot):
    """Outside the data/socket dirs, at most o+x may have been added (printed)."""
    paths, before = mode_snapshot
    after = _modes(paths)
    changed = {p: (before[p], after.get(p)) for p in before if after.get(p) != before[p]}
    for p, (b, a) in sorted(changed.items()):
        print(f"mode changed: {p}: {stat.filemode(b)} -> {a and stat.filemode(a)}")
    for p, (b, a) in changed.items():
        assert a is not None and a == b | stat.S_IXOTH, f"unexpected mode change on {p}"
        assert stat.S_ISDIR(a), p
    assert Path("/") not in changed
