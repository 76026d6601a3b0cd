"""foundation.windowed.map_ordered: input order, a bounded number in flight, errors in order."""

from __future__ import annotations

import threading

import pytest

from foundation.windowed import map_ordered


def test_results_come_in_input_order_with_at_most_window_in_flight() -> None:
    lock = threading.Lock()
    state = {"running": 0, "most": 0}

    def work(n: int) -> int:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        with lock:
            state["running"] -= 1
        return n * n

    assert list(map_ordered(work, range(50), window=3)) == [(n, n * n) for n in range(50)]
    assert state["most"] <= 3


def test_an_error_surfaces_at_its_place() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise KeyError(n)
        return n

    found = map_ordered(work, range(5), window=2)
    assert next(found) == (0, 0) and next(found) == (1, 1)
    with pytest.raises(KeyError):
        next(found)
    with pytest.raises(ValueError):
        list(map_ordered(work, [], window=0))
