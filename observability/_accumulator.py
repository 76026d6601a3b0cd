"""One period's counters, gauges and distributions, turned into PutMetricData datums: pure, no AWS.

Thread-safe (the record processor's sink threads and the botocore hooks count from other
threads); :meth:`Accumulator.drain` hands over a :class:`Period` and starts the next one.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from foundation.limits import CLOUDWATCH_MAX_VALUES_PER_DATUM

from .metrics import Kind, Metric


def bucket(value: float) -> float:
    """``value`` rounded to a step of 1/20 of its decade's leading unit (about 0.5-5% off), so a
    period's distribution has few distinct values; values under 10 round to whole units."""
    if value <= 0:
        return 0.0
    if value < 10:
        return float(round(value))
    step = 10 ** math.floor(math.log10(value)) / 20
    return round(value / step) * step


def percentile(histogram: Mapping[float, int], q: float) -> float | None:
    """Nearest-rank ``q`` quantile (0 < q <= 1) of a value -> count histogram; None if empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # pragma: no cover - rank <= total


@dataclass
class _Gauge:
    minimum: float
    maximum: float
    total: float
    samples: int

    def add(self, value: float) -> None:
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.total += value
        self.samples += 1


@dataclass(frozen=True)
class Period:
    """What one period saw, by metric."""

    counters: Mapping[Metric, float] = field(default_factory=dict)
    gauges: Mapping[Metric, _Gauge] = field(default_factory=dict)
    distributions: Mapping[Metric, Mapping[float, int]] = field(default_factory=dict)

    def counter(self, metric: Metric) -> float:
        return self.counters.get(metric, 0.0)

    def gauge_max(self, metric: Metric) -> float | None:
        gauge = self.gauges.get(metric)
        return gauge.maximum if gauge else None

    def datums(
        self,
        dimension_sets: Sequence[Sequence[tuple[str, str]]],
        *,
        timestamp: datetime,
        always: Iterable[Metric] = (),
    ) -> list[dict[str, Any]]:
        """PutMetricData ``MetricData`` entries, each metric once per dimension set. Counters in
        ``always`` are sent as 0 when nothing counted them (so alarms see zeros, not gaps)."""
        counters = dict.fromkeys(always, 0.0) | dict(self.counters)
        bodies: list[tuple[Metric, dict[str, Any]]] = []
        for metric, value in counters.items():
            bodies.append((metric, {"Value": float(value)}))
        for metric, gauge in self.gauges.items():
            statistics = {"SampleCount": float(gauge.samples), "Sum": gauge.total}
            statistics |= {"Minimum": gauge.minimum, "Maximum": gauge.maximum}
            bodies.append((metric, {"StatisticValues": statistics}))
        for metric, histogram in self.distributions.items():
            values = sorted(histogram)
            for start in range(0, len(values), CLOUDWATCH_MAX_VALUES_PER_DATUM):
                chunk = values[start : start + CLOUDWATCH_MAX_VALUES_PER_DATUM]
                bodies.append((metric, {"Values": chunk, "Counts": [float(histogram[v]) for v in chunk]}))
        datums = []
        for dims in dimension_sets:
            dimensions = [{"Name": name, "Value": value} for name, value in dims]
            for metric, body in bodies:
                datum = {
                    "MetricName": metric.name,
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Unit": metric.unit,
                }
                datums.append(datum | body)
        return datums


class Accumulator:
    """Counters, gauges and distributions of the current period."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[Metric, float] = {}
        self._gauges: dict[Metric, _Gauge] = {}
        self._distributions: dict[Metric, Counter[float]] = {}

    def count(self, metric: Metric, n: float = 1) -> None:
        if metric.kind is not Kind.COUNTER:
            raise ValueError(f"{metric.name} is a {metric.kind.value}, not a counter")
        if n:
            with self._lock:
                self._counters[metric] = self._counters.get(metric, 0.0) + n

    def gauge(self, metric: Metric, value: float) -> None:
        if metric.kind is not Kind.GAUGE:
            raise ValueError(f"{metric.name} is a {metric.kind.value}, not a gauge")
        value = float(value)
        with self._lock:
            current = self._gauges.get(metric)
            if current is None:
                self._gauges[metric] = _Gauge(value, value, value, 1)
            else:
                current.add(value)

    def observe(self, metric: Metric, values: Iterable[float]) -> None:
        """Add ``values`` to a distribution (bucketed, see :func:`bucket`)."""
        if metric.kind is not Kind.DISTRIBUTION:
            raise ValueError(f"{metric.name} is a {metric.kind.value}, not a distribution")
        buckets = Counter(bucket(v) for v in values)
        if buckets:
            with self._lock:
                self._distributions.setdefault(metric, Counter()).update(buckets)

    def drain(self) -> Period:
        """This period's values; the accumulator starts the next period empty."""
        with self._lock:
            period = Period(dict(self._counters), dict(self._gauges), dict(self._distributions))
            self._counters, self._gauges, self._distributions = {}, {}, {}
        return period
