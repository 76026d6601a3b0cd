"""Docs that cannot drift from the code: the README's exception tree names every exception the
producer exports, the README's and OPERATIONS' command tables name every ``nicelist`` sub-command,
and the README's layout table puts each package on the floor ``tests/test_layers.py`` pins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import producer
from nicelist.cli import COMMANDS
from tests.test_layers import FLOORS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPERATIONS = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
README_MAX_LINES = 300


def _exported_exceptions() -> set[str]:
    return {
        name
        for name in producer.__all__
        if isinstance(getattr(producer, name), type) and issubclass(getattr(producer, name), BaseException)
    }


def _exception_tree() -> set[str]:
    """The first name on each line of the tree (the root, then each branch)."""
    tree = [line for line in README.splitlines() if line.startswith(("ProducerError", "├", "│", "└"))]
    return {found.group(1) for line in tree if (found := re.search(r"([A-Z]\w*Error)\b", line))}


def _commands_in_table(text: str) -> set[str]:
    return {
        m
        for line in text.splitlines()
        if line.startswith("| `nicelist ")
        for m in re.findall(r"`nicelist ([a-z-]+)", line)
    }


def test_the_readme_stays_short() -> None:
    assert len(README.splitlines()) <= README_MAX_LINES


def test_the_exception_tree_names_every_exported_exception() -> None:
    missing = _exported_exceptions() - _exception_tree()
    assert not missing, f"README's exception tree lacks {sorted(missing)}"


@pytest.mark.parametrize(
    "name, text", [("README.md", README), ("docs/OPERATIONS.md", OPERATIONS)], ids=["README", "OPERATIONS"]
)
def test_every_sub_command_is_in_the_command_table(name: str, text: str) -> None:
    missing = set(COMMANDS) - _commands_in_table(text)
    assert not missing, f"{name}'s command table lacks {sorted(missing)}"


def test_the_layout_table_agrees_with_the_layer_test() -> None:
    rows = re.findall(r"^\| (\d+) \| `(\w+)/` \|", README, flags=re.MULTILINE)
    assert {package: int(floor) for floor, package in rows} == FLOORS


def test_the_guards_see_drift() -> None:
    assert "SpoolIOError" in _exception_tree() and "NotAnError" not in _exception_tree()
    assert _commands_in_table("| `nicelist alarms show\\|apply` | x |\n| `nicelist reshard ...` | y |") == {
        "alarms",
        "reshard",
    }
