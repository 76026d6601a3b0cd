"""Pure step planning for scale, split, merge and rebalance.

A *goal* looks at the stream's current :class:`Topology` and answers the next API call to make,
or None when the goal is reached. The executor asks again after every call, so a run that was
interrupted (Ctrl-C, a timeout, a lost laptop) carries on from wherever the stream is when it is
re-run. :func:`simulate` applies a call to a topology in memory, which turns a goal into the full
list of calls for ``--dry-run`` and for limit checks before anything changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, Protocol

from admin.reshard._errors import InvalidHashKeyError, InvalidTargetError, NotAdjacentError, ReshardError
from admin.reshard._model import HASH_SPACE, Shard, Topology
from foundation.limits import UPDATE_SHARD_COUNT_MAX_FACTOR, UPDATE_SHARD_COUNT_MAX_SHARDS

Method = Literal["update-shard-count", "split-merge"]

#: boundaries this close (a 2**-40 share of the hash key space) count as the same boundary, so
#: rounding differences between even layouts (AWS, moto, this module) never cause a split
SAME_BOUNDARY_SLACK = HASH_SPACE >> 40
#: relative imbalance below which a layout counts as even whatever the tolerance
EVEN_ENOUGH = 1e-9


@dataclass(frozen=True)
class UpdateShardCount:
    """One UpdateShardCount call with uniform scaling."""

    target: int
    operation: ClassVar[str] = "UpdateShardCount"

    def params(self, stream: str) -> dict[str, Any]:
        return {"StreamName": stream, "TargetShardCount": self.target, "ScalingType": "UNIFORM_SCALING"}

    def describe(self) -> str:
        return f"UpdateShardCount to {self.target} shards (uniform scaling)"


@dataclass(frozen=True)
class SplitShard:
    """One SplitShard call: the shard keeps ``start..at-1``, a new one gets ``at..end``."""

    shard_id: str
    at: int
    operation: ClassVar[str] = "SplitShard"

    def params(self, stream: str) -> dict[str, Any]:
        return {"StreamName": stream, "ShardToSplit": self.shard_id, "NewStartingHashKey": str(self.at)}

    def describe(self) -> str:
        return f"split {self.shard_id} at hash key {self.at}"


@dataclass(frozen=True)
class MergeShards:
    """One MergeShards call; ``shard_id`` is always the lower of the two ranges."""

    shard_id: str
    adjacent_shard_id: str
    operation: ClassVar[str] = "MergeShards"

    def params(self, stream: str) -> dict[str, Any]:
        return {"StreamName": stream, "ShardToMerge": self.shard_id, "AdjacentShardToMerge": self.adjacent_shard_id}

    def describe(self) -> str:
        return f"merge {self.shard_id} with {self.adjacent_shard_id}"


Step = UpdateShardCount | SplitShard | MergeShards


class Goal(Protocol):
    """Where a command wants the stream to end up."""

    def next_step(self, topology: Topology) -> Step | None: ...

    def describe(self) -> str: ...


# --- checks -------------------------------------------------------------------------------------


def check_target(target: int) -> None:
    if not 1 <= target <= UPDATE_SHARD_COUNT_MAX_SHARDS:
        raise InvalidTargetError(f"target shard count {target} is outside 1..{UPDATE_SHARD_COUNT_MAX_SHARDS}")


def check_tolerance(tolerance: float) -> None:
    if not 0.0 <= tolerance < 1.0:
        raise InvalidTargetError(f"tolerance {tolerance} must be at least 0 and below 1 (a fraction of an even share)")


def split_step(topology: Topology, shard_id: str, at: int | None = None) -> SplitShard:
    """The SplitShard call for ``shard_id`` at ``at`` (default: the midpoint of its range), checked."""
    shard = topology.get_open(shard_id)
    if shard.width < 3:
        raise InvalidHashKeyError(f"shard {shard_id} covers {shard.width} hash key(s): too few to split")
    if at is None:
        at = (shard.start + shard.end + 1) // 2
    # Kinesis wants start < at; moto also wants at < end, so the tool keeps both strict.
    if not shard.start < at < shard.end:
        raise InvalidHashKeyError(
            f"split point {at} is not strictly inside shard {shard_id}'s hash key range {shard.start}..{shard.end}"
        )
    return SplitShard(shard_id, at)


def merge_step(topology: Topology, shard_id: str, other_id: str) -> MergeShards:
    """The MergeShards call for two open, adjacent shards (in either order), checked."""
    if shard_id == other_id:
        raise NotAdjacentError(shard_id, other_id)
    first = topology.get_open(shard_id)
    second = topology.get_open(other_id)
    low, high = (first, second) if first.start < second.start else (second, first)
    if low.end + 1 != high.start:
        raise NotAdjacentError(shard_id, other_id)
    return MergeShards(low.shard_id, high.shard_id)


# --- the pure arithmetic of UpdateShardCount and even splits -----------------------------------------


def update_shard_count_targets(current: int, target: int) -> list[int]:
    """The counts successive UpdateShardCount calls must ask for: each at most double and at least
    half the open shards at the time (4 -> 8: [8]; 8 -> 3: [4, 3]; 3 -> 13: [6, 12, 13])."""
    check_target(target)
    if current < 1:
        raise InvalidTargetError(f"the stream has {current} open shards")
    counts: list[int] = []
    while current != target:
        if target > current:
            current = min(target, current * UPDATE_SHARD_COUNT_MAX_FACTOR, UPDATE_SHARD_COUNT_MAX_SHARDS)
        else:
            current = max(target, -(-current // UPDATE_SHARD_COUNT_MAX_FACTOR))
        counts.append(current)
    return counts


def even_starts(count: int) -> list[int]:
    """Starting hash keys of ``count`` shards sharing the hash key space evenly (as Kinesis creates them)."""
    check_target(count)
    return [k * HASH_SPACE // count for k in range(count)]


def goal_boundaries(topology: Topology, count: int, tolerance: float) -> frozenset[int]:
    """Where ``count`` even shards would meet, keeping an existing boundary when it lies within
    ``tolerance / 2`` of an even share of the ideal point, so that every shard ends up within
    ``tolerance`` of an even share while making as few calls as possible."""
    check_tolerance(tolerance)
    slack = max(int(tolerance * (HASH_SPACE // count)) // 2, SAME_BOUNDARY_SLACK)
    existing = sorted(topology.boundaries)
    chosen: set[int] = set()
    for ideal in even_starts(count)[1:]:
        near = [b for b in existing if abs(b - ideal) <= slack]
        chosen.add(min(near, key=lambda b: (abs(b - ideal), b)) if near else ideal)
    return frozenset(chosen)


def next_boundary_step(topology: Topology, boundaries: frozenset[int]) -> SplitShard | MergeShards | None:
    """One call towards open shards that meet exactly at ``boundaries``: first every missing split
    (capacity never drops below today's), then the merges of boundaries that should go."""
    current = topology.boundaries
    missing = sorted(boundaries - current)
    if missing:
        at = missing[0]
        return SplitShard(topology.shard_for(at).shard_id, at)
    extra = sorted(current - boundaries)
    if extra:
        high = topology.shard_starting_at(extra[0])
        assert high is not None  # a boundary is by definition some open shard's start
        low = topology.shard_for(extra[0] - 1)
        return MergeShards(low.shard_id, high.shard_id)
    return None


# --- goals ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleGoal:
    """``target`` open shards, by UpdateShardCount steps or by splits and merges to an even layout."""

    target: int
    method: Method
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        check_target(self.target)
        check_tolerance(self.tolerance)

    def next_step(self, topology: Topology) -> Step | None:
        if self.method == "update-shard-count":
            counts = update_shard_count_targets(topology.open_count, self.target)
            return UpdateShardCount(counts[0]) if counts else None
        if topology.open_count == self.target and topology.worst_imbalance() <= max(self.tolerance, EVEN_ENOUGH):
            return None
        return next_boundary_step(topology, goal_boundaries(topology, self.target, self.tolerance))

    def describe(self) -> str:
        how = "UpdateShardCount (uniform scaling)" if self.method == "update-shard-count" else "SplitShard/MergeShards"
        return f"{self.target} open shards via {how}"


@dataclass(frozen=True)
class RebalanceGoal:
    """``target`` open shards, each within ``tolerance`` of an even share of the hash key space."""

    target: int
    tolerance: float

    def __post_init__(self) -> None:
        check_target(self.target)
        check_tolerance(self.tolerance)

    def next_step(self, topology: Topology) -> Step | None:
        if topology.open_count == self.target and topology.worst_imbalance() <= max(self.tolerance, EVEN_ENOUGH):
            return None
        return next_boundary_step(topology, goal_boundaries(topology, self.target, self.tolerance))

    def describe(self) -> str:
        return f"{self.target} open shards within {self.tolerance:.0%} of an even share"


@dataclass(frozen=True)
class OneStep:
    """A single split or merge: reached once the shard(s) it names are closed."""

    step: SplitShard | MergeShards

    def next_step(self, topology: Topology) -> Step | None:
        step = self.step
        ids = (step.shard_id,) if isinstance(step, SplitShard) else (step.shard_id, step.adjacent_shard_id)
        if all(topology.get(i).is_open for i in ids):
            return self.step
        return None

    def describe(self) -> str:
        return self.step.describe()


# --- simulation ------------------------------------------------------------------------------------

#: placeholder id prefix for shards the service has not created yet (dry runs only)
NEW_SHARD = "(new shard "


def _placeholder_ids(taken: Iterable[str] = ()) -> Callable[[], str]:
    """Placeholder ids ``(new shard N)`` that do not collide with ``taken``."""
    used = set(taken)
    counter = itertools.count(1)

    def new_id() -> str:
        while (candidate := f"{NEW_SHARD}{next(counter)})") in used:
            pass
        used.add(candidate)
        return candidate

    return new_id


def simulate(topology: Topology, step: Step, new_id: Callable[[], str]) -> Topology:
    """The topology after ``step``, computed in memory; new shards get ids from ``new_id``.

    UpdateShardCount is modelled as the even layout AWS documents for uniform scaling."""
    closed = "(closed by the plan)"
    if isinstance(step, SplitShard):
        parent = topology.get_open(step.shard_id)
        children = (
            Shard(shard_id=new_id(), start=parent.start, end=step.at - 1, parent_id=parent.shard_id),
            Shard(shard_id=new_id(), start=step.at, end=parent.end, parent_id=parent.shard_id),
        )
        shards = [replace(s, ending_sequence=closed) if s.shard_id == parent.shard_id else s for s in topology.shards]
        return Topology(topology.stream, (*shards, *children))
    if isinstance(step, MergeShards):
        low, high = topology.get_open(step.shard_id), topology.get_open(step.adjacent_shard_id)
        child = Shard(
            shard_id=new_id(), start=low.start, end=high.end, parent_id=low.shard_id, adjacent_parent_id=high.shard_id
        )
        gone = {low.shard_id, high.shard_id}
        shards = [replace(s, ending_sequence=closed) if s.shard_id in gone else s for s in topology.shards]
        return Topology(topology.stream, (*shards, child))
    starts = even_starts(step.target)
    ends = [*(s - 1 for s in starts[1:]), HASH_SPACE - 1]
    shards = [replace(s, ending_sequence=closed) if s.is_open else s for s in topology.shards]
    fresh = [Shard(shard_id=new_id(), start=a, end=b) for a, b in zip(starts, ends, strict=True)]
    return Topology(topology.stream, (*shards, *fresh))


@dataclass(frozen=True)
class Simulation:
    steps: tuple[Step, ...]
    final: Topology
    #: most open shards at any point of the plan
    peak_open: int


def plan_steps(topology: Topology, goal: Goal, *, max_steps: int = 2 * UPDATE_SHARD_COUNT_MAX_SHARDS) -> Simulation:
    """Every call ``goal`` needs from ``topology``, by simulating them one after the other."""
    new_id = _placeholder_ids(s.shard_id for s in topology.shards)
    steps: list[Step] = []
    peak = topology.open_count
    while (step := goal.next_step(topology)) is not None:
        if len(steps) >= max_steps:
            raise ReshardError(f"planning {goal.describe()} did not converge after {max_steps} steps")
        steps.append(step)
        topology = simulate(topology, step, new_id)
        peak = max(peak, topology.open_count)
    return Simulation(tuple(steps), topology, peak)
