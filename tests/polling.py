"""Waiting for a condition with a deadline instead of sleeping for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], deadline_s: float = 30, poll_s: float = 0.005) -> None:
    """Return once ``condition()`` is true; fail the test if it is not within ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(poll_s)
