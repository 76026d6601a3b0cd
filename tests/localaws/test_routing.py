"""Fix: puts route only to open shards, hash key ranges inclusive at both ends."""

from __future__ import annotations

from typing import Any

from foundation.limits import KINESIS_HASH_KEY_MAX
from tests.localaws.kinesis_helpers import new_stream, put, shards_by_id


def _range(shard: dict[str, Any]) -> tuple[int, int]:
    return int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])


def test_a_key_equal_to_a_shards_ending_hash_key_goes_to_that_shard(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 2)
    first, second = sorted(shards_by_id(kinesis, stream).values(), key=lambda s: _range(s)[0])
    start, end = _range(first)

    assert put(kinesis, stream, 1, explicit_hash_key=end)[0]["ShardId"] == first["ShardId"]
    assert put(kinesis, stream, 1, explicit_hash_key=start)[0]["ShardId"] == first["ShardId"]
    assert put(kinesis, stream, 1, explicit_hash_key=end + 1)[0]["ShardId"] == second["ShardId"]
    assert put(kinesis, stream, 1, explicit_hash_key=KINESIS_HASH_KEY_MAX)[0]["ShardId"] == second["ShardId"]
    assert put(kinesis, stream, 1, explicit_hash_key=0)[0]["ShardId"] == first["ShardId"]


def test_after_a_split_puts_go_to_the_children_not_the_closed_parent(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (parent,) = shards_by_id(kinesis, stream).values()
    middle = (KINESIS_HASH_KEY_MAX + 1) // 2
    kinesis.split_shard(StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(middle))

    shards = shards_by_id(kinesis, stream)
    children = {sid for sid, s in shards.items() if s.get("ParentShardId") == parent["ShardId"]}
    assert len(children) == 2
    landed = {r["ShardId"] for r in put(kinesis, stream, 200)}
    assert landed == children
    for key in (0, middle - 1, middle, KINESIS_HASH_KEY_MAX):
        shard_id = put(kinesis, stream, 1, explicit_hash_key=key)[0]["ShardId"]
        low, high = _range(shards[shard_id])
        assert shard_id in children and low <= key <= high
