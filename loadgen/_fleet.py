"""A fleet of simulated elf apps: one :class:`producer.Producer` per elf, each with its own spool.

Used by ``nicelist produce`` and the demo. Spools live under ``spool_root/elf-NNN``; a temporary
root is removed at the end only when nothing is left in it undelivered.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foundation.errors import ConfigError
from foundation.settings import AwsSettings
from producer import Producer, ProducerConfig

from ._plan import LoadPlan
from ._run import LoadTally, run_load

log = logging.getLogger(__name__)

#: botocore settings for an injected producer client: the producer retries by itself
PRODUCER_CLIENT_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
}


@dataclass(frozen=True, kw_only=True)
class FleetConfig:
    stream: str
    aws: AwsSettings = field(default_factory=AwsSettings)
    #: parent of the elves' spool directories; None: a temporary directory
    spool_root: Path | None = None
    #: no spool at all (events in memory die with the process)
    no_spool: bool = False
    linger_ms: int = 100
    #: extra ProducerConfig fields for every elf
    producer_options: dict[str, Any] = field(default_factory=dict)
    #: makes each elf's Kinesis client (``factory("kinesis", **botocore_config)``), e.g. the
    #: embedded stack's, which carries its own fake credentials; None: from ``aws``
    client_factory: Callable[..., Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.stream:
            raise ConfigError("stream", "must not be empty")
        if self.linger_ms < 0:
            raise ConfigError("linger_ms", "must be >= 0")


class ElfFleet:
    """Producers for ``elves`` elf apps; a context manager that closes them all."""

    def __init__(self, config: FleetConfig, elves: int, tally: LoadTally) -> None:
        self.config = config
        self.tally = tally
        self._temporary = config.spool_root is None and not config.no_spool
        self.spool_root: Path | None = None
        if not config.no_spool:
            self.spool_root = (
                Path(tempfile.mkdtemp(prefix="nicelist-elves-")) if config.spool_root is None else config.spool_root
            )
        self.producers: list[Producer] = []
        try:
            for elf in range(elves):
                spool = None if self.spool_root is None else self.spool_root / f"elf-{elf:03d}"
                client = None
                if config.client_factory is not None:
                    client = config.client_factory("kinesis", **PRODUCER_CLIENT_CONFIG)
                self.producers.append(
                    Producer(
                        ProducerConfig(
                            stream_name=config.stream,
                            aws=config.aws,
                            kinesis_client=client,
                            spool_dir=spool,
                            linger_ms=config.linger_ms,
                            **config.producer_options,
                        )
                    )
                )
        except BaseException:
            self.close(timeout=0)
            raise
        self._threads: list[threading.Thread] = []

    def start(self, plan: LoadPlan, stop: threading.Event, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._threads = run_load(plan, self.producers, self.tally, stop=stop, clock=clock)

    def sending(self) -> bool:
        """Some elf still has events to offer."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every elf to have offered all its events; True if they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.sending()

    def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` s in total; returns how many events are still undelivered."""
        deadline = time.monotonic() + timeout
        return sum(p.flush(max(0.0, deadline - time.monotonic())) for p in self.producers)

    def metrics(self) -> dict[str, int]:
        """Every producer's counters, summed."""
        total: dict[str, int] = {}
        for p in self.producers:
            for name, value in p.metrics().as_dict().items():
                total[name] = total.get(name, 0) + value
        return total

    def close(self, timeout: float | None = None) -> int:
        """Close every producer; returns events still undelivered. A temporary spool root is
        removed only when that is 0 (otherwise the events are still in it: say where)."""
        pending = 0
        for p in self.producers:
            try:
                pending += p.close(timeout)
            except Exception:
                log.exception("closing a producer failed")
                pending += 1
        self.producers = []
        if self.spool_root is not None and self._temporary:
            if pending == 0:
                shutil.rmtree(self.spool_root, ignore_errors=True)
            else:
                log.warning("%s events undelivered; they stay in the spools under %s", pending, self.spool_root)
        return pending

    def __enter__(self) -> ElfFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(timeout=0 if exc[0] is not None else None)
