"""``run_december()``: the demo as a December rehearsal. The embedded Kinesis enforces its
per-shard limits (scaled down so a laptop saturates a shard), the spike outgrows the starting
shards, and the autoscaler, not a human, grows the stream.

Producers get throttled and keep events in their spools, the autoscaler sees sustained
throttling in the stack's AWS/Kinesis metrics and scales up through the reshard executor, lag
returns to near zero, and the plain demo's checks (every delivered event archived, the table
agreeing with the archive) still hold. A sampler records the run once a second for the report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from admin.autoscale import AutoscaleConfig, Autoscaler, DecisionRecord, PolicyConfig, ShardLimits
from foundation.errors import ConfigError
from foundation.progress import Progress
from loadgen import Population, SpikeShape

from ._errors import DemoError
from ._run import DemoConfig, DemoProbe, DemoSummary, run_demo

log = logging.getLogger(__name__)

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
    """The production policy with its clock in metric periods: up after 2 throttled periods,
    settle 2 periods after a change; no scale-down within a rehearsal (cool-off of an hour)."""
    return PolicyConfig(up_periods=2, settle_s=2.0 * period_s, down_periods=12, cool_off_s=3600.0)


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

    def __post_init__(self) -> None:
        if not 0 < self.limits_scale <= 1:
            raise ConfigError("limits_scale", "must be in (0, 1]")
        if self.metrics_period_s < 1:
            raise ConfigError("metrics_period_s", "must be >= 1")
        if self.sample_interval_s <= 0 or self.recover_lag_s <= 0:
            raise ConfigError("sample_interval_s", "intervals must be positive")
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

    def count(self, action: str) -> int:
        return sum(1 for record in self.decisions if record.decision.action == action)

    @property
    def time_to_recover_s(self) -> float | None:
        if self.recovered_s is None or self.spike_end_s is None:
            return None
        return max(0.0, self.recovered_s - self.spike_end_s)

    @property
    def ok(self) -> bool:
        """Nothing lost (the demo's checks), and the rehearsal rehearsed: Kinesis throttled and
        the autoscaler grew the stream."""
        grew = self.count("scale-up") + self.count("split") > 0
        return self.demo.ok and self.write_throttled > 0 and grew


class _Rehearsal:
    """The autoscaler and the sampler, on their own threads from the demo's first tick."""

    def __init__(self, stack: Any, config: DecemberConfig, say: Callable[[str], None]) -> None:
        self._stack = stack
        self._config = config
        self._say = say
        self._stream = config.demo.names.stream
        self._probe: DemoProbe | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = time.monotonic()
        self.wall_started: float | None = None
        self.samples: list[Sample] = []
        self.autoscaler = Autoscaler(
            stack.client("kinesis"),
            stack.client("cloudwatch"),
            AutoscaleConfig(
                stream=self._stream,
                period_s=config.metrics_period_s,
                limits=ShardLimits.scaled(config.limits_scale),
                policy=config.autoscale_policy,
                state_path=None if config.demo.work_dir is None else config.demo.work_dir / "autoscale-state.json",
                wait_timeout_s=300.0,
                poll_interval_s=0.5,
            ),
            on_decision=self._decided,
        )
        self._producer_throttled = 0

    def _decided(self, record: DecisionRecord) -> None:
        if record.decision.changes:
            self._say(
                f"autoscaler: {record.decision.action} {record.open_shards} -> {record.decision.target} shards "
                f"({record.outcome}): {record.decision.reason}"
            )

    def on_tick(self, probe: DemoProbe) -> None:
        self._probe = probe
        if not self._threads:
            self._started = time.monotonic()
            self.wall_started = time.time()
            self._threads = [
                threading.Thread(target=self.autoscaler.run, args=(self._stop,), name="autoscaler", daemon=True),
                threading.Thread(target=self._sample_loop, name="december-sampler", daemon=True),
            ]
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=330)
            if thread.is_alive():
                log.warning("%s did not stop", thread.name)

    def _sample_loop(self) -> None:
        kinesis = self._stack.client("kinesis")
        while not self._stop.wait(self._config.sample_interval_s):
            try:
                self.sample(kinesis)
            except Exception:  # a missed sample must not end the rehearsal
                log.exception("sampling the rehearsal failed")

    def sample(self, kinesis: Any) -> Sample | None:
        probe = self._probe
        if probe is None:
            return None
        shards = kinesis.list_shards(StreamName=self._stream)["Shards"]
        open_ids = {s["ShardId"] for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]}
        rows = [row for row in self._stack.limits()["shards"] if row["stream"] == self._stream]
        if probe.fleet.producers:  # closed producers are gone: keep the last count
            self._producer_throttled = int(probe.fleet.metrics().get("throttled", 0))
        sample = Sample(
            t=time.monotonic() - self._started,
            accepted=probe.tally.accepted,
            delivered=probe.tally.delivered,
            archived=probe.watcher.rows,
            open_shards=len(open_ids),
            write_throttled=int(sum(row["WriteProvisionedThroughputExceeded"] for row in rows)),
            read_throttled=int(sum(row["ReadProvisionedThroughputExceeded"] for row in rows)),
            producer_throttled=self._producer_throttled,
            iterator_age_ms=max((float(row["iterator_age_ms"] or 0.0) for row in rows), default=0.0),
        )
        self.samples.append(sample)
        return sample


