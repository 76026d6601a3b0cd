"""The S3 archive against in-process moto, with throttling injected by a client wrapper (the kid
table's write paths: test_dynamodb_sink.py, on the embedded stack)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from consumer import RetryPolicy, SinkError, SinkUnavailableError
from consumer.archive import ArchiveFile, DeadLetterFile, dead_letter_files, read_rows, record_id, to_row
from consumer.records import DecodedEvent, KinesisRecord, Undecodable
from consumer.sinks import S3Archive
from tests.factories import BASE_MS, make_event

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


def dead_letter(sequence: str, reason: str) -> DeadLetterFile:
    """The dead-letter file of one refused user record (shard ``shardId-dl``)."""
    record = KinesisRecord("shardId-dl", sequence, 0, "pk", BASE_MS, b"\x00bad")
    [letter] = dead_letter_files([Undecodable(record, reason)], failed_at_ms=BASE_MS)
    return letter


def keys(c: Any) -> list[str]:
    return sorted(o["Key"] for o in c.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def archived_ids(c: Any) -> list[tuple[str, str, int]]:
    """Every archived record identity, once per copy."""
    rows = (row for key in keys(c) for row in read_rows(c.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    return sorted(record_id(row) for row in rows)


def test_s3_slow_down_is_retried_and_objects_land(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    sleeps: list[float] = []
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=sleeps.append, threads=1)
    faults.arm(2, "SlowDown", 503)
    a, b = archive_file(range(1, 3)), archive_file(range(3, 5))
    c = dead_letter("7", "C")
    archive.put_files([a, b])
    archive.put_files([c])
    assert len(sleeps) == 2
    assert set(keys(s3)) == {c.key, a.key, b.key}
    assert s3.get_object(Bucket=BUCKET, Key=b.key)["Body"].read() == b.body
    archive.close()


def test_s3_failure_outliving_the_retries_raises(s3: Any) -> None:
    faults = Faults(s3, "put_object")
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=lambda s: None)
    faults.arm(100, "InternalError", 500)
    with pytest.raises(SinkUnavailableError):
        archive.put_files([archive_file(range(1, 2))])


def test_s3_slow_down_outliving_the_retries_is_waited_out(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Throttling is weather: a processor that gave up would only replay into the throttled bucket."""
    faults = Faults(s3, "put_object")
    sleeps: list[float] = []
    archive = S3Archive(faults, BUCKET, retry=FAST, sleep=sleeps.append, threads=1)
    faults.arm(100, "SlowDown", 503)  # 25 times the policy's attempts
    file = archive_file(range(1, 3))
    with caplog.at_level("WARNING"):
        archive.put_files([file])
    assert len(sleeps) == 100 and max(sleeps) <= FAST.max_delay_s
    assert s3.get_object(Bucket=BUCKET, Key=file.key)["Body"].read() == file.body
    assert len([r for r in caplog.records if "waiting it out" in r.getMessage()]) == 5  # the 1st, then every 20th
    archive.close()


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
    first, replayed = dead_letter("8", "first"), dead_letter("8", "replayed")
    assert first.key == replayed.key
    archive.put_files([first])
    archive.put_files([replayed])
    assert s3.get_object(Bucket=BUCKET, Key=first.key)["Body"].read() == first.body


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
