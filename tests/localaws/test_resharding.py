"""Fix: SplitShard, MergeShards and UpdateShardCount keep lineage, close parents, never re-put data."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from foundation.limits import KINESIS_HASH_KEY_MAX
from tests.localaws.kinesis_helpers import new_stream, put, read_shard, shards_by_id


def _open(shards: dict[str, dict[str, Any]]) -> set[str]:
    return {sid for sid, s in shards.items() if "EndingSequenceNumber" not in s["SequenceNumberRange"]}


def _all_records(kinesis: Any, stream: str) -> list[bytes]:
    data: list[bytes] = []
    for shard_id in shards_by_id(kinesis, stream):
        data.extend(r["Data"] for r in read_shard(kinesis, stream, shard_id)["records"])
    return data


def test_split_creates_two_children_and_closes_the_parent_keeping_its_records(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (parent_id,) = shards_by_id(kinesis, stream)
    put(kinesis, stream, 10, tag="before")
    parent = shards_by_id(kinesis, stream)[parent_id]
    start, end = int(parent["HashKeyRange"]["StartingHashKey"]), int(parent["HashKeyRange"]["EndingHashKey"])
    split_at = (start + end) // 3
    kinesis.split_shard(StreamName=stream, ShardToSplit=parent_id, NewStartingHashKey=str(split_at))

    shards = shards_by_id(kinesis, stream)
    closed = shards[parent_id]
    assert closed["SequenceNumberRange"]["EndingSequenceNumber"] == "10"
    children = sorted((s for s in shards.values() if s.get("ParentShardId") == parent_id), key=lambda s: s["ShardId"])
    assert [(int(c["HashKeyRange"]["StartingHashKey"]), int(c["HashKeyRange"]["EndingHashKey"])) for c in children] == [
        (start, split_at - 1),
        (split_at, end),
    ]
    assert _open(shards) == {c["ShardId"] for c in children}
    for child in children:
        assert read_shard(kinesis, stream, child["ShardId"])["records"] == []
    assert len(read_shard(kinesis, stream, parent_id)["records"]) == 10
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2


def test_merge_creates_one_child_with_both_parents_and_no_copied_records(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 2)
    first, second = sorted(shards_by_id(kinesis, stream))
    put(kinesis, stream, 50, tag="before")
    kinesis.merge_shards(StreamName=stream, ShardToMerge=first, AdjacentShardToMerge=second)

    shards = shards_by_id(kinesis, stream)
    (child_id,) = _open(shards)
    child = shards[child_id]
    assert (child["ParentShardId"], child["AdjacentParentShardId"]) == (first, second)
    assert child["HashKeyRange"]["StartingHashKey"] == shards[first]["HashKeyRange"]["StartingHashKey"]
    assert child["HashKeyRange"]["EndingHashKey"] == shards[second]["HashKeyRange"]["EndingHashKey"]
    assert read_shard(kinesis, stream, child_id)["records"] == []
    put(kinesis, stream, 5, tag="after")
    assert sorted(_all_records(kinesis, stream)) == sorted(
        [f"before-{i}".encode() for i in range(50)] + [f"after-{i}".encode() for i in range(5)]
    )


def test_invalid_reshards_are_rejected(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 3)
    a, b, c = sorted(shards_by_id(kinesis, stream))
    with pytest.raises(ClientError) as not_adjacent:
        kinesis.merge_shards(StreamName=stream, ShardToMerge=a, AdjacentShardToMerge=c)
    assert not_adjacent.value.response["Error"]["Code"] == "InvalidArgumentException"

    kinesis.merge_shards(StreamName=stream, ShardToMerge=b, AdjacentShardToMerge=a)  # either order is adjacent
    with pytest.raises(ClientError) as closed_merge:
        kinesis.merge_shards(StreamName=stream, ShardToMerge=a, AdjacentShardToMerge=b)
    assert closed_merge.value.response["Error"]["Code"] == "InvalidArgumentException"
    with pytest.raises(ClientError) as closed_split:
        kinesis.split_shard(StreamName=stream, ShardToSplit=a, NewStartingHashKey="12345")
    assert closed_split.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_update_shard_count_reshards_with_lineage_and_loses_or_copies_nothing(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 2)
    receipts = put(kinesis, stream, 300, tag="before")
    kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    put(kinesis, stream, 300, tag="after")

    shards = shards_by_id(kinesis, stream)
    for parent in {r["ShardId"] for r in receipts}:  # the parents still hold their records where they were
        held = {r["SequenceNumber"] for r in read_shard(kinesis, stream, parent)["records"]}
        assert held == {r["SequenceNumber"] for r in receipts if r["ShardId"] == parent}
    assert len(_open(shards)) == 4
    for shard_id in _open(shards):
        assert shards[shard_id]["ParentShardId"] in shards
    data = _all_records(kinesis, stream)
    assert len(data) == len(set(data)) == 600

    kinesis.update_shard_count(StreamName=stream, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    shards = shards_by_id(kinesis, stream)
    assert len(_open(shards)) == 2
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert len(_all_records(kinesis, stream)) == 600


@pytest.mark.parametrize(("start", "target"), [(4, 6), (6, 3), (3, 5), (4, 8), (8, 4), (5, 5)])
def test_update_shard_count_ends_with_uniform_ranges(aws_client: Any, start: int, target: int) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, start)
    kinesis.update_shard_count(StreamName=stream, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    shards = shards_by_id(kinesis, stream)
    ranges = sorted(
        (int(shards[s]["HashKeyRange"]["StartingHashKey"]), int(shards[s]["HashKeyRange"]["EndingHashKey"]))
        for s in _open(shards)
    )
    step = (KINESIS_HASH_KEY_MAX + 1) // target
    assert [low for low, _ in ranges] == [i * step for i in range(target)]
    assert ranges[-1][1] == KINESIS_HASH_KEY_MAX
    assert all(a_end + 1 == b_start for (_, a_end), (b_start, _) in zip(ranges, ranges[1:], strict=False))
    for shard in shards.values():  # every shard but the originals descends from shards of the stream
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
            assert parent is None or parent in shards


def test_update_shard_count_refuses_more_than_double_or_less_than_half(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 4)
    for target in (9, 1):
        with pytest.raises(ClientError) as refused:
            kinesis.update_shard_count(StreamName=stream, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
        assert refused.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert len(_open(shards_by_id(kinesis, stream))) == 4
