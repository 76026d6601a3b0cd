"""The sinks against in-process moto, with throttling injected by a client wrapper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from consumer import RetryPolicy, SinkError, SinkUnavailableError
from consumer.archive import ArchiveFile
from consumer.records import DecodedEvent, KinesisRecord
from consumer.sinks import DynamoDBSink, S3Archive
from tests.factories import BASE_MS, make_event

TABLE = "kids"
BUCKET = "archive"
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.02)


class Faults:
    """Wraps a client: the next ``count`` calls of ``operation`` raise the error AWS would send,
    without reaching moto (a botocore before-send hook cannot pre-empt moto's own reliably)."""

    def __init__(self, client: Any, operation: str) -> None:
        self._client = client
        self._operation = operation
        self.remaining = 0
        self.code = ""
        self.status = 400

    def arm(self, count: int, code: str, status: int) -> None:
        self.remaining, self.code, self.status = count, code, status

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._operation:
            return real

        def call(**kwargs: Any) -> Any:
            if self.remaining > 0:
                self.remaining -= 1
                error = {"Error": {"Code": self.code, "Message": "injected"}}
                raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": self.status}}, name)
            return real(**kwargs)

        return call


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        c = client("dynamodb")
        c.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield c


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        c = client("s3")
        c.create_bucket(Bucket=BUCKET)
        yield c


def decoded(event: dict[str, Any], sequence: int = 1) -> DecodedEvent:
    return DecodedEvent(KinesisRecord("shardId-1", str(sequence), 0, "pk", BASE_MS, b""), event, "00" * 8)


def stored(c: Any, kid: str) -> dict[str, Any]:
    item = c.get_item(TableName=TABLE, Key={"kid_id": {"S": kid}}, ConsistentRead=True).get("Item")
    return item or {}


def test_last_writer_wins_across_calls_and_replays(dynamodb: Any) -> None:
    sink = DynamoDBSink(dynamodb, TABLE, threads=4, retry=FAST, wall_clock_ms=lambda: 42)
    newer = make_event(kid_id="kid-a", observed_at=BASE_MS + 100, note="newer")
    older = make_event(kid_id="kid-a", observed_at=BASE_MS + 50)
    other = make_event(kid_id="kid-b", location={"lat": 1.0, "lon": 2.0})
    assert sink.write_latest([decoded(newer), decoded(other)]).written == 2
    # a late event and a replay of the same one: neither overwrites
    summary = sink.write_latest([decoded(older), decoded(newer), decoded(older)])
    assert (summary.written, summary.superseded) == (0, 1)
    item = stored(dynamodb, "kid-a")
    assert item["event_id"]["S"] == newer["event_id"] and item["note"]["S"] == "newer"
    assert item["written_at"]["N"] == "42"
    assert stored(dynamodb, "kid-b")["location"]["M"]["lat"]["N"] == "1.0"
    # the same observed_at: the larger event_id wins, whatever the order of arrival
    tie = make_event(kid_id="kid-a", observed_at=BASE_MS + 100, event_id="ffffffff-ffff-4fff-8fff-ffffffffffff")
    assert sink.write_latest([decoded(tie)]).written == 1
    assert stored(dynamodb, "kid-a")["event_id"]["S"] == tie["event_id"]
    sink.close()


def test_dynamodb_throttling_is_retried(dynamodb: Any) -> None:
    faults = Faults(dynamodb, "put_item")
    sleeps: list[float] = []
    sink = DynamoDBSink(faults, TABLE, threads=1, retry=FAST, sleep=sleeps.append)
    faults.arm(3, "ProvisionedThroughputExceededException", 400)
    event = make_event(kid_id="kid-t")
    assert sink.write_latest([decoded(event)]).written == 1
    assert len(sleeps) == 3 and faults.remaining == 0
    assert stored(dynamodb, "kid-t")["event_id"]["S"] == event["event_id"]
    faults.arm(2, "InternalServerError", 500)
    assert sink.write_latest([decoded(make_event(kid_id="kid-u"))]).written == 1


def test_dynamodb_failure_outliving_the_retries_raises(dynamodb: Any) -> None:
    faults = Faults(dynamodb, "put_item")
    sink = DynamoDBSink(faults, TABLE, threads=2, retry=FAST, sleep=lambda s: None)
    faults.arm(100, "ThrottlingException", 400)
    with pytest.raises(SinkUnavailableError, match="after 4 attempts"):
        sink.write_latest([decoded(make_event(kid_id="kid-x"))])
    assert stored(dynamodb, "kid-x") == {}


def test_dynamodb_missing_table_is_not_retried(dynamodb: Any) -> None:
    sink = DynamoDBSink(dynamodb, "no-such-table", retry=FAST, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(SinkError, match="ResourceNotFoundException") as info:
        sink.write_latest([decoded(make_event())])
    assert not info.value.retryable


def test_s3_slow_down_is_retried_and_objects_land(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    sleeps: list[float] = []
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=sleeps.append, threads=1)
    faults.arm(2, "SlowDown", 503)
    archive.put_files([ArchiveFile("events/a.avro", b"A", 1), ArchiveFile("events/b.avro", b"B", 1)])
    archive.put_objects([("dead-letter/c.avro", b"C")])
    assert len(sleeps) == 2
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["dead-letter/c.avro", "events/a.avro", "events/b.avro"]
    assert s3.get_object(Bucket=BUCKET, Key="events/b.avro")["Body"].read() == b"B"
    archive.close()


def test_s3_failure_outliving_the_retries_raises(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=lambda s: None)
    faults.arm(100, "SlowDown", 503)
    with pytest.raises(SinkUnavailableError):
        archive.put_files([ArchiveFile("events/a.avro", b"A", 1)])


def test_s3_missing_bucket_is_not_retried(s3: Any) -> None:
    archive = S3Archive(s3, "no-such-bucket", retry=FAST, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(SinkError, match="NoSuchBucket"):
        archive.put("events/x.avro", b"x")
