"""Invariants of the whole put() -> aggregate -> PutRecords path, with a recording fake client."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from foundation.limits import (
    KINESIS_MAX_BYTES_PER_PUT,
    KINESIS_MAX_PARTITION_KEY_CHARS,
    KINESIS_MAX_RECORD_BYTES,
    KINESIS_MAX_RECORDS_PER_PUT,
)
from producer import Producer, ProducerConfig
from tests.factories import make_event
from tests.polling import wait_until


class RecordingKinesis:
    """Accepts every PutRecords and keeps the requests; optionally throttles the first calls."""

    def __init__(self, throttle_first: int = 0, gate: threading.Event | None = None) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.throttle_first = throttle_first
        self.lock = threading.Lock()
        self.gate = gate  # when given, every call waits until it is set

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        if self.gate is not None:
            assert self.gate.wait(timeout=60), "the test never opened the gate"
        with self.lock:
            if self.throttle_first > 0:
                self.throttle_first -= 1
                error = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
                return {"FailedRecordCount": len(Records), "Records": [error for _ in Records]}
            self.requests.append(Records)
            start = sum(len(r) for r in self.requests)
            return {
                "FailedRecordCount": 0,
                "Records": [
                    {"ShardId": "shardId-000000000000", "SequenceNumber": str(start + i)} for i in range(len(Records))
                ],
            }

    def event_ids(self) -> list[str]:
        records = [
            {
                "Data": r["Data"],
                "PartitionKey": r["PartitionKey"],
                "SequenceNumber": "1",
                "ApproximateArrivalTimestamp": 0,
            }
            for request in self.requests
            for r in request
        ]
        users = iter_deaggregate_records(records, data_format="Boto3")
        return [schemas.decode_event(base64.b64decode(u["kinesis"]["data"]))["event_id"] for u in users]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    notes=st.lists(st.integers(min_value=0, max_value=1024), min_size=1, max_size=400),
    record_bytes=st.sampled_from([17_000, 20_000, 51_200, KINESIS_MAX_RECORD_BYTES]),
    request_records=st.integers(min_value=1, max_value=KINESIS_MAX_RECORDS_PER_PUT),
    throttle_first=st.integers(min_value=0, max_value=3),
)
def test_every_request_within_limits_and_every_event_sent_exactly_once(
    notes: list[int], record_bytes: int, request_records: int, throttle_first: int
) -> None:
    client = RecordingKinesis(throttle_first)
    config = ProducerConfig(
        stream_name="s",
        kinesis_client=client,
        spool_dir=None,
        linger_ms=1,
        max_aggregated_record_bytes=record_bytes,
        max_records_per_request=request_records,
        backoff_base_ms=1,
        backoff_max_ms=2,
    )
    events = [make_event(note="é" * n or None) for n in notes]
    with Producer(config) as producer:
        for event in events:
            producer.put(event)
        assert producer.flush(60) == 0
    for request in client.requests:
        assert 1 <= len(request) <= request_records
        assert sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in request) <= KINESIS_MAX_BYTES_PER_PUT
        for record in request:
            assert len(record["Data"]) + len(record["PartitionKey"].encode()) <= record_bytes
            assert 1 <= len(record["PartitionKey"]) <= KINESIS_MAX_PARTITION_KEY_CHARS
    assert sorted(client.event_ids()) == sorted(e["event_id"] for e in events)


def test_a_backlog_bigger_than_the_buffer_is_replayed_within_the_buffer(tmp_path: Path) -> None:
    throttled = RecordingKinesis(throttle_first=10**9)
    events = [make_event() for _ in range(3000)]
    first = Producer(ProducerConfig(stream_name="s", kinesis_client=throttled, spool_dir=tmp_path, backoff_max_ms=100))
    for event in events:
        first.put(event)
    assert first.close(timeout=0) == len(events)

    gate = threading.Event()  # nothing is acknowledged until the backlog has been counted
    client = RecordingKinesis(gate=gate)
    limit = schemas.MAX_EVENT_BYTES  # about 150 events at a time
    config = ProducerConfig(stream_name="s", kinesis_client=client, spool_dir=tmp_path, max_buffered_bytes=limit)
    with Producer(config) as second:
        try:
            wait_until(lambda: second.metrics().buffered_bytes, timeout_s=30, what="the backlog admitted", poll_s=0.005)
            metrics = second.metrics()
            assert metrics.pending_events == len(events)
            assert 0 < metrics.buffered_bytes <= limit
        finally:
            gate.set()
        assert second.flush(60) == 0
        assert second.metrics().replayed == len(events)
    assert sorted(client.event_ids()) == sorted(e["event_id"] for e in events)
    assert list(tmp_path.glob("*.seg")) == []
