"""Factories for behaviour events used across the tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

_counter = itertools.count()
BASE_MS = 1_766_448_000_000  # 2025-12-23T00:00:00Z


def make_event(**overrides: Any) -> dict[str, Any]:
    """A valid behaviour event; keyword arguments replace or add fields."""
    n = next(_counter)
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "kid_id": f"kid-{n % 1000:06d}",
        "elf_id": f"elf-{n % 17}",
        "behaviour": "NICE" if n % 3 else "NAUGHTY",
        "observed_at": BASE_MS + n,
        "note": None,
        "location": None,
    }
    event.update(overrides)
    return event
