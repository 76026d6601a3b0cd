"""The processor while a batch's DynamoDB writes wait out throttling (fake sinks, no KCL): it
checkpoints what earlier batches made durable, and stops without checkpointing when the lease or
the daemon is gone."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from amazon_kclpy import messages

from consumer import ProcessorConfig, SinkAbandonedError
from consumer.processor import EXIT_DAEMON_GONE, NicelistProcessor
from consumer.records import DecodedEvent
from consumer.sinks import PacingStats, WriteSummary
from foundation.polling import wait_until
from schemas import encode_event
from tests.factories import make_event

from .helpers import (
    Clock,
    FakeArchive,
    FakeCheckpointer,
    FakeExit,
    initialize_input,
    kcl_record,
    process_input,
    with_checkpointer,
)

CONFIG = ProcessorConfig(archive_max_file_age_s=3600.0, dynamodb_wait_poll_s=0.01, checkpoint_while_waiting_after_s=0.0)


class StuckDynamoDB:
    """Writes the first batch at once; the next ones wait (throttled) until released or abandoned."""

    def __init__(self) -> None:
        self.batches: list[list[DecodedEvent]] = []
        self.release = threading.Event()
        self.abandoned = threading.Event()

    def write_latest(self, events: Sequence[DecodedEvent]) -> WriteSummary:
        if self.batches:
            while not self.release.wait(0.01):
                if self.abandoned.is_set():
                    raise SinkAbandonedError("withdrawn")
        self.batches.append(list(events))
        return WriteSummary(written=len(events), superseded=0)

    def stats(self) -> PacingStats:
        return PacingStats(7, 0, 1.5, 1, len(self.batches), len(self.batches))

    def abandon(self) -> None:
        self.abandoned.set()


class Run:
    def __init__(self, checkpointer: FakeCheckpointer, parent_alive: bool = True) -> None:
        self.dynamodb = StuckDynamoDB()
        self.archive = FakeArchive()
        self.exit = FakeExit()
        self.checkpointer = checkpointer
        self.processor = NicelistProcessor(
            config=CONFIG,
            dynamodb=self.dynamodb,  # type: ignore[arg-type]
            archive=self.archive,  # type: ignore[arg-type]
            monotonic=Clock(),
            exit=self.exit,
            parent_alive=lambda: parent_alive,
        )
        self.processor.initialize(initialize_input())
        self.batches = [[kcl_record(encode_event(make_event())) for _ in range(3)] for _ in range(3)]

    def process(self, n: int) -> None:
        self.processor.process_records(process_input(self.batches[n], self.checkpointer))

    def third_batch_in_background(self) -> threading.Thread:
        """Batches 1 and 2 delivered (2's writes stuck); batch 3 waits for them on a thread."""
        self.process(0)
        self.process(1)
        thread = threading.Thread(target=self.process, args=(2,), daemon=True)
        thread.start()
        return thread


def test_while_writes_wait_the_earlier_batches_are_archived_and_checkpointed() -> None:
    run = Run(FakeCheckpointer())
    thread = run.third_batch_in_background()
    wait_until(lambda: run.checkpointer.calls or None, timeout_s=30, what="a checkpoint while waiting")
    first = run.batches[0][-1]
    assert run.checkpointer.calls == [(first.sequence_number, 0)]  # batch 1 only: 2 is not durable yet
    archived = [key for key in run.archive.objects if key.startswith("events/")]
    assert len(archived) == 1
    run.dynamodb.release.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert run.processor.metrics.accumulator.drain().gauges  # the writer's figures were published
    run.processor.shutdown_requested(
        with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", run.checkpointer)
    )
    assert run.checkpointer.calls[-1] == (run.batches[2][-1].sequence_number, 0)
    assert run.exit.statuses == []


def test_a_lease_lost_while_writes_wait_withdraws_them_and_checkpoints_nothing_more() -> None:
    run = Run(FakeCheckpointer(errors=["ShutdownException"]))
    thread = run.third_batch_in_background()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert run.dynamodb.abandoned.is_set() and run.processor.stopped
    run.processor.process_records(process_input([kcl_record(encode_event(make_event()))], run.checkpointer))
    run.processor.shutdown_requested(
        with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", run.checkpointer)
    )
    assert run.checkpointer.calls == [] and run.exit.statuses == []
    assert len(run.dynamodb.batches) == 1  # batch 2 was never written; the next owner replays it


def test_a_daemon_gone_while_writes_wait_ends_the_processor_without_checkpoint() -> None:
    run = Run(FakeCheckpointer(), parent_alive=False)
    thread = run.third_batch_in_background()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert run.exit.statuses == [EXIT_DAEMON_GONE] and run.dynamodb.abandoned.is_set()
    assert run.checkpointer.calls == []


def test_the_writer_figures_are_published_as_metrics() -> None:
    from consumer.metrics import WorkerMetrics
    from observability import metrics as m

    metrics = WorkerMetrics(application="app")
    metrics.sink_progress(PacingStats(0, 0, 0.0, 8, 0, 0))
    metrics.sink_progress(PacingStats(40, 2, 3.5, 2, 120, 100))
    period = metrics.accumulator.drain()
    assert period.counters[m.DYNAMODB_THROTTLED_STATEMENTS] == 40
    assert period.counters[m.DYNAMODB_THROTTLE_WAIT] == 3.5
    assert period.gauges[m.DYNAMODB_CALLS_IN_FLIGHT].maximum == 8
    assert period.gauges[m.WRITE_STATEMENTS_PER_KID].maximum == 1.2
