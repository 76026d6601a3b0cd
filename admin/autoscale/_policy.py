"""The autoscaling policy: what the stream's shard count should be next, and why (pure).

Inputs (:class:`Observation`): the stream's write load over the last N metric periods (records,
bytes, throttled records, consumer iterator age), the load of each open shard, the open shard
count, the per-shard limits, the UpdateShardCount quota state, the account's shard limit, the
last change and the scheduled floors. Output (:class:`Decision`): one action with its reason.

Rules, in order:

1. **Floor**: below a scheduled floor (or ``min_shards``) -> scale up to it.
2. **Up, fast**: throttled records in each of the last ``up_periods`` periods, or utilisation
   above ``up_utilisation`` in each of them -> scale up to what the peak demand (written plus
   throttled records) needs at ``target_utilisation``, at least one more shard; at least double
   when more than ``clipped_share`` of the records were throttled (the demand is clipped).
3. **Hot shard**: one shard above ``up_utilisation`` carrying more than ``hot_shard_factor``
   times an even share while the stream as a whole is under ``up_utilisation`` -> split it
   (SplitShard is not under the UpdateShardCount quota).
4. **Down, slowly**: no throttling, utilisation under ``down_utilisation`` and consumers not
   behind for ``down_periods`` periods, ``cool_off_s`` after the last change and after the
   stream's creation, with at least
   ``reserve_calls`` UpdateShardCount calls left for a later spike -> scale down, at most
   halving and never below what the peak demand needs at ``target_utilisation``.

Every target obeys the UpdateShardCount rules (at most double, at least half the open shards
per call, at most 10 calls per rolling 24 hours, at most 10,000 shards), the account's shard
limit, ``max_shards`` and the floor. Utilisation of a period is the larger of its records/s and
bytes/s shares of the stream's write capacity (open shards x per-shard limit).

No oscillation on a steady load: a scale-up lands at or under ``target_utilisation`` (or
doubles under heavy throttling, which leaves more than half of the capacity used), a scale-down
lands at or under ``target_utilisation`` too, and ``down_utilisation < target_utilisation / 2``
is checked, so neither move can trigger the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from foundation.errors import ConfigError
from foundation.limits import (
    KINESIS_SHARD_WRITE_BYTES_PER_SEC,
    KINESIS_SHARD_WRITE_RECORDS_PER_SEC,
    UPDATE_SHARD_COUNT_CALLS_PER_24H,
    UPDATE_SHARD_COUNT_MAX_FACTOR,
    UPDATE_SHARD_COUNT_MAX_SHARDS,
)

Action = Literal["none", "scale-up", "scale-down", "split"]


@dataclass(frozen=True, kw_only=True)
class ShardLimits:
    """Per-shard write limits (Kinesis's, or the embedded stack's scaled ones)."""

    write_bytes_per_s: float = float(KINESIS_SHARD_WRITE_BYTES_PER_SEC)
    write_records_per_s: float = float(KINESIS_SHARD_WRITE_RECORDS_PER_SEC)

    def __post_init__(self) -> None:
        if self.write_bytes_per_s <= 0 or self.write_records_per_s <= 0:
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
class PolicyConfig:
    up_utilisation: float = 0.75
    target_utilisation: float = 0.6
    down_utilisation: float = 0.25
    #: consecutive periods a scale-up condition must hold (throttling or high utilisation)
    up_periods: int = 2
    #: consecutive quiet periods before a scale-down
    down_periods: int = 10
    #: no scale-down this long after any change
    cool_off_s: float = 3600.0
    #: no scale-up this long after a change (its effect must show in the metrics first)
    settle_s: float = 120.0
    #: throttled records per period that count as throttling (0: any)
    throttle_tolerance: float = 0.0
    #: throttled share of the records above which the measured demand counts as clipped (the
    #: real demand is unknown): a scale-up then at least doubles
    clipped_share: float = 0.1
    #: a shard carrying more than this many even shares (and above up_utilisation) is split
    hot_shard_factor: float = 2.0
    #: consumers this far behind block any scale-down
    lag_block_down_ms: float = 60_000.0
    min_shards: int = 1
    max_shards: int = UPDATE_SHARD_COUNT_MAX_SHARDS
    #: UpdateShardCount calls kept for scaling up: a scale-down needs more than this many left
    reserve_calls: int = 2
    floors: tuple[Floor, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.down_utilisation < self.target_utilisation / 2:
            raise ConfigError("down_utilisation", "must be above 0 and below half of target_utilisation")
        if not self.target_utilisation < self.up_utilisation <= 1.0:
            raise ConfigError("up_utilisation", "must be above target_utilisation and at most 1")
        if self.up_periods < 1 or self.down_periods < 1:
            raise ConfigError("periods", "up_periods and down_periods must be >= 1")
        if not 0 < self.clipped_share <= 1:
            raise ConfigError("clipped_share", "must be in (0, 1]")
        if self.cool_off_s < 0 or self.settle_s < 0 or self.throttle_tolerance < 0:
            raise ConfigError("cool_off_s", "times and tolerances must not be negative")
        if self.hot_shard_factor <= 1:
            raise ConfigError("hot_shard_factor", "must be above 1")
        if not 1 <= self.min_shards <= self.max_shards <= UPDATE_SHARD_COUNT_MAX_SHARDS:
            raise ConfigError("max_shards", f"need 1 <= min_shards <= max_shards <= {UPDATE_SHARD_COUNT_MAX_SHARDS}")
        if not 0 <= self.reserve_calls < UPDATE_SHARD_COUNT_CALLS_PER_24H:
            raise ConfigError("reserve_calls", f"must be 0..{UPDATE_SHARD_COUNT_CALLS_PER_24H - 1}")

    @property
    def window_periods(self) -> int:
        """How many periods of history a decision looks at."""
        return max(self.up_periods, self.down_periods)

    def floor_at(self, now: datetime) -> int:
        return max([self.min_shards, *(f.shards for f in self.floors if f.active(now))])


@dataclass(frozen=True, kw_only=True)
class PeriodLoad:
    """The stream's write load in one metric period (Sums over the period)."""

    records: float = 0.0
    bytes: float = 0.0
    throttled_records: float = 0.0
    #: GetRecords.IteratorAgeMilliseconds (Maximum); None: no datapoint
    iterator_age_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class ShardRate:
    records_per_s: float = 0.0
    bytes_per_s: float = 0.0


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
    #: complete periods, oldest first
    periods: Sequence[PeriodLoad]
    #: each open shard's average rate over the window (for hot-shard splits); may be empty
    shard_rates: Mapping[str, ShardRate] = field(default_factory=dict)
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
    shard_id: str | None = None
    #: the stream's utilisation in the latest period (0..; above 1 means throttled demand)
    utilisation: float = 0.0
    throttled_records: float = 0.0

    @property
    def changes(self) -> bool:
        return self.action != "none"


