"""AsyncProducer: the same producer for asyncio code; a full buffer never blocks the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import schemas
from producer import (
    AsyncProducer,
    BufferFullError,
    DeliveryFuture,
    FsyncPolicy,
    NotDeliveredError,
    Producer,
    ProducerClosedError,
    ProducerConfig,
    Receipt,
    ValidationError,
)
from tests.factories import make_event
from tests.producer.test_invariants import RecordingKinesis

#: ticks another task must count while put() waits: proof the loop kept running
TICKS_WHILE_WAITING = 1000


def small_buffer(client: Any, **overrides: Any) -> ProducerConfig:
    options: dict[str, Any] = {
        "stream_name": "s",
        "kinesis_client": client,
        "spool_dir": None,
        "linger_ms": 1,
        "max_buffered_bytes": schemas.MAX_EVENT_BYTES,  # a handful of events fill it
        "put_timeout_s": 20.0,
        "close_timeout_s": 10.0,
    }
    options.update(overrides)
    return ProducerConfig(**options)


def fill(producer: AsyncProducer) -> int:
    """Accept events until the buffer has no room for one more; return how many."""
    accepted = 0
    while True:
        try:
            producer.producer.put(make_event(), timeout=0)
        except BufferFullError:
            return accepted
        accepted += 1


class Ticker:
    """A task that counts its turns of the event loop."""

    def __init__(self) -> None:
        self.ticks = 0
        self.stop = False

    async def run(self) -> None:
        while not self.stop:
            self.ticks += 1
            await asyncio.sleep(0)

    async def until(self, ticks: int) -> None:
        while self.ticks < ticks:
            await asyncio.sleep(0)


def test_put_waits_for_buffer_space_while_other_tasks_keep_running() -> None:
    gate = threading.Event()  # Kinesis answers nothing until the test opens it
    kinesis = RecordingKinesis(gate=gate)

    async def scenario() -> tuple[int, Receipt]:
        async with AsyncProducer(small_buffer(kinesis)) as producer:
            accepted = fill(producer)
            assert accepted > 0
            ticker = Ticker()
            ticking = asyncio.create_task(ticker.run())
            put = asyncio.create_task(producer.put(make_event()))
            await ticker.until(TICKS_WHILE_WAITING)  # the loop keeps turning...
            assert not put.done()  # ...while put() still waits for space
            waited_ticks = ticker.ticks
            gate.set()  # Kinesis answers: space is freed, the sender thread wakes the loop
            future = await put
            receipt = await future  # a DeliveryFuture is awaitable
            ticker.stop = True
            await ticking
            assert await producer.flush(30) == 0
            assert producer.metrics().sent == accepted + 1
            return waited_ticks, receipt

    waited_ticks, receipt = asyncio.run(scenario())
    assert waited_ticks >= TICKS_WHILE_WAITING
    assert receipt.shard_id == "shardId-000000000000"


def test_put_gives_up_after_put_timeout_without_blocking_the_loop() -> None:
    gate = threading.Event()
    kinesis = RecordingKinesis(gate=gate)

    async def scenario() -> int:
        producer = AsyncProducer(small_buffer(kinesis, put_timeout_s=0.05))
        try:
            accepted = fill(producer)
            ticker = Ticker()
            ticking = asyncio.create_task(ticker.run())
            with pytest.raises(BufferFullError):
                await producer.put(make_event())
            ticker.stop = True
            await ticking
            assert ticker.ticks > 0  # the ticker ran while put() waited
            assert producer.metrics().accepted == accepted  # the refused event was not accepted
            return accepted
        finally:
            gate.set()
            await producer.close()

    assert asyncio.run(scenario()) > 0


def test_a_cancelled_put_has_not_accepted_its_event() -> None:
    gate = threading.Event()
    kinesis = RecordingKinesis(gate=gate)

    async def scenario() -> None:
        async with AsyncProducer(small_buffer(kinesis)) as producer:
            accepted = fill(producer)
            put = asyncio.create_task(producer.put(make_event()))
            await asyncio.sleep(0)
            put.cancel()
            with pytest.raises(asyncio.CancelledError):
                await put
            gate.set()
            assert await producer.flush(30) == 0
            assert producer.metrics().accepted == producer.metrics().sent == accepted

    asyncio.run(scenario())


def test_close_wakes_a_waiting_put_with_producer_closed() -> None:
    gate = threading.Event()
    kinesis = RecordingKinesis(gate=gate)

    async def scenario() -> None:
        producer = AsyncProducer(small_buffer(kinesis))
        fill(producer)
        put = asyncio.create_task(producer.put(make_event()))
        await asyncio.sleep(0)
        closing = asyncio.create_task(producer.close(timeout=0))
        with pytest.raises(ProducerClosedError):
            await put
        gate.set()
        assert await closing > 0  # the accepted events were still pending: no spool, reported
        with pytest.raises(ProducerClosedError):
            await producer.put(make_event())

    asyncio.run(scenario())


def test_many_events_from_many_tasks_are_delivered_once() -> None:
    kinesis = RecordingKinesis(throttle_first=3)

    async def scenario() -> list[Receipt]:
        config = small_buffer(kinesis, max_buffered_bytes=4 * schemas.MAX_EVENT_BYTES, backoff_base_ms=1)
        async with AsyncProducer(config) as producer:

            async def elf(n: int) -> list[Receipt]:
                futures = [await producer.put(make_event(kid_id=f"kid-{n}-{i}")) for i in range(100)]
                return list(await asyncio.gather(*futures))

            receipts = [r for batch in await asyncio.gather(*(elf(n) for n in range(8))) for r in batch]
            assert await producer.flush(30) == 0
        return receipts

    receipts = asyncio.run(scenario())
    assert len(receipts) == 800 and all(r.shard_id == "shardId-000000000000" for r in receipts)
    assert len(kinesis.event_ids()) == len(set(kinesis.event_ids())) == 800


def test_put_raises_the_producers_validation_error() -> None:
    async def scenario() -> None:
        async with AsyncProducer(small_buffer(RecordingKinesis())) as producer:
            with pytest.raises(ValidationError) as caught:
                await producer.put(make_event(location={"lat": 1e-200, "lon": 0}))
            assert caught.value.field == "location.lat"

    asyncio.run(scenario())


def test_awaiting_a_failed_delivery_raises_not_delivered_with_the_event() -> None:
    kinesis = RecordingKinesis(throttle_first=10**9)  # throttled for ever
    event = make_event()

    async def scenario() -> None:
        producer = AsyncProducer(small_buffer(kinesis, backoff_base_ms=1, backoff_max_ms=2))
        future = await producer.put(event)
        assert await producer.close(timeout=0) == 1
        with pytest.raises(NotDeliveredError) as caught:
            await future
        assert [e["event_id"] for e in caught.value.events] == [event["event_id"]]

    asyncio.run(scenario())


# --- leaving the block on an exception: a short flush, the rest stays in the spool, and says so
def test_exit_on_an_exception_flushes_briefly_and_reports_what_stays_in_the_spool(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    throttled = RecordingKinesis(throttle_first=10**9)
    config = small_buffer(
        throttled,
        spool_dir=tmp_path,
        max_buffered_bytes=1 << 20,
        close_timeout_s=3600,  # would hold the exception up for an hour
        exit_on_error_flush_s=0.05,
        backoff_base_ms=1,
        backoff_max_ms=2,
    )
    events = [make_event() for _ in range(5)]
    caplog.set_level(logging.WARNING, logger="producer")
    with pytest.raises(RuntimeError, match="the app failed"):
        with Producer(config) as producer:
            futures = [producer.put(e) for e in events]
            raise RuntimeError("the app failed")
    assert all(isinstance(f.exception(0), NotDeliveredError) for f in futures)
    assert any(
        "RuntimeError: 5 events still pending after 0.05 s" in r.getMessage() and str(tmp_path) in r.getMessage()
        for r in caplog.records
    )

    accepting = RecordingKinesis()
    with Producer(small_buffer(accepting, spool_dir=tmp_path, max_buffered_bytes=1 << 20)) as again:
        assert again.flush(30) == 0
    assert sorted(accepting.event_ids()) == sorted(e["event_id"] for e in events)


def test_async_exit_on_an_exception_uses_the_short_bound_too(tmp_path: Path) -> None:
    throttled = RecordingKinesis(throttle_first=10**9)
    config = small_buffer(
        throttled, spool_dir=tmp_path, close_timeout_s=3600, exit_on_error_flush_s=0.05, backoff_base_ms=1
    )

    async def scenario() -> None:
        async with AsyncProducer(config) as producer:
            await producer.put(make_event())
            raise KeyError("boom")

    with pytest.raises(KeyError):
        asyncio.run(scenario())
    assert list(tmp_path.glob("*.seg"))  # the event waits in the spool for the next producer


def test_with_fsync_always_put_runs_off_the_loop(tmp_path: Path) -> None:
    """Every put() then waits for a disk flush: that wait must not be the loop's."""
    put_threads: list[int] = []

    async def scenario() -> tuple[int, Receipt]:
        config = small_buffer(RecordingKinesis(), spool_dir=tmp_path, fsync=FsyncPolicy.ALWAYS)
        async with AsyncProducer(config) as producer:
            inner = producer.producer
            original = inner.put

            def put(*args: Any, **kwargs: Any) -> DeliveryFuture:
                put_threads.append(threading.get_ident())
                return original(*args, **kwargs)

            inner.put = put  # type: ignore[method-assign]
            receipt = await (await producer.put(make_event()))
            return threading.get_ident(), receipt

    loop_thread, receipt = asyncio.run(scenario())
    assert receipt.sequence_number
    assert put_threads and loop_thread not in put_threads
