"""The first chunk's dictionary holds only the words of the first chunk and the watch route.

``web/src/i18n/en.ts`` (and its Dutch twin) ride in the entry chunk, which every route pays for
and which counts towards the watch route's JavaScript budget (test_bundle_budget.py). Another
screen's words go in that screen's own chunk: a ``strings.ts`` next to it made with
``defineStrings`` and read with ``useT(strings)`` (see ``web/src/i18n/index.ts``).

This test reads the source, no build: it follows the static imports from ``main.tsx`` and the
watch screen (``import()`` is a chunk of its own and is not followed, but the watch screen's
phone layout and the menu drawer are started from too) and requires every key of
en.ts to be named by one of those files, as a literal (``'watch.title'``) or by the prefix of a
template (```mood.${m}```).
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "web" / "src"
# The first chunk, the watch screen, and what they load on demand on every visit of it: the
# watch screen's phone layout and the menu drawer.
STARTS = (
    "main.tsx",
    "features/watch/WatchPage.tsx",
    "features/watch/WatchMobile.tsx",
    "app/Drawer.tsx",
)
# A handful of words every screen shares ("Back", "Show more") stay in the first chunk.
SHARED = ("common.",)

STATIC_IMPORT = re.compile(
    r"^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'", re.M
)
KEY = re.compile(r"^  '([A-Za-z0-9_.]+)': ", re.M)
LITERAL = re.compile(r"['\"]([A-Za-z]+\.[A-Za-z0-9_.]+)['\"]")
TEMPLATE = re.compile(r"`([A-Za-z]+\.[A-Za-z0-9_.]*)\$\{")


def resolve(spec: str, importer: Path) -> Path | None:
    if spec.startswith("@/"):
        base = SRC / spec[2:]
    elif spec.startswith("."):
        base = (importer.parent / spec).resolve()
    else:
        return None  # a package
    for candidate in (
        base,
        *(Path(f"{base}{e}") for e in (".ts", ".tsx", "/index.ts", "/index.tsx")),
    ):
        if candidate.is_file() and candidate.suffix in (".ts", ".tsx"):
            return candidate
    return None


def watch_route_sources() -> set[Path]:
    seen: set[Path] = set()
    stack = [SRC / s for s in STARTS]
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        for m in STATIC_IMPORT.finditer(path.read_text(encoding="utf-8")):
            found = resolve(m.group(1) or m.group(2), path)
            if found is not None:
                stack.append(found)
    return seen


def test_every_first_chunk_key_is_used_by_the_first_chunk_or_the_watch_route() -> None:
    sources = watch_route_sources() - {SRC / "i18n" / "en.ts", SRC / "i18n" / "nl.ts"}
    assert SRC / "features" / "watch" / "Chat.tsx" in sources, sorted(map(str, sources))
    literals: set[str] = set()
    prefixes: set[str] = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        literals.update(LITERAL.findall(text))
        prefixes.update(TEMPLATE.findall(text))
    keys = KEY.findall((SRC / "i18n" / "en.ts").read_text(encoding="utf-8"))
    assert len(keys) > 100, "en.ts not read"
    unused = [
        k
        for k in keys
        if k not in literals
        and not k.startswith(SHARED)
        and not any(k.startswith(p) for p in prefixes)
    ]
    assert not unused, (
        "en.ts rides in the first chunk of every route; these keys are not used there nor on the "
        "watch route — move them to their screen's strings.ts (defineStrings + useT(strings)):\n"
        + "\n".join(unused)
    )
