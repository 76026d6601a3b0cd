"""The producer's sender thread: seal aggregated records when full or when their linger ends, pack
them into PutRecords calls, retry the refused ones with backoff, complete the delivered ones (so
the spool can let go of them), admit an earlier run's spool backlog, and flush the spool on the
INTERVAL policy. It shares one :class:`~._state.ProducerState` (and its lock) with put().

A spool error never kills this thread: it is logged and counted (``spool_errors``) and the
thread goes on; the events stay on disk for the next producer at worst (a duplicate, never a loss).
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable

from ._batch import RequestLimits, take_request
from ._cloudwatch import CloudWatchMetrics
from ._config import ProducerConfig
from ._errors import SpoolError
from ._pending import PendingRecord
from ._retry import Backoff, ErrorKind, classify
from ._sender import Accepted, KinesisSender, Outcome
from ._spool import FsyncPolicy
from ._state import ProducerState

logger = logging.getLogger(__name__)

#: Backlog admitted per turn of the sender loop, so replay after a restart never starves put().
_REPLAY_BYTES_PER_TURN = 1024 * 1024


class SenderLoop:
    """The body of the sender thread (:meth:`run`)."""

    def __init__(
        self,
        state: ProducerState,
        sender: KinesisSender,
        config: ProducerConfig,
        *,
        clock: Callable[[], float],
        rng: random.Random,
        cost: Callable[[int], int],
        cloudwatch: CloudWatchMetrics | None,
    ) -> None:
        self._state = state
        self._sender = sender
        self._config = config
        self._clock = clock
        self._rng = rng
        self._cost = cost
        self._cloudwatch = cloudwatch
        self._limits = RequestLimits(
            max_records=config.max_records_per_request,
            max_bytes=config.max_request_bytes,
            max_record_bytes=config.max_aggregated_record_bytes,
        )
        self._backoff = Backoff(base_s=config.backoff_base_ms / 1000, max_s=config.backoff_max_ms / 1000)
        self._interval_sync = state.spool is not None and config.fsync is FsyncPolicy.INTERVAL
        self._sync_every_s = config.fsync_interval_ms / 1000
        self._next_sync = clock() + self._sync_every_s

    def run(self) -> None:
        state = self._state
        try:
            while True:
                request = self._next_request()
                if request is None:
                    return
                outcomes = self._sender.put_records([(r.blob, r.partition_key) for r in request])
                for record in self._settle(request, outcomes):
                    record.finish()
                if self._cloudwatch is not None:
                    self._cloudwatch.publish_if_due()
        except Exception as exc:  # a bug: stop loudly, lose nothing silently
            logger.exception("producer sender thread died; undelivered events stay in the spool if there is one")
            with state.lock:
                state.failure = f"sender thread died: {exc!r}"
                state.closed = True
                state.space_freed()
                abandoned = state.abandon_pending(state.failure)
            for record in abandoned:
                record.finish()

    def _next_request(self) -> list[PendingRecord] | None:
        """Wait until there is something to send; return it, or None when stopping."""
        state = self._state
        with state.lock:
            while True:
                now = self._clock()
                if state.stopping:
                    return None
                self._admit_backlog()
                open_record = state.open
                if open_record is not None and (
                    now >= open_record.deadline or state.flushes or state.closed or state.backlog_next is not None
                ):
                    state.seal(open_record)
                    open_record = None
                while state.retries and state.retries[0][0] <= now:
                    state.ready.append(heapq.heappop(state.retries)[2])
                self._sync_spool(now)
                if state.ready:
                    request = take_request(state.ready, _entry_bytes, self._limits)
                    state.in_flight = request
                    state.counters["put_records_calls"] += 1
                    return request
                deadlines = [open_record.deadline] if open_record is not None else []
                if state.retries:
                    deadlines.append(state.retries[0][0])
                if self._interval_sync:
                    deadlines.append(self._next_sync)
                state.wake.wait(max(min(deadlines) - now, 0.0) if deadlines else None)

    def _admit_backlog(self) -> None:
        """Move spooled events of an earlier run into aggregated records, within the buffer cap."""
        state = self._state
        admitted = 0
        while state.backlog is not None and admitted < _REPLAY_BYTES_PER_TURN:
            if state.backlog_next is None:
                try:
                    state.backlog_next = next(state.backlog, None)
                except SpoolError as exc:  # that segment stays on disk; go on with the next one
                    state.spool_error("replay a spool segment", exc)
                    assert state.spool is not None
                    state.backlog = state.spool.replay()
                    continue
                if state.backlog_next is None:
                    state.backlog = None
                    return
            segment, data = state.backlog_next
            if state.buffered_bytes + len(data) > self._config.max_buffered_bytes:
                return
            state.backlog_next = None
            state.add(data, len(data), self._cost(len(data)), segment=segment)
            state.counters["replayed"] += 1
            admitted += len(data)

    def _sync_spool(self, now: float) -> None:
        if self._interval_sync and now >= self._next_sync:
            assert self._state.spool is not None
            try:
                self._state.spool.sync()
            except SpoolError as exc:
                self._state.spool_error("sync the spool", exc)
            self._next_sync = now + self._sync_every_s

    def _settle(self, request: list[PendingRecord], outcomes: list[Outcome]) -> list[PendingRecord]:
        """Apply PutRecords' outcomes; return the records whose outcome is final (finish them unlocked)."""
        state = self._state
        finished = []
        with state.lock:
            now = self._clock()
            for record, outcome in zip(request, outcomes, strict=True):
                if isinstance(outcome, Accepted):
                    record.shard_id = outcome.shard_id
                    record.sequence_number = outcome.sequence_number
                    state.counters["sent"] += len(record.payloads)
                    state.counters["bytes_sent"] += record.entry_bytes
                    state.complete(record, ok=True)
                    finished.append(record)
                elif self._retry_or_give_up(record, outcome, now):
                    finished.append(record)
            state.in_flight = []
            state.idle.notify_all()
            state.space_freed()
        return finished

    def _retry_or_give_up(self, record: PendingRecord, outcome: Outcome, now: float) -> bool:
        """Queue a refused record for retry after its backoff; True if its attempts ran out (failed)."""
        state = self._state
        assert not isinstance(outcome, Accepted)
        record.error_code = outcome.error_code
        record.error_message = outcome.message
        kind = classify(outcome.error_code, outcome.http_status)
        limit: int | None
        if kind is ErrorKind.OTHER:
            record.attempts_other += 1
            attempts, limit = record.attempts_other, self._config.max_attempts_non_throttle
        else:
            record.attempts += 1
            attempts, limit = record.attempts, self._config.max_attempts_throttled
            if kind is ErrorKind.THROTTLED:
                state.counters["throttled"] += 1
        if limit is not None and attempts >= limit:
            logger.warning(
                "giving up on %s events after %s x %s: %s",
                len(record.payloads),
                attempts,
                outcome.error_code,
                outcome.message,
            )
            state.counters["failed"] += len(record.payloads)
            state.complete(record, ok=False)
            return True
        state.counters["retried"] += 1
        delay = self._backoff.delay_s(attempts, self._rng)
        heapq.heappush(state.retries, (now + delay, next(state.retry_order), record))
        return False


def _entry_bytes(record: PendingRecord) -> int:
    return record.entry_bytes