def max_up_target(config: PolicyConfig, obs: Observation) -> int:
    """The most open shards one UpdateShardCount call may ask for now."""
    cap = min(obs.open_shards * UPDATE_SHARD_COUNT_MAX_FACTOR, config.max_shards, UPDATE_SHARD_COUNT_MAX_SHARDS)
    limit, account_open = obs.quota.account_shard_limit, obs.quota.account_open_shards
    if limit is not None:
        others = max(0, (account_open if account_open is not None else obs.open_shards) - obs.open_shards)
        cap = min(cap, limit - others)
    return max(cap, obs.open_shards)


def min_down_target(config: PolicyConfig, obs: Observation) -> int:
    return max(-(-obs.open_shards // UPDATE_SHARD_COUNT_MAX_FACTOR), config.floor_at(obs.now), 1)


def _demand_shards(limits: ShardLimits, period: PeriodLoad, period_s: float) -> float:
    """Shards the period's demand (written plus throttled records) fills exactly."""
    records = (period.records + period.throttled_records) / period_s
    average_size = period.bytes / period.records if period.records else 0.0
    bytes_per_s = (period.bytes + period.throttled_records * average_size) / period_s
    return limits.shards_for(records, bytes_per_s)


def decide(config: PolicyConfig, limits: ShardLimits, obs: Observation) -> Decision:
    """The next action for the stream (see the module docstring for the rules)."""
    open_shards = obs.open_shards
    recent = list(obs.periods)[-config.window_periods :]
    latest = recent[-1] if recent else PeriodLoad()
    utilisation = _demand_shards(limits, latest, obs.period_s) / open_shards if open_shards else 0.0

    def decision(action: Action, target: int, reason: str, shard_id: str | None = None) -> Decision:
        return Decision(
            action=action,
            target=target,
            reason=reason,
            shard_id=shard_id,
            utilisation=utilisation,
            throttled_records=latest.throttled_records,
        )

    since_change = None if obs.last_change_at is None else (obs.now - obs.last_change_at).total_seconds()
    calls_left = obs.quota.calls_left
    floor = config.floor_at(obs.now)
    up_cap = max_up_target(config, obs)

    # 1. scheduled floor
    if open_shards < floor:
        if calls_left == 0:
            return decision("none", open_shards, f"below the floor of {floor} shards, but no UpdateShardCount left")
        target = min(floor, up_cap)
        if target > open_shards:
            return decision("scale-up", target, f"scheduled floor: keep at least {floor} open shards")

    settled = since_change is None or since_change >= config.settle_s
    up_window = recent[-config.up_periods :]
    if settled and len(up_window) == config.up_periods:
        throttled = all(p.throttled_records > config.throttle_tolerance for p in up_window)
        demands = [_demand_shards(limits, p, obs.period_s) for p in up_window]
        hot = all(d / open_shards > config.up_utilisation for d in demands)
        # 2. scale up fast
        if throttled or hot:
            needed = math.ceil(max(demands) / config.target_utilisation)
            # a large throttled share clips the measured demand: double; a small one does not
            clipped = throttled and _throttled_share(up_window) >= config.clipped_share
            wanted = max(needed, open_shards * UPDATE_SHARD_COUNT_MAX_FACTOR if clipped else open_shards + 1)
            target = min(wanted, up_cap)
            why = (
                f"throttled in each of the last {config.up_periods} periods "
                f"({sum(p.throttled_records for p in up_window):.0f} records)"
                if throttled
                else f"utilisation above {config.up_utilisation:.0%} for {config.up_periods} periods"
            )
            if calls_left == 0:
                split = _hot_split(config, limits, obs)
                if split is not None:
                    return decision("split", open_shards + 1, f"{why}; no UpdateShardCount left: {split[1]}", split[0])
                return decision("none", open_shards, f"{why}, but the UpdateShardCount quota is used up")
            if target <= open_shards:
                return decision("none", open_shards, f"{why}, but at the shard limit ({open_shards})")
            return decision("scale-up", target, f"{why}: peak demand {max(demands):.2f} shards")

    # 3. hot shard
    if settled:
        split = _hot_split(config, limits, obs)
        if split is not None and up_cap > open_shards:
            return decision("split", open_shards + 1, split[1], split[0])

    # 4. scale down slowly
    down_window = recent[-config.down_periods :]
    quiet_since = max((t for t in (obs.last_change_at, obs.created_at) if t is not None), default=None)
    cooled = quiet_since is None or (obs.now - quiet_since).total_seconds() >= config.cool_off_s
    if cooled and len(down_window) == config.down_periods and open_shards > floor:
        quiet = all(p.throttled_records == 0 for p in down_window)
        demands = [_demand_shards(limits, p, obs.period_s) for p in down_window]
        low = all(d / open_shards < config.down_utilisation for d in demands)
        caught_up = all((p.iterator_age_ms or 0.0) < config.lag_block_down_ms for p in down_window)
        if quiet and low and caught_up:
            needed = math.ceil(max(demands) / config.target_utilisation) if max(demands) > 0 else 1
            target = max(min_down_target(config, obs), needed)
            if target < open_shards:
                if calls_left <= config.reserve_calls:
                    why = f"quiet, but only {calls_left} UpdateShardCount calls left (kept for spikes)"
                    return decision("none", open_shards, why)
                return decision(
                    "scale-down",
                    target,
                    f"utilisation under {config.down_utilisation:.0%} for {config.down_periods} periods, "
                    f"no throttling: peak demand {max(demands):.2f} shards",
                )
    return decision("none", open_shards, f"steady: utilisation {utilisation:.0%}, {open_shards} open shards")


def _throttled_share(periods: Sequence[PeriodLoad]) -> float:
    throttled = sum(p.throttled_records for p in periods)
    total = throttled + sum(p.records for p in periods)
    return throttled / total if total else 0.0


def _hot_split(config: PolicyConfig, limits: ShardLimits, obs: Observation) -> tuple[str, str] | None:
    """(shard id, reason) of a shard to split, or None."""
    rates = obs.shard_rates
    if len(rates) < 1 or not obs.periods:
        return None
    loads = {shard: limits.shards_for(rate.records_per_s, rate.bytes_per_s) for shard, rate in rates.items()}
    total = sum(loads.values())
    if total <= 0:
        return None
    shard, load = max(loads.items(), key=lambda item: (item[1], item[0]))
    even_share = total / max(obs.open_shards, 1)
    stream_utilisation = total / max(obs.open_shards, 1)
    if (
        load > config.up_utilisation
        and load > config.hot_shard_factor * even_share
        and stream_utilisation < config.up_utilisation
    ):
        return shard, f"hot shard {shard} at {load:.0%} of a shard's limit, {load / even_share:.1f}x an even share"
    return None


def window_start(now: datetime, period_s: float, periods: int) -> datetime:
    """The start of the aligned window of ``periods`` complete periods before ``now``."""
    epoch = now.timestamp()
    end = math.floor(epoch / period_s) * period_s
    return now - timedelta(seconds=epoch - end + period_s * periods)
