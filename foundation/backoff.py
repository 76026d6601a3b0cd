"""Capped exponential backoff with "equal jitter" (pure; the random source is injected)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """``delay_s(attempt)`` for attempt 1, 2, 3... grows ``base_s * multiplier**(attempt-1)`` up to
    ``max_s``; the result lies in ``[cap/2, cap]`` so retries spread out but never hammer."""

    base_s: float = 0.1
    max_s: float = 10.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.max_s:
            raise ValueError(f"need 0 < base_s <= max_s, got base_s={self.base_s} max_s={self.max_s}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")

    def cap_s(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        exponent = min(attempt - 1, 64)  # beyond this the cap has long been reached
        return min(self.max_s, self.base_s * self.multiplier**exponent)

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        cap = self.cap_s(attempt)
        return cap / 2 + (rng or random).uniform(0, cap / 2)
