"""The README's first path, exactly, with the default settings.

``make run`` (its recipe is read from the Makefile) on a fresh var/ and free ports set the way
a user can (``TEEZU_VAR_DIR``, ``TEEZU_PORT``, ``TEEZU_EDGE_PORT``); the studio and watch URLs
are taken from its stdout in the form README.md's "What you get" shows; Chromium opens the
studio URL and presses Go live; the watch URL plays (its ``video.currentTime`` advances).
If the README's commands or printed URLs change, this test changes with them.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.e2e.conftest import chromium
from tests.e2e.test_browser import wait_studio_live
from tests.servers import REPO, teezu_serve

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

README_BASE = "http://localhost:8080"  # the default the README prints


def make_run_args() -> list[str]:
    """The arguments ``make run`` gives ``teezu`` (after the setup it runs first)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no run target in the Makefile"
    words = shlex.split(recipe.group(1).strip())
    assert Path(words[0]).name == "teezu", words
    return words[1:]


def printed_urls() -> dict[str, re.Pattern[str]]:
    """The lines of README.md's "What you get" block that carry URLs, as patterns by label."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## What you get", 1)[1].split("\n## ", 1)[0]
    assert "`make run` runs `teezu serve --demo`" in section, "the README names the command"
    block = section.split("```", 2)[1]
    patterns = {}
    for line in block.splitlines():
        if README_BASE not in line:  # the other lines: their label at least
            if ": " in line:
                label = line.split(": ", 1)[0].strip()
                patterns[label] = re.compile(r"^\s*" + re.escape(label) + r":\s+\S", re.M)
            continue
        label, url = (part.strip() for part in line.split(": ", 1))
        rx = re.escape(url)
        rx = rx.replace(re.escape(README_BASE), r"http://localhost:(?P<port>\d+)")
        rx = rx.replace(re.escape("<id>"), r"(?P<id>[0-9a-f-]{36})")
        rx = rx.replace(re.escape("<publish token>"), r"(?P<token>[A-Za-z0-9_.-]+)")
        patterns[label] = re.compile(re.escape(label) + r":\s+(?P<url>" + rx + r")\s*$", re.M)
    assert set(patterns) >= {"studio (go live)", "watch"}, patterns
    return patterns


async def test_make_run_goes_live_from_the_printed_studio_url(tmp_path, tmp_path_factory, console):
    args = make_run_args()
    assert args == ["serve", "--demo"], args
    patterns = printed_urls()
    async with teezu_serve(tmp_path / "var", *args[1:]) as served:
        out = served.stdout()
        found = {label: rx.search(out) for label, rx in patterns.items()}
        assert all(found.values()), f"stdout does not print the README's URLs:\n{out}"
        studio_url, watch_url = found["studio (go live)"]["url"], found["watch"]["url"]
        port = served.base_url.rsplit(":", 1)[1]
        assert found["studio (go live)"]["port"] == port == found["watch"]["port"]
        assert found["studio (go live)"]["id"] == found["watch"]["id"]
        origin = f"http://localhost:{port}"

        async with chromium(
            SimpleNamespace(base_url=origin), tmp_path_factory, bypass_csp=True
        ) as ctx:
            studio = console.watch(await ctx.new_page(), "studio")
            await studio.goto(studio_url)
            await studio.wait_for_function("document.getElementById('preview').videoWidth > 0")
            await studio.click("#golive")
            await wait_studio_live(studio, within=30)

            watch = console.watch(await ctx.new_page(), "watch")
            await watch.goto(watch_url)
            await watch.wait_for_function(
                "document.getElementById('video').currentTime > 0", timeout=60_000, polling=200
            )
            t0 = await watch.evaluate("document.getElementById('video').currentTime")
            advanced, deadline = 0.0, time.monotonic() + 30
            while advanced < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                advanced = await watch.evaluate("document.getElementById('video').currentTime") - t0
            assert advanced >= 3, f"the watch page's video advanced {advanced:.1f} s only"
            assert await studio.evaluate("document.body.dataset.state") == "live"
            await studio.click("#stop")
    assert not console.page_errors(), console.page_errors()
