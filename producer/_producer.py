"""The Producer: put() on the caller's thread, delivery on one background sender thread.

put() validates and encodes the event, appends it to the spool and to the open aggregated record,
and returns a future; it never touches the network. The sender thread seals aggregated records
when full or when their linger ends, packs them into PutRecords calls, and retries the refused
ones with backoff. An event leaves the spool only once Kinesis acknowledged it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import schemas
from schemas import BehaviourEventCodec

from ._aggregate import empty_cost, encode_aggregated, record_cost
from ._batch import RequestLimits, take_request
from ._cloudwatch import CloudWatchMetrics
from ._config import ProducerConfig
from ._errors import BufferFullError, ProducerClosedError, ProducerForkedError, ValidationError
from ._metrics import ProducerMetrics
from ._partition import random_partition_key
from ._pending import DeliveryFuture, PendingRecord
from ._retry import Backoff, ErrorKind, classify
from ._sender import Accepted, KinesisSender, Outcome
from ._spool import FsyncPolicy, Spool

logger = logging.getLogger(__name__)

#: Backlog admitted per turn of the sender loop, so replay after a restart never starves put().
_REPLAY_BYTES_PER_TURN = 1024 * 1024
#: botocore settings for the client the producer makes: our own backoff does every retry.
_CLIENT_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Producer:
    """Sends behaviour events to Kinesis as KPL aggregated records. Thread-safe; a context manager.

    ``clock`` (monotonic seconds), ``now_ms`` (wall clock, epoch ms, fills ``observed_at``),
    ``rng`` (backoff jitter) and ``random_bytes`` (partition keys) are injectable for tests.
    """

    def __init__(
        self,
        config: ProducerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = _now_ms,
        rng: random.Random | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config
        self._clock = clock
        self._now_ms = now_ms
        self._rng = rng or random.Random()
        self._random_bytes = random_bytes
        client = config.kinesis_client or config.aws.client("kinesis", **_CLIENT_CONFIG)
        self._sender = KinesisSender(client, config.stream_name)
        self._codec = BehaviourEventCodec()
        self._encode = self._codec.encode_not_after
        self._limits = RequestLimits(
            max_records=config.max_records_per_request,
            max_bytes=config.max_request_bytes,
            max_record_bytes=config.max_aggregated_record_bytes,
        )
        self._backoff = Backoff(base_s=config.backoff_base_ms / 1000, max_s=config.backoff_max_ms / 1000)
        self._linger_s = config.linger_ms / 1000
        self._max_record_bytes = config.max_aggregated_record_bytes
        self._max_buffered = config.max_buffered_bytes
        self._max_skew_ms = config.max_future_skew_ms
        self._space_listeners: list[Callable[[], None]] = []  # AsyncProducer's wake-ups

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the sender thread waits on it
        self._space = threading.Condition(self._lock)  # put() waits on it for buffer space
        self._idle = threading.Condition(self._lock)  # flush() waits on it

        self._open: PendingRecord | None = None
        self._ready: deque[PendingRecord] = deque()
        self._retries: list[tuple[float, int, PendingRecord]] = []
        self._retry_order = itertools.count()
        self._in_flight: list[PendingRecord] = []
        self._completed_events = 0  # delivered, failed or abandoned; pending = accepted + replayed - this
        self._buffered_bytes = 0
        self._flushes = 0
        self._accepted = 0  # hot counters live outside the dict
        self._closed = False  # no more put()
        self._failure = ""  # why the sender thread stopped on its own, if it did
        self._close_lock = threading.Lock()
        self._shut = False  # close() finished
        self._stopping = False  # the sender thread must give up and exit
        self._counters = dict.fromkeys(
            (
                "sent",
                "failed",
                "retried",
                "throttled",
                "aggregated_records",
                "put_records_calls",
                "bytes_sent",
                "replayed",
            ),
            0,
        )

        spool_dir = config.resolved_spool_dir
        self._spool: Spool | None = None
        self._backlog: Iterator[tuple[int, bytes]] | None = None
        self._backlog_next: tuple[int, bytes] | None = None
        if spool_dir is not None:
            self._spool = Spool(
                spool_dir,
                max_bytes=config.max_spool_bytes,
                segment_bytes=config.spool_segment_bytes,
                fsync=config.fsync,
                stream=config.stream_name,
            )
            if self._spool.backlog_events:
                self._backlog = self._spool.replay()
        self._next_sync = self._clock() + config.fsync_interval_ms / 1000
        self._cloudwatch: CloudWatchMetrics | None = None
        if config.metrics_interval_s is not None:  # opt-in; short timeouts: the sender thread publishes
            cloudwatch = config.cloudwatch_client or config.aws.client("cloudwatch", connect_timeout=2, read_timeout=5)
            self._cloudwatch = CloudWatchMetrics(
                cloudwatch, config.stream_name, lambda: self.metrics().as_dict(), config.metrics_interval_s
            )
        self._thread = threading.Thread(target=self._run, name=f"nicelist-producer-{config.stream_name}", daemon=True)
        self._thread.start()
        self._pid = os.getpid()
        _LIVE.add(self)

    # --- the caller's side ---------------------------------------------------------------
    def put(
        self,
        event: Mapping[str, Any],
        callback: Callable[[DeliveryFuture], None] | None = None,
        *,
        timeout: float | None = None,
    ) -> DeliveryFuture:
        """Accept one event; return its delivery future. Never waits on the network.

        Fills ``event_id`` (uuid4) and ``observed_at`` (now) when absent or None. Raises
        ValidationError (naming the field) for an invalid event, an ``observed_at`` more than
        ``max_future_skew_s`` past the producer's clock included; BufferFullError when the buffer
        stayed full for ``timeout`` s (None: ``put_timeout_s``; 0: do not wait); SpoolFullError;
        ProducerClosedError after close().
        """
        try:
            if type(event) is not dict or event.get("event_id") is None or event.get("observed_at") is None:
                event = self._completed(event)
            data = self._encode(event, self._now_ms() + self._max_skew_ms)
        except schemas.ValidationError as exc:
            raise ValidationError.from_schema(exc) from None
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:  # a Mapping's own methods failing
            raise ValidationError("event", f"cannot be read or encoded: {exc!r:.200}") from exc
        size = len(data)
        cost = _COSTS.get(size) or _cost(size)
        with self._lock:  # the hot path: _add() inlined
            if self._closed:
                raise ProducerClosedError(f"producer closed ({self._failure or 'close() was called'})")
            if self._buffered_bytes + size > self._max_buffered:
                self._wait_for_space(size, self.config.put_timeout_s if timeout is None else timeout)
            index = self._spool.append(data) if self._spool is not None else -1  # first: it may refuse
            record = self._open
            if record is None or record.cost + cost > self._max_record_bytes:
                record = self._new_record()
            if record.spool_first < 0:  # a record's put() events are consecutive in the spool
                record.spool_first = index
            payloads = record.payloads
            future = DeliveryFuture(record, len(payloads))
            payloads.append(data)
            record.cost += cost
            self._buffered_bytes += size
            self._accepted += 1
            if callback is not None:
                record.callbacks.append((future, callback))
        return future

    def _completed(self, event: Any) -> Any:
        """The event with ``event_id`` and ``observed_at`` filled in when absent (a copy), or as is."""
        if not isinstance(event, Mapping):
            return event  # the codec refuses it, naming the problem
        if event.get("event_id") is not None and event.get("observed_at") is not None:
            return event
        event = dict(event)
        if event.get("event_id") is None:
            event["event_id"] = str(uuid.uuid4())
        if event.get("observed_at") is None:
            event["observed_at"] = self._now_ms()
        return event

    def _wait_for_space(self, size: int, timeout: float) -> None:
        deadline = self._clock() + timeout
        while self._buffered_bytes + size > self._max_buffered:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise BufferFullError(
                    f"{self._buffered_bytes} bytes of events waiting for Kinesis (max_buffered_bytes="
                    f"{self._max_buffered}) for {timeout} s"
                )
            self._space.wait(remaining)
            if self._closed:
                raise ProducerClosedError("producer closed while put() waited for buffer space")

    def _add(self, data: bytes, segment: int) -> None:
        """Append one encoded event to the open aggregated record (lock held); put() inlines this."""
        size = len(data)
        cost = _COSTS.get(size) or _cost(size)
        record = self._open
        if record is None or record.cost + cost > self._max_record_bytes:
            record = self._new_record()
        record.payloads.append(data)
        record.cost += cost
        if segment >= 0:
            segments = record.segments
            segments[segment] = segments.get(segment, 0) + 1
        self._buffered_bytes += size

    def _new_record(self) -> PendingRecord:
        """Seal the open aggregated record, if any, and open a new one with a fresh key (lock held)."""
        if self._open is not None:
            self._seal(self._open)
        key = random_partition_key(self._random_bytes)
        record = self._open = PendingRecord(key, empty_cost(key), self._clock() + self._linger_s, self._lock)
        self._wake.notify()
        return record

    def _seal(self, record: PendingRecord) -> None:
        """Build the aggregated record's bytes and queue it for sending (lock held)."""
        record.blob = encode_aggregated(record.partition_key, record.payloads)
        record.entry_bytes = len(record.blob) + len(record.partition_key.encode("utf-8"))
        self._ready.append(record)
        self._counters["aggregated_records"] += 1
        if self._open is record:
            self._open = None
        self._wake.notify()

    def flush(self, timeout: float | None = None) -> int:
        """Send everything accepted so far (and any spool backlog) without waiting for linger;
        wait up to ``timeout`` seconds (None: until done). Return how many events are still pending."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._lock:
            self._flushes += 1
            self._wake.notify()
            try:
                while self._pending_locked() and self._thread.is_alive():
                    remaining = None if deadline is None else deadline - self._clock()
                    if remaining is not None and remaining <= 0:
                        break
                    self._idle.wait(remaining)
            finally:
                self._flushes -= 1
            return self._pending_locked()

    def _pending_locked(self) -> int:
        backlog = self._spool.backlog_events if self._spool is not None else 0
        taken = self._accepted + self._counters["replayed"] - self._completed_events
        return taken + backlog + (1 if self._backlog_next is not None else 0)

    def close(self, timeout: float | None = None) -> int:
        """Flush for up to ``timeout`` s (default ``close_timeout_s``), stop the sender thread, close
        the spool. Events still pending fail with NotDeliveredError (a spool keeps them for the next
        producer). Idempotent; returns the number of events that were still pending."""
        with self._close_lock:
            if self._shut:
                return 0
            with self._lock:
                self._closed = True
                self._space_freed()
            pending = self.flush(self.config.close_timeout_s if timeout is None else timeout)
            with self._lock:
                self._stopping = True
                self._wake.notify()
            self._thread.join()
            if self._cloudwatch is not None:
                self._cloudwatch.close()
            for record in self._abandon_pending("producer closed"):
                record.finish()
            if self._spool is not None:
                with self._lock:
                    self._spool.close()
            self._shut = True
        if pending:
            logger.error("producer closed with %s events undelivered (%s)", pending, self._where_pending())
        return pending

    def _abandon_pending(self, reason: str) -> list[PendingRecord]:
        """Fail every record not yet final with NotDeliveredError; run ``finish()`` on the result."""
        with self._lock:
            candidates = [*self._ready, *(r for _, _, r in self._retries), *self._in_flight]
            if self._open is not None:
                candidates.append(self._open)
            self._ready.clear()
            self._retries.clear()
            self._in_flight = []
            self._open = None
            records = list({id(r): r for r in candidates if not r.completed}.values())
            for record in records:
                record.closed = reason
                self._complete(record, ok=False)
            return records

    def _disown_after_fork(self) -> None:
        """In a forked child: this producer's thread, lock and spool are the parent's. Refuse put()
        and flush() with ProducerForkedError, make close() a no-op, and drop the child's copies of
        the spool's map and descriptors without touching the files (the parent keeps its lock)."""
        message = (
            f"this producer belongs to process {self._pid}; a forked child (pid {os.getpid()}) must create its "
            "own Producer (with its own spool_dir)"
        )

        def refuse(*args: object, **kwargs: object) -> Any:
            raise ProducerForkedError(message)

        def close(timeout: float | None = None) -> int:
            return 0

        self._failure = message
        self.__dict__.update(put=refuse, flush=refuse, close=close)  # instance attributes: no cost in the parent
        if self._spool is not None:
            self._spool.abandon_after_fork()

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close; on an exception, wait only ``exit_on_error_flush_s`` for pending events (what is
        left stays in the spool, and the log says how many) so the exception is not held up."""
        if exc_type is None:
            self.close()
            return
        pending = self.close(timeout=self.config.exit_on_error_flush_s)
        if pending:
            logger.warning(
                "leaving the producer on %s: %s events still pending after %s s (%s)",
                exc_type.__name__,
                pending,
                self.config.exit_on_error_flush_s,
                self._where_pending(),
            )

    def _where_pending(self) -> str:
        return f"kept in spool {self._spool.directory}" if self._spool is not None else "LOST: no spool"

    def metrics(self) -> ProducerMetrics:
        """A snapshot of the counters since start (``.as_dict()`` for the old dict shape)."""
        with self._lock:
            counters = self._counters
            return ProducerMetrics(
                accepted=self._accepted,
                sent=counters["sent"],
                failed=counters["failed"],
                spooled=self._spool.appended if self._spool is not None else 0,
                replayed=counters["replayed"],
                pending_events=self._pending_locked(),
                aggregated_records=counters["aggregated_records"],
                retried=counters["retried"],
                throttled=counters["throttled"],
                put_records_calls=counters["put_records_calls"],
                bytes_sent=counters["bytes_sent"],
                buffered_bytes=self._buffered_bytes,
                spool_bytes=self._spool.disk_bytes if self._spool is not None else 0,
                spool_frames_lost=self._spool.frames_lost if self._spool is not None else 0,
                spool_bytes_lost=self._spool.bytes_lost if self._spool is not None else 0,
            )

    def _on_space(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from any thread, the lock held: it must only schedule) whenever
        buffer space may have been freed or the producer closed. For :class:`AsyncProducer`."""
        with self._lock:
            self._space_listeners.append(listener)

    def _space_freed(self) -> None:
        """Wake put()s waiting for buffer space, threads and event loops alike (lock held)."""
        self._space.notify_all()
        for listener in self._space_listeners:
            listener()

    # --- the sender thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                request = self._next_request()
                if request is None:
                    return
                outcomes = self._sender.put_records([(r.blob, r.partition_key) for r in request])
                finished = self._settle(request, outcomes)
                for record in finished:
                    record.finish()
                if self._cloudwatch is not None:
                    self._cloudwatch.publish_if_due()
        except Exception as exc:  # a bug, or the spool failing under us: stop loudly, lose nothing silently
            logger.exception("producer sender thread died; undelivered events stay in the spool if there is one")
            with self._lock:
                self._failure = f"sender thread died: {exc!r}"
                self._closed = True
                self._space_freed()
            for record in self._abandon_pending(self._failure):
                record.finish()

    def _next_request(self) -> list[PendingRecord] | None:
        """Wait until there is something to send; return it, or None when stopping."""
        with self._lock:
            while True:
                now = self._clock()
                if self._stopping:
                    return None
                self._admit_backlog()
                open_record = self._open
                if open_record is not None and (
                    now >= open_record.deadline or self._flushes or self._closed or self._backlog_next is not None
                ):
                    self._seal(open_record)
                    open_record = None
                while self._retries and self._retries[0][0] <= now:
                    self._ready.append(heapq.heappop(self._retries)[2])
                self._sync_spool(now)
                if self._ready:
                    request = take_request(self._ready, _entry_bytes, self._limits)
                    self._in_flight = request
                    self._counters["put_records_calls"] += 1
                    return request
                timeout: float | None = None
                if open_record is not None:
                    timeout = open_record.deadline - now
                if self._retries:
                    timeout = min(timeout if timeout is not None else float("inf"), self._retries[0][0] - now)
                if self._spool is not None and self.config.fsync is FsyncPolicy.INTERVAL:
                    timeout = min(timeout if timeout is not None else float("inf"), self._next_sync - now)
                self._wake.wait(None if timeout is None else max(timeout, 0.0))

    def _admit_backlog(self) -> None:
        """Move spooled events of an earlier run into aggregated records, within the buffer cap."""
        if self._backlog is None:
            return
        admitted = 0
        while admitted < _REPLAY_BYTES_PER_TURN:
            if self._backlog_next is None:
                self._backlog_next = next(self._backlog, None)
                if self._backlog_next is None:
                    self._backlog = None
                    return
            segment, data = self._backlog_next
            if self._buffered_bytes + len(data) > self._max_buffered:
                return
            self._backlog_next = None
            self._add(data, segment)
            self._counters["replayed"] += 1
            admitted += len(data)

    def _sync_spool(self, now: float) -> None:
        if self._spool is not None and self.config.fsync is FsyncPolicy.INTERVAL and now >= self._next_sync:
            self._spool.sync()
            self._next_sync = now + self.config.fsync_interval_ms / 1000

    def _settle(self, request: list[PendingRecord], outcomes: list[Outcome]) -> list[PendingRecord]:
        finished = []
        with self._lock:
            now = self._clock()
            for record, outcome in zip(request, outcomes, strict=True):
                if isinstance(outcome, Accepted):
                    record.shard_id = outcome.shard_id
                    record.sequence_number = outcome.sequence_number
                    self._counters["sent"] += len(record.payloads)
                    self._counters["bytes_sent"] += record.entry_bytes
                    self._complete(record, ok=True)
                    finished.append(record)
                    continue
                record.error_code = outcome.error_code
                record.error_message = outcome.message
                kind = classify(outcome.error_code, outcome.http_status)
                limit: int | None
                if kind is ErrorKind.OTHER:
                    record.attempts_other += 1
                    attempts, limit = record.attempts_other, self.config.max_attempts_non_throttle
                else:
                    record.attempts += 1
                    attempts, limit = record.attempts, self.config.max_attempts_throttled
                    if kind is ErrorKind.THROTTLED:
                        self._counters["throttled"] += 1
                if limit is not None and attempts >= limit:
                    logger.warning(
                        "giving up on %s events after %s x %s: %s",
                        len(record.payloads),
                        attempts,
                        outcome.error_code,
                        outcome.message,
                    )
                    self._counters["failed"] += len(record.payloads)
                    self._complete(record, ok=False)
                    finished.append(record)
                    continue
                self._counters["retried"] += 1
                delay = self._backoff.delay_s(attempts, self._rng)
                heapq.heappush(self._retries, (now + delay, next(self._retry_order), record))
            self._in_flight = []
            self._idle.notify_all()
            self._space_freed()
        return finished

    def _complete(self, record: PendingRecord, *, ok: bool) -> None:
        """Record the final outcome (lock held); the caller runs ``record.finish()`` after unlocking."""
        if ok and self._spool is not None:
            replayed = 0
            for segment, count in record.segments.items():
                self._spool.ack(segment, count)
                replayed += count
            if len(record.payloads) > replayed:
                self._spool.ack_appended(record.spool_first, len(record.payloads) - replayed)
        # a failed event is not acknowledged: it stays in the spool for the next producer
        self._buffered_bytes -= sum(map(len, record.payloads))
        self._completed_events += len(record.payloads)
        record.completed = True
        self._idle.notify_all()
        self._space_freed()


_COSTS: dict[int, int] = {}

#: producers of this process, disowned in a forked child (their thread and lock stay in the parent)
_LIVE: weakref.WeakSet[Producer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for producer in list(_LIVE):
        producer._disown_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _cost(size: int) -> int:
    cost = _COSTS[size] = record_cost(size)
    return cost


def _entry_bytes(record: PendingRecord) -> int:
    return record.entry_bytes
