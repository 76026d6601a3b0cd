"""Retrying calls to AWS with capped exponential backoff; the sleep is injected.

botocore's own retries are turned off for the sink clients (one attempt per call) so this
module is the single place that decides how long a sink keeps trying.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from foundation.aws_errors import ErrorKind, classify, error_code, http_status
from foundation.backoff import cap_s, equal_jitter

from ._errors import ConfigError, SinkError, SinkUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_throttling(exc: BaseException) -> bool:
    """Whether a failed AWS call was throttled (S3's 503 SlowDown, ThrottlingException...)."""
    return isinstance(exc, ClientError) and classify(error_code(exc), http_status(exc)) is ErrorKind.THROTTLED


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed AWS call may succeed when repeated."""
    if isinstance(exc, SinkError):
        return exc.retryable
    if isinstance(exc, ClientError):
        return classify(error_code(exc), http_status(exc)) is not ErrorKind.OTHER
    # connection refused/reset, read timeouts: the request may not have arrived
    return isinstance(exc, (ConnectionError, HTTPClientError))


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """``max_attempts`` tries, sleeping ``base_delay_s * 2**n`` (capped, with jitter) in between
    (:mod:`foundation.backoff`: the one backoff rule of the code base)."""

    max_attempts: int = 8
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 <= self.base_delay_s <= self.max_delay_s:
            raise ConfigError(f"need 0 <= base_delay_s <= max_delay_s, got {self.base_delay_s}, {self.max_delay_s}")

    def delays(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        """The sleeps between attempts: ``max_attempts - 1`` values, "equal jitter" backoff."""
        for attempt in range(1, self.max_attempts):
            yield equal_jitter(cap_s(self.base_delay_s, self.max_delay_s, attempt), rng())

    @property
    def worst_case_s(self) -> float:
        """Longest total sleep before giving up."""
        return sum(cap_s(self.base_delay_s, self.max_delay_s, n) for n in range(1, self.max_attempts))


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    wait_out_throttling: bool = False,
) -> T:
    """Call ``fn`` until it succeeds; retry only retryable errors; raise SinkUnavailableError
    when the policy is spent, or the original error when it is not retryable.

    With ``wait_out_throttling``, throttling does not spend the policy: it is retried for as long
    as it lasts, sleeping the policy's backoff (capped at ``max_delay_s``, jittered), and logged at
    the first and every 20th time (the sink's throttle metrics count every one)."""
    delays = policy.delays(rng)
    attempt = 1
    throttled = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if wait_out_throttling and is_throttling(exc):
                throttled += 1
                pause = equal_jitter(cap_s(policy.base_delay_s, policy.max_delay_s, throttled), rng())
                if throttled % 20 == 1:
                    log.warning(
                        "%s: throttled (%s time(s) in a row: %s); waiting it out, retrying in %.2f s",
                        what,
                        throttled,
                        error_code(exc),
                        pause,
                    )
                sleep(pause)
                continue
            delay = next(delays, None)
            if delay is None:
                raise SinkUnavailableError(f"{what}: still failing after {attempt} attempts: {exc}") from exc
            log.warning("%s: attempt %s failed (%s), retrying in %.2f s", what, attempt, exc, delay)
            sleep(delay)
            attempt += 1
