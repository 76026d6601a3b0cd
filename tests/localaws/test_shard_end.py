"""Fix: GetRecords ends a closed shard (no NextShardIterator, ChildShards) once past its last record."""

from __future__ import annotations

from typing import Any

from tests.localaws.kinesis_helpers import new_stream, put, shards_by_id


def _iterator(kinesis: Any, stream: str, shard_id: str) -> str:
    response = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    return str(response["ShardIterator"])


def test_a_split_parent_delivers_its_records_then_ends_with_its_children(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (parent,) = shards_by_id(kinesis, stream)
    put(kinesis, stream, 7)
    kinesis.split_shard(StreamName=stream, ShardToSplit=parent, NewStartingHashKey=str(2**127))

    first = kinesis.get_records(ShardIterator=_iterator(kinesis, stream, parent), Limit=5)
    assert len(first["Records"]) == 5 and "NextShardIterator" in first and not first.get("ChildShards")
    last = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=5)
    assert len(last["Records"]) == 2 and "NextShardIterator" in last  # the end is the next call
    end = kinesis.get_records(ShardIterator=last["NextShardIterator"], Limit=5)
    assert end["Records"] == []
    assert "NextShardIterator" not in end
    children = {s["ShardId"] for s in shards_by_id(kinesis, stream).values() if s.get("ParentShardId") == parent}
    assert {c["ShardId"] for c in end["ChildShards"]} == children
    for child in end["ChildShards"]:
        assert child["ParentShards"] == [parent]
        assert set(child["HashKeyRange"]) == {"StartingHashKey", "EndingHashKey"}


def test_merged_parents_end_with_a_child_that_names_both_parents(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 2)
    first, second = sorted(shards_by_id(kinesis, stream))
    kinesis.merge_shards(StreamName=stream, ShardToMerge=first, AdjacentShardToMerge=second)
    for parent in (first, second):
        end = kinesis.get_records(ShardIterator=_iterator(kinesis, stream, parent))  # empty closed shard
        assert "NextShardIterator" not in end
        (child,) = end["ChildShards"]
        assert child["ParentShards"] == [first, second]


def test_an_open_shard_never_ends(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (shard,) = shards_by_id(kinesis, stream)
    put(kinesis, stream, 3)
    iterator = _iterator(kinesis, stream, shard)
    for _ in range(3):
        response = kinesis.get_records(ShardIterator=iterator)
        assert "NextShardIterator" in response and not response.get("ChildShards")
        iterator = response["NextShardIterator"]
