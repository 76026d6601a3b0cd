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
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.polling import PollTimeout, poll, wait_until
from foundation.progress import Progress
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
            workers = DemoWorkers(worker_config)
            cleanup.callback(workers.stop)
            workers.start(config.workers)
            open_shards = _open_shards(kinesis, names.stream)
            leases = progress.bar("leases", open_shards)

            def leases_ready() -> bool:
                owned = leases_owned(dynamodb, names.application)
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
            target = config.reshard_target
            reshard = MidRunReshard(kinesis, names.stream, target, say) if target else None
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
