"""The autoscaler cannot run away: the probe's December inputs driven through the policy with a
stream model (tests/autoscale/simulator.py) that checks the quotas itself, and Hypothesis series
of loads, hot keys, gaps and bad values: none breaks a quota or ``max_shards``, none raises."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from admin.autoscale import PeriodLoad, PolicyConfig, ShardLimits
from tests.autoscale.simulator import Load, simulate

LIMITS = ShardLimits()  # Kinesis's: 1,000 records/s and 1 MiB/s per shard
DAY_OF_MINUTES = 24 * 60


def uniform(records_per_s: float) -> Load:
    return Load(uniform=records_per_s)


def test_a_hot_key_is_split_once_then_named_never_doubled() -> None:
    # the probe: 90% of 1,500 records/s on one key (in one of 16 shards), for 24 hours
    run = simulate(PolicyConfig(), LIMITS, 16, lambda _: Load(uniform=150, hot=((0.01, 1350.0),)), DAY_OF_MINUTES)
    assert run.end <= 34 and max(run.shards) <= 34
    assert [d.action for _, d in run.changes] == ["split"]
    assert run.calls == []  # no UpdateShardCount at all
    last = run.decisions[-1]
    assert last.action == "none" and last.hot_key_shard is not None and "hot partition key" in last.reason


def test_a_hot_key_without_shard_metrics_holds() -> None:
    run = simulate(
        PolicyConfig(), LIMITS, 16, lambda _: Load(uniform=150, hot=((0.01, 1350.0),)), 120, shard_metrics=False
    )
    assert run.end == 16 and run.changes == []
    assert "uniform scaling does not cure" in run.decisions[-1].reason


def test_two_hot_keys_in_one_shard_are_split_apart() -> None:
    # two heavy keys in shard 0 of 8 (0 .. 0.125), either side of its midpoint: one split is
    # enough; the quiet rest is merged afterwards, never re-spread uniformly onto the hot halves
    hot = ((0.01, 700.0), (0.1, 700.0))
    run = simulate(PolicyConfig(), LIMITS, 8, lambda _: Load(uniform=400, hot=hot), 240)
    actions = [d.action for _, d in run.changes]
    assert actions[0] == "split" and set(actions[1:]) <= {"merge"} and run.calls == []
    assert run.decisions[-1].throttled_records == 0 and run.decisions[-1].hot_key_shard is None


def test_throttling_every_other_period_scales_up() -> None:
    run = simulate(PolicyConfig(), LIMITS, 8, lambda s: uniform(8_000 * (1.2 if s % 2 else 0.5)), 60)
    assert run.changes and run.changes[0][1].action == "scale-up" and run.end > 8
    assert "throttled in" in run.changes[0][1].reason


def negative(period: PeriodLoad, _: int) -> PeriodLoad:
    return replace(period, records=-period.records, bytes=-period.bytes)


def test_negative_metrics_hold() -> None:
    run = simulate(PolicyConfig(), LIMITS, 64, lambda _: uniform(3_000), 120, distort=negative)
    assert run.end == 64 and run.changes == []
    assert run.decisions[-1].ignored  # named, and logged


def test_a_metrics_gap_holds_a_loaded_stream() -> None:
    # 64 shards at 10%: with data it would scale down; with every other period missing it holds
    run = simulate(PolicyConfig(), LIMITS, 64, lambda _: uniform(6_400), 120, distort=lambda p, s: None if s % 2 else p)
    assert run.end == 64
    assert "without data" in run.decisions[-1].reason
    with_data = simulate(PolicyConfig(), LIMITS, 64, lambda _: uniform(6_400), 120)
    assert with_data.end < 64


def test_inf_and_nan_are_ignored() -> None:
    def bad(period: PeriodLoad, step: int) -> PeriodLoad:
        return replace(period, records=math.inf if step % 3 == 0 else math.nan, throttled_records=math.inf)

    run = simulate(PolicyConfig(), LIMITS, 64, lambda _: uniform(30_000), 60, distort=bad)
    assert run.end == 64


def test_after_the_spike_it_scales_back_down_by_merging_cold_shards() -> None:
    config = PolicyConfig(cool_off_s=600.0, down_periods=5)
    run = simulate(config, LIMITS, 2, lambda s: uniform(3_000 if 10 <= s < 40 else 300), 120)
    actions = [d.action for _, d in run.changes]
    assert "scale-up" in actions and "merge" in actions
    assert run.end < max(run.shards)


_VALUES = st.one_of(
    st.floats(0, 5_000), st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.floats(-1e6, -1e-3)
)


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(1, 64),
    max_shards=st.integers(1, 80),
    account_limit=st.one_of(st.none(), st.integers(1, 100)),
    demand=st.lists(st.floats(0, 80_000), min_size=1, max_size=8),
    hot=st.lists(st.tuples(st.floats(0, 0.999), st.floats(0, 5_000)), max_size=3),
    corrupt=st.lists(
        st.tuples(
            st.integers(0, 199),
            _VALUES,
            st.sampled_from(["records", "bytes", "throttled_records", "iterator_age_ms", "gap"]),
        ),
        max_size=12,
    ),
    shard_metrics=st.booleans(),
)
def test_no_series_breaks_a_quota_or_max_shards_and_none_raises(
    start: int,
    max_shards: int,
    account_limit: int | None,
    demand: list[float],
    hot: list[tuple[float, float]],
    corrupt: list[tuple[int, float, str]],
    shard_metrics: bool,
) -> None:
    config = PolicyConfig(max_shards=max(max_shards, 1), cool_off_s=300.0, settle_s=60.0, down_periods=4)
    account = None if account_limit is None else max(account_limit, start)
    bad = {step: (value, name) for step, value, name in corrupt}

    def distort(period: PeriodLoad, step: int) -> PeriodLoad | None:
        if step not in bad:
            return period
        value, name = bad[step]
        return None if name == "gap" else replace(period, **{name: value})  # type: ignore[arg-type]

    # simulate() asserts every quota after every decision; a raise fails the test too
    simulate(
        config,
        LIMITS,
        start,
        lambda s: Load(uniform=demand[(s // 25) % len(demand)], hot=tuple(hot)),
        200,
        distort=distort,
        account_limit=account,
        shard_metrics=shard_metrics,
    )


def test_a_hot_key_under_the_limit_is_split_once_and_its_halves_are_never_merged_back() -> None:
    # one key at 90% of a shard's limit (no throttling), the rest of the stream quiet: the cold
    # half of its split must not be merged away (the hot half would be split again, every cool-off)
    config = PolicyConfig(cool_off_s=600.0)
    run = simulate(config, LIMITS, 16, lambda _: Load(uniform=400, hot=((0.01, 900.0),)), 24 * 60)
    actions = [d.action for _, d in run.changes]
    assert actions[0] == "split" and set(actions[1:]) == {"merge"} and run.calls == []
    assert max(run.shards) == 17 and run.end < 17  # the quiet rest merged, the hot key's halves kept
