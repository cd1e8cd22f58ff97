"""What every journey does on every screen: a screenshot (a test artifact, never committed),
axe-core's accessibility check (no serious or critical violation), and the phone's layout
check (no horizontal overflow at 360x740).

Screenshots go to ``var/e2e/<journey>/<viewport>/NN-<screen>.png`` (``TEEZU_E2E_ARTIFACTS``
overrides ``var/e2e``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import BrowserContext, Page, async_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("TEEZU_E2E_ARTIFACTS", ROOT / "var" / "e2e"))

DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}

AXE_RUN = """async () => {
  const r = await axe.run(document, { resultTypes: ['violations'] });
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}"""


@dataclass
class Screens:
    """Checks and records each screen of one journey at one viewport."""

    journey: str
    viewport: str
    phone: bool
    shots: list[Path] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return ARTIFACTS / self.journey / self.viewport

    async def check(self, page: Page, name: str) -> None:
        """Screenshot, then axe (serious/critical: fail), then on the phone 360 px overflow."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shot = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        await page.screenshot(path=str(shot))
        self.shots.append(shot)
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        violations = await page.evaluate(AXE_RUN)
        assert violations == [], f"{name} ({self.viewport}): axe found {violations}"
        if self.phone:
            size = page.viewport_size
            await page.set_viewport_size(NARROW)
            try:
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= NARROW["width"], f"{name} overflows at 360 px: {width}"
            finally:
                if size:
                    await page.set_viewport_size(size)


@contextlib.asynccontextmanager
async def chromium_at(
    profile: Path, base_url: str, *, phone: bool
) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile at the desktop (1366x850) or phone (390x844, touch) size.

    Like the suite's ``browser`` fixture it bypasses the CSP (Playwright's polled predicates
    run through eval); tests/e2e/test_csp.py runs the app under the CSP.
    """
    async with async_playwright() as pw:
        ctx = await pw.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=PHONE if phone else DESKTOP,
            has_touch=phone,
            is_mobile=phone,
            bypass_csp=True,
        )
        await ctx.grant_permissions(["camera", "microphone"], origin=base_url)
        try:
            yield ctx
        finally:
            await ctx.close()
