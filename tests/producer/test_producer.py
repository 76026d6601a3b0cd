"""The Producer against an in-process moto Kinesis of 4 shards, with faults injected by botocore hooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import schemas
from producer import (
    BufferFullError,
    DeliveryFailedError,
    DeliveryFuture,
    NotDeliveredError,
    Producer,
    ProducerClosedError,
    ProducerConfig,
    ProducerError,
    SpoolFullError,
    SpoolLockedError,
)
from producer._partition import hash_key
from tests.factories import make_event
from tests.polling import wait_until
from tests.producer.kinesis_faults import KinesisFaults, read_events

STREAM = "nicelist-test"
SHARDS = 4


@dataclass
class Kinesis:
    client: Any  # the producer's client, with fault hooks, no botocore retries
    raw: Any  # an unhooked client for setup and reading back
    faults: KinesisFaults


@pytest.fixture
def kinesis() -> Iterator[Kinesis]:
    with mock_aws():
        client = boto3.client(
            "kinesis", region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
        )
        raw = boto3.client("kinesis", region_name="us-east-1")
        raw.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        yield Kinesis(client, raw, KinesisFaults(client, raw))


def config(kinesis: Kinesis, **overrides: Any) -> ProducerConfig:
    options: dict[str, Any] = {
        "stream_name": STREAM,
        "kinesis_client": kinesis.client,
        "spool_dir": None,
        "linger_ms": 5,
        "max_aggregated_record_bytes": 20_000,  # several aggregated records per test
        "backoff_base_ms": 1,
        "backoff_max_ms": 5,
        "close_timeout_s": 10,
    }
    options.update(overrides)
    return ProducerConfig(**options)


def stored_event_ids(kinesis: Kinesis) -> list[str]:
    return [event["event_id"] for _, _, event in read_events(kinesis.raw, STREAM)]


def partial(fraction_failing: int, code: str) -> tuple[str, Any, str]:
    """Fail every ``fraction_failing``-th record of the call with ``code``."""
    return ("partial", lambda n: set(range(0, n, fraction_failing)), code)


def test_every_event_arrives_once_through_throttling_and_partial_failures(kinesis: Kinesis) -> None:
    kinesis.faults.script(
        "throttle",
        partial(2, "ProvisionedThroughputExceededException"),
        "500",
        "reset",
        partial(3, "InternalFailure"),
        "error:ThrottlingException",
        partial(1, "KMSThrottlingException"),
        "error:LimitExceededException",
    )
    events = [make_event(note="x" * (i % 50) or None) for i in range(4000)]
    futures: dict[str, DeliveryFuture] = {}
    lock = threading.Lock()

    def elf(chunk: list[dict[str, Any]]) -> None:
        mine = {e["event_id"]: producer.put(e) for e in chunk}
        with lock:
            futures.update(mine)

    with Producer(config(kinesis)) as producer:
        elves = [threading.Thread(target=elf, args=(events[i::4],)) for i in range(4)]
        for t in elves:
            t.start()
        for t in elves:
            t.join()
        assert producer.flush(30) == 0
        metrics = producer.metrics()

    stored = read_events(kinesis.raw, STREAM)
    assert sorted(e["event_id"] for _, _, e in stored) == sorted(e["event_id"] for e in events)  # all, once
    by_id = {event["event_id"]: event for _, _, event in stored}
    assert all(by_id[e["event_id"]] == schemas.decode_event(schemas.encode_event(e)) for e in events)
    assert kinesis.faults.faulted == 8
    assert metrics.accepted == metrics.sent == len(events)
    assert metrics.failed == 0 and metrics.pending_events == 0 and metrics.buffered_bytes == 0
    assert metrics.throttled >= 5 and metrics.retried >= 8
    assert metrics.put_records_calls == kinesis.faults.calls

    # receipts say where each event is: shard, aggregated record's sequence number, index inside it
    where = {e["event_id"]: (shard, r["sequenceNumber"], r["subSequenceNumber"]) for shard, r, e in stored}
    assert all(tuple(future.result(0)) == where[event_id] for event_id, future in futures.items())


def test_every_user_record_lies_in_its_shards_hash_range(kinesis: Kinesis) -> None:
    """What the KCL checks after deaggregation, or it drops the record."""
    with Producer(config(kinesis)) as producer:
        for _ in range(2000):
            producer.put(make_event())
        assert producer.flush(30) == 0
    ranges = {
        s["ShardId"]: (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in kinesis.raw.list_shards(StreamName=STREAM)["Shards"]
    }
    stored = read_events(kinesis.raw, STREAM)
    assert len(stored) == 2000
    for shard, user, _ in stored:
        low, high = ranges[shard]
        assert low <= hash_key(user["partitionKey"]) <= high
    assert len({shard for shard, _, _ in stored}) > 1  # random keys spread the load


def test_throttling_never_expires_an_event(kinesis: Kinesis) -> None:
    kinesis.faults.always("throttle")
    with Producer(config(kinesis)) as producer:
        futures = [producer.put(make_event()) for _ in range(300)]
        wait_until(lambda: producer.metrics().throttled > 1, timeout_s=30, what="a throttle", poll_s=0.005)
        assert producer.flush(0.3) == 300  # still pending, not failed
        assert not any(f.done() for f in futures)
        kinesis.faults.always(None)
        assert producer.flush(30) == 0
        assert producer.metrics().throttled > 1
    assert all(f.result(0).sequence_number for f in futures)
    assert len(stored_event_ids(kinesis)) == 300


def test_non_retryable_errors_fail_the_futures_with_the_events_in_hand(kinesis: Kinesis) -> None:
    kinesis.faults.always("error:AccessDeniedException")
    events = [make_event() for _ in range(50)]
    with Producer(config(kinesis, max_attempts_non_throttle=3)) as producer:
        futures = [producer.put(e) for e in events]
        assert producer.flush(30) == 0
        for event, future in zip(events, futures, strict=True):
            error = future.exception(0)
            assert isinstance(error, DeliveryFailedError)
            assert error.error_code == "AccessDeniedException" and error.attempts == 3
            assert [e["event_id"] for e in error.events] == [event["event_id"]]
            with pytest.raises(DeliveryFailedError, match="AccessDeniedException"):
                future.result()
        assert producer.metrics().failed == 50
        # the producer keeps working once the cause is fixed
        kinesis.faults.always(None)
        assert producer.put(make_event()).result(30).shard_id.startswith("shardId-")
    assert len(stored_event_ids(kinesis)) == 1


def test_a_missing_stream_is_reported_not_retried_forever(kinesis: Kinesis) -> None:
    with Producer(config(kinesis, stream_name="no-such-stream", max_attempts_non_throttle=2)) as producer:
        future = producer.put(make_event())
        with pytest.raises(DeliveryFailedError) as caught:
            future.result(30)
    assert caught.value.error_code == "ResourceNotFoundException"


BAD_EVENTS = [
    ({"elf_id": "elf-1", "behaviour": "NICE"}, "kid_id"),
    (make_event(behaviour="nice-ish"), "behaviour"),
    (make_event(location={"lat": 91, "lon": 0}), "location.lat"),
    (make_event(note="n" * 2000), "note"),
    (make_event(kid_id="k" * (1024 * 1024)), "kid_id"),
    (make_event(observed_at="yesterday"), "observed_at"),
    (make_event(colour="red"), "colour"),
    ("not an event", "event"),
]


def test_bad_input_is_refused_at_put_naming_the_field_and_nothing_else_is_affected(kinesis: Kinesis) -> None:
    good = [make_event() for _ in range(len(BAD_EVENTS) + 1)]
    with Producer(config(kinesis)) as producer:
        futures = [producer.put(good[0])]
        for (bad, field), event in zip(BAD_EVENTS, good[1:], strict=True):
            with pytest.raises(schemas.ValidationError) as caught:  # what callers caught before: still works
                producer.put(bad)  # type: ignore[arg-type]
            assert caught.value.field == field
            assert isinstance(caught.value, ProducerError)  # and the producer's one error root holds it
            futures.append(producer.put(event))
        assert producer.flush(30) == 0
        assert producer.metrics().accepted == len(good)
    assert all(f.result(0) for f in futures)
    assert sorted(stored_event_ids(kinesis)) == sorted(e["event_id"] for e in good)


def test_put_fills_event_id_and_observed_at_and_accepts_datetimes(kinesis: Kinesis) -> None:
    with Producer(config(kinesis), now_ms=lambda: 1_766_448_000_123) as producer:
        producer.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
        when = datetime(2025, 12, 23, 0, 4, tzinfo=UTC)  # within the 5 minutes of skew allowed
        producer.put({"kid_id": "k-2", "elf_id": "elf-7", "behaviour": "NAUGHTY", "observed_at": when})
        assert producer.flush(30) == 0
    stored = {e["kid_id"]: e for _, _, e in read_events(kinesis.raw, STREAM)}
    assert stored["k-1"]["observed_at"] == 1_766_448_000_123
    assert len(stored["k-1"]["event_id"]) == 36 and stored["k-1"]["event_id"][14] == "4"
    assert stored["k-2"]["observed_at"] == schemas.to_epoch_ms(when)


def test_callbacks_run_once_delivered(kinesis: Kinesis) -> None:
    seen: list[str] = []
    with Producer(config(kinesis)) as producer:
        future = producer.put(make_event(), callback=lambda f: seen.append(f.result(0).shard_id))
        future.result(30)
        future.add_done_callback(lambda f: seen.append("late"))  # already done: runs at once
        producer.put(make_event(), callback=lambda f: 1 / 0)  # a raising callback is logged, not fatal
        assert producer.flush(30) == 0
    assert seen[0].startswith("shardId-") and seen[1] == "late"


def test_close_is_idempotent_and_refuses_later_puts(kinesis: Kinesis) -> None:
    producer = Producer(config(kinesis))
    producer.put(make_event())
    assert producer.close() == 0
    assert producer.close() == 0
    with pytest.raises(ProducerClosedError):
        producer.put(make_event())
    assert len(stored_event_ids(kinesis)) == 1


def test_close_timeout_reports_what_is_undelivered(kinesis: Kinesis) -> None:
    kinesis.faults.always("throttle")
    producer = Producer(config(kinesis))
    events = [make_event() for _ in range(20)]
    futures = [producer.put(e) for e in events]
    assert producer.close(timeout=0.2) == 20
    error = futures[0].exception(0)
    assert isinstance(error, NotDeliveredError) and not isinstance(error, ProducerClosedError)
    assert error.events[0]["event_id"] == events[0]["event_id"]


class BlockingKinesis:
    """A Kinesis client whose PutRecords waits until released: a stream throttled for hours."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.records = 0

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.release.wait(30)
        self.records += len(Records)
        return {
            "FailedRecordCount": 0,
            "Records": [{"ShardId": "shardId-000000000000", "SequenceNumber": "1"} for _ in Records],
        }


