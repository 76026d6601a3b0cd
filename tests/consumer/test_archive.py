from __future__ import annotations

from consumer.archive import ArchiveBuffer, dead_letter_files, event_key, partition, read_rows
from consumer.records import DecodedEvent, KinesisRecord, Undecodable
from schemas import ARCHIVED_EVENT, latest
from tests.factories import BASE_MS, make_event

HOUR_MS = 3_600_000


def decoded(event: dict, sequence: int, sub: int = 0) -> DecodedEvent:
    record = KinesisRecord("shardId-000000000002", str(sequence), sub, f"pk{sequence}", BASE_MS + 5, b"")
    return DecodedEvent(record, event, "0123456789abcdef")


def test_partition_and_keys_use_utc() -> None:
    assert partition(BASE_MS) == "dt=2025-12-23/hour=00"
    assert partition(BASE_MS + 13 * HOUR_MS + 59_999) == "dt=2025-12-23/hour=13"
    assert event_key(BASE_MS - 1, "shardId-1-5-0") == "events/dt=2025-12-22/hour=23/shardId-1-5-0.avro"


def test_files_are_named_by_their_first_record_one_per_hour() -> None:
    buffer = ArchiveBuffer(max_file_bytes=1 << 20, max_file_age_s=60)
    buffer.add(decoded(make_event(observed_at=BASE_MS + 10), 5), now=0)
    buffer.add(decoded(make_event(observed_at=BASE_MS + HOUR_MS), 6), now=0)
    buffer.add(decoded(make_event(observed_at=BASE_MS + 20), 7, sub=3), now=0)
    files = {f.key: f for f in buffer.close_all()}
    assert set(files) == {
        "events/dt=2025-12-23/hour=00/shardId-000000000002-5-0.avro",
        "events/dt=2025-12-23/hour=01/shardId-000000000002-6-0.avro",
    }
    rows = read_rows(files["events/dt=2025-12-23/hour=00/shardId-000000000002-5-0.avro"].body)
    assert [(r["sequence_number"], r["subsequence_number"]) for r in rows] == [("5", 0), ("7", 3)]
    assert len(buffer) == 0


def test_rows_carry_event_and_kinesis_fields() -> None:
    event = make_event(note="n", location={"lat": 1.0, "lon": 2.0}, app_version="3")
    buffer = ArchiveBuffer(max_file_bytes=1 << 20, max_file_age_s=60)
    buffer.add(decoded(event, 9), now=0)
    [file] = buffer.close_all()
    [row] = read_rows(file.body)
    assert row["event_id"] == event["event_id"] and row["kid_id"] == event["kid_id"]
    assert row["location"] == {"lat": 1.0, "lon": 2.0} and row["note"] == "n" and row["app_version"] == "3"
    assert row["shard_id"] == "shardId-000000000002" and row["partition_key"] == "pk9"
    assert row["schema_fingerprint"] == "0123456789abcdef"
    assert int(row["observed_at"].timestamp() * 1000) == event["observed_at"]
    assert int(row["arrived_at"].timestamp() * 1000) == BASE_MS + 5
    import fastavro

    assert fastavro.reader(__import__("io").BytesIO(file.body)).writer_schema["name"].endswith("ArchivedEvent")
    assert latest(ARCHIVED_EVENT).name == "archived_event"


def test_close_on_size_or_age() -> None:
    buffer = ArchiveBuffer(max_file_bytes=2_000, max_file_age_s=10)
    assert not buffer.should_close(now=1_000)  # nothing open
    buffer.add(decoded(make_event(), 1), now=0)
    assert not buffer.should_close(now=9.9)
    assert buffer.should_close(now=10)
    buffer.close_all()
    for n in range(2, 40):
        buffer.add(decoded(make_event(), n), now=50)
        if buffer.should_close(now=50):
            break
    assert 5 < n < 39, "closes on size well before 38 rows of ~170 bytes"


def test_dead_letter_file_holds_raw_bytes_reason_and_metadata() -> None:
    record = KinesisRecord("shardId-7", "99", 0, "pk", BASE_MS + HOUR_MS * 2, b"\x00garbage")
    [letter] = dead_letter_files([Undecodable(record, "NotSingleObjectError: nope")], failed_at_ms=BASE_MS + 9)
    key, body = letter.key, letter.body
    assert key == "dead-letter/dt=2025-12-23/hour=02/shardId-7-99-0.avro"
    [row] = read_rows(body)
    assert row["data"] == b"\x00garbage" and row["reason"] == "NotSingleObjectError: nope"
    assert (row["shard_id"], row["sequence_number"], row["subsequence_number"]) == ("shardId-7", "99", 0)
