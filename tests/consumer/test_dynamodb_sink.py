"""The kid table's write paths against the embedded stack (moto with localaws' DynamoDB fixes):
last writer wins, replays in every order, each item's outcome on its own (written, superseded,
throttled and retried alone, refused and dead-lettered), and the three kinds of sink errors."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from amazon_kclpy import messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer import ProcessorConfig, RetryPolicy, SinkError, WrongTableError
from consumer.archive import read_rows
from consumer.processor import NicelistProcessor
from consumer.records import DecodedEvent, KinesisRecord
from consumer.sinks import BATCH_STATEMENT, PUT_ITEM, DynamoDBSink, S3Archive
from localaws import LocalAWS
from observability import metrics as m
from schemas import BehaviourEventCodec, encode_event, validate_event
from tests.factories import BASE_MS, make_event
from tests.stack import unique_name

from .helpers import FakeCheckpointer, FakeExit, initialize_input, kcl_record, process_input, with_checkpointer

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.02)
PATHS = [BATCH_STATEMENT, PUT_ITEM]
_sequence = itertools.count(1)


@pytest.fixture(scope="module")
def table(local_aws: LocalAWS) -> str:
    name = unique_name("kids")
    local_aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture(scope="module")
def client(local_aws: LocalAWS) -> Any:
    return local_aws.client("dynamodb", retries={"mode": "standard", "total_max_attempts": 1})


class Recording:
    """A client that records the statements of every BatchExecuteStatement it sends."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.batches: list[list[dict[str, Any]]] = []

    def batch_execute_statement(self, **kwargs: Any) -> Any:
        self.batches.append(kwargs["Statements"])
        return self._client.batch_execute_statement(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def kid() -> str:
    return f"kid-{uuid.uuid4().hex[:10]}"


def decoded(event: dict[str, Any]) -> DecodedEvent:
    record = KinesisRecord("shardId-1", str(next(_sequence)), 0, "pk", BASE_MS, b"")
    return DecodedEvent(record, event, "00" * 8)


def stored(client: Any, table: str, kid_id: str) -> dict[str, Any]:
    item = client.get_item(TableName=table, Key={"kid_id": {"S": kid_id}}, ConsistentRead=True).get("Item")
    return item or {}


def sink(client: Any, table: str, path: str, **options: Any) -> DynamoDBSink:
    """A sink on ``client``; the table check (DescribeTable, one probe statement) only when asked,
    so the recorded calls and injected faults are the writes'."""
    options.setdefault("check_table", False)
    options.setdefault("retry", FAST)
    options.setdefault("sleep", lambda s: None)
    return DynamoDBSink(client, table, write_path=path, **options)


@pytest.mark.parametrize("path", PATHS)
def test_last_writer_wins_across_calls_and_replays(client: Any, table: str, path: str) -> None:
    a, b = kid(), kid()
    writer = sink(client, table, path, wall_clock_ms=lambda: 42)
    newer = make_event(kid_id=a, observed_at=BASE_MS + 100, note="newer", location={"lat": 1.0, "lon": 2.0})
    older = make_event(kid_id=a, observed_at=BASE_MS + 50, app_version="1.2")
    other = make_event(kid_id=b, location={"lat": 1.0, "lon": 2.0})
    assert writer.write_latest([decoded(newer), decoded(other)]).written == 2
    summary = writer.write_latest([decoded(older), decoded(newer), decoded(older)])
    assert (summary.written, summary.superseded, summary.refused) == (0, 1, ())
    item = stored(client, table, a)
    assert item["event_id"]["S"] == newer["event_id"] and item["note"]["S"] == "newer"
    assert item["written_at"]["N"] == "42" and "app_version" not in item
    assert stored(client, table, b)["location"]["M"]["lat"]["N"] == "1.0"
    # the same observed_at: the larger event_id wins; the optional attributes it lacks are gone
    tie = make_event(kid_id=a, observed_at=BASE_MS + 100, event_id="ffffffff-ffff-4fff-8fff-ffffffffffff")
    assert writer.write_latest([decoded(tie)]).written == 1
    item = stored(client, table, a)
    assert item["event_id"]["S"] == tie["event_id"] and "note" not in item and "location" not in item
    writer.close()


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_replays_in_any_order_end_on_the_latest_event(client: Any, table: str, path: str, data: Any) -> None:
    kids = [kid() for _ in range(3)]
    events = [
        make_event(kid_id=data.draw(st.sampled_from(kids)), observed_at=BASE_MS + data.draw(st.integers(0, 3)))
        for _ in range(data.draw(st.integers(1, 8)))
    ]
    deliveries = data.draw(st.lists(st.sampled_from(events), min_size=len(events), max_size=2 * len(events)))
    deliveries = data.draw(st.permutations(deliveries + events))  # every event at least once
    cuts = sorted(data.draw(st.lists(st.integers(0, len(deliveries)), max_size=3)))
    writer = sink(client, table, path, threads=2)
    for start, end in itertools.pairwise([0, *cuts, len(deliveries)]):
        if start < end:
            writer.write_latest([decoded(e) for e in deliveries[start:end]])
    writer.close()
    for kid_id in kids:
        mine = [e for e in events if e["kid_id"] == kid_id]
        if mine:
            latest = max(mine, key=lambda e: (e["observed_at"], e["event_id"]))
            assert stored(client, table, kid_id)["event_id"]["S"] == latest["event_id"]


@pytest.mark.parametrize(("path", "operation"), [(BATCH_STATEMENT, "BatchExecuteStatement"), (PUT_ITEM, "PutItem")])
def test_whole_call_throttling_is_retried(
    clean_faults: LocalAWS, client: Any, table: str, path: str, operation: str
) -> None:
    sleeps: list[float] = []
    writer = sink(client, table, path, sleep=sleeps.append, threads=1)
    clean_faults.inject_fault(
        service="dynamodb", operation=operation, error_code="ProvisionedThroughputExceededException", count=3
    )
    event = make_event(kid_id=kid())
    assert writer.write_latest([decoded(event)]).written == 1
    assert len(sleeps) == 3
    assert stored(client, table, event["kid_id"])["event_id"]["S"] == event["event_id"]


def test_a_throttled_statement_is_sent_again_alone(clean_faults: LocalAWS, client: Any, table: str) -> None:
    recording = Recording(client)
    sleeps: list[float] = []
    writer = sink(recording, table, BATCH_STATEMENT, sleep=sleeps.append)
    events = [make_event(kid_id=kid()) for _ in range(3)]
    clean_faults.inject_fault(
        service="dynamodb", operation="BatchExecuteStatement", error_code="ThrottlingError", statements=(1,)
    )
    summary = writer.write_latest([decoded(e) for e in events])
    assert (summary.written, summary.superseded) == (3, 0)
    assert [len(batch) for batch in recording.batches] == [3, 1]
    assert events[1]["kid_id"] in str(recording.batches[1])
    assert len(sleeps) == 1
    for event in events:
        assert stored(client, table, event["kid_id"])["event_id"]["S"] == event["event_id"]


def test_statements_throttled_for_longer_than_the_retry_policy_are_sent_until_written(
    clean_faults: LocalAWS, client: Any, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Throttling is weather: 100 throttled answers in a row (the retry policy allows 4 attempts)
    and the statement is still written; one summary line, not one line per retry."""
    sleeps: list[float] = []
    writer = sink(client, table, BATCH_STATEMENT, sleep=sleeps.append, monotonic=lambda: 0.0)
    clean_faults.inject_fault(
        service="dynamodb",
        operation="BatchExecuteStatement",
        error_code="ProvisionedThroughputExceeded",
        statements=(0,),
        count=100,
    )
    event = make_event(kid_id=kid())
    with caplog.at_level("INFO"):
        assert writer.write_latest([decoded(event)]).written == 1
    assert len(sleeps) == 100 and max(sleeps) <= 1.0
    stats = writer.stats()
    assert (stats.throttled_statements, stats.write_statements, stats.kids_settled) == (100, 1, 1)
    assert stats.waited_s == pytest.approx(sum(sleeps))
    assert len([r for r in caplog.records if "throttles writes" in r.getMessage()]) == 1
    assert stored(client, table, event["kid_id"])["event_id"]["S"] == event["event_id"]


@pytest.mark.parametrize("path", PATHS)
def test_a_missing_table_is_systemic_and_not_retried(client: Any, path: str) -> None:
    writer = sink(client, "no-such-table", path, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(SinkError, match="ResourceNotFound") as info:
        writer.write_latest([decoded(make_event())])
    assert not info.value.retryable


def test_access_denied_on_a_statement_is_systemic(clean_faults: LocalAWS, client: Any, table: str) -> None:
    writer = sink(client, table, BATCH_STATEMENT)
    clean_faults.inject_fault(
        service="dynamodb", operation="BatchExecuteStatement", error_code="AccessDenied", statements=(0,)
    )
    with pytest.raises(SinkError, match="AccessDenied"):
        writer.write_latest([decoded(make_event(kid_id=kid()))])


@pytest.mark.parametrize("path", PATHS)
def test_a_value_dynamodb_refuses_is_returned_and_the_kid_keeps_its_next_latest(
    client: Any, table: str, path: str
) -> None:
    a, b = kid(), kid()
    poison = make_event(kid_id=a, observed_at=BASE_MS + 9, location={"lat": 1e-200, "lon": 0.0})
    earlier = make_event(kid_id=a, observed_at=BASE_MS + 5)
    fine = make_event(kid_id=b)
    writer = sink(client, table, path)
    poisoned, duplicate = decoded(poison), decoded(poison)
    summary = writer.write_latest([decoded(earlier), poisoned, decoded(fine), duplicate])
    assert (summary.written, summary.superseded) == (2, 0)
    assert [r.event for r in summary.refused] == [poisoned, duplicate]
    assert all("underflow" in r.reason and "ValidationE" in r.reason for r in summary.refused)
    assert stored(client, table, a)["event_id"]["S"] == earlier["event_id"]
    assert stored(client, table, b)["event_id"]["S"] == fine["event_id"]


def test_a_batch_refused_whole_is_split_so_the_refusal_lands_on_its_statement(
    clean_faults: LocalAWS, client: Any, table: str
) -> None:
    recording = Recording(client)
    writer = sink(recording, table, BATCH_STATEMENT)
    clean_faults.inject_fault(service="dynamodb", operation="BatchExecuteStatement", error_code="ValidationException")
    events = [make_event(kid_id=kid()) for _ in range(3)]
    summary = writer.write_latest([decoded(e) for e in events])
    assert (summary.written, summary.refused) == (3, ())
    assert [len(batch) for batch in recording.batches] == [3, 1, 1, 1]


def test_an_item_deleted_under_the_writer_is_inserted_again(client: Any, table: str) -> None:
    recording = Recording(client)
    writer = sink(recording, table, BATCH_STATEMENT)
    kid_id = kid()
    writer.write_latest([decoded(make_event(kid_id=kid_id, observed_at=BASE_MS))])
    client.delete_item(TableName=table, Key={"kid_id": {"S": kid_id}})
    newer = make_event(kid_id=kid_id, observed_at=BASE_MS + 1)
    assert writer.write_latest([decoded(newer)]).written == 1
    kinds = [batch[0]["Statement"].split(" ", 1)[0] for batch in recording.batches]
    assert kinds == ["INSERT", "UPDATE", "INSERT"]
    assert stored(client, table, kid_id)["event_id"]["S"] == newer["event_id"]


# --- the processor with the real sinks: a poison value is dead-lettered, the shard moves on ---
@pytest.fixture
def bucket(local_aws: LocalAWS) -> Iterator[str]:
    name = unique_name("archive")
    local_aws.client("s3").create_bucket(Bucket=name)
    yield name


@pytest.mark.parametrize("path", PATHS)
def test_the_processor_dead_letters_a_value_dynamodb_refuses_and_checkpoints(
    local_aws: LocalAWS, client: Any, table: str, bucket: str, path: str
) -> None:
    s3 = local_aws.client("s3")
    exit_ = FakeExit()
    processor = NicelistProcessor(
        config=ProcessorConfig(),
        dynamodb=sink(client, table, path),
        archive=S3Archive(s3, bucket, retry=FAST),
        exit=exit_,
    )
    processor.initialize(initialize_input())
    # put() refuses this value now (its validation agrees with DynamoDB's), so it is written as an
    # older or foreign producer would: the worker must still dead-letter it and move on, whichever
    # of its layers (decode-time validation, or DynamoDB's refusal) catches it
    poison = validate_event(make_event(kid_id=kid(), location={"lat": 1.0, "lon": 0.0}))
    poison["location"]["lat"] = -1e-300
    good = [make_event(kid_id=kid()) for _ in range(3)]
    records = [kcl_record(encode_event(good[0])), kcl_record(BehaviourEventCodec().encode_valid(poison))]
    records += [kcl_record(encode_event(e)) for e in good[1:]]
    checkpointer = FakeCheckpointer()
    processor.process_records(process_input(records, checkpointer))
    processor.shutdown_requested(with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer))
    assert exit_.statuses == []
    assert checkpointer.calls and checkpointer.calls[-1][0] == records[-1].sequence_number
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    letters = [k for k in keys if k.startswith("dead-letter/")]
    assert len(letters) == 1
    (row,) = read_rows(s3.get_object(Bucket=bucket, Key=letters[0])["Body"].read())
    assert "underflow" in row["reason"] or "1E-130" in row["reason"], row["reason"]
    assert row["sequence_number"] == records[1].sequence_number
    archived = [
        r["event_id"]
        for k in keys
        if k.startswith("events/")
        for r in read_rows(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
    ]
    assert sorted(archived) == sorted(e["event_id"] for e in good)
    for event in good:
        assert stored(client, table, event["kid_id"])["event_id"]["S"] == event["event_id"]
    assert stored(client, table, poison["kid_id"]) == {}


# --- a kid table with another key: the worker stops before any checkpoint (embedded stack) ---
@pytest.mark.parametrize(
    ("keys", "attributes"),
    [
        ([("kid_id", "HASH"), ("observed_at", "RANGE")], [("kid_id", "S"), ("observed_at", "N")]),
        ([("kid_id", "HASH")], [("kid_id", "N")]),
    ],
    ids=["range-key", "numeric-kid-id"],
)
@pytest.mark.parametrize("path", PATHS)
def test_a_table_with_another_key_makes_the_processor_exit_70_before_any_checkpoint(
    local_aws: LocalAWS,
    client: Any,
    bucket: str,
    path: str,
    keys: list[tuple[str, str]],
    attributes: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = unique_name("wrong")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": n, "KeyType": k} for n, k in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes],
        BillingMode="PAY_PER_REQUEST",
    )
    exit_ = FakeExit()
    processor = NicelistProcessor(
        config=ProcessorConfig(dynamodb_overlap_batches=False),
        dynamodb=sink(client, name, path, check_table=True),
        archive=S3Archive(local_aws.client("s3"), bucket, retry=FAST),
        exit=exit_,
    )
    processor.initialize(initialize_input())
    checkpointer = FakeCheckpointer()
    processor.process_records(
        process_input([kcl_record(encode_event(make_event(kid_id=kid()))) for _ in range(5)], checkpointer)
    )
    processor.shutdown_requested(with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer))
    assert exit_.statuses == [70] and checkpointer.calls == []
    assert client.scan(TableName=name)["Count"] == 0
    assert processor.metrics.accumulator.drain().counters.get(m.PROCESSOR_STOPPED) == 1
    assert "the worker writes items keyed by kid_id" in caplog.text


@pytest.mark.parametrize("path", PATHS)
def test_the_table_check_passes_on_the_kid_table_and_changes_no_item(client: Any, table: str, path: str) -> None:
    recording = Recording(client)
    before = client.scan(TableName=table)["Count"]
    event = make_event(kid_id=kid())
    assert sink(recording, table, path, check_table=True).write_latest([decoded(event)]).written == 1
    probes = [b for b in recording.batches if "nicelist-shape-probe-" in str(b)]
    assert len(probes) == (1 if path == BATCH_STATEMENT else 0)
    assert client.scan(TableName=table)["Count"] == before + 1  # the probe created nothing


def test_a_refused_statement_shape_stops_the_writer_before_any_write(
    clean_faults: LocalAWS, client: Any, table: str
) -> None:
    recording = Recording(client)
    clean_faults.inject_fault(
        service="dynamodb", operation="BatchExecuteStatement", error_code="ValidationError", statements=(0,)
    )
    with pytest.raises(WrongTableError, match="refuses the worker's UPDATE statement"):
        sink(recording, table, BATCH_STATEMENT, check_table=True).write_latest([decoded(make_event(kid_id=kid()))])
    assert len(recording.batches) == 1
