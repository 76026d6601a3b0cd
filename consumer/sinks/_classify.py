"""What a sink does with each error AWS can answer: pure, no AWS.

Four kinds, and the one thing each leads to:

- ``THROTTLED``: the table is over its capacity or request rate (the call or statement will
  succeed later): sent again with capped, jittered backoff and fewer calls in flight, for as long
  as the throttling lasts (:mod:`._pacing`); throttling alone never stops the processor.
- ``RETRYABLE``: 5xx, a transaction conflict, network trouble (the call or statement may succeed
  later): retried with backoff; when the retries are spent the processor stops (exit 70) and
  restarts from its last checkpoint.
- ``REFUSED``: this one item or statement is invalid (a number DynamoDB cannot store, an item
  too large): retrying cannot help and the rest of the batch is fine, so that event is
  dead-lettered with the service's error and the shard moves on.
- ``SYSTEMIC``: the sink itself is unusable (access denied, table or bucket missing, KMS key
  disabled) or the error is one we do not know: every event would fail the same way, so the
  processor stops (exit 70) and logs why, as before; nothing is dead-lettered. Refusals that
  are about the table rather than one item are systemic too (:func:`refusals_are_systemic`).

Codes come from the DynamoDB API reference ("Common errors" and each operation's "Errors";
``BatchStatementError`` for the per-statement codes of BatchExecuteStatement).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from foundation.aws_errors import ErrorKind, classify


class Failure(Enum):
    THROTTLED = "throttled"
    RETRYABLE = "retryable"
    REFUSED = "refused"
    SYSTEMIC = "systemic"


#: Whole-call codes that refuse the item of a single-item write (PutItem) or of a batch of one.
REFUSED_CALL_CODES = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})
#: Per-statement codes of BatchExecuteStatement (``BatchStatementError.Code``).
THROTTLED_STATEMENT_CODES = frozenset({"ProvisionedThroughputExceeded", "RequestLimitExceeded", "ThrottlingError"})
RETRYABLE_STATEMENT_CODES = frozenset({"TransactionConflict", "InternalServerError"})
REFUSED_STATEMENT_CODES = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def classify_call(code: str, status: int | None) -> Failure:
    """A failed call (a ``ClientError``'s code and HTTP status)."""
    kind = classify(code, status)
    if kind is ErrorKind.THROTTLED:
        return Failure.THROTTLED
    if kind is not ErrorKind.OTHER:
        return Failure.RETRYABLE
    if code in REFUSED_CALL_CODES:
        return Failure.REFUSED
    return Failure.SYSTEMIC


def classify_statement(code: str) -> Failure:
    """A failed statement inside a BatchExecuteStatement answer (other than the two codes the
    write path expects: ``ConditionalCheckFailed`` and ``DuplicateItem``)."""
    if code in THROTTLED_STATEMENT_CODES:
        return Failure.THROTTLED
    if code in RETRYABLE_STATEMENT_CODES:
        return Failure.RETRYABLE
    if code in REFUSED_STATEMENT_CODES:
        return Failure.REFUSED
    return Failure.SYSTEMIC


#: words of a refusal that is about the table (its key schema), not about one item: our key
#: values are always valid (kid_id is a non-empty string of bounded length, checked at decode)
_TABLE_WIDE = re.compile(r"\b(key|keys|schema)\b", re.IGNORECASE)
#: "most of a batch is refused" counts from this many refusals up (a few poison values together
#: stay dead letters)
SYSTEMIC_REFUSALS_MIN = 3


def refusals_are_systemic(reasons: Sequence[str], statements: int) -> str | None:
    """Why refusals of one pass over a batch are the table's fault, or None when they are the
    items' own: a reason that speaks of the key or schema (every item has the same key shape,
    so one such refusal means every write will be refused), or most of the ``statements``
    refused (at least :data:`SYSTEMIC_REFUSALS_MIN`)."""
    for reason in reasons:
        if _TABLE_WIDE.search(reason):
            return f"a refusal about the table's key, not about one item: {reason}"
    if len(reasons) >= SYSTEMIC_REFUSALS_MIN and 2 * len(reasons) > statements:
        return f"{len(reasons)} of {statements} statements refused; the first: {reasons[0]}"
    return None
