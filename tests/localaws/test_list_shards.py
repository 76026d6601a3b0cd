"""Fix: ListShards honours ShardFilter (the KCL sends AT_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP) and pages."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.localaws.kinesis_helpers import new_stream, next_whole_second, shards_by_id


def _ids(kinesis: Any, stream: str, **filter_: Any) -> list[str]:
    response = kinesis.list_shards(StreamName=stream, ShardFilter=filter_)
    return [s["ShardId"] for s in response["Shards"]]


@pytest.fixture
def resharded(aws_client: Any) -> dict[str, Any]:
    """Shards 0 and 1; 0 split into 2 and 3 between two recorded instants."""
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 2)
    zero, one = sorted(shards_by_id(kinesis, stream))
    before = next_whole_second()  # boto3 sends whole seconds: instants on both sides of the split
    kinesis.split_shard(StreamName=stream, ShardToSplit=zero, NewStartingHashKey=str(2**126))
    after = next_whole_second()
    two, three = sorted(set(shards_by_id(kinesis, stream)) - {zero, one})
    return {"kinesis": kinesis, "stream": stream, "ids": (zero, one, two, three), "before": before, "after": after}


def test_shard_filters_select_as_kinesis_does(resharded: dict[str, Any]) -> None:
    kinesis, stream = resharded["kinesis"], resharded["stream"]
    zero, one, two, three = resharded["ids"]
    assert _ids(kinesis, stream, Type="AT_LATEST") == [one, two, three]
    assert _ids(kinesis, stream, Type="AT_TRIM_HORIZON") == [zero, one]
    assert _ids(kinesis, stream, Type="FROM_TRIM_HORIZON") == [zero, one, two, three]
    assert _ids(kinesis, stream, Type="AFTER_SHARD_ID", ShardId=one) == [two, three]
    assert _ids(kinesis, stream, Type="AT_TIMESTAMP", Timestamp=resharded["before"]) == [zero, one]
    assert _ids(kinesis, stream, Type="AT_TIMESTAMP", Timestamp=resharded["after"]) == [one, two, three]
    long_ago = resharded["before"] - datetime.timedelta(days=1)
    assert _ids(kinesis, stream, Type="AT_TIMESTAMP", Timestamp=long_ago) == [zero, one]
    assert _ids(kinesis, stream, Type="FROM_TIMESTAMP", Timestamp=resharded["before"]) == [zero, one, two, three]
    assert _ids(kinesis, stream, Type="FROM_TIMESTAMP", Timestamp=resharded["after"]) == [one, two, three]
    assert [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]] == [zero, one, two, three]


def test_pages_keep_the_filter_and_exclusive_start_skips(resharded: dict[str, Any]) -> None:
    kinesis, stream = resharded["kinesis"], resharded["stream"]
    zero, one, two, three = resharded["ids"]
    seen: list[str] = []
    response = kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AT_LATEST"}, MaxResults=1)
    while True:
        assert len(response["Shards"]) <= 1
        seen.extend(s["ShardId"] for s in response["Shards"])
        if "NextToken" not in response:
            break
        response = kinesis.list_shards(NextToken=response["NextToken"], MaxResults=1)
    assert seen == [one, two, three]
    after_zero = kinesis.list_shards(StreamName=stream, ExclusiveStartShardId=zero)["Shards"]
    assert [s["ShardId"] for s in after_zero] == [one, two, three]


def test_a_bad_filter_is_an_invalid_argument(resharded: dict[str, Any]) -> None:
    kinesis, stream = resharded["kinesis"], resharded["stream"]
    with pytest.raises(ClientError) as missing_id:
        kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AFTER_SHARD_ID"})
    assert missing_id.value.response["Error"]["Code"] == "InvalidArgumentException"
