"""``run_demo()``: the whole pipeline on one machine, and the proof that nothing was lost.

Steps: start the embedded local AWS (unless an endpoint is configured), provision the stream,
table and bucket, start the KCL workers and wait until they hold every lease, run the elf apps
(with the December-23rd spike) and reshard mid-run, wait until the archive holds every delivered
event, reconcile the archive with the table, and summarise. Everything started is stopped on the
way out, also on Ctrl-C (by PID: the stack and each worker's process group).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code
from foundation.errors import ConfigError
from foundation.polling import PollTimeout, poll, wait_until
from foundation.progress import Progress
from foundation.settings import AwsSettings, PipelineNames
from loadgen import ElfFleet, FleetConfig, LoadPlan, LoadTally, Population, SpikeShape
from reconcile import ReconcileReport, reconcile

from ._analytics import EXAMPLE as ANALYTICS_EXAMPLE
from ._analytics import analytics_lines
from ._errors import CaughtUpTimeout, DemoError
from ._metrics import WORKER_METRICS_ENV, read_worker_metrics, status_screen
from ._watch import ArchiveWatcher

log = logging.getLogger(__name__)

#: With leaseAssignmentIntervalMillis at 2 s (properties/local.properties), KCL 3's variance-based
#: rebalancing moved leases back and forth between the two workers every few seconds; with moto,
#: runs ended with a child shard owned by a worker that no longer processed it. The demo keeps
#: the initial assignment (new child shards are still assigned) and does not rebalance.
DEMO_WORKER_PROPERTIES = {"varianceBalancingFrequency": "1000000"}
#: a worker that died is restarted (as its supervisor would) at most this many times
MAX_WORKER_RESTARTS = 3


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    population: Population = field(default_factory=lambda: Population(kids=2_000, elves=4))
    shape: SpikeShape = field(default_factory=SpikeShape)
    seed: int = 23
    shards: int = 4
    workers: int = 2
    #: open shards after the mid-run reshard; None: twice ``shards``; 0: no reshard
    reshard_to: int | None = None
    #: share of the events accepted when the reshard starts; None: when the spike starts
    reshard_at: float | None = None
    names: PipelineNames = field(default_factory=PipelineNames)
    #: None: start the embedded local AWS; otherwise use these settings (LocalStack, AWS)
    aws: AwsSettings | None = None
    #: logs, spools and worker files; None: a temporary directory, removed after a clean run
    work_dir: Path | None = None
    workers_ready_timeout_s: float = 240.0
    catch_up_timeout_s: float = 300.0
    flush_timeout_s: float = 120.0
    #: archive files close this soon, so the archive catches up quickly at the end
    archive_max_file_age_s: float = 3.0
    #: extra environment for the workers and their record processors
    worker_env: Mapping[str, str] = field(default_factory=dict)
    #: undecodable records a broken elf app puts on the stream (plain PutRecords): each must end
    #: up in the bucket's dead-letter/ prefix, one object per record
    garbage_records: int = 3
    #: the workers' (KCL and record processors') log level; logs go to the work directory
    worker_log_level: str = "INFO"
    #: KCL properties for the demo's workers, over the template's
    worker_properties: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_WORKER_PROPERTIES))
    poll_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigError("shards", "need at least one shard")
        if self.workers < 1:
            raise ConfigError("workers", "need at least one worker")
        if self.reshard_to is not None and self.reshard_to < 0:
            raise ConfigError("reshard_to", "must be >= 0 (0: no reshard)")
        if self.garbage_records < 0:
            raise ConfigError("garbage_records", "must be >= 0")
        if self.reshard_at is not None and not 0.0 <= self.reshard_at <= 1.0:
            raise ConfigError("reshard_at", "must be between 0 and 1")
        for name in ("workers_ready_timeout_s", "catch_up_timeout_s", "flush_timeout_s", "archive_max_file_age_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be positive")

    @property
    def reshard_target(self) -> int:
        return self.shards * 2 if self.reshard_to is None else self.reshard_to

    @property
    def reshard_after_events(self) -> int:
        share = self.shape.spike_start if self.reshard_at is None else self.reshard_at
        return round(self.shape.events * share)


@dataclass(frozen=True)
class DemoProbe:
    """What an observer of a running demo may look at (``run_demo(on_tick=...)``), once per poll."""

    phase: str  # "producing" or "catching-up"
    tally: LoadTally
    watcher: ArchiveWatcher
    fleet: ElfFleet


@dataclass(kw_only=True)
class DemoSummary:
    planned: int = 0
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    undelivered: int = 0
    archived_rows: int = 0
    archived_events: int = 0
    #: delivered events missing from the archive when the demo gave up waiting
    lost: int = 0
    lost_samples: list[str] = field(default_factory=list)
    dead_letters: int = 0
    garbage_sent: int = 0
    produce_s: float = 0.0
    #: first put() until the archive held every delivered event
    pipeline_s: float = 0.0
    reshard: str = "not run"
    reshard_ok: bool = True
    worker_restarts: int = 0
    report: ReconcileReport | None = None
    work_dir: Path | None = None
    interrupted: bool = False
    #: what the workers published to CloudWatch (demo/_metrics.py SHOWN labels)
    worker_metrics: dict[str, float | None] = field(default_factory=dict)
    #: compaction and one example query's answer, as summary lines
    analytics: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.pipeline_s if self.pipeline_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Nothing lost: every accepted event delivered and archived, the table agrees."""
        return (
            not self.interrupted
            and self.failed == 0
            and self.undelivered == 0
            and self.lost == 0
            and self.delivered == self.planned
            and self.dead_letters == self.garbage_sent
            and self.reshard_ok
            and self.report is not None
            and self.report.ok
        )


