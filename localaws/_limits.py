"""Kinesis's per-shard throughput limits as token buckets on an injected clock (pure, no server).

Kinesis enforces, per shard (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html):
writes of 1 MiB/s and 1,000 records/s; reads of 2 MiB/s and 5 GetRecords calls/s. How each
API answers when a shard is over its limit (API reference):

- PutRecords (API_PutRecords.html, API_PutRecordsResultEntry.html): the call succeeds; each
  record over the limit fails on its own with ``ErrorCode`` ProvisionedThroughputExceededException
  and an ``ErrorMessage`` naming the account, stream and shard, and ``FailedRecordCount`` counts
  them; the other records of the same call are written.
- PutRecord (API_PutRecord.html): the call fails with ProvisionedThroughputExceededException.
- GetRecords (API_GetRecords.html): the call fails with ProvisionedThroughputExceededException.
  One call may return more than 2 MiB; the shard then refuses reads until the average is back
  under the limit (the read-bytes bucket may go into debt).

:class:`LimitsConfig` scales the byte and record limits by one factor (``scale=0.01``: 10
records/s and ~10 KiB/s written per shard) so a laptop saturates shards at a few hundred
events/s. The GetRecords call limit is NOT scaled by default: it bounds per-call overhead, and a
KCL worker polls at a fixed interval whatever the load, so a scaled call limit would throttle an
idle consumer. A bucket admits a unit larger than its capacity when full and goes into debt
(a 50 KB aggregated record on a 10 KiB/s scaled shard), so the long-run rate is still the limit.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from foundation.limits import (
    KINESIS_MAX_BYTES_PER_GET,
    KINESIS_SHARD_READ_BYTES_PER_SEC,
    KINESIS_SHARD_READ_CALLS_PER_SEC,
    KINESIS_SHARD_WRITE_BYTES_PER_SEC,
    KINESIS_SHARD_WRITE_RECORDS_PER_SEC,
)

THROTTLED = "ProvisionedThroughputExceededException"


@dataclass(frozen=True, kw_only=True)
class LimitsConfig:
    """Per-shard limits of the embedded Kinesis, all but the read-call limit scaled by ``scale``."""

    scale: float = 1.0
    #: GetRecords calls per second per shard (unscaled: see the module docstring)
    read_calls_per_s: float = float(KINESIS_SHARD_READ_CALLS_PER_SEC)
    #: bucket capacity in seconds of its rate (Kinesis smooths over about one second)
    burst_s: float = 1.0
    #: the stack publishes its AWS/Kinesis metrics once per this many (real) seconds
    metrics_period_s: float = 60.0
    #: DynamoDB tables' write capacity (``_dynamodb_limits``; never scaled: a table's own
    #: provisioned or on-demand throughput is the limit): seconds of capacity a table may bank
    dynamodb_burst_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 1000:
            raise ValueError(f"scale must be in (0, 1000], not {self.scale}")
        if self.read_calls_per_s <= 0 or self.burst_s <= 0 or self.dynamodb_burst_s <= 0:
            raise ValueError("read_calls_per_s, burst_s and dynamodb_burst_s must be positive")
        if self.metrics_period_s < 1 or not float(self.metrics_period_s).is_integer():
            raise ValueError(f"metrics_period_s must be a whole number of seconds >= 1, not {self.metrics_period_s}")

    @property
    def write_bytes_per_s(self) -> float:
        return KINESIS_SHARD_WRITE_BYTES_PER_SEC * self.scale

    @property
    def write_records_per_s(self) -> float:
        return KINESIS_SHARD_WRITE_RECORDS_PER_SEC * self.scale

    @property
    def read_bytes_per_s(self) -> float:
        return KINESIS_SHARD_READ_BYTES_PER_SEC * self.scale

    def to_json(self) -> dict[str, float]:
        document = {f.name: float(getattr(self, f.name)) for f in fields(self)}
        document.update(
            write_bytes_per_s=self.write_bytes_per_s,
            write_records_per_s=self.write_records_per_s,
            read_bytes_per_s=self.read_bytes_per_s,
        )
        return document


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; may go into debt by one oversized take."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def can_take(self, cost: float, now: float) -> bool:
        """Whether ``cost`` tokens may be taken now (a cost above capacity needs a full bucket)."""
        self._refill(now)
        return self.tokens >= min(cost, self.capacity)

    def take(self, cost: float, now: float) -> None:
        """Take ``cost`` tokens unconditionally (the balance may go negative: debt)."""
        self._refill(now)
        self.tokens -= cost

    def in_credit(self, now: float) -> bool:
        self._refill(now)
        return self.tokens > 0


#: the per-shard counters a metrics period sums (names as the CloudWatch metrics they become)
COUNTER_NAMES = (
    "IncomingBytes",
    "IncomingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "OutgoingBytes",
    "OutgoingRecords",
    "GetRecordsCalls",
)


@dataclass
class ShardCounters:
    """What one shard did in one metrics period."""

    values: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTER_NAMES, 0.0))
    #: GetRecords iterator age (ms): the largest of the period (in totals: the latest); None: no
    #: successful GetRecords yet
    iterator_age_max_ms: float | None = None

    def add(self, name: str, amount: float = 1.0) -> None:
        self.values[name] += amount


#: (account, region, stream, shard id)
ShardKey = tuple[str, str, str, str]


class ShardLimiter:
    """Token buckets and counters for every shard it is asked about; thread-safe.

    ``admit_write`` and ``admit_read`` decide; ``record_read`` charges what a GetRecords call
    returned; ``drain`` hands the period's counters to the metrics publisher and starts anew;
    ``totals`` are cumulative (for the admin endpoint and the demo's plots).
    """

    def __init__(self, config: LimitsConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._write_bytes: dict[ShardKey, TokenBucket] = {}
        self._write_records: dict[ShardKey, TokenBucket] = {}
        self._read_bytes: dict[ShardKey, TokenBucket] = {}
        self._read_calls: dict[ShardKey, TokenBucket] = {}
        self._period: dict[ShardKey, ShardCounters] = {}
        self._totals: dict[ShardKey, ShardCounters] = {}

    def _bucket(self, table: dict[ShardKey, TokenBucket], key: ShardKey, rate: float, now: float) -> TokenBucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = TokenBucket(rate, rate * self.config.burst_s, now)
        return bucket

    def _count(self, key: ShardKey, name: str, amount: float = 1.0) -> None:
        for table in (self._period, self._totals):
            counters = table.get(key)
            if counters is None:
                counters = table[key] = ShardCounters()
            counters.add(name, amount)

    def admit_write(self, key: ShardKey, size_bytes: int) -> bool:
        """One record of ``size_bytes`` (data + partition key) for this shard: written or throttled."""
        config = self.config
        with self._lock:
            now = self._clock()
            by_bytes = self._bucket(self._write_bytes, key, config.write_bytes_per_s, now)
            by_records = self._bucket(self._write_records, key, config.write_records_per_s, now)
            if by_bytes.can_take(size_bytes, now) and by_records.can_take(1, now):
                by_bytes.take(size_bytes, now)
                by_records.take(1, now)
                self._count(key, "IncomingBytes", size_bytes)
                self._count(key, "IncomingRecords")
                return True
            self._count(key, "WriteProvisionedThroughputExceeded")
            return False

    def admit_read(self, key: ShardKey) -> bool:
        """One GetRecords call on this shard: allowed, or throttled (calls/s or bytes in debt)."""
        config = self.config
        with self._lock:
            now = self._clock()
            calls = self._bucket(self._read_calls, key, config.read_calls_per_s, now)
            read_bytes = self._bucket(self._read_bytes, key, config.read_bytes_per_s, now)
            if calls.can_take(1, now) and read_bytes.in_credit(now):
                calls.take(1, now)
                self._count(key, "GetRecordsCalls")
                return True
            self._count(key, "ReadProvisionedThroughputExceeded")
            return False

    def record_read(self, key: ShardKey, *, size_bytes: int, records: int, iterator_age_ms: float) -> None:
        """Charge what an admitted GetRecords call returned, and note its iterator age."""
        with self._lock:
            now = self._clock()
            self._bucket(self._read_bytes, key, self.config.read_bytes_per_s, now).take(size_bytes, now)
            self._count(key, "OutgoingBytes", size_bytes)
            self._count(key, "OutgoingRecords", records)
            period = self._period[key]
            if period.iterator_age_max_ms is None or iterator_age_ms > period.iterator_age_max_ms:
                period.iterator_age_max_ms = iterator_age_ms
            self._totals[key].iterator_age_max_ms = iterator_age_ms  # totals keep the latest age

    def max_get_bytes(self) -> int:
        """Most bytes one GetRecords call returns (10 MiB, scaled like the byte limits)."""
        return max(1, int(KINESIS_MAX_BYTES_PER_GET * self.config.scale))

    def drain(self) -> dict[ShardKey, ShardCounters]:
        """This period's counters per shard (shards idle all period are absent); starts a new period."""
        with self._lock:
            period, self._period = self._period, {}
            return period

    def totals(self) -> dict[ShardKey, ShardCounters]:
        """Cumulative counters per shard since start (copies)."""
        with self._lock:
            return {
                key: ShardCounters(dict(counters.values), counters.iterator_age_max_ms)
                for key, counters in self._totals.items()
            }


def add_limits_arguments(parser: argparse.ArgumentParser) -> None:
    """``--limits``, ``--limits-scale``, ``--limits-read-calls``, ``--metrics-period`` (server and CLI)."""
    group = parser.add_argument_group("limits mode (Kinesis's per-shard limits, DynamoDB tables' write capacity)")
    group.add_argument(
        "--limits",
        action="store_true",
        help="enforce Kinesis's per-shard limits and each DynamoDB table's write capacity (provisioned or on-demand)",
    )
    group.add_argument(
        "--limits-scale",
        type=float,
        default=None,
        metavar="F",
        help="multiply the byte and record limits by F (0.01: 10 records/s per shard); implies --limits",
    )
    group.add_argument(
        "--limits-read-calls",
        type=float,
        default=float(KINESIS_SHARD_READ_CALLS_PER_SEC),
        metavar="N",
        help="GetRecords calls per second per shard (default %(default)g, not scaled)",
    )
    group.add_argument(
        "--limits-dynamodb-burst",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds of unused write capacity a DynamoDB table may bank (default %(default)g; DynamoDB: up to 300)",
    )
    group.add_argument(
        "--metrics-period",
        type=float,
        default=60.0,
        metavar="S",
        help="publish AWS/Kinesis and AWS/DynamoDB metrics every S real seconds (default %(default)g)",
    )


def limits_from_args(args: argparse.Namespace) -> LimitsConfig | None:
    if not args.limits and args.limits_scale is None:
        return None
    return LimitsConfig(
        scale=1.0 if args.limits_scale is None else args.limits_scale,
        read_calls_per_s=args.limits_read_calls,
        metrics_period_s=args.metrics_period,
        dynamodb_burst_s=args.limits_dynamodb_burst,
    )


def limits_to_args(config: LimitsConfig) -> list[str]:
    """The ``python -m localaws`` arguments that serve with ``config``."""
    return [
        "--limits-scale",
        repr(config.scale),
        "--limits-read-calls",
        repr(config.read_calls_per_s),
        "--metrics-period",
        repr(config.metrics_period_s),
        "--limits-dynamodb-burst",
        repr(config.dynamodb_burst_s),
    ]
