"""Waiting for a condition with a deadline instead of sleeping for a fixed time; the clock and the
sleep are injected so a caller's tests need not wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class PollTimeout(TimeoutError):
    """The condition did not hold before the deadline; ``what`` names it."""

    def __init__(self, what: str, timeout_s: float) -> None:
        self.what = what
        self.timeout_s = timeout_s
        super().__init__(f"timed out after {timeout_s:.0f} s waiting for {what}")


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_s: float,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, bool]:
    """Call ``probe`` until ``done(result)`` or the deadline; the last result, and whether it was done
    (for a caller that reports the last answer rather than failing)."""
    deadline = clock() + timeout_s
    while True:
        result = probe()
        if done(result):
            return result, True
        now = clock()
        if now >= deadline:
            return result, False
        sleep(min(poll_s, max(0.0, deadline - now)))


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe`` until it returns something truthy and return that; raise :class:`PollTimeout`
    naming ``what`` at the deadline."""
    result, done = poll(probe, bool, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep)
    if not done:
        raise PollTimeout(what, timeout_s)
    return result  # type: ignore[return-value]  # truthy, so not None
