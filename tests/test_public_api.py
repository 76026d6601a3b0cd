"""Every package of the distribution: its public surface is what ``__all__`` says, importing it
starts nothing, and ``setup.py`` ships it."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the packages with a public surface in ``__init__``
PUBLIC = (
    "observability",
    "schemas",
    "producer",
    "consumer",
    "localaws",
    "admin.reshard",
    "admin.autoscale",
    "admin.dead_letters",
    "admin.provision",
    "loadgen",
    "reconcile",
    "analytics",
    "deploy",
    "demo",
)


def shipped_packages() -> tuple[str, ...]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PACKAGES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("setup.py has no PACKAGES")


def test_setup_ships_every_top_level_package() -> None:
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert on_disk == set(shipped_packages())


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    names = module.__all__
    assert sorted(names) == sorted(set(names))
    for public in names:
        assert getattr(module, public) is not None, public


def test_importing_every_package_creates_no_client_and_no_process() -> None:
    imports = ", ".join(shipped_packages())
    code = (
        f"import threading, sys, {imports}; "
        "assert threading.active_count() == 1, threading.enumerate(); "
        "assert 'moto' not in sys.modules and 'hypercorn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)
