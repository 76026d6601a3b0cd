"""What put() and the sender thread share: the open aggregated record, the queues, the counters and
the spool, guarded by one lock. Every method here runs with that lock held."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator

from ._aggregate import empty_cost, encode_aggregated
from ._errors import SpoolError
from ._partition import random_partition_key
from ._pending import PendingRecord
from ._spool import Spool

logger = logging.getLogger(__name__)

COUNTERS = (
    "sent",
    "failed",
    "retried",
    "throttled",
    "aggregated_records",
    "put_records_calls",
    "bytes_sent",
    "replayed",
    "spool_errors",
)


class ProducerState:
    """The producer's shared state. ``lock`` guards everything; ``wake`` wakes the sender thread,
    ``space`` the put()s waiting for buffer space, ``idle`` the flush()es."""

    def __init__(
        self,
        *,
        spool: Spool | None,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes],
        linger_s: float,
        max_record_bytes: int,
    ) -> None:
        self.spool = spool
        self._clock = clock
        self._random_bytes = random_bytes
        self._linger_s = linger_s
        self._max_record_bytes = max_record_bytes
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.space = threading.Condition(self.lock)
        self.idle = threading.Condition(self.lock)
        self.space_listeners: list[Callable[[], None]] = []  # AsyncProducer's wake-ups

        self.open: PendingRecord | None = None
        self.ready: deque[PendingRecord] = deque()
        self.retries: list[tuple[float, int, PendingRecord]] = []
        self.retry_order = itertools.count()
        self.in_flight: list[PendingRecord] = []
        self.accepted = 0  # the hottest counter lives outside the dict
        self.completed_events = 0  # delivered, failed or abandoned; pending = accepted + replayed - this
        self.buffered_bytes = 0
        self.flushes = 0  # flush() calls waiting
        self.closed = False  # no more put()
        self.stopping = False  # the sender thread must give up and exit
        self.failure = ""  # why the sender thread stopped on its own, if it did
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.backlog: Iterator[tuple[int, bytes]] | None = None
        self.backlog_next: tuple[int, bytes] | None = None
        if spool is not None and spool.backlog_events:
            self.backlog = spool.replay()

    def add(self, data: bytes, size: int, cost: int, spool_index: int = -1, segment: int = -1) -> PendingRecord:
        """Append one encoded event to the open aggregated record: a put() event (its spool append
        index, or -1 without a spool) or a replayed one (its backlog ``segment``)."""
        record = self.open
        if record is None or record.cost + cost > self._max_record_bytes:
            record = self.new_record()
        if spool_index >= 0 and record.spool_first < 0:  # a record's put() events are consecutive in the spool
            record.spool_first = spool_index
        if segment >= 0:
            segments = record.segments
            segments[segment] = segments.get(segment, 0) + 1
        record.payloads.append(data)
        record.cost += cost
        self.buffered_bytes += size
        return record

    def new_record(self) -> PendingRecord:
        """Seal the open aggregated record, if any, and open a new one with a fresh key."""
        if self.open is not None:
            self.seal(self.open)
        key = random_partition_key(self._random_bytes)
        record = self.open = PendingRecord(key, empty_cost(key), self._clock() + self._linger_s, self.lock)
        self.wake.notify()
        return record

    def seal(self, record: PendingRecord) -> None:
        """Build the aggregated record's bytes and queue it for sending."""
        record.blob = encode_aggregated(record.partition_key, record.payloads)
        record.entry_bytes = len(record.blob) + len(record.partition_key.encode("utf-8"))
        self.ready.append(record)
        self.counters["aggregated_records"] += 1
        if self.open is record:
            self.open = None
        self.wake.notify()

    def pending(self) -> int:
        backlog = self.spool.backlog_events if self.spool is not None else 0
        taken = self.accepted + self.counters["replayed"] - self.completed_events
        return taken + backlog + (1 if self.backlog_next is not None else 0)

    def space_freed(self) -> None:
        """Wake put()s waiting for buffer space, threads and event loops alike."""
        self.space.notify_all()
        for listener in self.space_listeners:
            listener()

    def complete(self, record: PendingRecord, *, ok: bool) -> None:
        """Record the final outcome; the caller runs ``record.finish()`` after unlocking."""
        if ok and self.spool is not None:
            self._acknowledge(record)
        # a failed event is not acknowledged: it stays in the spool for the next producer
        self.buffered_bytes -= sum(map(len, record.payloads))
        self.completed_events += len(record.payloads)
        record.completed = True
        self.idle.notify_all()
        self.space_freed()

    def _acknowledge(self, record: PendingRecord) -> None:
        """Tell the spool the record's events reached Kinesis. A spool error here costs at most a
        duplicate (the file stays and the next producer sends it again): logged, counted, not raised."""
        assert self.spool is not None
        try:
            replayed = 0
            for segment, count in record.segments.items():
                self.spool.ack(segment, count)
                replayed += count
            if len(record.payloads) > replayed:
                self.spool.ack_appended(record.spool_first, len(record.payloads) - replayed)
        except SpoolError as exc:
            self.spool_error("acknowledge delivered events", exc)

    def spool_error(self, doing: str, exc: SpoolError) -> None:
        """A spool error on the sender thread: logged (the first, then every hundredth) and counted."""
        self.counters["spool_errors"] += 1
        errors = self.counters["spool_errors"]
        if errors == 1 or errors % 100 == 0:
            logger.error("spool error #%s (the sender thread goes on): cannot %s: %s", errors, doing, exc)

    def abandon_pending(self, reason: str) -> list[PendingRecord]:
        """Fail every record not yet final with NotDeliveredError; run ``finish()`` on the result."""
        candidates = [*self.ready, *(r for _, _, r in self.retries), *self.in_flight]
        if self.open is not None:
            candidates.append(self.open)
        self.ready.clear()
        self.retries.clear()
        self.in_flight = []
        self.open = None
        records = list({id(r): r for r in candidates if not r.completed}.values())
        for record in records:
            record.closed = reason
            self.complete(record, ok=False)
        return records