def test_buffer_full_applies_back_pressure_and_memory_stays_bounded() -> None:
    blocking = BlockingKinesis()
    limit = schemas.MAX_EVENT_BYTES
    cfg = ProducerConfig(
        stream_name=STREAM, kinesis_client=blocking, spool_dir=None, max_buffered_bytes=limit, put_timeout_s=0.05
    )
    with Producer(cfg) as producer:
        accepted = 0
        with pytest.raises(BufferFullError):
            for _ in range(10_000):
                producer.put(make_event())
                accepted += 1
                assert producer.metrics().buffered_bytes <= limit
        assert 0 < accepted < 10_000
        blocking.release.set()
        assert producer.flush(30) == 0
        producer.put(make_event())  # room again
    assert producer.metrics().sent == accepted + 1


def test_spool_full_refuses_new_events_and_keeps_the_accepted_ones(kinesis: Kinesis, tmp_path: Path) -> None:
    kinesis.faults.always("throttle")
    segment = 2 * schemas.MAX_EVENT_BYTES
    cfg = config(kinesis, spool_dir=tmp_path, spool_segment_bytes=segment, max_spool_bytes=3 * segment)
    with Producer(cfg) as producer:
        futures = []
        with pytest.raises(SpoolFullError):
            for _ in range(10_000):
                futures.append(producer.put(make_event()))
        assert 0 < len(futures) < 10_000
        assert producer.metrics().spool_bytes <= 3 * segment
        kinesis.faults.always(None)
        assert producer.flush(30) == 0
    assert all(f.result(0) for f in futures)
    assert len(stored_event_ids(kinesis)) == len(futures)
    assert list(tmp_path.glob("*.seg")) == []  # all acknowledged, all deleted


