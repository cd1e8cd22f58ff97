"""Schemathesis against the live server over HTTP: no 500s, no status code the document hides.

Generated from ``/api/v1/openapi.json`` (positive and negative inputs), signed in as an admin
creator so guarded routes are exercised past their permission checks. Bounded example count
and a fixed seed keep it to about a minute and reproducible.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from api.auth.rbac import Role

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Never fuzzed: the event stream never ends (a request would hang until the timeout), and
# logout / session revocation would end the session the run is signed in with.
SKIPPED = ("stream_events", "logout", "revoke_session")


# About 1.5 minutes on a quiet 2-core machine; seven and more at load 15 (a full run beside other
# work). The limits are safety nets against a hang, not a speed requirement.
@pytest.mark.timeout(1200)
async def test_schemathesis_finds_no_server_errors(server, account, tmp_path):
    acct = await account(Role.ADMIN, Role.CREATOR)
    cookie = acct.cookie()
    args = [
        "run",
        f"{server.base_url}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance",
        "--max-examples",
        "25",
        "--seed",
        "20261122",
        # One worker: CPython 3.11.7's ast.parse is not safe in parallel threads (hypothesis
        # parses lambdas' source while building strategies: "AST constructor recursion depth
        # mismatch" stopped a run with two).
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
        "-H",
        f"Cookie: session={cookie}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    for op in SKIPPED:
        args += ["--exclude-operation-id", op]
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=1100)
    text = out.decode(errors="replace")
    print(text[-4000:])
    # On failure, the failures section first (which operation, which check, the curl to
    # replay it): a long run's tail alone can leave it out.
    failures = text[text.find("FAILURES") :][:10000] if "FAILURES" in text else ""
    assert proc.returncode == 0, failures + "\n[...]\n" + text[-4000:]
    # It really ran: every operation but the skipped ones, with many cases, none failing.
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", text).groups())
    tested = int(re.search(r"Tested: (\d+)", text).group(1))
    assert total - selected == len(SKIPPED) and tested == selected >= 25
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", text).groups())
    assert generated == passed >= 20 * tested
