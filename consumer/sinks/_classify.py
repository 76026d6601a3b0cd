"""What a sink does with each error AWS can answer: pure, no AWS.

Three kinds, and the one thing each leads to:

- ``RETRYABLE``: throttling, 5xx, network trouble (the call or statement may succeed later):
  retried with backoff; when the retries are spent the processor stops (exit 70) and restarts
  from its last checkpoint.
- ``REFUSED``: this one item or statement is invalid (a number DynamoDB cannot store, an item
  too large): retrying cannot help and the rest of the batch is fine, so that event is
  dead-lettered with the service's error and the shard moves on.
- ``SYSTEMIC``: the sink itself is unusable (access denied, table or bucket missing, KMS key
  disabled) or the error is one we do not know: every event would fail the same way, so the
  processor stops (exit 70) and logs why, as before; nothing is dead-lettered.

Codes come from the DynamoDB API reference ("Common errors" and each operation's "Errors";
``BatchStatementError`` for the per-statement codes of BatchExecuteStatement).
"""

from __future__ import annotations

from enum import Enum

from foundation.aws_errors import ErrorKind, classify


class Failure(Enum):
    RETRYABLE = "retryable"
    REFUSED = "refused"
    SYSTEMIC = "systemic"


#: Whole-call codes that refuse the item of a single-item write (PutItem) or of a batch of one.
REFUSED_CALL_CODES = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})
#: Per-statement codes of BatchExecuteStatement (``BatchStatementError.Code``).
RETRYABLE_STATEMENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "ThrottlingError",
        "TransactionConflict",
        "InternalServerError",
    }
)
REFUSED_STATEMENT_CODES = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def classify_call(code: str, status: int | None) -> Failure:
    """A failed call (a ``ClientError``'s code and HTTP status)."""
    if classify(code, status) is not ErrorKind.OTHER:
        return Failure.RETRYABLE
    if code in REFUSED_CALL_CODES:
        return Failure.REFUSED
    return Failure.SYSTEMIC


def classify_statement(code: str) -> Failure:
    """A failed statement inside a BatchExecuteStatement answer (other than the two codes the
    write path expects: ``ConditionalCheckFailed`` and ``DuplicateItem``)."""
    if code in RETRYABLE_STATEMENT_CODES:
        return Failure.RETRYABLE
    if code in REFUSED_STATEMENT_CODES:
        return Failure.REFUSED
    return Failure.SYSTEMIC
