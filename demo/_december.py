"""``run_december()``: the demo as a December rehearsal. The embedded Kinesis enforces its
per-shard limits (scaled down so a laptop saturates a shard), the spike outgrows the starting
shards, and the autoscaler, not a human, grows the stream.

Producers get throttled and keep events in their spools, the autoscaler sees sustained
throttling in the stack's AWS/Kinesis metrics and scales up through the reshard executor, lag
returns to near zero, after a scaled cool-off it merges the cold shards back down, and the
plain demo's checks (every delivered event archived, the table agreeing with the archive) still
hold. A sampler records the run once a second for the report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from admin.autoscale import AutoscaleConfig, Autoscaler, DecisionRecord, ShardLimits, StreamLock, lock_table_name
from foundation.progress import Progress

from ._december_alarms import RehearsalAlarms
from ._december_dynamodb import KidTableLimit
from ._december_model import (
    DecemberConfig,
    DecemberSummary,
    Sample,
)
from ._errors import DemoError
from ._model import DemoProbe
from ._phases import DemoRun
from ._report import write_report

log = logging.getLogger(__name__)


class _Rehearsal:
    """The autoscaler, the sampler and the alarms, on their own threads from the moment the elves
    start."""

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
            # one autoscaler per stream, as in production (provision creates the lock table)
            lock=StreamLock(stack.client("dynamodb"), lock_table_name(config.demo.names.application), self._stream),
        )
        self._producer_throttled = 0
        self.alarms = RehearsalAlarms(stack, config.demo.names, config.metrics_period_s)
        self.kid_table = (
            None
            if config.kid_table_write_units is None
            else KidTableLimit(stack, config.demo.names.table, config.kid_table_write_units)
        )

    def _decided(self, record: DecisionRecord) -> None:
        if record.decision.changes:
            self._say(
                f"autoscaler: {record.decision.action} {record.open_shards} -> {record.decision.target} shards "
                f"({record.outcome}): {record.decision.reason}"
            )

    def start(self, probe: DemoProbe) -> None:
        """Start the threads, sampling the live tally, archive watcher and fleet of ``probe``."""
        self._probe = probe
        if self.kid_table is not None:
            self.kid_table.limit()
        self._started = time.monotonic()
        self.wall_started = time.time()
        self._threads = [
            threading.Thread(target=self.autoscaler.run, args=(self._stop,), name="autoscaler", daemon=True),
            threading.Thread(target=self._sample_loop, name="december-sampler", daemon=True),
            threading.Thread(target=self._apply_alarms, name="december-alarms", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=330)
            if thread.is_alive():
                log.warning("%s did not stop", thread.name)

    def _apply_alarms(self) -> None:
        try:
            self.alarms.apply()
        except Exception:  # the rehearsal goes on without alarms; the summary says none fired
            log.exception("applying the rehearsal's alarms failed")

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
        limits = self._stack.limits()
        rows = [row for row in limits["shards"] if row["stream"] == self._stream]
        if self.kid_table is not None:
            self.kid_table.sample(time.monotonic() - self._started, limits)
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
    """Run the rehearsal; the summary's ``ok`` says nothing was lost AND the stream scaled itself
    up and back down."""
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
    # the stack evaluates the alarms every second; the workers publish (and beat) once a scaled minute
    demo = replace(
        config.demo,
        worker_env={"NICELIST_METRICS_INTERVAL_S": str(config.metrics_period_s), **config.demo.worker_env},
    )
    with LocalAWS.start(config=StackConfig(limits=limits, alarm_interval_s=1.0)) as stack:
        say(f"local AWS at {stack.endpoint_url} (pid {stack.pid})")
        rehearsal = _Rehearsal(stack, config, say)
        run = DemoRun(demo, progress=progress, say=say)
        try:
            # the plain demo's phases, with the rehearsal's threads from the moment the elves start;
            # they stop once the workers have stopped (the autoscaler may still be scaling down)
            with run.session(stack):
                run.start_workers()
                run.start_load()
                rehearsal.start(run.probe("producing"))
                run.produce()
                run.catch_up()
                run.verify()
                run.report()
        finally:
            rehearsal.stop()
        demo_summary = run.summary
        try:
            rehearsal.sample(stack.client("kinesis"))
        except Exception:
            log.exception("the final sample failed")
        alarms = _alarm_record(rehearsal.alarms, config, say)
    summary = DecemberSummary(
        demo=demo_summary,
        samples=rehearsal.samples,
        decisions=rehearsal.autoscaler.history,
        wall_started=rehearsal.wall_started,
        alarms=alarms,
        dynamodb=None if rehearsal.kid_table is None else rehearsal.kid_table.summary,
    )
    _timeline(summary, config)
    if config.report_path is not None:
        summary.report_path = write_report(config.report_path, summary, config)
    return summary


def _alarm_record(alarms: RehearsalAlarms, config: DecemberConfig, say: Callable[[str], None]) -> Any:
    """Every worker has stopped: wait (a few scaled minutes at most) for the heartbeat alarm, then
    read what reached the pager."""
    try:
        say("every worker has stopped: waiting for the heartbeat alarm to notice the silence")
        alarms.await_silence(time.time(), timeout_s=8.0 * config.metrics_period_s + 15.0)
        return alarms.collect()
    except Exception:
        log.exception("reading the rehearsal's alarms failed")
        return alarms.record


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
