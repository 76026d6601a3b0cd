"""Step planning for scale, split, merge and rebalance: pure, including invariants under Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin.reshard import (
    HASH_SPACE,
    ClosedShardError,
    InvalidHashKeyError,
    InvalidTargetError,
    MergeShards,
    NotAdjacentError,
    RebalanceGoal,
    ScaleGoal,
    SplitShard,
    Topology,
    UnknownShardError,
    UpdateShardCount,
    even_starts,
    plan_steps,
    update_shard_count_targets,
)
from admin.reshard._steps import OneStep, _placeholder_ids, merge_step, simulate, split_step
from foundation.limits import UPDATE_SHARD_COUNT_MAX_SHARDS
from tests.admin._reshard_helpers import even_topology, shards_from_starts


@pytest.mark.parametrize(
    ("current", "target", "counts"),
    [
        (4, 8, [8]),
        (8, 3, [4, 3]),
        (4, 3, [3]),
        (3, 13, [6, 12, 13]),
        (1, 1, []),
        (5, 2, [3, 2]),
        (10, 1, [5, 3, 2, 1]),
        (6000, 10_000, [10_000]),
    ],
)
def test_update_shard_count_steps_stay_within_double_and_half(current: int, target: int, counts: list[int]) -> None:
    assert update_shard_count_targets(current, target) == counts


@given(current=st.integers(1, 3000), target=st.integers(1, UPDATE_SHARD_COUNT_MAX_SHARDS))
def test_update_shard_count_steps_are_legal_and_few(current: int, target: int) -> None:
    counts = update_shard_count_targets(current, target)
    assert counts[-1:] == ([target] if current != target else [])
    previous = current
    for count in counts:
        assert -(-previous // 2) <= count <= 2 * previous
        previous = count
    assert len(counts) <= 15


def test_targets_outside_kinesis_limits_are_refused() -> None:
    for bad in (0, UPDATE_SHARD_COUNT_MAX_SHARDS + 1):
        with pytest.raises(InvalidTargetError):
            update_shard_count_targets(4, bad)
    with pytest.raises(InvalidTargetError):
        RebalanceGoal(4, 1.0)


def test_even_starts_match_what_kinesis_creates() -> None:
    # a 3-shard stream created by Kinesis: shardId-000000000001 starts here
    assert even_starts(3)[1] == 113427455640312821154458202477256070485
    assert even_starts(2) == [0, 2**127]


def test_split_defaults_to_the_midpoint_and_checks_the_point() -> None:
    topology = even_topology(2)
    low = topology.open[0]
    assert split_step(topology, low.shard_id) == SplitShard(low.shard_id, 2**126)
    assert split_step(topology, low.shard_id, 5).at == 5
    for bad in (low.start, low.end, low.end + 1, HASH_SPACE):
        with pytest.raises(InvalidHashKeyError, match=low.shard_id):
            split_step(topology, low.shard_id, bad)
    with pytest.raises(UnknownShardError):
        split_step(topology, "shardId-000000000099")


def test_merge_checks_adjacency_and_puts_the_lower_shard_first() -> None:
    topology = even_topology(4)
    a, b, c, _ = topology.open
    assert merge_step(topology, b.shard_id, a.shard_id) == MergeShards(a.shard_id, b.shard_id)
    with pytest.raises(NotAdjacentError, match=f"{a.shard_id} and {c.shard_id} are not adjacent"):
        merge_step(topology, a.shard_id, c.shard_id)
    with pytest.raises(NotAdjacentError):
        merge_step(topology, a.shard_id, a.shard_id)


def test_closed_shards_are_refused_naming_their_children() -> None:
    topology = even_topology(2)
    low = topology.open[0]
    after = simulate(topology, split_step(topology, low.shard_id), iter(["x", "y"]).__next__)
    with pytest.raises(ClosedShardError, match="children: x, y"):
        split_step(after, low.shard_id)
    with pytest.raises(ClosedShardError):
        merge_step(after, low.shard_id, after.open[-1].shard_id)


def test_one_step_goal_is_reached_once_the_shard_closed() -> None:
    topology = even_topology(2)
    goal = OneStep(split_step(topology, topology.open[0].shard_id))
    simulation = plan_steps(topology, goal)
    assert len(simulation.steps) == 1
    assert simulation.final.open_count == 3


def test_scale_4_8_3_with_update_shard_count() -> None:
    up = plan_steps(even_topology(4), ScaleGoal(8, "update-shard-count"))
    assert up.steps == (UpdateShardCount(8),)
    down = plan_steps(up.final, ScaleGoal(3, "update-shard-count"))
    assert down.steps == (UpdateShardCount(4), UpdateShardCount(3))


def test_scale_by_split_merge_splits_before_merging() -> None:
    simulation = plan_steps(even_topology(4), ScaleGoal(3, "split-merge"))
    kinds = [type(step) for step in simulation.steps]
    assert kinds == [SplitShard, SplitShard, MergeShards, MergeShards, MergeShards]
    assert simulation.peak_open == 6
    assert simulation.final.open_count == 3
    assert simulation.final.worst_imbalance() < 1e-30
    # doubling an even layout is one split per shard, nothing else
    assert [type(s) for s in plan_steps(even_topology(4), ScaleGoal(8, "split-merge")).steps] == [SplitShard] * 4


def test_nothing_to_do_when_already_there() -> None:
    assert plan_steps(even_topology(5), ScaleGoal(5, "split-merge")).steps == ()
    assert plan_steps(even_topology(5), ScaleGoal(5, "update-shard-count")).steps == ()
    assert plan_steps(even_topology(5), RebalanceGoal(5, 0.1)).steps == ()


def test_rebalance_keeps_boundaries_within_tolerance() -> None:
    quarter = HASH_SPACE // 4
    # boundaries at 25% (fine), 45% (5 points off: outside a 10% tolerance), 75% (fine)
    topology = Topology("s", tuple(shards_from_starts([0, quarter, HASH_SPACE * 45 // 100, 3 * quarter])))
    simulation = plan_steps(topology, RebalanceGoal(4, 0.1))
    assert simulation.steps[0] == SplitShard(topology.open[2].shard_id, 2 * quarter)
    assert len(simulation.steps) == 2  # split at 50%, merge away 45%
    assert simulation.final.worst_imbalance() <= 0.1
    assert simulation.final.boundaries == frozenset({quarter, 2 * quarter, 3 * quarter})


def _layouts() -> st.SearchStrategy[Topology]:
    boundaries = st.lists(st.integers(1, HASH_SPACE - 1), max_size=11, unique=True)
    return boundaries.map(lambda b: Topology("s", tuple(shards_from_starts([0, *sorted(b)]))))


@settings(max_examples=150, deadline=None)
@given(
    topology=_layouts(),
    target=st.integers(1, 16),
    tolerance=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
    rebalance=st.booleans(),
)
def test_split_merge_plans_reach_the_goal_legally(
    topology: Topology, target: int, tolerance: float, rebalance: bool
) -> None:
    goal = RebalanceGoal(target, tolerance) if rebalance else ScaleGoal(target, "split-merge", tolerance)
    simulation = plan_steps(topology, goal)  # simulate() raises on any illegal call
    final = simulation.final
    final.check_tiling()
    assert final.open_count == target
    assert final.worst_imbalance() <= tolerance + 1e-6
    splits = sum(isinstance(s, SplitShard) for s in simulation.steps)
    merges = len(simulation.steps) - splits
    assert splits <= target - 1
    assert merges == topology.open_count + splits - target
    for step in simulation.steps:
        if isinstance(step, SplitShard):
            assert step.at > 0
    # re-planning from any intermediate state reaches the same layout (safe to re-run)
    middle = topology
    new_id = _placeholder_ids()  # the ids plan_steps gave the shards it created
    for step in simulation.steps[: len(simulation.steps) // 2]:
        middle = simulate(middle, step, new_id)
    resumed = plan_steps(middle, goal).final
    assert [(s.start, s.end) for s in resumed.open] == [(s.start, s.end) for s in final.open]
