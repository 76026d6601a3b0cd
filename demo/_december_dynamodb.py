"""The December rehearsal's DynamoDB phase: the kid table gets less write capacity than the
spike needs, as on the night the list was lost.

At the rehearsal's first tick (the workers hold their leases, the elves are about to send), the
kid table is switched to provisioned capacity of ``write_units`` write units per second: above
the base load's write rate, below the spike's. The embedded stack (limits mode) then refuses
what exceeds it statement by statement (``ThrottlingError``, localaws._dynamodb_throttle) and
counts, per table, what reached the table. This module reads those counters, from outside the
workers, once per sample; the summary lines and the report's chart come from them.

``write statements per written kid``: statements that reached the kid table per kid write that
needed one, i.e. all write statements / (all write statements - statements sent with the wrong
verb: an INSERT of a kid that has an item, an UPDATE of one that has none). 1.0 when the sink
always knows whether a kid exists; up to 2.0 when it guesses wrong each time (after a restart on
a full table). Throttled statements are not in it (they never reached the table). The same count
per distinct kid in the table is printed beside it: it also counts that a kid is written again
in every batch that carries a newer event about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: the rehearsal's kid table: 400 write units/s. The base load (80 events/s) fits; the spike
#: (x6: 480 events/s, ~450 kid writes/s after the per-batch collapse, more while the producers'
#: backlog drains through the grown stream) does not, and each processor sends 8 calls of 25
#: statements at once, so the table throttles in bursts. Measured on 2026-12-06: at 250 the
#: sink of that day (it gives up after ~10 s of throttling) exited 4 times in one run; at 400 a
#: probe of 5 processors each writing 300 new kids at once, 4 times, gave up 0 times of 20.
DECEMBER_KID_TABLE_WRITE_UNITS = 400


@dataclass(frozen=True, kw_only=True)
class TableSample:
    """The kid table's cumulative counters at ``t`` seconds since the load started."""

    t: float
    consumed_units: float
    throttled: int
    write_statements: int
    items_written: int
    misdirected: int
    #: write units per second the table served at that moment
    capacity_units_per_s: float


@dataclass(kw_only=True)
class KidTableSummary:
    write_units: int
    samples: list[TableSample] = field(default_factory=list)

    @property
    def last(self) -> TableSample | None:
        return self.samples[-1] if self.samples else None

    @property
    def throttled(self) -> int:
        return max((s.throttled for s in self.samples), default=0)

    @property
    def statements_per_kid_write(self) -> float | None:
        last = self.last
        if last is None or last.write_statements <= last.misdirected:
            return None
        return last.write_statements / (last.write_statements - last.misdirected)


def table_sample(row: dict[str, Any], t: float) -> TableSample:
    """A sample from one ``/_localaws/limits`` table row."""
    return TableSample(
        t=t,
        consumed_units=float(row.get("ConsumedWriteCapacityUnits", 0.0)),
        throttled=int(row.get("WriteThrottleEvents", 0)),
        write_statements=int(row.get("WriteStatements", 0)),
        items_written=int(row.get("ItemsWritten", 0)),
        misdirected=int(row.get("MisdirectedStatements", 0)),
        capacity_units_per_s=float(row.get("capacity_units_per_s", 0.0)),
    )


def dynamodb_lines(table: KidTableSummary | None, *, worker_restarts: int, distinct_kids: int | None) -> list[str]:
    """The rehearsal's DynamoDB lines; the first three start exactly as issue 19 asks."""
    if table is None:
        return []
    last = table.last
    per_write = table.statements_per_kid_write
    statements = 0 if last is None else last.write_statements
    per_kid = f"{statements / distinct_kids:.2f}" if distinct_kids else "n/a"
    return [
        f"dynamodb throttled statements: {table.throttled} (kid table at {table.write_units} write units/s; "
        f"{0 if last is None else last.consumed_units:,.0f} units consumed)",
        f"worker restarts: {worker_restarts}",
        f"write statements per written kid: {'n/a' if per_write is None else f'{per_write:.2f}'} "
        f"({statements} statements reached the kid table, {0 if last is None else last.misdirected} of them "
        f"with the wrong verb; per distinct kid in the table: {per_kid})",
    ]


def _rate(samples: list[TableSample], attribute: str, window_s: float = 5.0) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    start = 0
    for after in samples[1:]:
        while start < len(samples) - 1 and samples[start + 1].t <= after.t - window_s:
            start += 1
        before = samples[start]
        if after.t > before.t:
            delta = float(getattr(after, attribute)) - float(getattr(before, attribute))
            points.append((after.t, max(0.0, delta / (after.t - before.t))))
    return points


def dynamodb_series(table: KidTableSummary) -> list[tuple[str, str, list[tuple[float, float]]]]:
    """The report's DynamoDB chart: consumed and available write units/s, throttled statements/s."""
    samples = table.samples
    return [
        ("consumed units/s", "#1f77b4", _rate(samples, "consumed_units")),
        ("available units/s", "#2ca02c", [(s.t, s.capacity_units_per_s or float(table.write_units)) for s in samples]),
        ("throttled statements/s", "#d62728", _rate(samples, "throttled")),
    ]


class KidTableLimit:
    """Sets the kid table's capacity once, then samples its counters from the embedded stack."""

    def __init__(self, stack: Any, table: str, write_units: int) -> None:
        self._stack = stack
        self._table = table
        self.summary = KidTableSummary(write_units=write_units)
        self._limited = False

    def limit(self) -> None:
        """Provisioned capacity of ``write_units`` write units/s (reads are not limited)."""
        if self._limited:
            return
        self._limited = True
        units = self.summary.write_units
        self._stack.client("dynamodb").update_table(
            TableName=self._table,
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": units},
        )
        log.info("kid table %s: provisioned at %s write units/s", self._table, units)

    def sample(self, t: float, limits: dict[str, Any]) -> TableSample | None:
        row = next((r for r in limits.get("tables", ()) if r.get("table") == self._table), None)
        if row is None:
            return None
        sample = table_sample(row, t)
        self.summary.samples.append(sample)
        return sample
