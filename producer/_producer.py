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

from schemas import BehaviourEventCodec

from ._aggregate import empty_cost, encode_aggregated, record_cost
from ._batch import RequestLimits, take_request
from ._config import ProducerConfig
from ._errors import BufferFullError, ProducerClosedError, ProducerForkedError
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
        self._limits = RequestLimits(
            max_records=config.max_records_per_request,
            max_bytes=config.max_request_bytes,
            max_record_bytes=config.max_aggregated_record_bytes,
        )
        self._backoff = Backoff(base_s=config.backoff_base_ms / 1000, max_s=config.backoff_max_ms / 1000)
        self._linger_s = config.linger_ms / 1000
        self._max_record_bytes = config.max_aggregated_record_bytes
        self._max_buffered = config.max_buffered_bytes

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
        self._thread = threading.Thread(target=self._run, name=f"nicelist-producer-{config.stream_name}", daemon=True)
        self._thread.start()
        self._pid = os.getpid()
        _LIVE.add(self)

    # --- the caller's side ---------------------------------------------------------------
    def put(self, event: Mapping[str, Any], callback: Callable[[DeliveryFuture], None] | None = None) -> DeliveryFuture:
        """Accept one event; return its delivery future. Never waits on the network.

        Fills ``event_id`` (uuid4) and ``observed_at`` (now) when absent or None. Raises
        schemas.ValidationError (naming the field) for an invalid event, BufferFullError when the
        buffer stayed full for put_timeout_s, SpoolFullError, ProducerClosedError after close().
        """
        if type(event) is not dict or event.get("event_id") is None or event.get("observed_at") is None:
            event = self._completed(event)
        data = self._codec.encode(event)
        size = len(data)
        cost = _COSTS.get(size) or _cost(size)
        with self._lock:  # the hot path: _add() inlined
            if self._closed:
                raise ProducerClosedError(f"producer closed ({self._failure or 'close() was called'})")
            if self._buffered_bytes + size > self._max_buffered:
                self._wait_for_space(size)
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

    def _wait_for_space(self, size: int) -> None:
        deadline = self._clock() + self.config.put_timeout_s
        while self._buffered_bytes + size > self._max_buffered:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise BufferFullError(
                    f"{self._buffered_bytes} bytes of events waiting for Kinesis (max_buffered_bytes="
                    f"{self._max_buffered}) for {self.config.put_timeout_s} s"
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
        the spool. Events still pending fail with ProducerClosedError (a spool keeps them for the next
        producer). Idempotent; returns the number of events that were still pending."""
        with self._close_lock:
            if self._shut:
                return 0
            with self._lock:
                self._closed = True
                self._space.notify_all()
            pending = self.flush(self.config.close_timeout_s if timeout is None else timeout)
            with self._lock:
                self._stopping = True
                self._wake.notify()
            self._thread.join()
            for record in self._abandon_pending("producer closed"):
                record.finish()
            if self._spool is not None:
                with self._lock:
                    self._spool.close()
            self._shut = True
        if pending:
            where = f"kept in spool {self._spool.directory}" if self._spool is not None else "LOST: no spool"
            logger.error("producer closed with %s events undelivered (%s)", pending, where)
        return pending

    def _abandon_pending(self, reason: str) -> list[PendingRecord]:
        """Fail every record not yet final with ProducerClosedError; run ``finish()`` on the result."""
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
        self.close()

    def metrics(self) -> dict[str, int]:
        """Counters since start. Events: accepted, sent, failed, spooled, replayed, pending_events;
        aggregated records: aggregated_records, retried, throttled; calls: put_records_calls;
        bytes: bytes_sent (data + keys), buffered_bytes, spool_bytes; damage found in the spool at
        start: spool_frames_lost (at least), spool_bytes_lost."""
        with self._lock:
            spool = self._spool
            counters = dict(self._counters, accepted=self._accepted, spooled=spool.appended if spool else 0)
            counters["spool_frames_lost"] = spool.frames_lost if spool else 0
            counters["spool_bytes_lost"] = spool.bytes_lost if spool else 0
            counters["buffered_bytes"] = self._buffered_bytes
            counters["pending_events"] = self._pending_locked()
            counters["spool_bytes"] = self._spool.disk_bytes if self._spool is not None else 0
            return counters

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
        except Exception as exc:  # a bug, or the spool failing under us: stop loudly, lose nothing silently
            logger.exception("producer sender thread died; undelivered events stay in the spool if there is one")
            with self._lock:
                self._failure = f"sender thread died: {exc!r}"
                self._closed = True
                self._space.notify_all()
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
            self._space.notify_all()
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
        self._space.notify_all()


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
