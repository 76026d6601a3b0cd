"""Small Kinesis helpers for the localaws tests (boto3 client on the shared stack)."""

from __future__ import annotations

import datetime
import math
import time
from typing import Any

from tests.stack import unique_name


def new_stream(kinesis: Any, shards: int, prefix: str = "fix") -> str:
    name = unique_name(prefix)
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 30
    while kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, "stream never became ACTIVE"
        time.sleep(0.05)
    return name


def shards_by_id(kinesis: Any, stream: str) -> dict[str, dict[str, Any]]:
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}


def put(kinesis: Any, stream: str, count: int, *, explicit_hash_key: int | None = None, tag: str = "r") -> list[dict]:
    entries: list[dict[str, Any]] = []
    for i in range(count):
        entry: dict[str, Any] = {"Data": f"{tag}-{i}".encode(), "PartitionKey": f"{tag}-{i}"}
        if explicit_hash_key is not None:
            entry["ExplicitHashKey"] = str(explicit_hash_key)
        entries.append(entry)
    result: list[dict[str, Any]] = []
    for start in range(0, len(entries), 500):
        response = kinesis.put_records(StreamName=stream, Records=entries[start : start + 500])
        assert response["FailedRecordCount"] == 0
        result.extend(response["Records"])
    return result


def read_shard(kinesis: Any, stream: str, shard_id: str, *, limit: int = 10_000, max_calls: int = 1000) -> dict:
    """Read a shard from TRIM_HORIZON until it ends or is caught up: records and the last response."""
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records: list[dict[str, Any]] = []
    for _ in range(max_calls):
        response = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        records.extend(response["Records"])
        if "NextShardIterator" not in response or not response["Records"]:
            return {"records": records, "last": response}
        iterator = response["NextShardIterator"]
    raise AssertionError("shard neither ended nor caught up")


def next_whole_second() -> datetime.datetime:
    """Wait until the clock passes the next whole second and return that second.

    boto3 sends Kinesis timestamps in whole seconds, so an instant that must fall strictly
    between two server-side events is a whole second the clock has passed between them.
    """
    target = math.floor(time.time()) + 1
    deadline = time.monotonic() + 5
    while time.time() < target:
        assert time.monotonic() < deadline, "the clock did not advance"
        time.sleep(0.01)
    return datetime.datetime.fromtimestamp(target, tz=datetime.UTC)
