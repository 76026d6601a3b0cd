"""A guard for the deadline pollers' callers: a poll that times out raises ``PollTimeout`` (a
``TimeoutError``), so a ``suppress(AssertionError)`` or ``except AssertionError`` around one catches
nothing and turns a best-effort wait into a failure that depends on the machine's load. Best-effort
waits use ``poll`` (which never raises); a caller that adds a diagnosis catches ``PollTimeout``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.polling import PollTimeout, poll, wait_until

ROOT = Path(__file__).resolve().parent.parent
WAITING = ("wait", "poll")  # a called name with one of these in it may time out


def _python_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if not parts & {".git", "build", ".venv", "venv"} and not any(p.endswith(".egg-info") for p in parts):
            yield path


def _names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _waits_in(body: list[ast.stmt]) -> list[str]:
    called = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if any(word in name.lower() for word in WAITING):
                    called.append(name)
    return called


def _assertion_catchers(tree: ast.AST) -> Iterator[tuple[int, list[str]]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                if "AssertionError" in _names(handler.type) and (waits := _waits_in(node.body)):
                    yield handler.lineno, waits
        elif isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and "suppress" in _names(call.func)
                    and any("AssertionError" in _names(arg) for arg in call.args)
                    and (waits := _waits_in(node.body))
                ):
                    yield node.lineno, waits


def test_no_wait_is_wrapped_in_an_assertion_error_catch() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} catches AssertionError around {', '.join(waits)}"
        for path in _python_files()
        for line, waits in _assertion_catchers(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, "a timed-out poll raises PollTimeout, not AssertionError:\n" + "\n".join(offenders)


def test_the_guard_sees_both_forms() -> None:
    source = (
        "import contextlib\n"
        "with contextlib.suppress(AssertionError):\n    wait_until(f, timeout_s=1, what='x')\n"
        "try:\n    pipeline.wait_for_events(ids, timeout_s=1)\nexcept AssertionError:\n    pass\n"
        "try:\n    wait_until(f, timeout_s=1, what='x')\nexcept PollTimeout:\n    pass\n"
    )
    assert [line for line, _ in _assertion_catchers(ast.parse(source))] == [2, 6]


def test_a_timeout_is_a_poll_timeout_and_poll_never_raises() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(PollTimeout) as caught:
        wait_until(lambda: None, timeout_s=2, what="nothing", clock=lambda: now[0], sleep=sleep)
    assert not isinstance(caught.value, AssertionError)
    assert poll(lambda: 0, bool, timeout_s=2, clock=lambda: now[0], sleep=sleep) == (0, False)
