"""Sending datums to CloudWatch: at most one PutMetricData round per interval, never from the
caller's hot path, and a failure is logged and counted, never raised.

Two ways to drive it: :meth:`MetricsPublisher.start` runs a daemon thread that publishes every
``interval_s`` (the record processor); :meth:`MetricsPublisher.publish_if_due` publishes from a
thread the caller already has, when the interval has passed (the producer's sender thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from foundation.aws_errors import error_code
from foundation.limits import CLOUDWATCH_MAX_DATUMS_PER_PUT

from .metrics import NAMESPACE

log = logging.getLogger(__name__)

#: collect(timestamp) -> the datums of the period that just ended (may be empty)
Collect = Callable[[datetime], list[dict[str, Any]]]


def _now() -> datetime:
    return datetime.now(UTC)


class MetricsPublisher:
    """Publishes what ``collect`` returns to ``namespace`` with ``cloudwatch.put_metric_data``."""

    def __init__(
        self,
        cloudwatch: Any,
        collect: Collect,
        *,
        interval_s: float = 60.0,
        namespace: str = NAMESPACE,
        on_failure: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _now,
        name: str = "nicelist-metrics",
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self._cloudwatch = cloudwatch
        self._collect = collect
        self.interval_s = interval_s
        self.namespace = namespace
        self._on_failure = on_failure
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publish_lock = threading.Lock()
        self._last = monotonic()
        #: PutMetricData calls made / failed since start
        self.calls = 0
        self.failures = 0

    # --- thread mode ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.publish_now()

    def close(self, *, final: bool = True) -> None:
        """Stop the thread (if any) and, with ``final``, publish what the last period holds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if final:
            self.publish_now()

    # --- caller-driven mode ---------------------------------------------------------------------
    def publish_if_due(self) -> bool:
        """Publish when ``interval_s`` has passed since the last publication; True if it did."""
        if self._monotonic() - self._last < self.interval_s:
            return False
        return self.publish_now()

    # --- both ------------------------------------------------------------------------------------
    def publish_now(self) -> bool:
        """Collect the period and send it; False (logged, counted) when CloudWatch refused."""
        with self._publish_lock:
            self._last = self._monotonic()
            datums = self._collect(self._wall_clock())
            ok = True
            for start in range(0, len(datums), CLOUDWATCH_MAX_DATUMS_PER_PUT):
                chunk = datums[start : start + CLOUDWATCH_MAX_DATUMS_PER_PUT]
                try:
                    self.calls += 1
                    self._cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=chunk)
                except (ClientError, BotoCoreError) as exc:
                    ok = False
                    self.failures += 1
                    log.warning(
                        "PutMetricData to %s failed (%s); %s datums dropped",
                        self.namespace,
                        error_code(exc) or exc,
                        len(chunk),
                    )
                    if self._on_failure is not None:
                        self._on_failure()
            return ok
