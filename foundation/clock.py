"""The wall clock in epoch milliseconds, the unit of every timestamp the pipeline stores
(``observed_at``, ``arrived_at``, the kid table's ``updated_at``). Elapsed time uses
``time.monotonic()`` instead; this is for timestamps only. Callers take it as an injectable
``Callable[[], int]`` so tests pass a fixed clock."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    """Now, as integer milliseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1_000_000
