"""``produce()``: run a load plan through a fleet of elf producers and wait for every delivery."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from foundation.progress import Progress

from ._fleet import ElfFleet, FleetConfig
from ._plan import LoadPlan
from ._run import LoadTally

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ProduceResult:
    planned: int
    accepted: int
    delivered: int
    failed: int
    #: accepted but neither delivered nor failed when the flush timed out (kept in the spools)
    undelivered: int
    backpressured: int
    elapsed_s: float
    metrics: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.failed == 0 and self.undelivered == 0 and self.delivered == self.planned

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.elapsed_s if self.elapsed_s > 0 else 0.0


def produce(
    plan: LoadPlan,
    config: FleetConfig,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    flush_timeout_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
) -> ProduceResult:
    """Send every planned event; returns when all are delivered, failed, or the flush timed out."""
    progress = progress or Progress(enabled=False)
    stop = stop or threading.Event()
    total = plan.shape.events
    accepted_bar = progress.bar("accepted", total)
    delivered_bar = progress.bar("delivered", total)
    tally = LoadTally()

    def refresh() -> None:
        accepted_bar.set(tally.accepted)
        delivered_bar.set(tally.delivered)

    tally.on_change = refresh
    started = clock()
    with ElfFleet(config, plan.population.elves, tally) as fleet:
        fleet.start(plan, stop, clock=clock)
        try:
            while not fleet.join(timeout=0.5):
                pass
        except KeyboardInterrupt:
            stop.set()
            fleet.join(timeout=5)
            raise
        undelivered = fleet.flush(flush_timeout_s)
        metrics = fleet.metrics()
    elapsed = clock() - started
    progress.close()
    return ProduceResult(
        planned=total,
        accepted=tally.accepted,
        delivered=tally.delivered,
        failed=tally.failed,
        undelivered=undelivered,
        backpressured=tally.backpressured,
        elapsed_s=elapsed,
        metrics=metrics,
        failures=list(tally.failures),
        interrupted=stop.is_set(),
    )