def run_december(
    config: DecemberConfig,
    *,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda line: log.info("%s", line),
) -> DecemberSummary:
    """Run the rehearsal; the summary's ``ok`` says nothing was lost AND the stream scaled itself."""
    try:
        from localaws import LimitsConfig, LocalAWS, StackConfig
    except ImportError as exc:  # moto/hypercorn are the "local" extra
        raise DemoError(f"the December rehearsal needs pip install 'nicelist[local]' ({exc})") from exc

    limits = LimitsConfig(scale=config.limits_scale, metrics_period_s=float(config.metrics_period_s))
    say(
        f"starting the embedded local AWS in limits mode: per shard {limits.write_records_per_s:g} records/s and "
        f"{limits.write_bytes_per_s / 1024:.1f} KiB/s in, {limits.read_bytes_per_s / 1024:.1f} KiB/s and "
        f"{limits.read_calls_per_s:g} GetRecords/s out; metrics every {config.metrics_period_s} s"
    )
    with LocalAWS.start(config=StackConfig(limits=limits)) as stack:
        say(f"local AWS at {stack.endpoint_url} (pid {stack.pid})")
        rehearsal = _Rehearsal(stack, config, say)
        try:
            demo_summary = run_demo(config.demo, progress=progress, say=say, stack=stack, on_tick=rehearsal.on_tick)
        finally:
            rehearsal.stop()
        try:
            rehearsal.sample(stack.client("kinesis"))
        except Exception:
            log.exception("the final sample failed")
    summary = DecemberSummary(
        demo=demo_summary,
        samples=rehearsal.samples,
        decisions=rehearsal.autoscaler.history,
        wall_started=rehearsal.wall_started,
    )
    _timeline(summary, config)
    if config.report_path is not None:
        from ._report import write_report

        summary.report_path = write_report(config.report_path, summary, config)
    return summary


def _timeline(summary: DecemberSummary, config: DecemberConfig) -> None:
    """Start and end of the spike, and when the lag was back under ``recover_lag_s``."""
    samples = summary.samples
    if not samples:
        return
    shape = config.demo.shape
    summary.start_shards = config.demo.shards
    summary.final_shards = samples[-1].open_shards
    summary.spike_start_s = next((s.t for s in samples if s.accepted >= shape.spike_begins), None)
    summary.spike_end_s = next((s.t for s in samples if s.accepted >= shape.spike_ends), None)
    if summary.spike_end_s is None:
        return
    # "near zero": what the base load brings in recover_lag_s, in events and in age
    backlog_ok = max(1.0, shape.base_rate * config.recover_lag_s)
    summary.recovered_s = next(
        (
            s.t
            for s in samples
            if s.t >= summary.spike_end_s
            and s.accepted - s.delivered <= backlog_ok
            and s.delivered - s.archived <= backlog_ok
            and s.iterator_age_ms <= config.recover_lag_s * 1000.0
        ),
        None,
    )


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
        f"{summary.count('split')} split, {summary.count('scale-down')} scale-down, {summary.count('none')} none); "
        f"open shards {path}",
    ]
    for record in changes:
        lines.append(
            f"  at {record.at:%H:%M:%S}: {record.decision.action} {record.open_shards} -> {record.decision.target} "
            f"[{record.outcome}] {record.decision.reason}"
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
    if summary.report_path is not None:
        lines.append(f"report: {summary.report_path}")
    lines.append(
        "RESULT: nothing lost, Kinesis throttled, the stream scaled itself"
        if summary.ok
        else "RESULT: FAILED (see above: lost events, no throttling, or no scale-up)"
    )
    return lines


def with_demo(config: DecemberConfig, **changes: Any) -> DecemberConfig:
    """``config`` with some DemoConfig fields changed (tests and the CLI)."""
    return replace(config, demo=replace(config.demo, **changes))
