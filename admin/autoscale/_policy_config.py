"""The autoscaler policy's settings (the rules that use them are in :mod:`admin.autoscale._policy`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from admin.autoscale._model import Floor
from foundation.errors import ConfigError
from foundation.limits import UPDATE_SHARD_COUNT_CALLS_PER_24H, UPDATE_SHARD_COUNT_MAX_SHARDS


@dataclass(frozen=True, kw_only=True)
class PolicyConfig:
    up_utilisation: float = 0.75
    target_utilisation: float = 0.6
    down_utilisation: float = 0.25
    #: consecutive periods a scale-up condition must hold (throttling or high utilisation)
    up_periods: int = 2
    #: consecutive quiet periods before a scale-down
    down_periods: int = 10
    #: intermittent throttling: throttled in this share of the last throttle_window periods
    throttle_window: int = 10
    throttle_share: float = 0.4
    #: no scale-down this long after any change
    cool_off_s: float = 3600.0
    #: no scale-up this long after a change (its effect must show in the metrics first)
    settle_s: float = 120.0
    #: throttled records per period that count as throttling (0: any)
    throttle_tolerance: float = 0.0
    #: throttled share of the records above which the measured demand counts as clipped (the
    #: real demand is unknown): a scale-up then at least doubles
    clipped_share: float = 0.1
    #: a throttling scale-up goes at most this many times past what the whole demand needs
    skew_allowance: float = 2.0
    #: a shard carrying more than this many even shares (and above up_utilisation) is split
    hot_shard_factor: float = 2.0
    #: one half of a split carrying this share of the pair's demand: a hot key, stop splitting
    hot_key_share: float = 0.9
    #: consumers this far behind block any scale-down
    lag_block_down_ms: float = 60_000.0
    min_shards: int = 1
    max_shards: int = UPDATE_SHARD_COUNT_MAX_SHARDS
    #: UpdateShardCount calls kept for scaling up: a uniform scale-down needs more than this many left
    reserve_calls: int = 2
    #: scale down by merging cold adjacent shards where that is cheaper (see rule 4)
    prefer_merges: bool = True
    floors: tuple[Floor, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.down_utilisation < self.target_utilisation / 2:
            raise ConfigError("down_utilisation", "must be above 0 and below half of target_utilisation")
        if not self.target_utilisation < self.up_utilisation <= 1.0:
            raise ConfigError("up_utilisation", "must be above target_utilisation and at most 1")
        if self.up_periods < 1 or self.down_periods < 1 or self.throttle_window < 1:
            raise ConfigError("periods", "up_periods, down_periods and throttle_window must be >= 1")
        if not 0 < self.throttle_share <= 1 or not 0 < self.clipped_share <= 1:
            raise ConfigError("throttle_share", "throttle_share and clipped_share must be in (0, 1]")
        if self.cool_off_s < 0 or self.settle_s < 0 or self.throttle_tolerance < 0:
            raise ConfigError("cool_off_s", "times and tolerances must not be negative")
        if self.hot_shard_factor <= 1 or self.skew_allowance < 1:
            raise ConfigError("hot_shard_factor", "hot_shard_factor must be above 1, skew_allowance at least 1")
        if not 0.5 < self.hot_key_share <= 1:
            raise ConfigError("hot_key_share", "must be in (0.5, 1]")
        if not 1 <= self.min_shards <= self.max_shards <= UPDATE_SHARD_COUNT_MAX_SHARDS:
            raise ConfigError("max_shards", f"need 1 <= min_shards <= max_shards <= {UPDATE_SHARD_COUNT_MAX_SHARDS}")
        if not 0 <= self.reserve_calls < UPDATE_SHARD_COUNT_CALLS_PER_24H:
            raise ConfigError("reserve_calls", f"must be 0..{UPDATE_SHARD_COUNT_CALLS_PER_24H - 1}")

    @property
    def window_periods(self) -> int:
        """How many periods of history a decision looks at."""
        return max(self.up_periods, self.down_periods, self.throttle_window)

    def floor_at(self, now: datetime) -> int:
        return max([self.min_shards, *(f.shards for f in self.floors if f.active(now))])
