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
from consumer.archive import ArchiveFile, read_rows, record_id, to_row
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


def archive_file(sequences: range) -> ArchiveFile:
    """The file a processor would write for records ``sequences`` of one shard (one hour)."""
    return ArchiveFile.of(to_row(decoded(make_event(observed_at=BASE_MS + n), n)) for n in sequences)


def keys(c: Any) -> list[str]:
    return sorted(o["Key"] for o in c.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def archived_ids(c: Any) -> list[tuple[str, str, int]]:
    """Every archived record identity, once per copy."""
    rows = (row for key in keys(c) for row in read_rows(c.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    return sorted(record_id(row) for row in rows)


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
    a, b = archive_file(range(1, 3)), archive_file(range(3, 5))
    archive.put_files([a, b])
    archive.put_objects([("dead-letter/c.avro", b"C")])
    assert len(sleeps) == 2
    assert set(keys(s3)) == {"dead-letter/c.avro", a.key, b.key}
    assert s3.get_object(Bucket=BUCKET, Key=b.key)["Body"].read() == b.body
    archive.close()


def test_s3_failure_outliving_the_retries_raises(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=lambda s: None)
    faults.arm(100, "SlowDown", 503)
    with pytest.raises(SinkUnavailableError):
        archive.put_files([archive_file(range(1, 2))])


def test_s3_missing_bucket_is_not_retried(s3: Any) -> None:
    archive = S3Archive(s3, "no-such-bucket", retry=FAST, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(SinkError, match="NoSuchBucket"):
        archive.put("events/x.avro", b"x")


def test_s3_missing_bucket_is_not_retried_on_files(s3: Any) -> None:
    archive = S3Archive(s3, "no-such-bucket", retry=FAST, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(SinkError, match="NoSuchBucket"):
        archive.put_files([archive_file(range(1, 2))])


@pytest.mark.parametrize("zombie_first", [True, False], ids=["zombie-first", "new-owner-first"])
def test_two_writers_of_one_file_archive_every_record_once(s3: Any, zombie_first: bool) -> None:
    """A worker whose lease expired mid-batch (the zombie) read records 1-4 of the file the
    shard's new owner wrote with records 1-10: same first record, same key. Whoever uploads
    second must neither replace the other's rows nor repeat them."""
    zombie, owner = archive_file(range(1, 5)), archive_file(range(1, 11))
    assert zombie.key == owner.key
    archive = S3Archive(s3, BUCKET, retry=FAST, sleep=lambda s: None)
    for file in (zombie, owner) if zombie_first else (owner, zombie):
        archive.put_files([file])
    assert archived_ids(s3) == sorted(record_id(row) for row in owner.rows)
    # the zombie's rows came first: the owner stored the other six in a file named by record 5
    assert keys(s3) == sorted({owner.key, archive_file(range(5, 11)).key} if zombie_first else {owner.key})


def test_rewriting_a_stored_file_adds_nothing(s3: Any) -> None:
    """A replay after a crash, or a retried PUT whose answer was lost, finds its own file."""
    archive = S3Archive(s3, BUCKET, retry=FAST, sleep=lambda s: None)
    file = archive_file(range(1, 6))
    archive.put_files([file])
    archive.put_files([file])
    assert keys(s3) == [file.key]
    assert archived_ids(s3) == sorted(record_id(row) for row in file.rows)


def test_a_key_taken_by_unrelated_rows_is_an_error_not_an_overwrite(s3: Any) -> None:
    file = archive_file(range(1, 3))
    s3.put_object(Bucket=BUCKET, Key=file.key, Body=archive_file(range(7, 9)).body)
    archive = S3Archive(s3, BUCKET, retry=FAST, sleep=lambda s: None)
    with pytest.raises(SinkError, match="holds none of this file's records"):
        archive.put_files([file])


def test_a_dead_letter_already_stored_is_kept(s3: Any) -> None:
    archive = S3Archive(s3, BUCKET, retry=FAST, sleep=lambda s: None)
    archive.put_objects([("dead-letter/x.avro", b"first")])
    archive.put_objects([("dead-letter/x.avro", b"replayed")])
    assert s3.get_object(Bucket=BUCKET, Key="dead-letter/x.avro")["Body"].read() == b"first"


def test_a_conditional_write_conflict_is_retried(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    sleeps: list[float] = []
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=sleeps.append)
    faults.arm(1, "ConditionalRequestConflict", 409)
    file = archive_file(range(1, 3))
    archive.put_files([file])
    assert len(sleeps) == 1 and keys(s3) == [file.key]


def test_a_replayed_dead_letter_file_adds_only_the_missing_parts(s3: Any) -> None:
    """A Kinesis record's dead-letter file, stored again with more parts (a replay): the stored
    object is kept and the missing parts go to a file named by the first of them."""
    from consumer.archive import dead_letter_files
    from consumer.records import Undecodable

    def bad(sub: int) -> Undecodable:
        return Undecodable(KinesisRecord("shardId-1", "42", sub, "pk", BASE_MS, bytes([sub])), f"bad {sub}")

    archive = S3Archive(s3, BUCKET, retry=FAST, sleep=lambda s: None)
    [first] = dead_letter_files([bad(0), bad(2)], failed_at_ms=BASE_MS)
    archive.put_files([first])
    archive.put_files(dead_letter_files([bad(0), bad(2), bad(5)], failed_at_ms=BASE_MS + 1))
    stored = {key: read_rows(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in keys(s3)}
    assert {key.rsplit("/", 1)[1]: [r["subsequence_number"] for r in rows] for key, rows in stored.items()} == {
        "shardId-1-42-0.avro": [0, 2],
        "shardId-1-42-5.avro": [5],
    }
