"""The import structure: every package imports only from floors below it (or its own floor's
independent neighbours never), so no arrow runs up and there is no cycle. The floors are the ones
the README's layout table shows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_public_api import shipped_packages

ROOT = Path(__file__).resolve().parents[1]

#: package -> floor; a package may import only packages on lower floors
FLOORS = {
    "foundation": 0,
    "properties": 0,
    "schemas": 1,
    "observability": 1,
    "producer": 2,
    "consumer": 2,
    "localaws": 2,
    "admin": 2,
    "reconcile": 2,
    "analytics": 2,
    "deploy": 3,
    "loadgen": 3,
    "demo": 4,
    "nicelist": 5,
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages of ours that a file imports (absolute imports, anywhere in the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(FLOORS)


def test_every_shipped_package_has_a_floor() -> None:
    assert set(shipped_packages()) == set(FLOORS)


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_import_runs_up_or_sideways(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for imported in imported_packages(path) - {package}:
            if FLOORS[imported] >= FLOORS[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {imported} (floor {FLOORS[imported]})")
    assert not wrong, f"{package} is on floor {FLOORS[package]}:\n" + "\n".join(wrong)
