"""Fix: shard records indexed by sequence number (PutRecords/GetRecords cost what they return)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from localaws._kinesis_fixes.record_index import RecordLog
from tests.localaws.kinesis_helpers import new_stream, next_whole_second, put, shards_by_id


def _log(count: int, first: int = 1) -> RecordLog:
    log = RecordLog()
    for i in range(count):
        log[first + i] = SimpleNamespace(sequence_number=first + i, created_at=float(100 + i))
    return log


def test_record_log_is_an_ordered_mapping_with_fast_slices() -> None:
    log = _log(5)
    assert list(log) == [1, 2, 3, 4, 5] and len(log) == 5
    assert (log.first_sequence_number, log.last_sequence_number) == (1, 5)
    assert log[3].sequence_number == 3
    assert next(reversed(log)) == 5
    assert [r.sequence_number for r in log.after(2, 2)] == [3, 4]
    assert [r.sequence_number for r in log.after(0, None)] == [1, 2, 3, 4, 5]
    assert log.after(5, 10) == []
    assert log.last_before(102.5).sequence_number == 3
    assert log.last_before(100.0) is None
    with pytest.raises(KeyError):
        log[6]
    with pytest.raises(KeyError):
        log[9] = SimpleNamespace(sequence_number=9, created_at=0.0)
    with pytest.raises(TypeError):
        del log[1]
    empty = RecordLog()
    assert (empty.first_sequence_number, empty.last_sequence_number, empty.after(0, 1)) == (0, 0, [])


def _iterator(kinesis: Any, stream: str, shard: str, kind: str, **extra: Any) -> str:
    response = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **extra)
    return str(response["ShardIterator"])


def test_get_records_pages_in_order_from_every_iterator_type(aws_client: Any) -> None:
    kinesis = aws_client("kinesis")
    stream = new_stream(kinesis, 1)
    (shard,) = shards_by_id(kinesis, stream)
    put(kinesis, stream, 1200)

    pages, iterator = [], _iterator(kinesis, stream, shard, "TRIM_HORIZON")
    while True:
        response = kinesis.get_records(ShardIterator=iterator, Limit=500)
        if not response["Records"]:
            break
        pages.append([int(r["SequenceNumber"]) for r in response["Records"]])
        iterator = response["NextShardIterator"]
    assert [len(p) for p in pages] == [500, 500, 200]
    assert sum(pages, []) == list(range(1, 1201))

    at = kinesis.get_records(
        ShardIterator=_iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="700"), Limit=2
    )
    assert [r["SequenceNumber"] for r in at["Records"]] == ["700", "701"]
    after = kinesis.get_records(
        ShardIterator=_iterator(kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber="700"), Limit=2
    )
    assert [r["SequenceNumber"] for r in after["Records"]] == ["701", "702"]

    latest = _iterator(kinesis, stream, shard, "LATEST")
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    boundary = next_whole_second()  # strictly after the first batch, before the late one
    put(kinesis, stream, 3, tag="late")
    late = kinesis.get_records(ShardIterator=latest)["Records"]
    assert [r["Data"] for r in late] == [b"late-0", b"late-1", b"late-2"]
    stamped = kinesis.get_records(ShardIterator=_iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=boundary))
    assert [r["SequenceNumber"] for r in stamped["Records"]] == ["1201", "1202", "1203"]
    assert stamped["MillisBehindLatest"] == 0


def test_stored_records_expose_what_moto_records_expose() -> None:
    import base64
    import datetime

    from localaws._kinesis_fixes.record_index import StoredRecord

    record = StoredRecord("kid-1", base64.b64encode(b"\x00\xffdata").decode(), 7, None)
    assert record.data == base64.b64encode(b"\x00\xffdata").decode()
    assert record.to_json()["Data"] == b"\x00\xffdata"
    assert record.to_json()["SequenceNumber"] == "7"
    assert record.created_at_datetime.tzinfo is None  # naive UTC, like moto's utcnow()
    as_utc = record.created_at_datetime.replace(tzinfo=datetime.UTC)
    assert as_utc.timestamp() == pytest.approx(record.created_at, abs=1e-3)
