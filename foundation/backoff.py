"""Capped exponential backoff with "equal jitter" (pure; the random source is injected).

The one home of the backoff rule: the producer's :class:`Backoff` and the consumer's
``RetryPolicy`` (and its throttling pacer) all compute their sleeps with :func:`cap_s` and
:func:`equal_jitter`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

#: beyond this exponent the cap has long been reached (and ``2.0**n`` would overflow)
_MAX_EXPONENT = 64


def cap_s(base_s: float, max_s: float, attempt: int, multiplier: float = 2.0) -> float:
    """The ceiling of the ``attempt``-th sleep (attempts count from 1): ``base_s * multiplier**(attempt-1)``
    capped at ``max_s``."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    return min(max_s, base_s * multiplier ** min(attempt - 1, _MAX_EXPONENT))


def equal_jitter(ceiling_s: float, unit: float) -> float:
    """A sleep in ``[ceiling/2, ceiling]`` for a uniform ``unit`` in [0, 1]: retries spread out but
    never hammer."""
    return ceiling_s / 2 + unit * ceiling_s / 2


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
        return cap_s(self.base_s, self.max_s, attempt, self.multiplier)

    def delay_s(self, attempt: int, rng: random.Random | Callable[[], float] | None = None) -> float:
        """The ``attempt``-th sleep; ``rng`` a ``random.Random`` or a function returning [0, 1)."""
        if rng is None:
            unit = random.random()
        elif isinstance(rng, random.Random):
            unit = rng.random()
        else:
            unit = rng()
        return equal_jitter(self.cap_s(attempt), unit)
