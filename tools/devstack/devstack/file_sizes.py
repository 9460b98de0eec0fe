"""`make lint`: no file of the shipped code is over MAX_LINES lines unless it says why, in a line
starting ``# Size:``. A long file is usually two responsibilities; the reason says why this is one."""

from collections.abc import Iterable
from pathlib import Path

from devstack.services import APPS, REPO_ROOT, SERVICES

MAX_LINES = 300
REASON = "# Size:"


def shipped_roots(root: Path = REPO_ROOT) -> list[Path]:
    """The code the images ship: the framework, the contracts, the typed client (in the console's image)
    and every service's and app's package."""
    libraries = [root / "libs" / "common" / "saga_common", root / "libs" / "contracts" / "shop_contracts"]
    libraries += [root / "libs" / "client" / "saga_client"]
    packages = [root / s.folder / s.module for s in SERVICES] + [root / a.folder / a.module for a in APPS]
    return libraries + packages


def oversized(roots: Iterable[Path]) -> list[tuple[Path, int]]:
    """Files over MAX_LINES without a stated reason, with their length (migrations are generated)."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            if len(lines) > MAX_LINES and not any(line.startswith(REASON) for line in lines):
                found.append((path, len(lines)))
    return found


def main() -> int:
    found = oversized(shipped_roots())
    for path, length in found:
        where = path.relative_to(REPO_ROOT)
        print(f"{where}: {length} lines (over {MAX_LINES}: split it, or say why in '{REASON}')")
    return 1 if found else 0
