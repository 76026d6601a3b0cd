"""Limits mode through boto3 against the embedded stack: Kinesis's answers when a shard is over
its throughput (per-record PutRecords failures, PutRecord and GetRecords call failures) and the
AWS/Kinesis metrics the stack publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from foundation.aws_errors import ErrorKind, classify, error_code, http_status
from localaws import LocalAWS
from tests.polling import wait_until
from tests.stack import unique_name

THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture
def kinesis(limited_aws: LocalAWS) -> Any:
    # no SDK retries: the test sees each answer as Kinesis sends it
    return limited_aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})


def make_stream(kinesis: Any, shards: int) -> str:
    name = unique_name("limits")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name


def test_put_records_fails_records_one_by_one_and_writes_the_others(kinesis: Any) -> None:
    stream = make_stream(kinesis, 1)
    entries = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(6)]
    response = kinesis.put_records(StreamName=stream, Records=entries)
    results = response["Records"]
    assert len(results) == 6
    failed = [r for r in results if "ErrorCode" in r]
    assert response["FailedRecordCount"] == len(failed) >= 4  # 1 record/s per shard, a burst of 1
    written = [r for r in results if "SequenceNumber" in r]
    assert written and results[0] in written
    for result in failed:
        assert result["ErrorCode"] == THROTTLED
        message = result["ErrorMessage"]
        assert "shardId-000000000000" in message and stream in message and "123456789012" in message
        assert "SequenceNumber" not in result
    # exactly the written records are in the shard
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert sorted(r["SequenceNumber"] for r in records) == sorted(r["SequenceNumber"] for r in written)


def test_a_full_shard_does_not_fail_records_for_another_shard(kinesis: Any) -> None:
    stream = make_stream(kinesis, 2)
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    low, high = (int(s["HashKeyRange"]["StartingHashKey"]) for s in shards)
    first = [{"Data": b"x", "PartitionKey": "a", "ExplicitHashKey": str(low)} for _ in range(3)]
    second = [{"Data": b"y", "PartitionKey": "b", "ExplicitHashKey": str(high)}]
    response = kinesis.put_records(StreamName=stream, Records=first + second)
    codes = [r.get("ErrorCode") for r in response["Records"]]
    assert codes[0] is None and codes[1] == THROTTLED and codes[2] == THROTTLED
    assert codes[3] is None and response["Records"][3]["ShardId"] == shards[1]["ShardId"]


def test_put_record_fails_the_call_as_a_throttle(kinesis: Any) -> None:
    stream = make_stream(kinesis, 1)
    kinesis.put_record(StreamName=stream, Data=b"first", PartitionKey="k")
    with pytest.raises(ClientError) as caught:
        kinesis.put_record(StreamName=stream, Data=b"second", PartitionKey="k")
    assert error_code(caught.value) == THROTTLED
    assert http_status(caught.value) == 400
    assert classify(error_code(caught.value), http_status(caught.value)) is ErrorKind.THROTTLED


def test_get_records_throttles_the_sixth_call_in_a_second(kinesis: Any) -> None:
    stream = make_stream(kinesis, 1)
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )["ShardIterator"]
    answers = []
    for _ in range(8):
        try:
            iterator = kinesis.get_records(ShardIterator=iterator)["NextShardIterator"]
            answers.append("ok")
        except ClientError as exc:
            answers.append(error_code(exc))
    assert answers[:5] == ["ok"] * 5  # 5 calls/s per shard, not scaled
    assert THROTTLED in answers[5:]


def test_the_stack_publishes_aws_kinesis_metrics(kinesis: Any, limited_aws: LocalAWS) -> None:
    stream = make_stream(kinesis, 1)
    kinesis.put_records(StreamName=stream, Records=[{"Data": b"z", "PartitionKey": str(i)} for i in range(4)])
    cloudwatch = limited_aws.client("cloudwatch")
    dimensions = [{"Name": "StreamName", "Value": stream}]

    def throttled_sum() -> float:
        now = datetime.now(UTC)
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "t",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Kinesis",
                            "MetricName": "WriteProvisionedThroughputExceeded",
                            "Dimensions": dimensions,
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1),
        )
        return float(sum(response["MetricDataResults"][0]["Values"]))

    assert wait_until(throttled_sum, timeout_s=20, what="WriteProvisionedThroughputExceeded in CloudWatch") >= 3
    shard_rows = [row for row in limited_aws.limits()["shards"] if row["stream"] == stream]
    assert shard_rows[0]["WriteProvisionedThroughputExceeded"] >= 3
    assert limited_aws.limits()["config"]["write_records_per_s"] == pytest.approx(1.0)
