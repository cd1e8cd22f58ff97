"""The layering rule (docs/architecture.md), read from every import statement of the tree.

A small AST walk rather than import-linter: the rule is an allow-list of modules, each with its
reason, plus a short list of known exceptions with theirs, and every import counts (inside
functions and ``TYPE_CHECKING`` blocks too); import-linter's contracts would spell the same
as pairs of ignored imports without the reasons. Each rule also checks that its exceptions
still exist, so a fixed one is taken off the list.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "engine", "hls", "ingest", "live", "workers", "teezu", "tests", "loadtests")
# What teezu/ (plumbing) must not import.
ROLES = ("api", "engine", "hls", "ingest", "live", "workers")

# Domain code outside api/ may use these api/ modules: stores (SQL), models and pure policy,
# and the wallet's service interface. Nothing else of api/ (no routes, no HTTP, no app state).
API_FOR_DOMAIN_CODE = {
    "api.analytics.views": "the hub's view refresh, which the analytics worker runs",
    "api.consent.store": "performers and check-ins: WHIP's go-live gate reads them",
    "api.moderation.store": "a stream's safety state (frozen, rating): WHIP, live broadcasts",
    "api.moderation.freezes": "pure: who lifts which freeze (WHIP refuses a frozen go-live)",
    "api.reports.store": "an account's standing (WHIP refuses a suspended creator)",
    "api.reports.actions": "pure: what a standing allows",
    "api.streams.store": "streams SQL: WHIP/WHEP look streams up and mark them live",
    "api.streams.broadcasts": "the broadcasts table (runs and VODs): live broadcasts, retention",
    "api.posts.stories": "stories SQL: the stories worker deletes expired ones",
    "api.subscriptions.billing": "the renewal pass the subscriptions worker runs",
    "api.subscriptions.model": "pure: billing periods and states",
    "api.wallet.accounts": "the ledger's account book (the renewal worker charges through it)",
    "api.wallet.service": "`Ledger`: the wallet's interface for routes, the CLI and workers",
}
# Imports that break a rule today, each with why and what removes it.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
# The node's assembly and the command line may import any module.
ENTRY_POINTS = {
    "api.app": "the app's assembly: every route module, the node's lifecycle",
    "teezu.cli": "the `teezu` command: builds the app, runs the CLI's ledger and user tasks",
    "teezu.demo": "`teezu serve --demo`'s demo data, through the stores",
    "teezu.node": "the node's lifecycle: what `teezu serve` starts and stops",
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or module.name for `from m import name`)
    line: int

    def of(self, *packages: str) -> bool:
        return any(self.target == p or self.target.startswith(p + ".") for p in packages)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    """Every Python file of the tree (not the npm packages of loadtests/node)."""
    out = []
    for package in PACKAGES:
        for folder, dirs, files in os.walk(ROOT / package):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__")]
            out += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(out)


SOURCES = _sources()


def _statements(nodes: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement, nested ones too (imports are statements: no need to walk expressions)."""
    out = []
    for node in nodes:
        out.append(node)
        for name in ("body", "orelse", "finalbody"):
            out += _statements(getattr(node, name, None) or [])
        for inner in (getattr(node, "handlers", None) or []) + (getattr(node, "cases", None) or []):
            out += _statements(inner.body)  # except clauses, match cases
    return out


def _imports() -> list[Import]:
    out = []
    for path in SOURCES:
        source = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        for node in _statements(tree.body):
            if isinstance(node, ast.Import):
                out += [Import(source, a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = source.split(".")
                    if path.name != "__init__.py":
                        pkg.pop()
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                out += [Import(source, f"{base}.{a.name}", node.lineno) for a in node.names]
    return out


IMPORTS = _imports()
MODULES = {_module_name(p) for p in SOURCES}


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _is_route_module(module: str) -> bool:
    return module.startswith("api.") and module.rsplit(".", 1)[-1].endswith("routes")


def _target_module(imp: Import) -> str:
    """The module an import names (``from api.x import store`` names ``api.x.store``)."""
    target = imp.target
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or imp.target


def _broken(rule: str, found: list[Import]) -> str:
    lines = [f"{i.source}:{i.line} imports {i.target}" for i in found]
    return f"{rule}:\n  " + "\n  ".join(lines)


def test_the_walk_sees_the_tree():
    assert len(IMPORTS) > 3000
    assert any(i.source == "api.app" and _is_route_module(_target_module(i)) for i in IMPORTS)


def test_engine_imports_no_protocol_storage_or_api_layer():
    found = [
        i
        for i in IMPORTS
        if _in(i.source, "engine") and i.of("hls", "api", "ingest", "live", "workers")
    ]
    assert not found, _broken(
        "engine/ imports nothing of hls/, api/, ingest/, live/, workers/", found
    )


def test_hls_knows_no_users_money_or_protocol_edges():
    found = [
        i for i in IMPORTS if _in(i.source, "hls") and i.of("api", "ingest", "live", "workers")
    ]
    assert not found, _broken("hls/ imports nothing of api/, ingest/, live/, workers/", found)


def test_plumbing_imports_no_role():
    found = [
        i
        for i in IMPORTS
        if _in(i.source, "teezu") and i.source not in ENTRY_POINTS and i.of(*ROLES)
    ]
    assert not found, _broken("teezu/ (but the CLI) imports none of " + ", ".join(ROLES), found)


def test_only_the_app_imports_route_modules():
    found = [i for i in IMPORTS if i.source != "api.app" and _is_route_module(_target_module(i))]
    assert not found, _broken("nothing but api/app.py imports a routes module", found)


def test_routes_never_import_workers():
    found = [i for i in IMPORTS if _is_route_module(i.source) and i.of("workers")]
    assert not found, _broken("route modules import nothing of workers/", found)


def test_domain_code_outside_api_uses_only_stores_models_and_policy():
    outside = ("engine", "hls", "ingest", "live", "workers", "teezu")
    found, excused = [], set()
    for i in IMPORTS:
        if not _in(i.source, *outside) or i.source in ENTRY_POINTS or not i.of("api"):
            continue
        target = _target_module(i)
        if target in API_FOR_DOMAIN_CODE:
            continue
        if (i.source, target) in KNOWN_EXCEPTIONS:
            excused.add((i.source, target))
            continue
        found.append(i)
    assert not found, _broken(
        "outside api/, only these api/ modules: " + ", ".join(sorted(API_FOR_DOMAIN_CODE)), found
    )
    stale = set(KNOWN_EXCEPTIONS) - excused
    assert not stale, f"no longer imported, take them off KNOWN_EXCEPTIONS: {sorted(stale)}"


def test_the_allowed_modules_exist():
    assert set(API_FOR_DOMAIN_CODE) <= MODULES, set(API_FOR_DOMAIN_CODE) - MODULES
    assert {t for _, t in KNOWN_EXCEPTIONS} <= MODULES
