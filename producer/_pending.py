"""An aggregated record on its way to Kinesis, and the futures of the events inside it.

All events of one aggregated record share its fate (Kinesis accepts or refuses the record as a
whole), so the record carries the outcome and one ``threading.Event``; a future is just the
record plus the event's index, cheap enough to make for every put().
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import DeliveryFailedError, NotDeliveredError, ProducerError

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger(__name__)


class Receipt(NamedTuple):
    """Where Kinesis stored an event: the aggregated record's shard and sequence number, and the
    event's index inside it (the KCL's sub-sequence number)."""

    shard_id: str
    sequence_number: str
    subsequence_number: int


class PendingRecord:
    """One aggregated record: its events, its partition key, its attempts and its outcome.

    Mutable state is guarded by the producer's lock (``lock``); ``done`` is set once, after the
    outcome is final.
    """

    __slots__ = (
        "partition_key",
        "payloads",
        "cost",
        "segments",
        "spool_first",
        "deadline",
        "blob",
        "entry_bytes",
        "attempts",
        "attempts_other",
        "shard_id",
        "sequence_number",
        "error_code",
        "error_message",
        "closed",
        "callbacks",
        "completed",
        "done",
        "lock",
    )

    def __init__(self, partition_key: str, cost: int, deadline: float, lock: threading.Lock) -> None:
        self.partition_key = partition_key
        self.payloads: list[bytes] = []
        self.cost = cost  # bytes of the PutRecords entry this record will be
        self.segments: dict[int, int] = {}  # spool segment id -> replayed events of this record in it
        self.spool_first = -1  # spool append index of the first put() event (they are consecutive)
        self.deadline = deadline  # monotonic time the linger ends
        self.blob = b""
        self.entry_bytes = 0
        self.attempts = 0  # PutRecords attempts that failed with throttling or transient errors
        self.attempts_other = 0  # ... with any other error
        self.shard_id = ""
        self.sequence_number = ""
        self.error_code = ""
        self.error_message = ""
        self.closed = ""  # why the producer stopped before delivery, if it did
        self.callbacks: list[tuple[DeliveryFuture, Callable[[DeliveryFuture], None]]] = []
        self.completed = False  # outcome final (under lock); ``done`` follows outside the lock
        self.done = threading.Event()
        self.lock = lock

    def error_for(self, index: int) -> ProducerError | None:
        if not self.completed or self.sequence_number:
            return None
        payload = (self.payloads[index],)
        if self.closed:
            last = f"; last error {self.error_code}" if self.error_code else ""
            return NotDeliveredError(
                f"not delivered: {self.closed}{last} (with a spool, the next producer sends it)", payload
            )
        return DeliveryFailedError(
            self.error_code, self.error_message, attempts=self.attempts + self.attempts_other, payloads=payload
        )

    def finish(self) -> None:
        """Publish the outcome: wake waiters and run callbacks. Call without the producer's lock."""
        self.done.set()
        for future, callback in self.callbacks:
            try:
                callback(future)
            except Exception:
                logger.exception("delivery callback %r raised", callback)
        self.callbacks = []


class DeliveryFuture:
    """The delivery of one event: ``result()`` gives its :class:`Receipt` or raises
    :class:`DeliveryFailedError` / :class:`NotDeliveredError`.

    It is awaitable too: ``receipt = await future`` inside a running event loop waits without
    blocking the loop (the sender thread wakes it with ``call_soon_threadsafe``).
    """

    __slots__ = ("_record", "_index")

    def __init__(self, record: PendingRecord, index: int) -> None:
        self._record = record
        self._index = index

    def done(self) -> bool:
        return self._record.done.is_set()

    def result(self, timeout: float | None = None) -> Receipt:
        """Wait up to ``timeout`` seconds (None: forever); raise TimeoutError if still pending."""
        record = self._record
        if not record.done.wait(timeout):
            raise TimeoutError(f"event not delivered within {timeout} s")
        error = record.error_for(self._index)
        if error is not None:
            raise error
        return Receipt(record.shard_id, record.sequence_number, self._index)

    def exception(self, timeout: float | None = None) -> ProducerError | None:
        record = self._record
        if not record.done.wait(timeout):
            raise TimeoutError(f"event not delivered within {timeout} s")
        return record.error_for(self._index)

    def __await__(self) -> Generator[Any, None, Receipt]:
        if not self._record.done.is_set():
            yield from _loop_waiter(self).__await__()
        return self.result(0)

    def add_done_callback(self, callback: Callable[[DeliveryFuture], None]) -> None:
        """Call ``callback(future)`` once delivered or failed: from the producer's sender thread, or
        at once if already done. Exceptions it raises are logged. Keep callbacks short and never
        put() from one: the sender thread is what frees buffer space."""
        record = self._record
        with record.lock:
            if not record.completed:
                record.callbacks.append((self, callback))
                return
        record.done.wait()
        try:
            callback(self)
        except Exception:
            logger.exception("delivery callback %r raised", callback)


def _loop_waiter(future: DeliveryFuture) -> asyncio.Future[None]:
    """An asyncio future of the running loop that resolves once ``future`` is done."""
    import asyncio  # here: a thread-only app never pays for importing asyncio

    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: DeliveryFuture) -> None:  # on the sender thread, or at once if already done
        try:
            loop.call_soon_threadsafe(_resolve, waiter)
        except RuntimeError:  # the loop is closed: nobody awaits this any more
            pass

    future.add_done_callback(wake)
    return waiter


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # the awaiting task may have been cancelled
        waiter.set_result(None)
