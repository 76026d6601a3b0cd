"""DynamoDB's write capacity as token buckets on an injected clock (pure, no server).

What DynamoDB documents, and what this module does with it:

- Write units: one write unit per 1 KB of item size, rounded up; the larger of the item before
  and after the write; a conditional write whose condition fails still consumes capacity
  (Developer Guide, "Read/write capacity mode" and "Working with items: ... ReturnConsumedCapacity":
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
  Item size: attribute names plus values (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
- Provisioned tables: ``ProvisionedThroughput.WriteCapacityUnits`` per second for the table.
- On-demand tables: a new table instantly serves its warm throughput (4,000 write units/s unless
  ``WarmThroughput.WriteUnitsPerSecond`` says more), and up to twice its previous peak; beyond
  that it may throttle; ``OnDemandThroughput.MaxWriteRequestUnits`` is a hard ceiling
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
- Per partition: at most 1,000 write units/s, whatever the table's capacity
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html).
  The model gives a table ``ceil(capacity / 1,000)`` partitions and hashes the partition key
  value to one: a hot key throttles before the table does.
- Why a request was throttled, as ``ThrottlingReason.reason``: TableWriteProvisionedThroughputExceeded,
  TableWriteKeyRangeThroughputExceeded, TableWriteMaxOnDemandThroughputExceeded
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html).

Not modelled: burst capacity (DynamoDB may keep up to 300 s of unused capacity; the bucket holds
``burst_s`` seconds, 1 by default, so throttling starts as soon as the rate is exceeded),
adaptive capacity, reads, GSIs, and the 30 minutes an on-demand table takes to double again
(the previous peak counts at once).

:class:`TableLimiter` decides and counts; the moto hook (``_dynamodb_throttle``) asks it.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from foundation.limits import (
    DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC,
    DYNAMODB_PARTITION_WRITE_UNITS_PER_SEC,
    DYNAMODB_WRITE_UNIT_BYTES,
)

from ._limits import TokenBucket

#: one write unit per this many bytes of item size, rounded up
WRITE_UNIT_BYTES = DYNAMODB_WRITE_UNIT_BYTES
#: a partition serves at most this many write units per second
PARTITION_WRITE_UNITS_PER_SEC = float(DYNAMODB_PARTITION_WRITE_UNITS_PER_SEC)
#: what a new on-demand table serves instantly (its default warm write throughput)
ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC = float(DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC)

PROVISIONED_EXCEEDED = "TableWriteProvisionedThroughputExceeded"
KEY_RANGE_EXCEEDED = "TableWriteKeyRangeThroughputExceeded"
MAX_ON_DEMAND_EXCEEDED = "TableWriteMaxOnDemandThroughputExceeded"

#: per-table counters a metrics period sums (the first two are DynamoDB's own metric names)
COUNTER_NAMES = (
    "ConsumedWriteCapacityUnits",
    "WriteThrottleEvents",
    #: write requests/statements that reached the table (consumed capacity), failed or not
    "WriteStatements",
    #: of those, the ones that wrote an item (a statement or PutItem that succeeded)
    "ItemsWritten",
    #: of those, PartiQL writes sent with the wrong verb for the item's state: an INSERT of a key
    #: that has an item (DuplicateItem), an UPDATE of a key that has none; the writer sends the
    #: other verb next, so these are the statements beyond one per item write
    "MisdirectedStatements",
)


@dataclass(frozen=True, kw_only=True)
class TableCapacity:
    """What a table may write per second, as its description says."""

    #: "PROVISIONED" or "PAY_PER_REQUEST"
    billing_mode: str
    #: provisioned write capacity units (provisioned tables)
    provisioned_write_units: float = 0.0
    #: WarmThroughput.WriteUnitsPerSecond (on-demand tables; None: the new-table default)
    warm_write_units: float | None = None
    #: OnDemandThroughput.MaxWriteRequestUnits (on-demand tables; None: no ceiling)
    max_write_units: float | None = None

    @property
    def on_demand(self) -> bool:
        return self.billing_mode == "PAY_PER_REQUEST"

    @property
    def base_write_units(self) -> float:
        """Capacity before any traffic: provisioned units, or what an on-demand table serves at once."""
        if not self.on_demand:
            return max(0.0, self.provisioned_write_units)
        warm = self.warm_write_units or ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC
        return warm if self.max_write_units is None else min(warm, self.max_write_units)

    @property
    def partitions(self) -> int:
        return max(1, math.ceil(self.base_write_units / PARTITION_WRITE_UNITS_PER_SEC))

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> TableCapacity:
        """From a DescribeTable ``Table`` (plus ``OnDemandThroughput`` where the stack keeps it)."""
        mode = str((description.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED")
        provisioned = float((description.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits") or 0)
        if mode != "PAY_PER_REQUEST" and provisioned <= 0:
            mode = "PAY_PER_REQUEST"  # no units: how moto describes an on-demand table without the summary
        warm = (description.get("WarmThroughput") or {}).get("WriteUnitsPerSecond")
        maximum = (description.get("OnDemandThroughput") or {}).get("MaxWriteRequestUnits")
        return cls(
            billing_mode=mode,
            provisioned_write_units=provisioned,
            warm_write_units=float(warm) if warm else None,
            max_write_units=float(maximum) if maximum and float(maximum) > 0 else None,
        )


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one AttributeValue (CapacityUnitCalculations.html)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(value_size({kind[0]: member}) for member in data)
    if kind == "NS":
        return sum(_number_size(str(member)) for member in data)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(member) for name, member in data.items())
    return len(str(data).encode())


def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one (CapacityUnitCalculations.html)."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        return len(text)
    return 1 + math.ceil(len(digits) / 2)


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item: attribute name lengths plus value sizes (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(*item_bytes: int) -> int:
    """Write units of a write touching items of these sizes: the largest, per 1 KB, at least 1."""
    return max(1, math.ceil(max(item_bytes, default=0) / WRITE_UNIT_BYTES))


@dataclass
class TableCounters:
    values: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTER_NAMES, 0.0))
    #: the write units per second the table could serve when last asked
    capacity_units_per_s: float = 0.0

    def add(self, name: str, amount: float = 1.0) -> None:
        self.values[name] += amount


#: (account, region, table name)
TableKey = tuple[str, str, str]


@dataclass
class _TableState:
    table: TokenBucket
    partitions: list[TokenBucket]
    #: on-demand: the most write units consumed within one (ended) second, and the current second
    peak_units: float = 0.0
    second: int = -1
    second_units: float = 0.0


class TableLimiter:
    """Write-capacity buckets and counters per table; thread-safe.

    ``admit`` decides one write (a PutItem, an UpdateItem, one item of a BatchWriteItem, one
    statement of a BatchExecuteStatement) and charges it; ``wrote`` counts one that wrote an
    item; ``drain`` hands the period's counters to the metrics publisher; ``totals`` are
    cumulative.
    """

    def __init__(self, *, burst_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if burst_s <= 0:
            raise ValueError("burst_s must be positive")
        self.burst_s = burst_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[TableKey, _TableState] = {}
        self._period: dict[TableKey, TableCounters] = {}
        self._totals: dict[TableKey, TableCounters] = {}

    def _counters(self, key: TableKey) -> list[TableCounters]:
        out = []
        for table in (self._period, self._totals):
            counters = table.get(key)
            if counters is None:
                counters = table[key] = TableCounters()
            out.append(counters)
        return out

    def _table_state(self, key: TableKey, capacity: TableCapacity, now: float) -> _TableState:
        state = self._state.get(key)
        if state is None or len(state.partitions) != capacity.partitions:
            rate = capacity.base_write_units
            partitions = [
                TokenBucket(PARTITION_WRITE_UNITS_PER_SEC, PARTITION_WRITE_UNITS_PER_SEC * self.burst_s, now)
                for _ in range(capacity.partitions)
            ]
            peak = state.peak_units if state is not None else 0.0
            state = self._state[key] = _TableState(TokenBucket(rate, rate * self.burst_s, now), partitions, peak)
        return state

    def _rate(self, state: _TableState, capacity: TableCapacity, now: float) -> float:
        second = int(now)
        if second != state.second:  # the second that ended may be the new previous peak
            state.peak_units = max(state.peak_units, state.second_units)
            state.second, state.second_units = second, 0.0
        if not capacity.on_demand:
            return capacity.base_write_units
        rate = max(capacity.base_write_units, 2.0 * state.peak_units)
        return rate if capacity.max_write_units is None else min(rate, capacity.max_write_units)

    def admit(self, key: TableKey, capacity: TableCapacity, partition_key: str, units: int) -> str | None:
        """Charge ``units`` write units to the table and the key's partition; None when admitted,
        else the ThrottlingReason (nothing charged)."""
        with self._lock:
            now = self._clock()
            state = self._table_state(key, capacity, now)
            rate = self._rate(state, capacity, now)
            if rate != state.table.rate:
                state.table.rate, state.table.capacity = rate, rate * self.burst_s
            partition = state.partitions[_partition_of(partition_key, len(state.partitions))]
            counters = self._counters(key)
            for c in counters:
                c.capacity_units_per_s = rate
            reason = None
            if not state.table.can_take(units, now):
                reason = self._table_reason(capacity, rate)
            elif not partition.can_take(units, now):
                reason = KEY_RANGE_EXCEEDED
            if reason is not None:
                for c in counters:
                    c.add("WriteThrottleEvents")
                return reason
            state.table.take(units, now)
            partition.take(units, now)
            for c in counters:
                c.add("ConsumedWriteCapacityUnits", units)
                c.add("WriteStatements")
            state.second_units += units
            return None

    @staticmethod
    def _table_reason(capacity: TableCapacity, rate: float) -> str:
        if not capacity.on_demand:
            return PROVISIONED_EXCEEDED
        if capacity.max_write_units is not None and rate >= capacity.max_write_units:
            return MAX_ON_DEMAND_EXCEEDED
        return KEY_RANGE_EXCEEDED  # above twice the previous peak: the table has to split first

    def wrote(self, key: TableKey, items: int = 1) -> None:
        """``items`` admitted writes wrote an item (for statements per written item)."""
        with self._lock:
            for c in self._counters(key):
                c.add("ItemsWritten", items)

    def misdirected(self, key: TableKey) -> None:
        """An admitted statement had the wrong verb for the item's state (see COUNTER_NAMES)."""
        with self._lock:
            for c in self._counters(key):
                c.add("MisdirectedStatements")

    def drain(self) -> dict[TableKey, TableCounters]:
        """This period's counters per table (tables idle all period are absent); starts a new period."""
        with self._lock:
            period, self._period = self._period, {}
            return period

    def totals(self) -> dict[TableKey, TableCounters]:
        with self._lock:
            return {key: TableCounters(dict(c.values), c.capacity_units_per_s) for key, c in self._totals.items()}


def _partition_of(partition_key: str, partitions: int) -> int:
    if partitions == 1:
        return 0
    digest = hashlib.md5(partition_key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % partitions
