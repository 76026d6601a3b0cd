"""The autoscaling policy: quotas never exceeded, no oscillation on a steady load, always up
under sustained throttling; plus the rules one by one."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin.autoscale import (
    Decision,
    Floor,
    Observation,
    PeriodLoad,
    PolicyConfig,
    QuotaState,
    ShardLimits,
    ShardRate,
    decide,
)
from foundation.errors import ConfigError
from foundation.limits import UPDATE_SHARD_COUNT_CALLS_PER_24H

LIMITS = ShardLimits(write_bytes_per_s=10_000.0, write_records_per_s=10.0)
PERIOD_S = 10.0
T0 = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)
EVENT_BYTES = 100.0


def fast_config(**overrides: object) -> PolicyConfig:
    options: dict[str, object] = {"cool_off_s": 60.0, "settle_s": 20.0, "down_periods": 4, **overrides}
    return PolicyConfig(**options)  # type: ignore[arg-type]


def period(demand_records_per_s: float, open_shards: int) -> PeriodLoad:
    """One period of a uniform load: what fits is written, the rest throttled."""
    capacity = open_shards * LIMITS.write_records_per_s
    written = min(demand_records_per_s, capacity) * PERIOD_S
    throttled = max(0.0, demand_records_per_s - capacity) * PERIOD_S
    return PeriodLoad(records=written, bytes=written * EVENT_BYTES, throttled_records=throttled, iterator_age_ms=0.0)


def observe(
    open_shards: int,
    periods: list[PeriodLoad],
    *,
    now: datetime = T0,
    calls: int = 0,
    last_change: datetime | None = None,
    account_limit: int | None = None,
    rates: dict[str, ShardRate] | None = None,
) -> Observation:
    return Observation(
        now=now,
        open_shards=open_shards,
        period_s=PERIOD_S,
        periods=periods,
        shard_rates=rates or {},
        quota=QuotaState(update_calls_24h=calls, account_shard_limit=account_limit, account_open_shards=open_shards),
        last_change_at=last_change,
    )


def check_quotas(decision: Decision, obs: Observation, config: PolicyConfig) -> None:
    if decision.action in ("scale-up", "scale-down"):
        assert obs.quota.calls_left > 0
        assert math.ceil(obs.open_shards / 2) <= decision.target <= 2 * obs.open_shards
    if decision.action == "split":
        assert decision.target == obs.open_shards + 1
    if decision.action in ("scale-up", "split"):
        assert decision.target <= config.max_shards
        if obs.quota.account_shard_limit is not None:
            assert decision.target <= obs.quota.account_shard_limit
    if decision.action == "scale-down":
        assert config.floor_at(obs.now) <= decision.target < obs.open_shards
        assert obs.quota.calls_left > config.reserve_calls


@settings(max_examples=300, deadline=None)
@given(
    open_shards=st.integers(1, 300),
    demands=st.lists(st.floats(0, 10_000), min_size=1, max_size=12),
    calls=st.integers(0, UPDATE_SHARD_COUNT_CALLS_PER_24H + 2),
    account_limit=st.one_of(st.none(), st.integers(1, 500)),
    max_shards=st.integers(1, 400),
    since_change_s=st.one_of(st.none(), st.floats(0, 10_000)),
)
def test_never_exceeds_quotas(
    open_shards: int,
    demands: list[float],
    calls: int,
    account_limit: int | None,
    max_shards: int,
    since_change_s: float | None,
) -> None:
    config = fast_config(max_shards=max_shards)
    last = None if since_change_s is None else T0 - timedelta(seconds=since_change_s)
    obs = observe(
        open_shards,
        [period(d, open_shards) for d in demands],
        calls=calls,
        last_change=last,
        account_limit=account_limit,
    )
    decision = decide(config, LIMITS, obs)
    check_quotas(decision, obs, config)


def simulate(config: PolicyConfig, demand: float, open_shards: int, steps: int) -> list[Decision]:
    """A steady load decided on every period, each change applied at once; returns the changes."""
    history: list[PeriodLoad] = []
    changes: list[Decision] = []
    calls: list[datetime] = []
    last_change: datetime | None = None
    for step in range(steps):
        now = T0 + timedelta(seconds=PERIOD_S * (step + 1))
        history.append(period(demand, open_shards))
        recent_calls = sum(1 for at in calls if at > now - timedelta(hours=24))
        decision = decide(
            config, LIMITS, observe(open_shards, history, now=now, calls=recent_calls, last_change=last_change)
        )
        check_quotas(decision, observe(open_shards, history, now=now, calls=recent_calls), config)
        if decision.changes:
            changes.append(decision)
            if decision.action != "split":
                calls.append(now)
            open_shards = decision.target
            last_change = now
    return changes


@settings(max_examples=200, deadline=None)
@given(demand=st.floats(0.0, 2_000.0), open_shards=st.integers(1, 64))
def test_never_oscillates_on_a_steady_load(demand: float, open_shards: int) -> None:
    changes = simulate(fast_config(), demand, open_shards, steps=60)
    directions = [c.action for c in changes]
    assert len(set(directions)) <= 1, directions


@settings(max_examples=200, deadline=None)
@given(open_shards=st.integers(1, 100), excess=st.floats(1.01, 50.0), calls=st.integers(0, 9))
def test_always_scales_up_under_sustained_throttling(open_shards: int, excess: float, calls: int) -> None:
    demand = open_shards * LIMITS.write_records_per_s * excess
    obs = observe(open_shards, [period(demand, open_shards)] * 3, calls=calls)
    decision = decide(fast_config(), LIMITS, obs)
    assert decision.action == "scale-up"
    needed = math.ceil(demand / LIMITS.write_records_per_s / 0.6)
    assert decision.target >= min(needed, 2 * open_shards)
    if excess >= 1.12:  # over 10% of the records throttled: the demand is clipped, double
        assert decision.target == 2 * open_shards
    assert "throttled" in decision.reason


def test_throttling_in_one_period_only_is_not_sustained() -> None:
    obs = observe(4, [period(10.0, 4), period(100.0, 4)])
    assert decide(fast_config(), LIMITS, obs).action == "none"


def test_high_utilisation_scales_to_the_target_utilisation() -> None:
    # 4 shards at 90%: 36 records/s needs ceil(36 / 10 / 0.6) = 6 shards
    obs = observe(4, [period(36.0, 4)] * 2)
    decision = decide(fast_config(), LIMITS, obs)
    assert (decision.action, decision.target) == ("scale-up", 6)


def test_no_scale_up_while_the_last_change_settles() -> None:
    obs = observe(4, [period(100.0, 4)] * 2, last_change=T0 - timedelta(seconds=5))
    assert decide(fast_config(), LIMITS, obs).action == "none"


def test_scale_down_waits_for_the_cool_off_and_keeps_calls_in_reserve() -> None:
    quiet = [period(2.0, 16)] * 4
    assert decide(fast_config(), LIMITS, observe(16, quiet, last_change=T0 - timedelta(seconds=30))).action == "none"
    decision = decide(fast_config(), LIMITS, observe(16, quiet))
    assert (decision.action, decision.target) == ("scale-down", 8)
    reserved = decide(fast_config(), LIMITS, observe(16, quiet, calls=UPDATE_SHARD_COUNT_CALLS_PER_24H - 2))
    assert reserved.action == "none" and "kept for spikes" in reserved.reason


def test_no_scale_down_while_consumers_are_behind() -> None:
    behind = [PeriodLoad(records=10.0, bytes=1000.0, iterator_age_ms=120_000.0)] * 4
    assert decide(fast_config(), LIMITS, observe(16, behind)).action == "none"


def test_scheduled_floor_scales_up_and_blocks_scale_down() -> None:
    floor = Floor(start=T0 - timedelta(days=3), end=T0 + timedelta(days=4), shards=12)
    config = fast_config(floors=(floor,))
    decision = decide(config, LIMITS, observe(4, [period(0.0, 4)] * 4))
    assert (decision.action, decision.target) == ("scale-up", 8)
    assert "floor" in decision.reason
    assert decide(config, LIMITS, observe(12, [period(0.0, 12)] * 4)).action == "none"
    later = T0 + timedelta(days=5)
    assert decide(config, LIMITS, observe(12, [period(0.0, 12)] * 4, now=later)).action == "scale-down"


def test_hot_shard_is_split_when_the_stream_has_room() -> None:
    rates = {f"shardId-{i:012d}": ShardRate(records_per_s=1.0, bytes_per_s=100.0) for i in range(7)}
    rates["shardId-000000000007"] = ShardRate(records_per_s=9.5, bytes_per_s=950.0)
    obs = observe(8, [period(16.5, 8)] * 4, rates=rates)
    decision = decide(fast_config(), LIMITS, obs)
    assert (decision.action, decision.shard_id, decision.target) == ("split", "shardId-000000000007", 9)


def test_quota_used_up_means_no_update_shard_count() -> None:
    obs = observe(4, [period(100.0, 4)] * 2, calls=UPDATE_SHARD_COUNT_CALLS_PER_24H)
    decision = decide(fast_config(), LIMITS, obs)
    assert decision.action == "none" and "quota" in decision.reason


def test_account_shard_limit_caps_the_target() -> None:
    obs = observe(4, [period(100.0, 4)] * 2, account_limit=6)
    assert decide(fast_config(), LIMITS, obs).target == 6


def test_config_rejects_thresholds_that_could_oscillate() -> None:
    with pytest.raises(ConfigError):
        PolicyConfig(down_utilisation=0.4, target_utilisation=0.6)


def test_a_new_stream_is_not_scaled_down_within_the_cool_off() -> None:
    quiet = [period(0.0, 16)] * 4
    obs = Observation(
        now=T0,
        open_shards=16,
        period_s=PERIOD_S,
        periods=quiet,
        created_at=T0 - timedelta(seconds=30),
    )
    assert decide(fast_config(), LIMITS, obs).action == "none"


def test_a_little_throttling_near_capacity_adds_what_the_demand_needs() -> None:
    # 4 shards at 85% with a few records throttled by uneven keys: 34 + 0.5 records/s
    periods = [PeriodLoad(records=340.0, bytes=34_000.0, throttled_records=5.0)] * 2
    decision = decide(fast_config(), LIMITS, observe(4, periods))
    assert (decision.action, decision.target) == ("scale-up", 6)
