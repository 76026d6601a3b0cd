"""The demo's phases on one run object, :class:`DemoRun`: what ``run_demo()`` and the December
rehearsal call in order.

- :meth:`DemoRun.session`: the stack (the embedded local AWS unless one is given or an endpoint
  is configured) and the provisioned stream, table and bucket; on the way out everything the
  phases started is stopped (the elves and workers first, the stack last, also on Ctrl-C)
- :meth:`~DemoRun.start_workers`: the KCL workers, until they hold every lease
- :meth:`~DemoRun.start_load`: the elf apps on the December-23rd plan, and a broken app's garbage
- :meth:`~DemoRun.produce`: until every elf has offered its events (resharding mid-run); flush
- :meth:`~DemoRun.catch_up`: until the archive holds every delivered event
- :meth:`~DemoRun.verify`: reconcile the archive with the table
- :meth:`~DemoRun.report`: the workers' CloudWatch metrics and the archive's answer to a query
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.polling import PollTimeout, poll, wait_until
from foundation.progress import Bar, Progress
from foundation.settings import AwsSettings, PipelineNames
from loadgen import ElfFleet, FleetConfig, LoadPlan, LoadTally
from reconcile import ReconcileReport, reconcile

from ._analytics import EXAMPLE as ANALYTICS_EXAMPLE
from ._analytics import analytics_lines
from ._errors import CaughtUpTimeout, DemoError
from ._metrics import WORKER_METRICS_ENV, read_worker_metrics, status_screen
from ._model import DemoConfig, DemoProbe, DemoSummary
from ._reshard import MidRunReshard
from ._watch import ArchiveWatcher
from ._workers import DemoWorkers, leases_owned

log = logging.getLogger(__name__)


def _log_line(line: str) -> None:
    log.info("%s", line)


class DemoRun:
    """One run of the demo: what its phases share, and the summary they fill in.

    Call the phases in order inside :meth:`session`. Each phase sets what the next ones use:
    ``session`` the clients, ``start_workers`` the workers, ``start_load`` the tally, the archive
    watcher and the elf fleet (what :meth:`probe` shows an observer).
    """

    aws: AwsSettings
    clients: Callable[..., Any]
    workers: DemoWorkers
    tally: LoadTally
    watcher: ArchiveWatcher
    fleet: ElfFleet

    def __init__(
        self,
        config: DemoConfig,
        *,
        progress: Progress | None = None,
        say: Callable[[str], None] = _log_line,
        on_tick: Callable[[DemoProbe], None] | None = None,
    ) -> None:
        self.config = config
        self.say = say
        self.progress = progress or Progress(enabled=False)
        self.summary = DemoSummary(planned=config.shape.events)
        self._on_tick = on_tick
        self._temporary = config.work_dir is None
        self.work_dir = Path(tempfile.mkdtemp(prefix="nicelist-demo-")) if config.work_dir is None else config.work_dir
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.summary.work_dir = self.work_dir
        #: set when the elves must stop offering events (the end of the run, Ctrl-C)
        self.stop = threading.Event()
        self._reshard: MidRunReshard | None = None
        self._bars: dict[str, Bar] = {}
        self._started = time.monotonic()
        self._started_at = datetime.now(UTC)

    @contextlib.contextmanager
    def session(self, stack: Any = None) -> Iterator[DemoRun]:
        """The stack and the provisioned pipeline. On the way out everything the phases started
        is stopped (the stack last); Ctrl-C marks the summary interrupted; a temporary work
        directory is removed after a clean run. ``stack``: a running :class:`localaws.LocalAWS`
        to use (and leave running)."""
        from admin.provision import provision

        config, names = self.config, self.config.names
        try:
            # the stack is entered first so that it stops last, after the workers and producers
            with _environment(config, self.say, stack) as (aws, clients, env), contextlib.ExitStack() as cleanup:
                self.aws, self.clients, self._stack_env, self._cleanup = aws, clients, env, cleanup
                self.say(f"provisioning stream {names.stream} ({config.shards} shards), {names.table}, {names.bucket}")
                provision(aws, names, config.shards, clients=clients)
                self._kinesis, self._dynamodb, self._s3 = clients("kinesis"), clients("dynamodb"), clients("s3")
                yield self
        except KeyboardInterrupt:
            self.stop.set()
            self.summary.interrupted = True
            raise
        finally:
            if self._temporary and self.summary.ok:
                shutil.rmtree(self.work_dir, ignore_errors=True)
                self.summary.work_dir = None

    def start_workers(self) -> None:
        """Start the KCL workers (restarted if one dies, stopped on the way out) and wait until
        they hold every lease."""
        config = self.config
        self.say(f"starting {config.workers} KCL workers (logs in {self.work_dir}); the KCL's cold start takes 20-40 s")
        self.workers = DemoWorkers(self._worker_config)
        self._cleanup.callback(self.workers.stop)
        self.workers.start(config.workers)
        open_shards = _open_shards(self._kinesis, config.names.stream)
        leases = self.progress.bar("leases", open_shards)

        def leases_ready() -> bool:
            owned = leases_owned(self._dynamodb, config.names.application)
            leases.set(owned)
            return owned >= open_shards

        _wait(
            "the workers to take every lease",
            leases_ready,
            config.workers_ready_timeout_s,
            config.poll_interval_s,
            self.workers.supervise,
        )

    def _worker_config(self, index: int) -> Any:
        from consumer.config import ProcessorConfig
        from consumer.daemon import WorkerConfig

        config, aws = self.config, self.aws
        return WorkerConfig(
            names=config.names,
            aws=aws,
            worker_id=f"demo-worker-{index}",
            template="local" if aws.endpoint_url else "aws",
            processor=ProcessorConfig(
                names=config.names, aws=aws, archive_max_file_age_s=config.archive_max_file_age_s
            ),
            run_dir=self.work_dir / f"worker-{index}",
            log_path=self.work_dir / f"worker-{index}.log",
            log_level=config.worker_log_level,
            properties=config.worker_properties,
            env={**WORKER_METRICS_ENV, **self._stack_env, **config.worker_env},
        )

    def start_load(self) -> None:
        """Start the elf apps on the plan (with the December-23rd spike; stopped on the way out),
        and have a broken elf app put undecodable records."""
        config, names = self.config, self.config.names
        plan = LoadPlan(config.population, config.shape, seed=config.seed)
        self.tally = LoadTally(keep_ids=True)
        self._bars = {
            name: self.progress.bar(name, plan.shape.events) for name in ("accepted", "delivered", "archived")
        }
        self.watcher = ArchiveWatcher(self._s3, names.bucket)
        self.tally.on_change = self._refresh
        self.say(
            f"{plan.population.elves} elves send {plan.shape.events} events about {plan.population.kids} kids; "
            f"spike x{plan.shape.spike_factor:g} from event {plan.shape.spike_begins} to {plan.shape.spike_ends}"
        )
        fleet_config = FleetConfig(
            stream=names.stream,
            aws=self.aws,
            spool_root=self.work_dir / "spools",
            linger_ms=100,
            client_factory=self.clients,
        )
        self.fleet = ElfFleet(fleet_config, plan.population.elves, self.tally)
        self._cleanup.callback(self.fleet.close, 0)
        self._cleanup.callback(self.stop.set)  # runs first: the elves stop offering events before the close
        if config.reshard_target:
            self._reshard = MidRunReshard(self._kinesis, names.stream, config.reshard_target, self.say)
        self._started, self._started_at = time.monotonic(), datetime.now(UTC)
        self.fleet.start(plan, self.stop)
        if config.garbage_records:
            self.summary.garbage_sent = _put_garbage(self._kinesis, names.stream, config.garbage_records)
            self.say(
                f"a broken elf app put {self.summary.garbage_sent} undecodable records (they must be dead-lettered)"
            )

    def produce(self) -> None:
        """Until every elf has offered its events: start the reshard once its share of the events
        is accepted, watch the archive, supervise the workers. Then flush the producers."""
        config, summary, tally, reshard = self.config, self.summary, self.tally, self._reshard
        next_poll = 0.0
        while self.fleet.sending():
            if reshard is not None and not reshard.started and tally.accepted >= config.reshard_after_events:
                reshard.start()
            if time.monotonic() >= next_poll:
                self.watcher.poll()
                self._refresh()
                self.workers.supervise()
                self._tick("producing")
                next_poll = time.monotonic() + config.poll_interval_s
            self.fleet.join(timeout=0.2)
        if reshard is not None and not reshard.started:
            reshard.start()
        summary.undelivered = self.fleet.flush(config.flush_timeout_s)
        summary.produce_s = time.monotonic() - self._started
        summary.accepted, summary.delivered, summary.failed = tally.accepted, tally.delivered, tally.failed
        self.say(f"producers done: {tally.delivered} delivered in {summary.produce_s:.1f} s; waiting for the workers")
        self.say("nicelist status:\n" + status_screen(self.clients, config.names))

    def catch_up(self) -> None:
        """Wait for the reshard, then until the archive holds every delivered event and the
        broken app's records are dead-lettered; on a timeout the summary counts what is lost."""
        config, summary, tally, watcher = self.config, self.summary, self.tally, self.watcher
        if self._reshard is not None:
            self._reshard.join(timeout=config.catch_up_timeout_s)
            summary.reshard, summary.reshard_ok = self._reshard.outcome()

        def caught_up() -> bool:
            watcher.poll()
            self._refresh()
            self._tick("catching-up")
            return not watcher.missing(tally.delivered_ids) and watcher.dead_letters >= summary.garbage_sent

        try:
            _wait(
                "the archive to hold every delivered event",
                caught_up,
                config.catch_up_timeout_s,
                config.poll_interval_s,
                self.workers.supervise,
            )
        except DemoError:
            missing = watcher.missing(tally.delivered_ids)
            summary.lost = len(missing)
            summary.lost_samples = sorted(missing)[:10]
            self.say(str(CaughtUpTimeout(tally.delivered, tally.delivered - len(missing), config.catch_up_timeout_s)))
        summary.pipeline_s = time.monotonic() - self._started
        summary.archived_rows = watcher.rows
        summary.archived_events = len(watcher.event_ids)
        summary.dead_letters = watcher.dead_letters
        summary.worker_restarts = self.workers.restarts
        self.progress.close()

    def verify(self) -> None:
        """Reconcile the archive with the table."""
        self.say("reconciling the archive with the table")
        self.summary.report = _reconcile_until_agreed(self._s3, self._dynamodb, self.config.names, self.config)

    def report(self) -> None:
        """What the workers published to CloudWatch and, when the table agrees with the archive,
        the compacted archive's answer to one example query."""
        summary, names = self.summary, self.config.names
        summary.worker_metrics = read_worker_metrics(
            self.clients("cloudwatch"),
            names,
            since=self._started_at,
            events=summary.archived_events,
            dead_letters=summary.dead_letters,
        )
        if summary.report is not None and summary.report.ok:
            self.say(f"compacting the archive and asking it: {ANALYTICS_EXAMPLE}")
            summary.analytics = analytics_lines(self._s3, names.bucket)

    def probe(self, phase: str) -> DemoProbe:
        """What an observer may look at once the load has started."""
        return DemoProbe(phase, self.tally, self.watcher, self.fleet)

    def _tick(self, phase: str) -> None:
        if self._on_tick is not None:
            self._on_tick(self.probe(phase))

    def _refresh(self) -> None:
        self._bars["accepted"].set(self.tally.accepted)
        self._bars["delivered"].set(self.tally.delivered)
        self._bars["archived"].set(self.watcher.rows)


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


def _reconcile_until_agreed(s3: Any, dynamodb: Any, names: PipelineNames, config: DemoConfig) -> ReconcileReport:
    """The table may trail the archive by a batch; give it a few polls before calling it a miss."""
    report, _ = poll(
        lambda: reconcile(s3=s3, dynamodb=dynamodb, bucket=names.bucket, table=names.table),
        lambda report: report.ok,
        timeout_s=max(10.0, 5 * config.archive_max_file_age_s),
        poll_s=config.poll_interval_s,
    )
    return report
