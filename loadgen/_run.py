"""Runs a :class:`~loadgen.LoadPlan`: one thread per elf app, each with its own producer.

Producers, the clock and the stop event are passed in. A full producer buffer (BufferFullError)
is back-pressure: the elf waits and offers the same event again; it never drops it. Delivery
results arrive through the producers' callbacks and are counted in a :class:`LoadTally`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from producer import BufferFullError, DeliveryFuture

from ._plan import LoadPlan

log = logging.getLogger(__name__)

#: how long an elf waits before offering an event again to a full producer
BACKPRESSURE_PAUSE_S = 0.05
#: failures kept as examples
FAILURE_SAMPLES = 20


class EventSink(Protocol):
    """What an elf app needs of a producer."""

    def put(self, event: Any, callback: Callable[[DeliveryFuture], None] | None = None) -> DeliveryFuture: ...


@dataclass
class LoadTally:
    """Counters shared by the elves and the producers' callback threads."""

    #: remember every delivered event id (the demo checks each against the archive)
    keep_ids: bool = False
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    backpressured: int = 0
    delivered_ids: set[str] = field(default_factory=set, repr=False)
    failures: list[tuple[str, str]] = field(default_factory=list, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    on_change: Callable[[], None] | None = field(default=None, repr=False)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def record_accepted(self) -> None:
        with self.lock:
            self.accepted += 1
        self._changed()

    def record_backpressure(self) -> None:
        with self.lock:
            self.backpressured += 1

    def record_delivery(self, event_id: str, future: DeliveryFuture) -> None:
        error = future.exception(timeout=0)
        with self.lock:
            if error is None:
                self.delivered += 1
                if self.keep_ids:
                    self.delivered_ids.add(event_id)
            else:
                self.failed += 1
                if len(self.failures) < FAILURE_SAMPLES:
                    self.failures.append((event_id, f"{type(error).__name__}: {error}"))
        if error is not None:
            log.warning("event %s was not delivered: %s", event_id, error)
        self._changed()

    @property
    def settled(self) -> int:
        with self.lock:
            return self.delivered + self.failed


def _elf(
    plan: LoadPlan,
    elf: int,
    sink: EventSink,
    tally: LoadTally,
    *,
    started: float,
    clock: Callable[[], float],
    stop: threading.Event,
) -> None:
    for planned in plan.events_of(elf):
        delay = started + planned.due_s - clock()
        if delay > 0 and stop.wait(delay):
            return
        event_id = planned.event["event_id"]

        def delivered(future: DeliveryFuture, event_id: str = event_id) -> None:
            tally.record_delivery(event_id, future)

        while True:
            if stop.is_set():
                return
            try:
                sink.put(planned.event, callback=delivered)
            except BufferFullError:
                tally.record_backpressure()
                stop.wait(BACKPRESSURE_PAUSE_S)
                continue
            tally.record_accepted()
            break


def run_load(
    plan: LoadPlan,
    sinks: Sequence[EventSink],
    tally: LoadTally,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[threading.Thread]:
    """Start one thread per elf (``sinks[i]`` is elf ``i``'s producer); returns the threads,
    which end when every event is accepted or ``stop`` is set. An exception in an elf (an
    invalid event, a closed producer) is logged and sets ``stop`` for all."""
    if len(sinks) != plan.population.elves:
        raise ValueError(f"need one producer per elf: {plan.population.elves}, got {len(sinks)}")
    stop = stop or threading.Event()
    started = clock()

    def guarded(elf: int) -> None:
        try:
            _elf(plan, elf, sinks[elf], tally, started=started, clock=clock, stop=stop)
        except Exception:
            log.exception("elf %s stopped", elf)
            stop.set()
            raise

    threads = [
        threading.Thread(target=guarded, args=(elf,), name=f"elf-{elf:03d}", daemon=True)
        for elf in range(plan.population.elves)
    ]
    for thread in threads:
        thread.start()
    return threads
