"""What the policy reads and answers (plain data): per-shard limits, floors, one period's
load, one shard's rate, the quota state, the observation and the decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from foundation.errors import ConfigError
from foundation.limits import (
    KINESIS_SHARD_WRITE_BYTES_PER_SEC,
    KINESIS_SHARD_WRITE_RECORDS_PER_SEC,
    UPDATE_SHARD_COUNT_CALLS_PER_24H,
)

Action = Literal["none", "scale-up", "scale-down", "split", "merge"]


@dataclass(frozen=True, kw_only=True)
class ShardLimits:
    """Per-shard write limits (Kinesis's, or the embedded stack's scaled ones)."""

    write_bytes_per_s: float = float(KINESIS_SHARD_WRITE_BYTES_PER_SEC)
    write_records_per_s: float = float(KINESIS_SHARD_WRITE_RECORDS_PER_SEC)

    def __post_init__(self) -> None:
        if not (self.write_bytes_per_s > 0 and self.write_records_per_s > 0):
            raise ConfigError("limits", "per-shard write limits must be positive")

    @classmethod
    def scaled(cls, scale: float) -> ShardLimits:
        return cls(
            write_bytes_per_s=KINESIS_SHARD_WRITE_BYTES_PER_SEC * scale,
            write_records_per_s=KINESIS_SHARD_WRITE_RECORDS_PER_SEC * scale,
        )

    def shards_for(self, records_per_s: float, bytes_per_s: float) -> float:
        """Shards this write rate fills exactly (fractional)."""
        return max(records_per_s / self.write_records_per_s, bytes_per_s / self.write_bytes_per_s)


@dataclass(frozen=True, kw_only=True)
class Floor:
    """Keep at least ``shards`` open shards from ``start`` (until ``end``, if given)."""

    start: datetime
    shards: int
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigError("floor", "a floor needs at least one shard")
        if self.end is not None and self.end <= self.start:
            raise ConfigError("floor", "a floor's end must be after its start")

    def active(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)


@dataclass(frozen=True, kw_only=True)
class PeriodLoad:
    """The stream's write load in one metric period (Sums over the period)."""

    records: float = 0.0
    bytes: float = 0.0
    throttled_records: float = 0.0
    #: GetRecords.IteratorAgeMilliseconds (Maximum); None: no datapoint
    iterator_age_ms: float | None = None
    #: when the period started; None: not known (then it counts as after any change)
    start: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ShardRate:
    """One open shard's average over the periods it has data for."""

    records_per_s: float = 0.0
    bytes_per_s: float = 0.0
    #: records/s refused on this shard (shard-level WriteProvisionedThroughputExceeded)
    throttled_per_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class QuotaState:
    #: UpdateShardCount calls made in the last 24 hours (DescribeLimits does not report them)
    update_calls_24h: int = 0
    #: DescribeLimits ShardLimit and OpenShardCount (whole account); None: not readable
    account_shard_limit: int | None = None
    account_open_shards: int | None = None

    @property
    def calls_left(self) -> int:
        return max(0, UPDATE_SHARD_COUNT_CALLS_PER_24H - self.update_calls_24h)


@dataclass(frozen=True, kw_only=True)
class Observation:
    now: datetime
    open_shards: int
    period_s: float
    #: complete periods, oldest first; None: no datapoint in that period (unknown)
    periods: Sequence[PeriodLoad | None]
    #: each open shard's rate (hot-shard splits, merges); shards without data are absent
    shard_rates: Mapping[str, ShardRate] = field(default_factory=dict)
    #: the open shards in hash-key order (neighbours are adjacent: merge candidates)
    open_shard_ids: Sequence[str] = ()
    #: open shard -> the shard it was split from (the two halves of one split share a parent)
    split_parents: Mapping[str, str] = field(default_factory=dict)
    quota: QuotaState = field(default_factory=QuotaState)
    last_change_at: datetime | None = None
    #: when the stream was created: the scale-down cool-off counts from it too (a new stream's
    #: metrics cover periods before it had any load)
    created_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    action: Action
    #: open shards after the action (== current for "none")
    target: int
    reason: str
    #: the shard to split
    shard_id: str | None = None
    #: adjacent pairs to merge (action "merge"), lower range first
    merges: tuple[tuple[str, str], ...] = ()
    #: a shard whose load is one hot key: nothing is done for it (the controller names the key)
    hot_key_shard: str | None = None
    #: the stream's utilisation in the latest known period (0..; above 1 means throttled demand)
    utilisation: float = 0.0
    throttled_records: float = 0.0
    #: inputs ignored as NaN, infinite or negative
    ignored: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return self.action != "none"