class _Workers:
    """The KCL workers, restarted when one dies, stopped (by PID) at the end."""

    def __init__(self, make_config: Callable[[int], Any]) -> None:
        from consumer.daemon import WorkerProcess

        self._start = WorkerProcess.start
        self._make_config = make_config
        self.processes: list[Any] = []
        self.restarts = 0

    def _launch(self, index: int) -> Any:
        """Start worker ``index`` with Ctrl-C and SIGTERM deferred until it is on the list that
        :meth:`stop` walks, so an interrupt can never leave a worker nobody stops. (Deferred by
        a Python handler, not a signal mask: a mask would be inherited by the JVM.)"""
        deferred: list[int] = []
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: deferred.append(signum))
        try:
            process = self._start(self._make_config(index))
            if index < len(self.processes):
                self.processes[index] = process
            else:
                self.processes.append(process)
            return process
        finally:
            for held, handler in previous.items():
                signal.signal(held, handler)
            if deferred:
                raise KeyboardInterrupt

    def start(self, count: int) -> None:
        for index in range(count):
            self._launch(index)

    def supervise(self) -> None:
        for index, process in enumerate(self.processes):
            status = process.poll()
            if status is None:
                continue
            if self.restarts >= MAX_WORKER_RESTARTS * len(self.processes):
                raise DemoError(f"worker {index} exited with status {status} and was restarted too often")
            log.warning("worker %s (pid %s) exited with status %s; restarting it", index, process.pid, status)
            self.restarts += 1
            self._launch(index)

    def stop(self) -> None:
        """SIGTERM every worker at once (each drains and checkpoints), SIGKILL any that linger."""

        def stop_one(process: Any) -> None:
            try:
                process.stop(timeout=30)
            except Exception:
                log.exception("stopping worker pid %s failed", process.pid)

        threads = [threading.Thread(target=stop_one, args=(p,), name=f"stop-{p.pid}") for p in self.processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _leases_owned(dynamodb: Any, lease_table: str) -> int:
    """How many leases of the KCL application have an owner (0 while the table does not exist)."""
    owned = 0
    try:
        for page in dynamodb.get_paginator("scan").paginate(TableName=lease_table):
            owned += sum(1 for item in page.get("Items", ()) if "leaseOwner" in item and "checkpoint" in item)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return 0
        raise
    return owned


def _put_garbage(kinesis: Any, stream: str, count: int) -> int:
    """Put ``count`` records that are no behaviour event; returns how many Kinesis accepted."""
    entries = [{"Data": b"not an event: " + os.urandom(16), "PartitionKey": uuid.uuid4().hex} for _ in range(count)]
    response = kinesis.put_records(StreamName=stream, Records=entries)
    return count - int(response["FailedRecordCount"])


def _open_shards(kinesis: Any, stream: str) -> int:
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    return int(summary["OpenShardCount"])


def _wait(
    what: str, done: Callable[[], bool], timeout_s: float, interval_s: float, tick: Callable[[], None] | None = None
) -> None:
    def probe() -> bool:
        if done():
            return True
        if tick is not None:
            tick()
        return False

    try:
        wait_until(probe, timeout_s=timeout_s, what=what, poll_s=interval_s)
    except PollTimeout as exc:
        raise DemoError(str(exc)) from exc


@contextlib.contextmanager
def _environment(
    config: DemoConfig, say: Callable[[str], None], stack: Any = None
) -> Iterator[tuple[AwsSettings, Callable[..., Any], dict[str, str]]]:
    """AWS settings, a client factory and the workers' extra environment: of the given local
    stack, of a new one (stopped on exit), or of the configured endpoint."""
    if stack is not None:
        yield AwsSettings(region=stack.region, endpoint_url=stack.endpoint_url), stack.client, stack.env()
        return
    if config.aws is not None:
        yield config.aws, config.aws.client, {}
        return
    try:
        from localaws import LocalAWS
    except ImportError as exc:  # moto/hypercorn are the "local" extra
        raise DemoError(f"the embedded local AWS needs pip install 'nicelist[local]' ({exc})") from exc

    say("starting the embedded local AWS")
    with LocalAWS.start(port=0) as started:
        say(f"local AWS at {started.endpoint_url} (pid {started.pid})")
        yield AwsSettings(region=started.region, endpoint_url=started.endpoint_url), started.client, started.env()


def run_demo(
    config: DemoConfig,
    *,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda line: log.info("%s", line),
    stack: Any = None,
    on_tick: Callable[[DemoProbe], None] | None = None,
) -> DemoSummary:
    """Run the demo; the summary's ``ok`` says whether nothing was lost. ``stack``: a running
    :class:`localaws.LocalAWS` to use (and leave running) instead of starting one; ``on_tick``:
    called on every progress poll while producing and catching up (the December rehearsal)."""
    from admin.provision import provision
    from consumer.config import ProcessorConfig
    from consumer.daemon import WorkerConfig

    progress = progress or Progress(enabled=False)
    summary = DemoSummary(planned=config.shape.events)
    temporary = config.work_dir is None
    work_dir = Path(tempfile.mkdtemp(prefix="nicelist-demo-")) if config.work_dir is None else config.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    summary.work_dir = work_dir
    names = config.names
    stop = threading.Event()
    try:
        # the stack is entered first so that it stops last, after the workers and producers
        with _environment(config, say, stack) as (aws, clients, stack_env), contextlib.ExitStack() as cleanup:
            say(f"provisioning stream {names.stream} ({config.shards} shards), {names.table}, {names.bucket}")
            provision(aws, names, config.shards, clients=clients)
            kinesis, dynamodb, s3 = clients("kinesis"), clients("dynamodb"), clients("s3")

            processor = ProcessorConfig(names=names, aws=aws, archive_max_file_age_s=config.archive_max_file_age_s)

            def worker_config(index: int) -> Any:
                return WorkerConfig(
                    names=names,
                    aws=aws,
                    worker_id=f"demo-worker-{index}",
                    template="local" if aws.endpoint_url else "aws",
                    processor=processor,
                    run_dir=work_dir / f"worker-{index}",
                    log_path=work_dir / f"worker-{index}.log",
                    log_level=config.worker_log_level,
                    properties=config.worker_properties,
                    env={**WORKER_METRICS_ENV, **stack_env, **config.worker_env},
                )

            say(f"starting {config.workers} KCL workers (logs in {work_dir}); the KCL's cold start takes 20-40 s")
            workers = _Workers(worker_config)
            cleanup.callback(workers.stop)
            workers.start(config.workers)
            open_shards = _open_shards(kinesis, names.stream)
            leases = progress.bar("leases", open_shards)

            def leases_ready() -> bool:
                owned = _leases_owned(dynamodb, names.application)
                leases.set(owned)
                return owned >= open_shards

            _wait(
                "the workers to take every lease",
                leases_ready,
                config.workers_ready_timeout_s,
                config.poll_interval_s,
                workers.supervise,
            )

            plan = LoadPlan(config.population, config.shape, seed=config.seed)
            tally = LoadTally(keep_ids=True)
            bars = {
                "accepted": progress.bar("accepted", plan.shape.events),
                "delivered": progress.bar("delivered", plan.shape.events),
                "archived": progress.bar("archived", plan.shape.events),
            }
            watcher = ArchiveWatcher(s3, names.bucket)

            def refresh() -> None:
                bars["accepted"].set(tally.accepted)
                bars["delivered"].set(tally.delivered)
                bars["archived"].set(watcher.rows)

            tally.on_change = refresh
            say(
                f"{plan.population.elves} elves send {plan.shape.events} events about {plan.population.kids} kids; "
                f"spike x{plan.shape.spike_factor:g} from event {plan.shape.spike_begins} to {plan.shape.spike_ends}"
            )
            fleet = ElfFleet(
                FleetConfig(
                    stream=names.stream, aws=aws, spool_root=work_dir / "spools", linger_ms=100, client_factory=clients
                ),
                plan.population.elves,
                tally,
            )
            cleanup.callback(fleet.close, 0)
            cleanup.callback(stop.set)  # runs first: the elves stop offering events before the close
            reshard = _Reshard(kinesis, names.stream, config.reshard_target, say) if config.reshard_target else None
            started, started_at = time.monotonic(), datetime.now(UTC)
            fleet.start(plan, stop)
            if config.garbage_records:
                summary.garbage_sent = _put_garbage(kinesis, names.stream, config.garbage_records)
                say(f"a broken elf app put {summary.garbage_sent} undecodable records (they must be dead-lettered)")
            next_poll = 0.0
            while fleet.sending():
                if reshard is not None and not reshard.started and tally.accepted >= config.reshard_after_events:
                    reshard.start()
                if time.monotonic() >= next_poll:
                    watcher.poll()
                    refresh()
                    workers.supervise()
                    if on_tick is not None:
                        on_tick(DemoProbe("producing", tally, watcher, fleet))
                    next_poll = time.monotonic() + config.poll_interval_s
                fleet.join(timeout=0.2)
            if reshard is not None and not reshard.started:
                reshard.start()
            summary.undelivered = fleet.flush(config.flush_timeout_s)
            summary.produce_s = time.monotonic() - started
            summary.accepted, summary.delivered, summary.failed = tally.accepted, tally.delivered, tally.failed
            say(f"producers done: {tally.delivered} delivered in {summary.produce_s:.1f} s; waiting for the workers")
            say("nicelist status:\n" + status_screen(clients, names))
            if reshard is not None:
                reshard.join(timeout=config.catch_up_timeout_s)
                summary.reshard, summary.reshard_ok = reshard.outcome()

            def caught_up() -> bool:
                watcher.poll()
                refresh()
                if on_tick is not None:
                    on_tick(DemoProbe("catching-up", tally, watcher, fleet))
                return not watcher.missing(tally.delivered_ids) and watcher.dead_letters >= summary.garbage_sent

            try:
                _wait(
                    "the archive to hold every delivered event",
                    caught_up,
                    config.catch_up_timeout_s,
                    config.poll_interval_s,
                    workers.supervise,
                )
            except DemoError:
                missing = watcher.missing(tally.delivered_ids)
                summary.lost = len(missing)
                summary.lost_samples = sorted(missing)[:10]
                say(str(CaughtUpTimeout(tally.delivered, tally.delivered - len(missing), config.catch_up_timeout_s)))
            summary.pipeline_s = time.monotonic() - started
            summary.archived_rows = watcher.rows
            summary.archived_events = len(watcher.event_ids)
            summary.dead_letters = watcher.dead_letters
            summary.worker_restarts = workers.restarts
            progress.close()

            say("reconciling the archive with the table")
            summary.report = _reconcile_until_agreed(s3, dynamodb, names, config)
            summary.worker_metrics = read_worker_metrics(
                clients("cloudwatch"),
                names,
                since=started_at,
                events=summary.archived_events,
                dead_letters=summary.dead_letters,
            )
            if summary.report.ok:
                say(f"compacting the archive and asking it: {ANALYTICS_EXAMPLE}")
                summary.analytics = analytics_lines(s3, names.bucket)
    except KeyboardInterrupt:
        stop.set()
        summary.interrupted = True
        raise
    finally:
        if temporary and summary.ok:
            shutil.rmtree(work_dir, ignore_errors=True)
            summary.work_dir = None
    return summary


def _reconcile_until_agreed(s3: Any, dynamodb: Any, names: PipelineNames, config: DemoConfig) -> ReconcileReport:
    """The table may trail the archive by a batch; give it a few polls before calling it a miss."""
    report, _ = poll(
        lambda: reconcile(s3=s3, dynamodb=dynamodb, bucket=names.bucket, table=names.table),
        lambda report: report.ok,
        timeout_s=max(10.0, 5 * config.archive_max_file_age_s),
        poll_s=config.poll_interval_s,
    )
    return report


class _Reshard:
    """The mid-run reshard, on its own thread so the elves and the progress keep going."""

    def __init__(self, kinesis: Any, stream: str, target: int, say: Callable[[str], None]) -> None:
        self._kinesis = kinesis
        self._stream = stream
        self._target = target
        self._say = say
        self._thread = threading.Thread(target=self._run, name="reshard", daemon=True)
        self._result: str | None = None
        self._error: BaseException | None = None
        self.started = False

    def start(self) -> None:
        self.started = True
        self._say(f"resharding {self._stream} to {self._target} open shards (the spike playbook)")
        self._thread.start()

    def _run(self) -> None:
        from admin.reshard import scale

        began = time.monotonic()
        try:
            result = scale(self._kinesis, self._stream, self._target, progress=lambda line: log.info("%s", line))
            steps = len(result.completed)
            self._result = f"{self._target} open shards in {steps} steps, {time.monotonic() - began:.1f} s"
        except Exception as exc:
            log.exception("reshard failed")
            self._error = exc

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def outcome(self) -> tuple[str, bool]:
        if self._thread.is_alive():
            return "still running", False
        if self._error is not None:
            return f"FAILED: {type(self._error).__name__}: {self._error}", False
        return self._result or "not run", self._result is not None
