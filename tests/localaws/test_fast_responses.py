"""Fix: PutRecords/GetRecords answered as plain JSON carry exactly what moto's serialiser would."""

from __future__ import annotations

import datetime
from typing import Any

from tests.localaws.kinesis_helpers import new_stream, shards_by_id


def test_binary_records_round_trip_with_their_metadata(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (shard,) = shards_by_id(kinesis, stream)
    blobs = [bytes(range(256)), b"\x00", "ünïcødé".encode()]
    put = kinesis.put_records(
        StreamName=stream, Records=[{"Data": b, "PartitionKey": f"kid-{i}"} for i, b in enumerate(blobs)]
    )
    assert put["FailedRecordCount"] == 0
    assert [(r["ShardId"], r["SequenceNumber"]) for r in put["Records"]] == [(shard, "1"), (shard, "2"), (shard, "3")]

    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    got = kinesis.get_records(ShardIterator=iterator["ShardIterator"])
    assert [r["Data"] for r in got["Records"]] == blobs
    assert [r["PartitionKey"] for r in got["Records"]] == ["kid-0", "kid-1", "kid-2"]
    now = datetime.datetime.now(datetime.UTC)
    for record in got["Records"]:
        assert abs((now - record["ApproximateArrivalTimestamp"]).total_seconds()) < 60
    assert got["MillisBehindLatest"] >= 0 and "NextShardIterator" in got
