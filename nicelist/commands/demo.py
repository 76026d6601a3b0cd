"""``nicelist demo``: the whole pipeline on this machine, and the proof that nothing was lost.

Starts the embedded local AWS (or uses ``--endpoint`` / the standard AWS variables), provisions
the stream, table and bucket, starts KCL workers, runs simulated elf apps through a
December-23rd spike, reshards mid-run, waits for the workers, reconciles and prints a summary.
Exit status: 0 when nothing was lost and the table agrees with the archive, 1 otherwise, 2 for
bad settings, 130 when interrupted (everything started is stopped either way).

``--december`` rehearses December instead: the embedded Kinesis enforces its per-shard limits
(scaled), the spike outgrows the starting shards and ``nicelist autoscale``'s controller, not a
mid-run reshard, grows the stream; it prints the rehearsal's lines and writes an HTML report.
Exit status 0 only when nothing was lost, Kinesis throttled and the stream scaled itself up and back down.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from nicelist.commands.produce import add_load_arguments

HELP = "run the whole pipeline locally through a December spike and prove nothing was lost"

#: flags whose default differs with --december: name -> (plain demo, rehearsal)
_DEFAULTS: dict[str, tuple[object, object]] = {
    "events": (8_000, 24_000),
    "rate": (150.0, 80.0),
    "elves": (4, 2),
    "spike_factor": (5.0, 6.0),
    "spike_start": (0.3, 0.2),
    "shards": (4, 2),
    "reshard_to": (None, 0),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_load_arguments(parser, events=8_000, rate=150.0, kids=2_000, elves=4)
    pipeline = parser.add_argument_group("pipeline")
    pipeline.add_argument("--shards", type=int, default=4, help="shards to provision (default 4)")
    pipeline.add_argument("--workers", type=int, default=2, help="KCL workers (default 2)")
    pipeline.add_argument(
        "--reshard-to", type=int, default=None, help="open shards after the mid-run reshard (default 2x; 0: none)"
    )
    pipeline.add_argument(
        "--reshard-at", type=float, default=None, help="share of events sent when resharding (default: spike start)"
    )
    pipeline.add_argument(
        "--endpoint",
        help="use this endpoint (e.g. LocalStack) instead of starting the embedded local AWS; "
        "--aws uses real AWS through the standard variables",
    )
    pipeline.add_argument(
        "--garbage", type=int, default=3, help="undecodable records to put; each must be dead-lettered (3)"
    )
    pipeline.add_argument("--aws", action="store_true", help="use the AWS account of the standard variables")
    pipeline.add_argument("--stream", help="stream name (default: $NICELIST_STREAM or nicelist)")
    pipeline.add_argument("--table", help="table name (default: $NICELIST_TABLE or nicelist-kids)")
    pipeline.add_argument("--bucket", help="bucket name (default: $NICELIST_BUCKET or nicelist-archive)")
    pipeline.add_argument("--work-dir", help="logs and spools here (default: a temporary directory)")
    pipeline.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the workers (300)")
    pipeline.add_argument(
        "--kcl",
        dest="kcl_properties",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a KCL property for the demo's workers (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    december = parser.add_argument_group("December rehearsal")
    december.add_argument(
        "--december",
        action="store_true",
        help="limits mode on, the autoscaler instead of the mid-run reshard, a report; defaults become "
        "24000 events at 80/s, a x6 spike from 20%%, 2 elves, 2 shards (about 4 minutes)",
    )
    december.add_argument(
        "--limits-scale", type=float, default=0.02, metavar="F", help="per-shard limits x F (default 0.02)"
    )
    december.add_argument(
        "--metrics-period", type=int, default=5, metavar="S", help="metric and autoscaler period in s (default 5)"
    )
    december.add_argument(
        "--kid-table-write-units",
        type=int,
        default=400,  # demo._december_dynamodb.DECEMBER_KID_TABLE_WRITE_UNITS (a test keeps them equal)
        metavar="N",
        help="the kid table's write capacity during the rehearsal, below the spike's write rate "
        "(default %(default)s; 0: on-demand, no DynamoDB throttling)",
    )
    december.add_argument(
        "--report",
        default="nicelist-december-report.html",
        metavar="PATH",
        help="the HTML report (default %(default)s)",
    )
    # None: "not given", so --december can pick its own defaults (the plain demo's are unchanged)
    parser.set_defaults(**dict.fromkeys(_DEFAULTS))


def apply_defaults(args: argparse.Namespace) -> None:
    """Fill the flags left unset with the plain demo's defaults, or the rehearsal's with --december."""
    for name, (plain, rehearsal) in _DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, rehearsal if args.december else plain)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--kcl wants KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def run(args: argparse.Namespace) -> int:
    import os
    import signal
    import sys
    from pathlib import Path

    from demo import DEMO_WORKER_PROPERTIES, DemoConfig, DemoError, describe_demo, run_demo
    from foundation.errors import ConfigError
    from foundation.progress import Progress
    from foundation.settings import AwsSettings, PipelineNames
    from nicelist.commands.produce import load_plan
    from reconcile import SourceError

    def say(line: str) -> None:
        print(f"demo: {line}", file=sys.stderr, flush=True)

    # an endpoint variable (AWS_ENDPOINT_URL or a per-service one) means "use that stack"; real AWS
    # only with --aws, so a stray profile never creates resources in an account by accident
    apply_defaults(args)
    external = args.endpoint or args.aws or any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ)
    if args.december and external:
        print("demo: --december runs on the embedded local AWS only (limits mode)", file=sys.stderr)
        return 2
    try:
        plan = load_plan(args)
        config = DemoConfig(
            population=plan.population,
            shape=plan.shape,
            seed=args.seed,
            shards=args.shards,
            workers=args.workers,
            reshard_to=args.reshard_to,
            reshard_at=args.reshard_at,
            names=PipelineNames.from_env(stream=args.stream, table=args.table, bucket=args.bucket),
            aws=AwsSettings.from_env(endpoint_url=args.endpoint) if external else None,
            work_dir=Path(args.work_dir) if args.work_dir else None,
            catch_up_timeout_s=args.timeout,
            garbage_records=args.garbage,
            worker_properties={**DEMO_WORKER_PROPERTIES, **dict(_key_value(p) for p in args.kcl_properties)},
        )
    except (ConfigError, ValueError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    if args.december:
        return _run_december(args, config, say)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)  # stop everything on SIGTERM as on Ctrl-C
    try:
        summary = run_demo(config, progress=Progress(enabled=not args.no_progress), say=say)
    except (DemoError, SourceError, ConfigError) as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in describe_demo(summary, config):
        print(line)
    return 0 if summary.ok else 1


def _run_december(args: argparse.Namespace, demo_config: Any, say: Callable[[str], None]) -> int:
    import signal
    import sys
    from pathlib import Path

    from demo import DecemberConfig, DemoError, describe_december, describe_demo, run_december
    from foundation.errors import ConfigError
    from foundation.progress import Progress
    from reconcile import SourceError

    try:
        config = DecemberConfig(
            demo=demo_config,
            limits_scale=args.limits_scale,
            metrics_period_s=args.metrics_period,
            report_path=Path(args.report) if args.report else None,
            kid_table_write_units=args.kid_table_write_units or None,
        )
    except ConfigError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        summary = run_december(config, progress=Progress(enabled=not args.no_progress), say=say)
    except (DemoError, SourceError, ConfigError) as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in describe_demo(summary.demo, config.demo) + describe_december(summary):
        print(line)
    return 0 if summary.ok else 1
