"""The Producer: put() on the caller's thread, delivery on one background sender thread.

put() validates and encodes the event, appends it to the spool and to the open aggregated record,
and returns a future; it never touches the network. The sender thread (:mod:`._sender_loop`)
seals aggregated records when full or when their linger ends, packs them into PutRecords calls,
and retries the refused ones with backoff. Both share one :class:`~._state.ProducerState` under
its lock. An event leaves the spool only once Kinesis acknowledged it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import schemas
from foundation.clock import wall_clock_ms
from schemas import BehaviourEventCodec

from ._aggregate import record_cost
from ._cloudwatch import CloudWatchMetrics
from ._config import ProducerConfig
from ._errors import BufferFullError, ProducerClosedError, ProducerForkedError, ValidationError
from ._metrics import ProducerMetrics
from ._pending import DeliveryFuture
from ._sender import KinesisSender
from ._sender_loop import SenderLoop
from ._spool import Spool
from ._state import ProducerState

logger = logging.getLogger(__name__)

#: botocore settings for the client the producer makes: our own backoff does every retry.
_CLIENT_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
}


class Producer:
    """Sends behaviour events to Kinesis as KPL aggregated records. Thread-safe; a context manager.

    ``clock`` (monotonic seconds), ``now_ms`` (wall clock, epoch ms, fills ``observed_at``),
    ``rng`` (backoff jitter) and ``random_bytes`` (partition keys) are injectable for tests.
    Raises SpoolError (e.g. SpoolPermissionError for a spool directory it cannot write in or
    delete from, SpoolLockedError, SpoolStreamMismatchError) when the spool cannot be used.
    """

    def __init__(
        self,
        config: ProducerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = wall_clock_ms,
        rng: random.Random | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config
        self._clock = clock
        self._now_ms = now_ms
        client = config.kinesis_client or config.aws.client("kinesis", **_CLIENT_CONFIG)
        self._encode = BehaviourEventCodec().encode_not_after
        self._max_buffered = config.max_buffered_bytes
        self._max_skew_ms = config.max_future_skew_ms
        self._spool = _open_spool(config, client)
        self._state = ProducerState(
            spool=self._spool,
            clock=clock,
            random_bytes=random_bytes,
            linger_s=config.linger_ms / 1000,
            max_record_bytes=config.max_aggregated_record_bytes,
        )
        self._close_lock = threading.Lock()
        self._shut = False  # close() finished
        cloudwatch = None
        if config.metrics_interval_s is not None:  # opt-in; short timeouts: the sender thread publishes
            cw_client = config.cloudwatch_client or config.aws.client("cloudwatch", connect_timeout=2, read_timeout=5)
            read = lambda: self.metrics().as_dict()  # noqa: E731
            cloudwatch = CloudWatchMetrics(cw_client, config.stream_name, read, config.metrics_interval_s)
        self._cloudwatch = cloudwatch
        loop = SenderLoop(
            self._state,
            KinesisSender(client, config.stream_name),
            config,
            clock=clock,
            rng=rng or random.Random(),
            cost=_cost,
            cloudwatch=cloudwatch,
        )
        self._thread = threading.Thread(target=loop.run, name=f"nicelist-producer-{config.stream_name}", daemon=True)
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
        state = self._state
        with state.lock:
            if state.closed:
                raise ProducerClosedError(f"producer closed ({state.failure or 'close() was called'})")
            if state.buffered_bytes + size > self._max_buffered:
                self._wait_for_space(size, self.config.put_timeout_s if timeout is None else timeout)
            spool = self._spool
            record = state.add(
                data, size, cost, spool.append(data) if spool is not None else -1
            )  # spool first: it may refuse
            state.accepted += 1
            future = DeliveryFuture(record, len(record.payloads) - 1)
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
        state = self._state
        deadline = self._clock() + timeout
        while state.buffered_bytes + size > self._max_buffered:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise BufferFullError(
                    f"{state.buffered_bytes} bytes of events waiting for Kinesis (max_buffered_bytes="
                    f"{self._max_buffered}) for {timeout} s"
                )
            state.space.wait(remaining)
            if state.closed:
                raise ProducerClosedError("producer closed while put() waited for buffer space")

    def flush(self, timeout: float | None = None) -> int:
        """Send everything accepted so far (and any spool backlog) without waiting for linger;
        wait up to ``timeout`` seconds (None: until done). Return how many events are still pending."""
        state = self._state
        deadline = None if timeout is None else self._clock() + timeout
        with state.lock:
            state.flushes += 1
            state.wake.notify()
            try:
                while state.pending() and self._thread.is_alive():
                    remaining = None if deadline is None else deadline - self._clock()
                    if remaining is not None and remaining <= 0:
                        break
                    state.idle.wait(remaining)
            finally:
                state.flushes -= 1
            return state.pending()

    def close(self, timeout: float | None = None) -> int:
        """Flush for up to ``timeout`` s (default ``close_timeout_s``), stop the sender thread, close
        the spool. Events still pending fail with NotDeliveredError (a spool keeps them for the next
        producer). Idempotent; returns the number of events that were still pending."""
        state = self._state
        with self._close_lock:
            if self._shut:
                return 0
            with state.lock:
                state.closed = True
                state.space_freed()
            pending = self.flush(self.config.close_timeout_s if timeout is None else timeout)
            with state.lock:
                state.stopping = True
                state.wake.notify()
            self._thread.join()
            if self._cloudwatch is not None:
                self._cloudwatch.close()
            with state.lock:
                abandoned = state.abandon_pending("producer closed")
            for record in abandoned:
                record.finish()
            if self._spool is not None:
                with state.lock:
                    self._spool.close()
            self._shut = True
        if pending:
            logger.error("producer closed with %s events undelivered (%s)", pending, self._where_pending())
        return pending

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

        self._state.failure = message
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
        state = self._state
        spool = self._spool
        with state.lock:
            counters = state.counters
            return ProducerMetrics(
                accepted=state.accepted,
                sent=counters["sent"],
                failed=counters["failed"],
                spooled=spool.appended if spool is not None else 0,
                replayed=counters["replayed"],
                pending_events=state.pending(),
                aggregated_records=counters["aggregated_records"],
                retried=counters["retried"],
                throttled=counters["throttled"],
                put_records_calls=counters["put_records_calls"],
                bytes_sent=counters["bytes_sent"],
                buffered_bytes=state.buffered_bytes,
                spool_bytes=spool.disk_bytes if spool is not None else 0,
                spool_frames_lost=spool.events_lost if spool is not None else 0,
                spool_bytes_lost=spool.bytes_lost if spool is not None else 0,
                spool_events_lost=spool.events_lost if spool is not None else 0,
                spool_foreign_segments=spool.foreign_segments if spool is not None else 0,
                spool_errors=counters["spool_errors"],
            )

    def _on_space(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from any thread, the lock held: it must only schedule) whenever
        buffer space may have been freed or the producer closed. For :class:`AsyncProducer`."""
        with self._state.lock:
            self._state.space_listeners.append(listener)


def _open_spool(config: ProducerConfig, client: Any) -> Spool | None:
    """The producer's spool, named after the stream, region and endpoint it sends to (as far as
    they are known: an injected client's own, else ``config.aws``'s)."""
    directory = config.resolved_spool_dir
    if directory is None:
        return None
    meta = getattr(client, "meta", None)
    if config.kinesis_client is not None:
        region = getattr(meta, "region_name", None)
        endpoint = getattr(meta, "endpoint_url", None)
    else:
        region, endpoint = config.aws.region, config.aws.endpoint_url
    return Spool(
        directory,
        max_bytes=config.max_spool_bytes,
        segment_bytes=config.spool_segment_bytes,
        fsync=config.fsync,
        stream=config.stream_name,
        region=region if isinstance(region, str) else None,
        endpoint=endpoint if isinstance(endpoint, str) else None,
    )


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
