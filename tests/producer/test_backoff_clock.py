"""The sender's backoff follows the injected clock: a test moves time, it does not sleep."""

from __future__ import annotations

import random
import threading
from typing import Any

from producer import Producer, ProducerConfig
from producer._retry import Backoff
from tests.factories import make_event
from tests.polling import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def set(self, value: float) -> None:
        with self._lock:
            self.now = value


class ThrottleOnceKinesis:
    """Throttles the first call; records the (fake) time of every call."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.call_times: list[float] = []

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.call_times.append(self.clock())
        if len(self.call_times) == 1:
            error = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
            return {"FailedRecordCount": len(Records), "Records": [error] * len(Records)}
        return {"FailedRecordCount": 0, "Records": [{"ShardId": "shardId-0", "SequenceNumber": "7"}] * len(Records)}


def test_a_throttled_record_is_retried_exactly_after_its_backoff() -> None:
    clock = FakeClock()
    client = ThrottleOnceKinesis(clock)
    config = ProducerConfig(
        stream_name="s", kinesis_client=client, spool_dir=None, linger_ms=0, backoff_base_ms=400, backoff_max_ms=400
    )
    expected = Backoff(base_s=0.4, max_s=0.4).delay_s(1, random.Random(42))  # in [0.2, 0.4]
    with Producer(config, clock=clock, rng=random.Random(42)) as producer:
        future = producer.put(make_event())
        wait_until(lambda: len(client.call_times) == 1, timeout_s=30, what="the first call", poll_s=0.005)
        clock.set(1000.0 + expected - 0.001)
        producer.flush(0)  # wakes the sender: too early, it must keep waiting
        clock.set(1000.0 + expected)
        producer.flush(0)
        assert future.result(30).sequence_number == "7"
        assert client.call_times == [1000.0, 1000.0 + expected]
        assert producer.metrics().throttled == 1
