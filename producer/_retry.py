"""Which PutRecords errors are worth retrying, and how long to wait (pure).

Throttling and transient server or connection trouble are retried forever by default: during
the December spike the stream is throttled for hours and an accepted event must not expire.
Anything else (access denied, a missing stream, a KMS key problem, a request Kinesis calls
invalid) is retried a bounded number of times, because some of those heal (IAM propagation, a
stream still being created) but most do not, and the app must get the event back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class ErrorKind(Enum):
    THROTTLED = "throttled"  # the stream or account is over its limits: back off, retry forever
    TRANSIENT = "transient"  # 5xx, timeouts, connection errors: retry forever
    OTHER = "other"  # everything else: bounded attempts, then DeliveryFailedError


THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "KMSThrottlingException",
        "SlowDown",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConnectionError",  # botocore connection/read/connect failures, named so by the sender
        "MalformedResponse",  # a 200 whose body does not account for every record
    }
)


def classify(error_code: str, http_status: int | None = None) -> ErrorKind:
    """How to treat one record's (or one call's) failure."""
    if error_code in THROTTLE_CODES or http_status == 429:
        return ErrorKind.THROTTLED
    if error_code in TRANSIENT_CODES or (http_status is not None and http_status >= 500):
        return ErrorKind.TRANSIENT
    return ErrorKind.OTHER


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Capped exponential backoff with "equal jitter": half the cap fixed, half random.

    ``delay_s(attempt)`` for attempt 1, 2, 3... grows ``base_s * multiplier**(attempt-1)`` up to
    ``max_s``; the result lies in ``[cap/2, cap]`` so retries spread out but never hammer.
    """

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

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        cap = self.cap_s(attempt)
        return cap / 2 + rng.uniform(0, cap / 2)
