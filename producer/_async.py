"""AsyncProducer: the Producer for asyncio code, without ever blocking the event loop.

It wraps one :class:`~producer.Producer` (same sender thread, spool, limits and guarantees; no
second engine). ``await put(event)`` accepts the event on the loop's thread when the buffer has
room, which takes microseconds and never touches the network or waits for the disk (with
``fsync=FsyncPolicy.ALWAYS``, where every put() waits for a disk flush, it runs in a worker
thread instead); when the buffer is full it waits on an asyncio event that the sender thread sets
(``call_soon_threadsafe``) whenever space is freed, so other tasks keep running. ``flush`` and
``close`` wait in a worker thread.

    async with AsyncProducer(ProducerConfig(stream_name="nicelist")) as producer:
        delivery = await producer.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
        receipt = await delivery  # Receipt(shard_id, sequence_number, subsequence_number), or raises
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ._config import ProducerConfig
from ._errors import BufferFullError
from ._metrics import ProducerMetrics
from ._pending import DeliveryFuture
from ._producer import Producer
from ._spool import FsyncPolicy


class AsyncProducer:
    """Sends behaviour events to Kinesis from asyncio code; an async context manager.

    Give it a :class:`ProducerConfig` (it builds the Producer) or a :class:`Producer` to wrap (for
    injected clocks, or to share one producer between threads and a loop); it closes that
    producer when closed. Every method but ``metrics`` is a coroutine; none blocks the loop.
    """

    def __init__(self, config: ProducerConfig | Producer) -> None:
        self._producer = config if isinstance(config, Producer) else Producer(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: set[asyncio.Event] = set()  # one per put() waiting for space; loop thread only
        self._put_waits_for_disk = self.config.spool_dir is not None and self.config.fsync is FsyncPolicy.ALWAYS
        self._producer._on_space(self._space_freed)

    @property
    def producer(self) -> Producer:
        """The wrapped thread-side Producer (its put() may block: not for the loop's thread)."""
        return self._producer

    @property
    def config(self) -> ProducerConfig:
        return self._producer.config

    async def put(self, event: Mapping[str, Any]) -> DeliveryFuture:
        """Accept one event; return its delivery future (``await`` it for the :class:`Receipt`).

        Fills ``event_id`` and ``observed_at`` like :meth:`Producer.put`. While the buffer is full
        it waits up to ``put_timeout_s`` without blocking the loop, then raises BufferFullError.
        Raises ValidationError, SpoolFullError and ProducerClosedError like :meth:`Producer.put`.
        A put() cancelled while it waits for space has not accepted the event.
        """
        try:
            return await self._offer(event)
        except BufferFullError:
            if self.config.put_timeout_s <= 0:
                raise
        loop = asyncio.get_running_loop()
        self._loop = loop
        deadline = loop.time() + self.config.put_timeout_s
        space = asyncio.Event()
        self._waiting.add(space)
        try:
            while True:
                space.clear()  # before trying: space freed after this attempt sets it again
                try:
                    return await self._offer(event)
                except BufferFullError:
                    if loop.time() >= deadline:
                        raise
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await space.wait()
        finally:
            self._waiting.discard(space)

    async def _offer(self, event: Mapping[str, Any]) -> DeliveryFuture:
        """One attempt that never waits for buffer space: BufferFullError if there is none."""
        if self._put_waits_for_disk:
            return await asyncio.to_thread(self._producer.put, event, None, timeout=0)
        return self._producer.put(event, timeout=0)

    def _space_freed(self) -> None:
        """From the sender thread (producer lock held): schedule the wake-up; never block."""
        loop = self._loop
        if self._waiting and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for space in self._waiting:
            space.set()

    async def flush(self, timeout: float | None = None) -> int:
        """Send everything accepted so far; wait up to ``timeout`` s (None: until done) in a worker
        thread. Return how many events are still pending."""
        return await asyncio.to_thread(self._producer.flush, timeout)

    async def close(self, timeout: float | None = None) -> int:
        """Flush for up to ``timeout`` s (default ``close_timeout_s``) and stop, in a worker thread.
        Pending events fail with NotDeliveredError (a spool keeps them). Returns their number."""
        return await asyncio.to_thread(self._producer.close, timeout)

    def metrics(self) -> ProducerMetrics:
        return self._producer.metrics()

    async def __aenter__(self) -> AsyncProducer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Like ``Producer.__exit__``: on an exception, wait only ``exit_on_error_flush_s``."""
        await asyncio.to_thread(self._producer.__exit__, exc_type, exc, tb)
