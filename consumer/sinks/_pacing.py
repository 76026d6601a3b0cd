"""How hard the kid-table writer pushes, from what DynamoDB answers: pure, no AWS.

Throttling is weather, not failure: a throttled statement (``ThrottlingError``,
``ProvisionedThroughputExceeded``, ``RequestLimitExceeded`` in a BatchExecuteStatement answer) or
a call throttled whole (``ThrottlingException``, ``ProvisionedThroughputExceededException``,
``RequestLimitExceeded``) is sent again, for as long as the throttling lasts. :class:`Pacer`
decides two things per round of calls, AIMD-like:

- how many calls are in flight (``limit``): one more after a round with no throttling, up to
  ``max_in_flight``; after a throttled round, at least one fewer and no more calls than the
  table took in that round (statements accepted / statements per call), at least one;
- how long to wait before the next round: nothing after a clean round; a short jittered pause
  (the first step of :mod:`foundation.backoff`) when the table took some statements; capped
  exponential backoff with jitter while it takes none (``base_s`` doubling up to ``max_s``).

It also keeps the figures the processor publishes (statements throttled, calls in flight, time
spent waiting) and writes the throttling summary: one log line when throttling first starts,
then at most one per ``summary_every_s`` (never one per retry).
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from foundation.backoff import cap_s, equal_jitter

log = logging.getLogger(__name__)

#: the first pause after a throttled round, and the longest (seconds)
THROTTLE_BASE_S = 0.05
THROTTLE_MAX_S = 1.0
SUMMARY_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class PacingStats:
    """Cumulative figures of one sink (the processor publishes their deltas)."""

    throttled_statements: int
    throttled_calls: int
    waited_s: float
    in_flight_limit: int
    write_statements: int
    kids_settled: int


class Pacer:
    """Calls in flight and pauses after throttling (see the module doc). Thread-safe reads."""

    def __init__(
        self,
        *,
        max_in_flight: int,
        table: str,
        monotonic: Callable[[], float],
        base_s: float = THROTTLE_BASE_S,
        max_s: float = THROTTLE_MAX_S,
        summary_every_s: float = SUMMARY_EVERY_S,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_in_flight = max(1, max_in_flight)
        self.limit = self.max_in_flight
        self._table = table
        self._monotonic = monotonic
        self._base_s, self._max_s = base_s, max_s
        self._summary_every_s = summary_every_s
        self._rng = rng
        self._dry_rounds = 0  # consecutive rounds in which the table took nothing
        self._lock = threading.Lock()
        self.throttled_statements = self.throttled_calls = 0
        self.waited_s = 0.0
        self.write_statements = self.kids_settled = 0
        self._since_summary = (0, 0, 0.0)  # statements, calls, waited at the last summary
        self._last_summary: float | None = None

    def round_done(self, *, accepted: int, throttled: int, throttled_calls: int, per_call: int) -> float:
        """A round ended with ``accepted`` statements answered (not throttled) and ``throttled``
        to send again (``throttled_calls`` of the calls throttled whole); returns the pause (s)."""
        with self._lock:
            self.write_statements += accepted
            self.throttled_statements += throttled
            self.throttled_calls += throttled_calls
            if not throttled:
                self.limit = min(self.max_in_flight, self.limit + 1)
                self._dry_rounds = 0
                return 0.0
            took = math.ceil(accepted / max(1, per_call))
            self.limit = max(1, min(self.limit - 1, took))
            self._dry_rounds = self._dry_rounds + 1 if accepted == 0 else 0
            attempt = max(1, self._dry_rounds)
        self._summarise()
        return equal_jitter(cap_s(self._base_s, self._max_s, attempt), self._rng())

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.waited_s += seconds

    def settled(self, kids: int) -> None:
        """``kids`` kids' writes are done (written or superseded)."""
        with self._lock:
            self.kids_settled += kids

    def stats(self) -> PacingStats:
        with self._lock:
            return PacingStats(
                throttled_statements=self.throttled_statements,
                throttled_calls=self.throttled_calls,
                waited_s=self.waited_s,
                in_flight_limit=self.limit,
                write_statements=self.write_statements,
                kids_settled=self.kids_settled,
            )

    def _summarise(self) -> None:
        """One line when throttling first starts, then at most one per ``summary_every_s``."""
        now = self._monotonic()
        if self._last_summary is not None and now - self._last_summary < self._summary_every_s:
            return
        statements, calls, waited = self._since_summary
        since = "so far" if self._last_summary is None else f"in the last {now - self._last_summary:.0f} s"
        log.warning(
            "DynamoDB throttles writes into %s: %s statements throttled (%s calls throttled whole) %s; "
            "%s calls in flight (of %s); %.1f s spent waiting. Still writing: throttling is not a failure, "
            "the shard catches up when the table has capacity again",
            self._table,
            self.throttled_statements - statements,
            self.throttled_calls - calls,
            since,
            self.limit,
            self.max_in_flight,
            self.waited_s - waited,
        )
        self._since_summary = (self.throttled_statements, self.throttled_calls, self.waited_s)
        self._last_summary = now


class FirstStatement:
    """Whether a kid the writer has not seen yet gets an INSERT or an UPDATE first.

    From the recent share of such kids the table already held (``DuplicateItem`` answers to
    INSERT, or an UPDATE that found the item): above one half, UPDATE first. A fresh table makes
    INSERT right; a worker restarted on a full table learns UPDATE within its first call, so it
    sends about one write statement per kid instead of two. Until ``min_seen`` answers are in,
    the writer sends one call only (a probe) before choosing for the rest.
    """

    def __init__(self, *, window: int = 64, min_seen: int = 8) -> None:
        self._window = window
        self._min_seen = min_seen
        self._seen: list[bool] = []
        self._lock = threading.Lock()

    def observe(self, existed: bool) -> None:
        with self._lock:
            self._seen.append(existed)
            if len(self._seen) > self._window:
                del self._seen[: len(self._seen) - self._window]

    @property
    def decided(self) -> bool:
        return len(self._seen) >= self._min_seen

    @property
    def existing_share(self) -> float:
        with self._lock:
            return sum(self._seen) / len(self._seen) if self._seen else 0.0

    def update_first(self) -> bool:
        return self.decided and self.existing_share > 0.5
