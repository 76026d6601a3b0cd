"""Shards, ranges, lineage and tiling read from ListShards output: pure."""

from __future__ import annotations

import pytest

from admin.reshard import HASH_SPACE, ClosedShardError, Shard, Topology, TopologyError, UnknownShardError
from tests.admin._reshard_helpers import api_shard, even_topology, shards_from_starts


def test_from_api_round_trip_keeps_ranges_lineage_and_state() -> None:
    parent = Shard(shard_id="shardId-000000000000", start=0, end=HASH_SPACE - 1, ending_sequence="9")
    low = Shard(shard_id="shardId-000000000001", start=0, end=HASH_SPACE // 2 - 1, parent_id=parent.shard_id)
    high = Shard(shard_id="shardId-000000000002", start=HASH_SPACE // 2, end=HASH_SPACE - 1, parent_id=parent.shard_id)
    topology = Topology.from_api("s", [api_shard(s) for s in (parent, low, high)])

    assert [s.shard_id for s in topology.open] == [low.shard_id, high.shard_id]
    assert [s.shard_id for s in topology.closed] == [parent.shard_id]
    assert [c.shard_id for c in topology.children(parent.shard_id)] == [low.shard_id, high.shard_id]
    assert topology.boundaries == frozenset({HASH_SPACE // 2})
    assert low.share == pytest.approx(0.5)
    topology.check_tiling()


def test_even_layouts_are_even_and_tile_the_space() -> None:
    for count in (1, 2, 3, 4, 7, 8, 1000):
        topology = even_topology(count)
        topology.check_tiling()
        assert topology.worst_imbalance() < 1e-30
        assert sum(s.width for s in topology.open) == HASH_SPACE


def test_imbalance_is_the_largest_relative_deviation() -> None:
    topology = Topology("s", tuple(shards_from_starts([0, HASH_SPACE // 4])))
    assert topology.worst_imbalance() == pytest.approx(0.5)


def test_gaps_and_overlaps_are_refused() -> None:
    gap = Topology("s", (Shard(shard_id="a", start=0, end=10), Shard(shard_id="b", start=12, end=HASH_SPACE - 1)))
    with pytest.raises(TopologyError, match="gap at hash key 11"):
        gap.check_tiling()
    overlap = Topology("s", (Shard(shard_id="a", start=0, end=10), Shard(shard_id="b", start=5, end=HASH_SPACE - 1)))
    with pytest.raises(TopologyError, match="overlap"):
        overlap.check_tiling()
    with pytest.raises(TopologyError, match="no open shards"):
        Topology("s", ()).check_tiling()


def test_lookups_name_unknown_and_closed_shards() -> None:
    parent = Shard(shard_id="p", start=0, end=HASH_SPACE - 1, ending_sequence="1")
    child = Shard(shard_id="c", start=0, end=HASH_SPACE - 1, parent_id="p")
    topology = Topology("s", (parent, child))
    with pytest.raises(UnknownShardError, match="unknown shard nope in stream s"):
        topology.get("nope")
    with pytest.raises(ClosedShardError, match=r"shard p of stream s is closed.*children: c"):
        topology.get_open("p")
    assert topology.shard_for(12345).shard_id == "c"


def test_a_shard_range_must_be_inside_the_hash_space() -> None:
    with pytest.raises(ValueError, match="bad hash key range"):
        Shard(shard_id="x", start=5, end=4)
    with pytest.raises(ValueError, match="bad hash key range"):
        Shard(shard_id="x", start=0, end=HASH_SPACE)
