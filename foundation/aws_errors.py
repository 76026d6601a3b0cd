"""Reading AWS errors: the code, message and HTTP status of a botocore ``ClientError`` (duck-typed,
so this module imports no AWS library), and the one table of codes that mean "slow down" or "try
again" (each service's documented throttling and server-error codes).

``classify(code, status)`` says what kind of failure a code is; each caller decides what to do
with it (the producer retries throttling forever, a sink a bounded number of times).
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorKind(Enum):
    THROTTLED = "throttled"  # over a limit: back off and retry
    TRANSIENT = "transient"  # 5xx, timeouts, connection trouble, conflicts that clear: retry
    OTHER = "other"  # anything else: the caller decides (usually not retried, or only a few times)


#: "Slow down": Kinesis, DynamoDB, S3, KMS and the generic AWS throttling codes.
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
#: "Try again": server errors, timeouts, and conflicts that clear by themselves.
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionConflictException",
        "ConditionalRequestConflict",
        "ConnectionError",  # botocore connection/read/connect failures, named so by our callers
        "MalformedResponse",  # a 200 whose body does not account for every record
    }
)


def _error(exc: BaseException) -> dict[str, Any]:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return {}
    error = response.get("Error")
    return error if isinstance(error, dict) else {}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``""`` for anything else)."""
    return str(_error(exc).get("Code", "") or "")


def error_message(exc: BaseException) -> str:
    """The AWS error message of a ``ClientError`` (``""`` for anything else)."""
    return str(_error(exc).get("Message", "") or "")


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a ``ClientError``'s response, if it has one."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status else None


def classify(code: str, status: int | None = None) -> ErrorKind:
    """What kind of failure an error code (and HTTP status) is."""
    if code in THROTTLE_CODES or status == 429:
        return ErrorKind.THROTTLED
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return ErrorKind.TRANSIENT
    return ErrorKind.OTHER
