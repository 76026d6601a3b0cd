"""The kid-table writer through long DynamoDB throttling, in-process on a simulated clock (no KCL,
no server): statement throttling and whole-call throttling for 120 s, adaptive INSERT/UPDATE
after a restart, the key-schema check, table-wide refusals, the INSERT/UPDATE ping-pong bound."""

from __future__ import annotations

import itertools
import logging
import random
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from bench._kid_table import CallThrottled, KidTable
from consumer import SinkAbandonedError, WrongTableError
from consumer.records import DecodedEvent, KinesisRecord
from consumer.sinks import BATCH_STATEMENT, PUT_ITEM, DynamoDBSink
from consumer.sinks._pacing import THROTTLE_MAX_S, FirstStatement, Pacer
from tests.factories import BASE_MS, make_event

_sequence = itertools.count(1)
GOOD_KEY = {
    "KeySchema": [{"AttributeName": "kid_id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "kid_id", "AttributeType": "S"}],
}


class SimClock:
    """Simulated seconds; ``sleep`` moves it (the sink's only way to pass time)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def throttled(code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "slow down"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X"
    )


class FakeClient:
    """DynamoDB's answers from a :class:`KidTable` (BatchExecuteStatement, DescribeTable)."""

    def __init__(self, table: KidTable, description: dict[str, Any] | None = None) -> None:
        self.table = table
        self.description = GOOD_KEY if description is None else description
        self.calls = 0
        self.describes = 0

    def describe_table(self, TableName: str) -> dict[str, Any]:
        self.describes += 1
        return {"Table": {"TableName": TableName, **self.description}}

    def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        try:
            return {"Responses": self.table.execute(Statements)}
        except CallThrottled:
            raise throttled("ThrottlingException") from None


def decoded(event: dict[str, Any]) -> DecodedEvent:
    record = KinesisRecord("shardId-1", str(next(_sequence)), 0, "pk", BASE_MS, b"")
    return DecodedEvent(record, event, "00" * 8)


def events_for(kids: list[str], observed_at: int = BASE_MS) -> list[DecodedEvent]:
    return [decoded(make_event(kid_id=kid, observed_at=observed_at)) for kid in kids]


def sink(client: Any, clock: SimClock, **options: Any) -> DynamoDBSink:
    options.setdefault("check_table", False)  # the tests of the check ask for it
    return DynamoDBSink(
        client, "kids", prebuilt_json=False, sleep=clock.sleep, monotonic=clock, wall_clock_ms=lambda: 1, **options
    )


@pytest.mark.parametrize("whole_call", [False, True], ids=["statement-throttling", "whole-call-throttling"])
def test_120_s_of_throttling_never_raises_and_every_kid_is_written_within_30_s_after(
    whole_call: bool, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock()
    table = KidTable(clock=clock, units_per_s=0.0, window_s=120.0, whole_call=whole_call)  # no capacity at all
    table.start()
    client = FakeClient(table)
    writer = sink(client, clock, check_table=True)  # the probe statement is throttled too
    kids = [f"kid-{n}" for n in range(300)]
    with caplog.at_level(logging.WARNING):
        summary = writer.write_latest(events_for(kids))
    writer.close()
    assert (summary.written, summary.refused) == (300, ())
    assert set(table.items) == set(kids)
    assert 120.0 <= clock.now <= 150.0, clock.now
    stats = writer.stats()
    assert stats.throttled_statements > 0 and stats.waited_s == pytest.approx(clock.now)
    assert (stats.throttled_calls > 0) is whole_call
    summaries = [r for r in caplog.records if "throttles writes" in r.getMessage()]
    assert 1 <= len(summaries) <= 3  # at 0 s, then at most once a minute: never one line per retry
    # while nothing got through, one call at a time at most once a second (capped backoff)
    assert client.calls <= 2 * 120 / (THROTTLE_MAX_S / 2) + 300 / 25 + 5


def test_put_item_path_waits_out_whole_call_throttling_too() -> None:
    clock = SimClock()
    puts: list[float] = []

    class PutClient:
        def describe_table(self, TableName: str) -> dict[str, Any]:
            return {"Table": GOOD_KEY}

        def put_item(self, **_: Any) -> dict[str, Any]:
            if clock.now < 120:
                raise throttled("ProvisionedThroughputExceededException")
            puts.append(clock.now)
            return {}

    writer = sink(PutClient(), clock, write_path=PUT_ITEM, threads=1)
    assert writer.write_latest(events_for(["a", "b"])).written == 2
    assert 120 <= clock.now <= 150 and len(puts) == 2


def test_the_pacer_keeps_no_more_calls_in_flight_than_the_table_took_and_adds_one_per_clean_round() -> None:
    pacer = Pacer(max_in_flight=8, table="kids", monotonic=lambda: 0.0, rng=lambda: 1.0)
    assert pacer.limit == 8
    assert pacer.round_done(accepted=75, throttled=125, throttled_calls=0, per_call=25) == pytest.approx(0.05)
    assert pacer.limit == 3  # the table took 3 calls' worth
    assert pacer.round_done(accepted=0, throttled=75, throttled_calls=3, per_call=25) == pytest.approx(0.05)
    assert pacer.limit == 1
    pauses = [pacer.round_done(accepted=0, throttled=25, throttled_calls=1, per_call=25) for _ in range(6)]
    assert pauses == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])  # capped exponential, jitter at its top
    for expected in (2, 3, 4):
        assert pacer.round_done(accepted=25, throttled=0, throttled_calls=0, per_call=25) == 0.0
        assert pacer.limit == expected
    stats = pacer.stats()
    assert (stats.throttled_statements, stats.throttled_calls, stats.write_statements) == (350, 9, 150)


def test_under_a_capacity_the_writer_uses_most_of_it() -> None:
    clock = SimClock()
    table = KidTable(clock=clock, units_per_s=500.0, window_s=None)
    table.start()

    class SlowClient(FakeClient):  # every call takes 5 ms of the simulated clock
        def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
            clock.sleep(0.005)
            return super().batch_execute_statement(Statements)

    writer = sink(SlowClient(table), clock, batches_in_flight=8)
    writer.write_latest(events_for([f"kid-{n}" for n in range(10_000)]))
    assert table.written == 10_000
    assert table.written / clock.now >= 0.9 * 500, (table.written, clock.now)


def test_a_restarted_writer_on_a_full_table_sends_about_one_statement_per_kid() -> None:
    clock = SimClock()
    table = KidTable(clock=clock)
    kids = [f"kid-{n}" for n in range(1000)]
    first = sink(FakeClient(table), clock)
    first.write_latest(events_for(kids))
    assert first.stats().write_statements == 1000  # a fresh table: INSERT first, one statement per kid
    restarted = sink(FakeClient(table), clock)  # knows no kid
    summary = restarted.write_latest(events_for(kids, observed_at=BASE_MS + 1))
    assert summary.written == 1000
    stats = restarted.stats()
    assert stats.write_statements / stats.kids_settled <= 1.03  # one probing call of 25 INSERTs at most


def test_the_first_statement_follows_the_recent_answers() -> None:
    firsts = FirstStatement(window=10, min_seen=4)
    assert not firsts.decided and not firsts.update_first()
    for _ in range(4):
        firsts.observe(True)
    assert firsts.update_first()
    for _ in range(8):
        firsts.observe(False)
    assert firsts.existing_share == pytest.approx(0.2) and not firsts.update_first()


@pytest.mark.parametrize(
    "description",
    [
        {
            "KeySchema": [
                {"AttributeName": "kid_id", "KeyType": "HASH"},
                {"AttributeName": "observed_at", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "kid_id", "AttributeType": "S"},
                {"AttributeName": "observed_at", "AttributeType": "N"},
            ],
        },
        {
            "KeySchema": [{"AttributeName": "kid_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "kid_id", "AttributeType": "N"}],
        },
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        },
    ],
    ids=["range-key", "numeric-kid-id", "other-key"],
)
def test_a_table_with_another_key_stops_the_writer_before_any_write(description: dict[str, Any]) -> None:
    clock = SimClock()
    client = FakeClient(KidTable(clock=clock), description)
    with pytest.raises(WrongTableError, match="kid_id \\(S, the partition key\\) alone"):
        sink(client, clock, check_table=True).write_latest(events_for(["a"]))
    assert client.calls == 0


class Answering(FakeClient):
    """Answers every statement with ``error`` (and the response extras)."""

    def __init__(self, error: dict[str, Any] | None, **extra: Any) -> None:
        super().__init__(KidTable(clock=lambda: 0.0))
        self.error, self.extra = error, extra

    def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        return {"Responses": [{"Error": self.error, **self.extra} for _ in Statements]}


def test_refusals_about_the_key_stop_the_writer_even_for_one_item() -> None:
    error = {"Code": "ValidationError", "Message": "One or more parameter values were invalid: Missing the key sk"}
    with pytest.raises(WrongTableError, match="about the table's key"):
        sink(Answering(error), SimClock()).write_latest(events_for(["a"]))


def test_most_of_a_batch_refused_stops_the_writer_but_one_bad_value_is_one_refusal() -> None:
    error = {"Code": "ValidationError", "Message": "Number underflow"}
    with pytest.raises(WrongTableError, match="3 of 3 statements refused"):
        sink(Answering(error), SimClock()).write_latest(events_for(["a", "b", "c"]))
    summary = sink(Answering(error), SimClock()).write_latest(events_for(["a"]))
    assert len(summary.refused) == 1


def test_the_old_item_is_read_from_the_response_item_as_well_as_from_error_item() -> None:
    old = {"kid_id": {"S": "a"}}
    failed = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    for client in (Answering({**failed, "Item": old}), Answering(failed, Item=old)):
        writer = sink(client, SimClock())
        writer._known.add("a")  # an UPDATE first
        assert writer.write_latest(events_for(["a"])).superseded == 1


def test_the_insert_update_ping_pong_is_bounded_and_says_what_it_means(caplog: pytest.LogCaptureFixture) -> None:
    class PingPong(FakeClient):
        def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
            self.calls += 1
            code = {"INSERT": "DuplicateItem", "UPDATE": "ConditionalCheckFailed"}
            return {"Responses": [{"Error": {"Code": code[s["Statement"][:6]]}} for s in Statements]}

    client = PingPong(KidTable(clock=lambda: 0.0))
    with pytest.raises(WrongTableError, match="deletes and re-creates items"):
        sink(client, SimClock()).write_latest(events_for(["a"]))
    assert client.calls == 5
    assert any("INSERT answers DuplicateItem" in r.getMessage() for r in caplog.records)


def test_an_abandoned_write_stops_at_its_next_wait() -> None:
    clock = SimClock()
    table = KidTable(clock=clock, units_per_s=0.0, window_s=None)
    table.start()
    writer = sink(FakeClient(table), clock)
    original = clock.sleep

    def sleep(seconds: float) -> None:
        original(seconds)
        if clock.now > 5:
            writer.abandon()

    writer._sleep = sleep
    with pytest.raises(SinkAbandonedError):
        writer.write_latest(events_for(["a"]))
    assert writer.write_path == BATCH_STATEMENT


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    statement_share=st.floats(0.0, 0.9),
    call_share=st.floats(0.0, 0.9),
    kids=st.integers(1, 120),
    restarted=st.booleans(),
)
def test_under_any_throttling_pattern_every_kid_ends_on_its_latest_event(
    seed: int, statement_share: float, call_share: float, kids: int, restarted: bool
) -> None:
    """Random statement and whole-call throttling, on a fresh or a full table: nothing raises,
    every kid ends on its latest event, and each kid costs at most two answered statements."""
    rng = random.Random(seed)
    clock = SimClock()
    table = KidTable(clock=clock)
    names = [f"kid-{n}" for n in range(kids)]
    if restarted:
        table.items.update({name: (BASE_MS - 1, "0") for name in names})

    class Flaky(FakeClient):
        def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
            if rng.random() < call_share:
                raise throttled(rng.choice(["ThrottlingException", "ProvisionedThroughputExceededException"]))
            throttled_at = {n for n in range(len(Statements)) if rng.random() < statement_share}
            taken = iter(self.table.execute([s for n, s in enumerate(Statements) if n not in throttled_at]))
            codes = ["ThrottlingError", "RequestLimitExceeded", "ProvisionedThroughputExceeded"]
            return {
                "Responses": [
                    {"Error": {"Code": rng.choice(codes)}} if n in throttled_at else next(taken)
                    for n in range(len(Statements))
                ]
            }

    writer = sink(Flaky(table), clock)
    events = [
        decoded(make_event(kid_id=rng.choice(names), observed_at=BASE_MS + rng.randrange(5))) for _ in range(kids * 2)
    ]
    summary = writer.write_latest(events)
    latest: dict[str, tuple[int, str]] = {}
    for event in events:
        latest[event.kid_id] = max(latest.get(event.kid_id, (0, "")), event.order_key)
    assert summary.written + summary.superseded == len(latest)
    for kid_id, order in latest.items():
        assert table.items[kid_id] == order
    assert table.answered <= 2 * len(latest)
    writer.close()
