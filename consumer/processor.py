"""The amazon_kclpy v3 record processor: one per shard lease, in its own Python process.

Order of work per batch: dead letters (stored at once), then the latest event per kid to
DynamoDB, then every event into the shard's open archive files. When those files close (size or
age, see :class:`ArchiveBuffer`) everything delivered so far is durable in both sinks and the
shard is checkpointed at the last delivered record.

The DynamoDB writes of a batch overlap the reading and decoding of the next one
(``ProcessorConfig.dynamodb_overlap_batches``): ``process_records`` hands the batch's writes to a
writer thread and returns; the next call (or any flush) first waits for them, dead-letters the
events DynamoDB refused and buffers the rest for the archive. At most one batch is in flight, and
nothing is checkpointed before its writes are done.

Throttling is weather, not failure: the kid-table writer sends throttled statements again for as
long as the throttling lasts (:mod:`consumer.sinks._pacing`). While a batch's writes wait, the
processor stays responsive: it waits in steps of ``dynamodb_wait_poll_s``, publishes the writer's
figures, and after ``checkpoint_while_waiting_after_s`` archives the earlier batches (already in
DynamoDB) and checkpoints them. A checkpoint the KCL refuses because the lease is gone, or a
daemon that is gone, makes it withdraw the waiting writes and stop without checkpointing
anything more: the shard's next owner replays what was not durable.

Sink errors come in three kinds (:mod:`consumer.sinks._classify`): throttling is waited out in
both sinks (the archive's S3 SlowDown too), 5xx and network trouble are retried; an event
DynamoDB refuses (a number it cannot store...) is dead-lettered with DynamoDB's error and the
shard moves on; anything systemic (access denied, table or bucket missing, KMS) stops the
processor as below, with the service's error in the log.

amazon_kclpy catches exceptions from the hooks and reports the batch done, which would let a
later checkpoint pass over records never written. So a failure that outlives the sinks' retries
ends this process (``exit``, by default ``os._exit``) with :data:`EXIT_SINK_FAILURE`; the daemon
then exits and its supervisor restarts it from the last checkpoint.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, NoReturn

from amazon_kclpy.checkpoint_error import CheckpointError
from amazon_kclpy.v3.processor import RecordProcessorBase

from foundation.clock import wall_clock_ms
from schemas import BehaviourEventCodec

from ._errors import CheckpointFailedError, SinkAbandonedError
from .archive import ArchiveBuffer, dead_letter_files, short_reason
from .checkpoints import Checkpoint, CheckpointTracker
from .config import ProcessorConfig
from .metrics import WorkerMetrics
from .records import DecodedEvent, KinesisRecord, Undecodable, decode, from_kcl
from .sinks import DynamoDBSink, Refusal, S3Archive, WriteSummary

log = logging.getLogger(__name__)

#: Exit status of a processor whose sink failed for longer than the retries (EX_SOFTWARE).
EXIT_SINK_FAILURE = 70
#: Exit status of a processor whose daemon is gone (nothing to report to, nothing checkpointed).
EXIT_DAEMON_GONE = 0
#: Checkpoint errors worth retrying: the lease table is throttled or briefly unreachable.
RETRYABLE_CHECKPOINT_ERRORS = frozenset({"ThrottlingException", "KinesisClientLibDependencyException"})
#: The lease is gone: another worker owns the shard now; stop without checkpointing.
LEASE_GONE_CHECKPOINT_ERRORS = frozenset({"ShutdownException"})


def _exit_process(status: int) -> NoReturn:
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(status)


class NicelistProcessor(RecordProcessorBase):
    """Keeps the kid table and the archive for one shard; checkpoints only what both hold."""

    def __init__(
        self,
        *,
        config: ProcessorConfig,
        dynamodb: DynamoDBSink,
        archive: S3Archive,
        codec: BehaviourEventCodec | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
        exit: Callable[[int], Any] = _exit_process,
        metrics: WorkerMetrics | None = None,
        parent_alive: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self._dynamodb = dynamodb
        self._archive = archive
        self._codec = codec or BehaviourEventCodec()
        self._monotonic = monotonic
        self._wall_clock_ms = wall_clock_ms
        self._sleep = sleep
        self._exit = exit
        self.shard_id = ""
        self.tracker = CheckpointTracker()
        self.buffer = self._new_buffer()
        self.failed = False
        #: the lease (or the daemon) went away while writes waited: do nothing more, checkpoint nothing
        self.stopped = False
        self._lease_gone = False
        parent = os.getppid()
        self._parent_alive = parent_alive or (lambda: os.getppid() == parent)
        #: the batch whose DynamoDB writes are in flight: its events, when it came, the writes'
        #: future, and the position delivered before it (durable once the archive holds the rest)
        self._pending: tuple[list[DecodedEvent], float, Future[WriteSummary], Checkpoint | None] | None = None
        self._writer: ThreadPoolExecutor | None = None
        self.counters = {"records": 0, "events": 0, "dead_letters": 0, "files": 0, "checkpoints": 0}
        self.metrics = metrics or WorkerMetrics(application=config.names.application)

    def _new_buffer(self) -> ArchiveBuffer:
        return ArchiveBuffer(
            max_file_bytes=self.config.archive_max_file_bytes, max_file_age_s=self.config.archive_max_file_age_s
        )

    # --- KCL hooks -------------------------------------------------------------------------
    def initialize(self, initialize_input: Any) -> None:
        self.shard_id = initialize_input.shard_id
        self.tracker = CheckpointTracker()
        self.buffer = self._new_buffer()
        self.metrics.start(self.shard_id, self.counters)
        log.info(
            "initialize %s at %s/%s",
            self.shard_id,
            initialize_input.sequence_number,
            initialize_input.sub_sequence_number,
        )

    def process_records(self, process_records_input: Any) -> None:
        self._guard(self._process, process_records_input.records, process_records_input.checkpointer)
        self.metrics.sink_progress(self._dynamodb.stats())
        self.metrics.batch_done(process_records_input.millis_behind_latest)

    def lease_lost(self, lease_lost_input: Any) -> None:
        """Never checkpoint: another worker owns the shard and replays what was not durable."""
        log.info("lease lost on %s; dropping %s buffered rows", self.shard_id, len(self.buffer))
        self._pending = None  # its writes may still land: conditional, so harmless to the new owner
        self._dynamodb.abandon()  # ... but one waiting out throttling stops waiting (the process can end)
        self.buffer.discard()
        self.tracker.forget_undurable()
        self.metrics.close()

    def shard_ended(self, shard_ended_input: Any) -> None:
        """Store everything, then checkpoint with no arguments so the child shards can start."""
        self._guard(self._end_shard, shard_ended_input.checkpointer)
        self.metrics.close()

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        """The worker is stopping gracefully: store everything and checkpoint it."""
        self._guard(self._flush_and_checkpoint, shutdown_requested_input.checkpointer)
        self.metrics.close()

    # --- work ------------------------------------------------------------------------------
    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        if self.failed or self.stopped:
            return
        try:
            fn(*args)
        except Exception:
            self.failed = True
            log.critical(
                "shard %s: giving up (exit %s) so the worker restarts from the last checkpoint",
                self.shard_id,
                EXIT_SINK_FAILURE,
                exc_info=True,
            )
            self.metrics.stopped()
            self._exit(EXIT_SINK_FAILURE)

    def _process(self, kcl_records: list[Any], checkpointer: Any) -> None:
        records = [from_kcl(r, self.shard_id) for r in kcl_records]
        self.handle(records, checkpointer)
        if self.stopped:
            return
        nothing_open = len(self.buffer) == 0 and self._pending is None
        if self.buffer.should_close(self._monotonic()) or (nothing_open and self.tracker.has_undurable):
            self._flush_and_checkpoint(checkpointer)

    def handle(self, records: list[KinesisRecord], checkpointer: Any = None) -> None:
        """Decode ``records``; dead letters and DynamoDB written, events buffered for the archive.
        With ``checkpointer``, a long wait for DynamoDB checkpoints the earlier batches."""
        events: list[DecodedEvent] = []
        dead: list[Undecodable] = []
        for record in records:
            for outcome in decode(record, self._codec, max_future_skew_ms=self.config.max_future_skew_ms):
                if isinstance(outcome, DecodedEvent):
                    events.append(outcome)
                else:
                    dead.append(outcome)
        if dead:
            self._store_dead_letters(dead)
        self._settle_pending(checkpointer)
        if self.stopped:
            return
        if events:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kid-writer")
            writes = self._writer.submit(self._dynamodb.write_latest, events)
            self._pending = (events, self._monotonic(), writes, self.tracker.delivered_point)
            if not self.config.dynamodb_overlap_batches:
                self._settle_pending(checkpointer)
                if self.stopped:
                    return
        if records:
            self.tracker.delivered(records[-1])
        self.counters["records"] += len(records)
        self.counters["events"] += len(events)
        self.counters["dead_letters"] += len(dead)

    def _settle_pending(self, checkpointer: Any = None) -> None:
        """Wait for the batch in flight (raising its error), then buffer it for the archive.

        Waits in steps (see the module doc): a lost lease or a gone daemon withdraws the writes
        and stops the processor; nothing more is checkpointed."""
        if self._pending is None:
            return
        events, received, writes, before = self._pending
        started = self._monotonic()
        checkpointed = False
        while True:
            try:
                summary = writes.result(timeout=self.config.dynamodb_wait_poll_s)
                break
            except FutureTimeout:
                pass
            except SinkAbandonedError:
                if not self.stopped:
                    raise
                break
            self.metrics.sink_progress(self._dynamodb.stats())
            if self.stopped:
                continue  # the writer notices at its next wait
            if not self._parent_alive():
                self._stop("its daemon is gone")
                self._exit(EXIT_DAEMON_GONE)
            elif (
                not checkpointed
                and checkpointer is not None
                and (self._monotonic() - started >= self.config.checkpoint_while_waiting_after_s)
            ):
                checkpointed = True
                self._checkpoint_before(before, checkpointer)
        self._pending = None
        if self.stopped:
            self.buffer.discard()
            self.tracker.forget_undurable()
            return
        self._buffer_written(events, received, summary)

    def _checkpoint_before(self, before: Checkpoint | None, checkpointer: Any) -> None:
        """While a batch's writes wait: archive the earlier batches and checkpoint them (up to
        ``before``); a refusal because the lease is gone stops the processor."""
        files = self.buffer.close_all()
        self._archive.put_files(files)
        self.counters["files"] += len(files)
        self.tracker.durable_through(before)
        point = self.tracker.pending()
        if point is None:
            return
        if self._checkpoint(checkpointer, point):
            self.tracker.checkpointed(point)
            log.info("shard %s: checkpointed %s while DynamoDB writes wait", self.shard_id, point.sequence_number)
        elif self._lease_gone:
            self._stop("the KCL says its lease is gone")

    def _stop(self, why: str) -> None:
        """Withdraw the waiting writes; checkpoint nothing more (the next owner replays)."""
        log.warning("shard %s: %s while DynamoDB writes wait; stopping without checkpointing them", self.shard_id, why)
        self.stopped = True
        self._dynamodb.abandon()

    def _buffer_written(self, events: list[DecodedEvent], received: float, summary: WriteSummary) -> None:
        """Dead-letter what DynamoDB refused; buffer the rest as received at ``received`` (monotonic)."""
        if summary.refused:
            events = self._dead_letter_refused(events, summary.refused)
        self.metrics.items_written(summary.written, summary.superseded, events, self._wall_clock_ms())
        for event in events:
            self.buffer.add(event, received)

    def _dead_letter_refused(self, events: list[DecodedEvent], refused: Sequence[Refusal]) -> list[DecodedEvent]:
        """Store a dead letter (with DynamoDB's error) for each refused event; the other events."""
        letters = [Undecodable(r.event.record, r.reason) for r in refused]
        self._store_dead_letters(letters)
        self.counters["dead_letters"] += len(letters)
        gone = {id(r.event) for r in refused}
        return [event for event in events if id(event) not in gone]

    def _store_dead_letters(self, dead: list[Undecodable]) -> None:
        """One dead-letter file (one PUT, one log line) per Kinesis record, whatever its parts."""
        files = dead_letter_files(dead, self._wall_clock_ms())
        for file in files:
            first = file.rows[0]
            log.warning(
                "dead letter %s: %s refused user record(s) of %s/%s; first (sub-sequence %s): %s",
                file.key,
                len(file.rows),
                first["shard_id"],
                first["sequence_number"],
                first["subsequence_number"],
                short_reason(str(first["reason"]), 200),
            )
        self._archive.put_files(files)

    def _flush(self, checkpointer: Any = None) -> None:
        self._settle_pending(checkpointer)
        if self.stopped:
            return
        files = self.buffer.close_all()
        self._archive.put_files(files)
        self.counters["files"] += len(files)
        self.tracker.all_durable()

    def _flush_and_checkpoint(self, checkpointer: Any) -> None:
        self._flush(checkpointer)
        if self.stopped:
            return
        point = self.tracker.pending()
        if point is not None and self._checkpoint(checkpointer, point):
            self.tracker.checkpointed(point)

    def _end_shard(self, checkpointer: Any) -> None:
        self._flush(checkpointer)
        if self.stopped:
            return
        self._checkpoint(checkpointer, None)
        log.info("shard %s ended: %s", self.shard_id, self.counters)

    def _checkpoint(self, checkpointer: Any, point: Checkpoint | None) -> bool:
        """Checkpoint at ``point`` (None: the end of what was delivered, as at shard end).

        Throttling is retried; if it persists the checkpoint is skipped (the next one covers it).
        Returns False when the checkpoint did not happen."""
        delays = self.config.checkpoint_retry.delays()
        while True:
            try:
                if point is None:
                    checkpointer.checkpoint()
                else:
                    checkpointer.checkpoint(point.sequence_number, point.subsequence_number)
            except CheckpointError as exc:
                error = str(exc.value)
                if error in LEASE_GONE_CHECKPOINT_ERRORS:
                    self._lease_gone = True
                    log.info("checkpoint of %s refused (%s): lease gone", self.shard_id, error)
                    return False
                if error not in RETRYABLE_CHECKPOINT_ERRORS:
                    raise CheckpointFailedError(error) from exc
                delay = next(delays, None)
                if delay is None:
                    log.warning("checkpoint of %s still %s; skipping it until the next one", self.shard_id, error)
                    return False
                log.warning("checkpoint of %s: %s, retrying in %.2f s", self.shard_id, error, delay)
                self._sleep(delay)
            else:
                self.counters["checkpoints"] += 1
                return True
