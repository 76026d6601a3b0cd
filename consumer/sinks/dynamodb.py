"""The kid table: one item per kid, last writer wins by (observed_at, event_id)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code

from .._errors import SinkError
from ..dedupe import CONDITION, condition_values, latest_per_kid, to_item
from ..records import DecodedEvent
from ..retry import RetryPolicy, call_with_retries
from ._pool import run_all

log = logging.getLogger(__name__)


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class WriteSummary:
    """``written``: items stored; ``superseded``: kids whose stored event was already newer."""

    written: int
    superseded: int


class DynamoDBSink:
    """Conditional ``PutItem`` per kid on a small thread pool sharing one (thread-safe) client.

    Replays, duplicates and late events from other shards never overwrite newer state: the
    condition refuses them (ConditionalCheckFailed means "already newer" and is success).
    Throttling and 5xx are retried with backoff; :class:`SinkUnavailableError` when that is spent.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        threads: int = 8,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        self._client = client
        self._table = table
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._wall_clock_ms = wall_clock_ms
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dynamodb-sink")

    def write_latest(self, events: Sequence[DecodedEvent]) -> WriteSummary:
        """Collapse ``events`` to the latest per kid and write each conditionally; all are durable
        (or already superseded) when this returns."""
        winners = latest_per_kid(events)
        results = run_all(self._pool, self._put, winners)
        written = sum(results)
        return WriteSummary(written=written, superseded=len(results) - written)

    def _put(self, decoded: DecodedEvent) -> bool:
        def attempt() -> Any:
            return self._client.put_item(
                TableName=self._table,
                Item=to_item(decoded, self._wall_clock_ms()),
                ConditionExpression=CONDITION,
                ExpressionAttributeValues=condition_values(decoded),
            )

        try:
            call_with_retries(attempt, policy=self._retry, what=f"PutItem {decoded.kid_id}", sleep=self._sleep)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                return False
            raise SinkError(
                f"PutItem for kid {decoded.kid_id} into {self._table} failed: {code}", retryable=False
            ) from exc
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=True)