def test_unsent_events_stay_in_the_spool_and_the_next_producer_sends_them(kinesis: Kinesis, tmp_path: Path) -> None:
    kinesis.faults.always("throttle")
    events = [make_event() for _ in range(500)]
    first = Producer(config(kinesis, spool_dir=tmp_path))
    for e in events:
        first.put(e)
    with pytest.raises(SpoolLockedError):
        Producer(config(kinesis, spool_dir=tmp_path))
    assert first.close(timeout=0.1) == 500

    kinesis.faults.always(None)
    with Producer(config(kinesis, spool_dir=tmp_path)) as second:
        assert second.flush(30) == 0
        assert second.metrics().replayed == 500
    assert sorted(stored_event_ids(kinesis)) == sorted(e["event_id"] for e in events)
    assert list(tmp_path.glob("*.seg")) == []


def test_failed_events_stay_in_the_spool(kinesis: Kinesis, tmp_path: Path) -> None:
    kinesis.faults.always("error:KMSAccessDeniedException")
    event = make_event()
    with Producer(config(kinesis, spool_dir=tmp_path, max_attempts_non_throttle=1)) as producer:
        with pytest.raises(DeliveryFailedError):
            producer.put(event).result(30)
    kinesis.faults.always(None)
    with Producer(config(kinesis, spool_dir=tmp_path)) as producer:
        assert producer.flush(30) == 0
    assert stored_event_ids(kinesis) == [event["event_id"]]


class BrokenKinesis:
    """A client that fails in a way no botocore client does: a bug must stop the producer loudly."""

    def put_records(self, **_: Any) -> dict[str, Any]:
        raise RuntimeError("bug in a hand-made client")


def test_a_dead_sender_thread_fails_futures_and_keeps_events_in_the_spool(tmp_path: Path) -> None:
    cfg = ProducerConfig(stream_name=STREAM, kinesis_client=BrokenKinesis(), spool_dir=tmp_path, linger_ms=1)
    producer = Producer(cfg)
    future = producer.put(make_event())
    error = future.exception(30)
    assert isinstance(error, NotDeliveredError) and "sender thread died" in str(error)
    with pytest.raises(ProducerClosedError, match="sender thread died"):
        producer.put(make_event())
    producer.close()
    with Producer(ProducerConfig(stream_name=STREAM, kinesis_client=BrokenKinesis(), spool_dir=tmp_path)) as again:
        assert again.metrics().pending_events == 1  # the event waits in the spool
        again.close(timeout=0)
