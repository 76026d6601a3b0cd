"""Builders shared by the reshard tests: topologies and ListShards-shaped dicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from admin.reshard import HASH_SPACE, Shard, Topology, even_starts


def shards_from_starts(starts: Sequence[int], *, first_index: int = 0) -> list[Shard]:
    """Open shards starting at ``starts`` (sorted, the first 0) and tiling the hash key space."""
    ends = [*(s - 1 for s in starts[1:]), HASH_SPACE - 1]
    return [
        Shard(shard_id=f"shardId-{first_index + i:012d}", start=a, end=b, starting_sequence=str(i))
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


def even_topology(count: int, stream: str = "s") -> Topology:
    return Topology(stream, tuple(shards_from_starts(even_starts(count))))


def api_shard(shard: Shard) -> dict[str, Any]:
    """``shard`` as ListShards returns it."""
    out: dict[str, Any] = {
        "ShardId": shard.shard_id,
        "HashKeyRange": {"StartingHashKey": str(shard.start), "EndingHashKey": str(shard.end)},
        "SequenceNumberRange": {"StartingSequenceNumber": shard.starting_sequence or "0"},
    }
    if shard.ending_sequence is not None:
        out["SequenceNumberRange"]["EndingSequenceNumber"] = shard.ending_sequence
    if shard.parent_id:
        out["ParentShardId"] = shard.parent_id
    if shard.adjacent_parent_id:
        out["AdjacentParentShardId"] = shard.adjacent_parent_id
    return out
