"""Packing records into PutRecords requests within the Kinesis limits (pure).

A record's size is its data blob plus its partition key's UTF-8 bytes, as Kinesis counts it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from foundation.limits import KINESIS_MAX_BYTES_PER_PUT, KINESIS_MAX_RECORD_BYTES, KINESIS_MAX_RECORDS_PER_PUT

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RequestLimits:
    """How much one PutRecords request may carry; defaults are the service limits."""

    max_records: int = KINESIS_MAX_RECORDS_PER_PUT
    max_bytes: int = KINESIS_MAX_BYTES_PER_PUT
    max_record_bytes: int = KINESIS_MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.max_records <= KINESIS_MAX_RECORDS_PER_PUT:
            raise ValueError(f"max_records must be 1..{KINESIS_MAX_RECORDS_PER_PUT}, got {self.max_records}")
        if not 1 <= self.max_bytes <= KINESIS_MAX_BYTES_PER_PUT:
            raise ValueError(f"max_bytes must be 1..{KINESIS_MAX_BYTES_PER_PUT}, got {self.max_bytes}")
        if not 1 <= self.max_record_bytes <= min(KINESIS_MAX_RECORD_BYTES, self.max_bytes):
            raise ValueError(f"max_record_bytes must be 1..{KINESIS_MAX_RECORD_BYTES} and <= max_bytes")


def take_request(queue: deque[T], size_of: Callable[[T], int], limits: RequestLimits) -> list[T]:
    """Pop from the left of ``queue`` the longest run of records that fits one request.

    Raises ValueError if the first record alone is larger than a record may be (a bug upstream:
    the aggregator never builds one).
    """
    taken: list[T] = []
    total = 0
    while queue and len(taken) < limits.max_records:
        size = size_of(queue[0])
        if size > limits.max_record_bytes:
            raise ValueError(f"record of {size} bytes exceeds the {limits.max_record_bytes}-byte record limit")
        if total + size > limits.max_bytes:
            break
        taken.append(queue.popleft())
        total += size
    return taken


def pack_requests(records: Iterable[T], size_of: Callable[[T], int], limits: RequestLimits) -> list[list[T]]:
    """Every record, in order, in as few consecutive requests as greedy packing gives."""
    queue = deque(records)
    requests = []
    while queue:
        requests.append(take_request(queue, size_of, limits))
    return requests
