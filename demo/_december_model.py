"""The December rehearsal's settings, samples and summary, and the summary's lines (pure: what
``run_december`` fills and what the report draws)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from admin.autoscale import DecisionRecord, PolicyConfig
from foundation.errors import ConfigError
from loadgen import Population, SpikeShape

from ._december_alarms import AlarmRecord, alarm_lines
from ._december_dynamodb import DECEMBER_KID_TABLE_WRITE_UNITS, KidTableSummary, dynamodb_lines
from ._model import DemoConfig, DemoSummary

#: the rehearsal's load: 2 elves, 80 events/s, a x6 spike for about 25 s (~63 KB/s written
#: against 2 shards of ~21 KB/s each at scale 0.02), then 90 s of base load; ~3 minutes
DECEMBER_SHAPE = SpikeShape(events=24_000, base_rate=80.0, spike_factor=6.0, spike_start=0.2, spike_share=0.5)
DECEMBER_POPULATION = Population(kids=2_000, elves=2)
DECEMBER_SHARDS = 2
#: per-shard limits x 0.02: 20 records/s and ~21 KB/s written, ~42 KB/s read (5 GetRecords/s)
DECEMBER_LIMITS_SCALE = 0.02
#: the stack's metric period and the autoscaler's: a "scaled minute" of 5 real seconds
DECEMBER_METRICS_PERIOD_S = 5


def december_policy(period_s: int) -> PolicyConfig:
    """The production policy with its clock in metric periods (a "scaled minute"): up after 2
    throttled periods, settle 2 periods after a change; and back down within the rehearsal: 4
    quiet periods and a cool-off of 6 periods after the last change (production: 10 quiet
    minutes and an hour), merging cold adjacent shards where that is cheaper than UpdateShardCount."""
    return PolicyConfig(up_periods=2, settle_s=2.0 * period_s, down_periods=4, cool_off_s=6.0 * period_s)


@dataclass(frozen=True, kw_only=True)
class DecemberConfig:
    demo: DemoConfig = field(
        default_factory=lambda: DemoConfig(
            population=DECEMBER_POPULATION, shape=DECEMBER_SHAPE, shards=DECEMBER_SHARDS, reshard_to=0
        )
    )
    limits_scale: float = DECEMBER_LIMITS_SCALE
    metrics_period_s: int = DECEMBER_METRICS_PERIOD_S
    #: None: :func:`december_policy`
    policy: PolicyConfig | None = None
    #: the HTML report; None: none
    report_path: Path | None = None
    sample_interval_s: float = 1.0
    #: "recovered" once the producers' backlog, the events not yet archived (both in seconds of
    #: base load) and the iterator age are under this
    recover_lag_s: float = 5.0
    #: the kid table's write capacity during the rehearsal (below the spike's write rate:
    #: demo/_december_dynamodb.py); None: on-demand, not throttled
    kid_table_write_units: int | None = DECEMBER_KID_TABLE_WRITE_UNITS

    def __post_init__(self) -> None:
        if not 0 < self.limits_scale <= 1:
            raise ConfigError("limits_scale", "must be in (0, 1]")
        if self.metrics_period_s < 1:
            raise ConfigError("metrics_period_s", "must be >= 1")
        if self.sample_interval_s <= 0 or self.recover_lag_s <= 0:
            raise ConfigError("sample_interval_s", "intervals must be positive")
        if self.kid_table_write_units is not None and self.kid_table_write_units < 1:
            raise ConfigError("kid_table_write_units", "must be >= 1 (None: on-demand)")
        if self.demo.aws is not None:
            raise ConfigError("aws", "the December rehearsal runs on the embedded local AWS only (limits mode)")

    @property
    def autoscale_policy(self) -> PolicyConfig:
        return self.policy if self.policy is not None else december_policy(self.metrics_period_s)


@dataclass(frozen=True, kw_only=True)
class Sample:
    t: float
    accepted: int
    delivered: int
    archived: int
    open_shards: int
    #: records Kinesis refused for throughput since start (WriteProvisionedThroughputExceeded)
    write_throttled: int
    #: GetRecords calls refused since start (ReadProvisionedThroughputExceeded)
    read_throttled: int
    #: aggregated records the producers saw throttled (their own counter)
    producer_throttled: int
    #: the largest latest GetRecords iterator age over the stream's shards (a closed shard read
    #: to its end reports 0; a shard no consumer reads yet reports nothing: see ``delivered -
    #: archived`` for that lag)
    iterator_age_ms: float


@dataclass(kw_only=True)
class DecemberSummary:
    demo: DemoSummary
    samples: list[Sample] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    start_shards: int = 0
    final_shards: int = 0
    spike_start_s: float | None = None
    spike_end_s: float | None = None
    recovered_s: float | None = None
    report_path: Path | None = None
    #: epoch seconds at the samples' t = 0
    wall_started: float | None = None
    #: the alarms' transitions and what reached the local pager
    alarms: AlarmRecord | None = None
    #: the DynamoDB phase (kid table below the spike's write rate); None: not rehearsed
    dynamodb: KidTableSummary | None = None

    @property
    def write_throttled(self) -> int:
        return max((s.write_throttled for s in self.samples), default=0)

    @property
    def read_throttled(self) -> int:
        return max((s.read_throttled for s in self.samples), default=0)

    @property
    def producer_throttled(self) -> int:
        return max((s.producer_throttled for s in self.samples), default=0)

    @property
    def peak_lag_ms(self) -> float:
        return max((s.iterator_age_ms for s in self.samples), default=0.0)

    @property
    def peak_backlog(self) -> int:
        """Most events accepted by the elf apps but not yet in Kinesis (spooled, retrying)."""
        return max((s.accepted - s.delivered for s in self.samples), default=0)

    @property
    def peak_unarchived(self) -> int:
        """Most events in Kinesis not yet archived by the workers (the consumers' lag in events)."""
        return max((s.delivered - s.archived for s in self.samples), default=0)

    @property
    def scale_downs(self) -> list[DecisionRecord]:
        """Done scale-downs and merges after the stream had grown (the way back after the spike)."""
        grown = False
        found = []
        for record in self.decisions:
            if record.outcome == "done" and record.decision.action in ("scale-up", "split"):
                grown = True
            elif grown and record.outcome == "done" and record.decision.action in ("scale-down", "merge"):
                found.append(record)
        return found

    def count(self, action: str) -> int:
        return sum(1 for record in self.decisions if record.decision.action == action)

    @property
    def time_to_recover_s(self) -> float | None:
        if self.recovered_s is None or self.spike_end_s is None:
            return None
        return max(0.0, self.recovered_s - self.spike_end_s)

    @property
    def ok(self) -> bool:
        """Nothing lost (the demo's checks), and the rehearsal rehearsed: Kinesis throttled, the
        autoscaler grew the stream and scaled it back down after the spike."""
        grew = self.count("scale-up") + self.count("split") > 0
        return self.demo.ok and self.write_throttled > 0 and grew and bool(self.scale_downs) and self.dynamodb_ok

    @property
    def dynamodb_ok(self) -> bool:
        """The DynamoDB phase, if rehearsed: the kid table throttled and no worker restarted."""
        return self.dynamodb is None or (self.dynamodb.throttled > 0 and self.demo.worker_restarts == 0)


def describe_december(summary: DecemberSummary) -> list[str]:
    """The rehearsal's own lines (after the demo's summary); three start exactly as the issue asks."""
    changes = [r for r in summary.decisions if r.decision.changes]
    path = " -> ".join([str(summary.start_shards), *(str(r.decision.target) for r in changes if r.outcome == "done")])
    recover = summary.time_to_recover_s
    lines = [
        "",
        "nicelist December rehearsal",
        f"throttled puts: {summary.write_throttled} records refused by Kinesis "
        f"(WriteProvisionedThroughputExceeded; producers saw {summary.producer_throttled} aggregated records "
        f"throttled and retried them from their spools); GetRecords throttled: {summary.read_throttled}",
        f"autoscaler decisions: {len(summary.decisions)} ({summary.count('scale-up')} scale-up, "
        f"{summary.count('split')} split, {summary.count('scale-down')} scale-down, {summary.count('merge')} merge, "
        f"{summary.count('none')} none); "
        f"open shards {path}",
    ]
    for record in changes:
        lines.append(
            f"  at {record.at:%H:%M:%S}: {record.decision.action} {record.open_shards} -> {record.decision.target} "
            f"[{record.outcome}] {record.decision.reason}"
        )
    downs = summary.scale_downs
    lines.append(
        f"scaled down after the spike: {downs[0].open_shards} -> {downs[-1].decision.target} shards ("
        + ", ".join(f"{r.decision.action} at {r.at:%H:%M:%S}" for r in downs)
        + ")"
        if downs
        else "scaled down after the spike: no (the cool-off or the quiet periods did not pass before the end)"
    )
    lines += [
        f"lost (delivered, unarchived): {summary.demo.lost}",
        f"peak lag: {summary.peak_lag_ms / 1000:.1f} s iterator age; {summary.peak_unarchived} events in Kinesis "
        f"not yet archived; {summary.peak_backlog} events waiting in the producers (spooled or retrying)",
        "time to recover: "
        + (
            "n/a (the lag never returned near zero)"
            if recover is None
            else f"{recover:.1f} s from the spike's end until every lag above was near zero again"
        ),
    ]
    lines += alarm_lines(summary.alarms, summary.wall_started)
    report = summary.demo.report
    lines += dynamodb_lines(
        summary.dynamodb,
        worker_restarts=summary.demo.worker_restarts,
        distinct_kids=None if report is None else report.table_items,
    )
    if summary.report_path is not None:
        lines.append(f"report: {summary.report_path}")
    lines.append(
        "RESULT: nothing lost, Kinesis throttled, the stream scaled itself up and back down"
        if summary.ok
        else "RESULT: FAILED (see above: lost events, no throttling, no scale-up or scale-down, or a worker restarted)"
    )
    return lines


def with_demo(config: DecemberConfig, **changes: Any) -> DecemberConfig:
    """``config`` with some DemoConfig fields changed (tests and the CLI)."""
    return replace(config, demo=replace(config.demo, **changes))
