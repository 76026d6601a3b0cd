"""Small rooms: no shipped module over 500 lines, no function over 100 (house rules; issue 23).

Shipped means the packages in setup.py's ``PACKAGES`` (not tests/ or bench/). A function's length
runs from its ``def`` line to its last line (decorators not counted), nested functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_public_api import shipped_packages

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100


def shipped_modules() -> list[Path]:
    return sorted(path for package in shipped_packages() for path in (ROOT / package).rglob("*.py"))


def oversized(path: Path) -> list[str]:
    """What in ``path`` is over the limits, one line each."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"module {where}: {lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"function {where}:{node.lineno} {node.name}: {length} lines")
    return found


def test_shipped_modules_exist() -> None:
    assert len(shipped_modules()) > 100


def test_no_module_over_500_lines_and_no_function_over_100() -> None:
    found = [line for path in shipped_modules() for line in oversized(path)]
    assert not found, f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function:\n" + "\n".join(found)
